/**
 * Events from the services to every connected renderer. Payloads are validated against their
 * contract when emitted, so a broken payload is caught at its source, not in the UI.
 */
import { events, isEventName, type EventName, type EventPayload } from '../../shared/contracts'

export type EventListener = (name: EventName, payload: unknown) => void

export class EventHub {
  private readonly listeners = new Set<EventListener>()

  /** Subscribes a host adapter (an IPC window or a WebSocket); returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Validates and delivers one event to every subscriber; a failing subscriber does not stop the others. */
  emit<N extends EventName>(name: N, payload: EventPayload<N>): void {
    if (!isEventName(name)) throw new Error(`unknown event ${typeof name === 'string' ? name : typeof name}`)
    const data = events[name].payload.parse(payload)
    for (const listener of this.listeners) {
      try {
        listener(name, data)
      } catch {
        // One broken connection must not keep the event from the others.
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}
