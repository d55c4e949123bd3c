/**
 * Hooks: models emit typed events, tracers and metrics subscribe. Models never know about charts.
 */
export type HookListener<E> = (e: E) => void

/** A typed multi-channel emitter. `K` maps channel names to payload types. */
export class Hooks<K extends Record<string, unknown>> {
  private ls: { [C in keyof K]?: Array<HookListener<K[C]>> } = {}

  /** Subscribes to a channel. */
  on<C extends keyof K>(c: C, l: HookListener<K[C]>): void {
    const arr = (this.ls[c] ??= [])
    arr.push(l)
  }

  /** Unsubscribes a listener (the live array shrinks in place). */
  off<C extends keyof K>(c: C, l: HookListener<K[C]>): void {
    const arr = this.ls[c]
    const i = arr ? arr.indexOf(l) : -1
    if (arr && i >= 0) arr.splice(i, 1)
  }

  /**
   * The live listener array of a channel (later subscriptions land in it too): lets a hot emitter
   * skip the channel lookup of `emit`.
   */
  listeners<C extends keyof K>(c: C): ReadonlyArray<HookListener<K[C]>> {
    return (this.ls[c] ??= [])
  }

  /** True if anybody listens (lets models skip building payloads). */
  has<C extends keyof K>(c: C): boolean {
    const arr = this.ls[c]
    return arr !== undefined && arr.length > 0
  }

  /** Emits a payload to every listener of the channel, in subscription order. */
  emit<C extends keyof K>(c: C, e: K[C]): void {
    const arr = this.ls[c]
    if (!arr) return
    // indexed loop: this runs on the hot path (counters), no iterator allocation
    for (let i = 0; i < arr.length; i++) (arr[i] as HookListener<K[C]>)(e)
  }
}
