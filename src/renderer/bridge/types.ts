/**
 * The renderer's only door to the host. Two implementations: Electron IPC through the preload,
 * and HTTP + WebSocket for the browser host. Views and stores use this interface, never either
 * implementation directly.
 */
import type { EventName, EventPayload, HostKind, RouteInput, RouteName, RouteOutput } from '../../shared/contracts'

export type ConnectionState = 'connecting' | 'open' | 'closed'

export type OffThreadAccess = { kind: 'http'; token: string } | { kind: 'none' }

export interface Bridge {
  readonly host: HostKind
  /** Calls a route; rejects with a `BridgeError` carrying the host's error code. */
  invoke<N extends RouteName>(name: N, input: RouteInput<N>): Promise<RouteOutput<N>>
  /** Subscribes to an event; returns the unsubscribe function. */
  on<N extends EventName>(name: N, callback: (payload: EventPayload<N>) => void): () => void
  /**
   * How a worker may call routes itself: over HTTP with the launch token (browser host), or not
   * at all (Electron IPC is only on the page; the page calls and transfers the answer's bytes).
   */
  offThread(): OffThreadAccess
  /** Reports the state of the event connection (always open over IPC). */
  onConnection(callback: (state: ConnectionState) => void): () => void
}

/** An error answered by the host (`code` as in the contracts) or by the transport. */
export class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly route?: string,
  ) {
    super(message)
    this.name = 'BridgeError'
  }
}
