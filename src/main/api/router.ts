/**
 * The one route table that every host serves. A host hands it a route name and an untrusted
 * input; the router checks the name, validates the input against the contract, runs the handler
 * and validates its output, so a handler never sees malformed input and a client never receives
 * an answer that breaks the contract.
 */
import { z } from 'zod'
import { isRouteName, routes, type ApiErrorCode, type RouteName, type RouteOutput } from '../../shared/contracts'

/** An error that carries an API error code; anything else thrown by a handler becomes `internal`. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly route?: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** What a handler knows about the host that calls it. */
export interface HostContext {
  readonly host: 'electron' | 'browser'
  readonly workspace?: string
  /** Prints an HTML document to PDF; only the Electron host can (printToPDF). */
  readonly printToPdf?: (html: string) => Promise<Uint8Array>
}

type RouteParsedInput<N extends RouteName> = z.output<(typeof routes)[N]['input']>

/** One handler per route, typed by its contract. */
export type RouteHandlers = {
  [N in RouteName]: (input: RouteParsedInput<N>, ctx: HostContext) => Promise<RouteOutput<N>> | RouteOutput<N>
}

export interface Router {
  /** Validates and runs one route; rejects with an `ApiError`. */
  invoke(name: unknown, input: unknown): Promise<unknown>
}

/** Creates the router over a complete handler table for one host. */
export function createRouter(handlers: RouteHandlers, ctx: HostContext): Router {
  return {
    async invoke(name, input) {
      if (!isRouteName(name)) {
        const shown = typeof name === 'string' ? JSON.stringify(name).slice(0, 80) : `(a ${name === null ? 'null' : typeof name}, not a name)`
        throw new ApiError('unknown_route', `unknown route ${shown}`)
      }
      const contract = routes[name]
      const parsed = contract.input.safeParse(input ?? {})
      if (!parsed.success) {
        throw new ApiError('bad_request', `invalid input for ${name}:\n${z.prettifyError(parsed.error)}`, name)
      }
      const handler = handlers[name] as (i: unknown, c: HostContext) => unknown
      let result: unknown
      try {
        result = await handler(parsed.data, ctx)
      } catch (err) {
        if (err instanceof ApiError) throw err
        throw new ApiError('internal', `${name} failed: ${err instanceof Error ? err.message : String(err)}`, name)
      }
      const checked = contract.output.safeParse(result)
      if (!checked.success) {
        throw new ApiError('internal', `${name} produced an answer that breaks its contract:\n${z.prettifyError(checked.error)}`, name)
      }
      return checked.data
    },
  }
}

/** Converts anything thrown by `invoke` into the wire error body. */
export function toErrorBody(err: unknown): { error: { code: ApiErrorCode; message: string; route?: string } } {
  if (err instanceof ApiError) {
    return { error: { code: err.code, message: err.message, ...(err.route ? { route: err.route } : {}) } }
  }
  return { error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } }
}
