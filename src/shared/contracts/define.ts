/**
 * Building blocks of the API contracts. A route is a name with an input and an output schema; an
 * event is a name with a payload schema. Every host validates input with these schemas at its
 * boundary, and the renderer validates what it receives.
 */
import type { z } from 'zod'

/** A request/response route: `invoke(name, input) → output`. */
export interface RouteContract<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly input: I
  readonly output: O
  readonly description: string
}

/** A one-way event from the host to the renderer. */
export interface EventContract<P extends z.ZodType = z.ZodType> {
  readonly payload: P
  readonly description: string
}

/** Declares a route; only a typing helper. */
export function defineRoute<I extends z.ZodType, O extends z.ZodType>(description: string, input: I, output: O): RouteContract<I, O> {
  return { input, output, description }
}

/** Declares an event; only a typing helper. */
export function defineEvent<P extends z.ZodType>(description: string, payload: P): EventContract<P> {
  return { payload, description }
}
