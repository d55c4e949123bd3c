/** Checks answers and events from the host against the contracts before any view sees them. */
import { events, routes, type EventName, type EventPayload, type RouteName, type RouteOutput } from '../../shared/contracts'
import { BridgeError } from './types'

/** Parses a route's answer; a malformed answer becomes a `BridgeError('bad_answer')`. */
export function checkAnswer<N extends RouteName>(name: N, value: unknown): RouteOutput<N> {
  const parsed = routes[name].output.safeParse(value)
  if (!parsed.success) throw new BridgeError('bad_answer', `the host's answer to ${name} breaks its contract`, name)
  return parsed.data as RouteOutput<N>
}

/** Parses an event payload; returns undefined for a malformed one (dropped, never shown). */
export function checkEvent<N extends EventName>(name: N, value: unknown): EventPayload<N> | undefined {
  const parsed = events[name].payload.safeParse(value)
  return parsed.success ? (parsed.data as EventPayload<N>) : undefined
}
