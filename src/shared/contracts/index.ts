/**
 * All API contracts. `routes` and `events` are the single source of truth that the route table
 * of `src/main`, both hosts (Electron IPC and HTTP/WebSocket) and the renderer's Bridge use.
 */
import type { z } from 'zod'
import { appEvents, appRoutes } from './app'
import { labEvents, labRoutes } from './lab'
import { probeRoutes } from './probe'
import { calibrationEvents, calibrationRoutes } from './calibration'
import type { EventName, RouteName } from './names'

export * from './names'
export * from './define'
export * from './app'
export * from './lab'
export * from './probe'
export * from './calibration'
export * from './series-block'

export const routes = { ...appRoutes, ...labRoutes, ...probeRoutes, ...calibrationRoutes } as const
export const events = { ...appEvents, ...labEvents, ...calibrationEvents } as const

export type Routes = typeof routes
export type Events = typeof events
export type RouteInput<N extends RouteName> = z.input<Routes[N]['input']>
export type RouteOutput<N extends RouteName> = z.output<Routes[N]['output']>
export type EventPayload<N extends EventName> = z.output<Events[N]['payload']>

// Compile-time check: the name lists and the contract tables hold exactly the same names.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const routeNamesMatch: Same<keyof Routes, RouteName> = true
const eventNamesMatch: Same<keyof Events, EventName> = true
void routeNamesMatch
void eventNamesMatch

/** The error shape every host returns when a route fails. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; route?: string }
}
export type ApiErrorCode = 'bad_request' | 'unknown_route' | 'internal' | 'unauthorized' | 'forbidden' | 'too_large'
