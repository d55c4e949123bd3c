/**
 * The discrete-event engine: a simulated clock in integer nanoseconds, one event queue ordered by
 * (time, insertion sequence) so equal-time events always run in the order they were scheduled, and
 * cooperative processes written as generators that yield `sleep` or `wait` requests.
 */

/** What a process may ask for when it yields. */
export type Wait = { readonly kind: 'sleep'; readonly ns: number } | { readonly kind: 'wait'; readonly q: WaitQueue }

/** A simulated kernel thread: a generator that yields waits and returns a value (often an errno). */
export type Proc<T = number> = Generator<Wait, T, void>

/** Sleep for `ns` simulated nanoseconds (rounded to an integer, never negative). */
export function sleep(ns: number): Wait {
  return { kind: 'sleep', ns: ns > 0 ? Math.round(ns) : 0 }
}

/**
 * Runs `p` to the end in the caller's context, which cannot sleep (atomic context): a body that
 * yields here is a model bug, as might_sleep() would warn in the kernel.
 */
export function runAtomic<T>(p: Proc<T>, what: string): T {
  const r = p.next()
  if (!r.done) throw new Error(`${what}: sleeps in a context that cannot sleep`)
  return r.value
}

/** A wait queue (`wait_queue_head_t`): processes wait on it until `wake_up_all`. */
export class WaitQueue {
  readonly waiters: Array<() => void> = []
  constructor(readonly name: string) {}
}

/** Wait on `q` until it is woken. */
export function waitOn(q: WaitQueue): Wait {
  return { kind: 'wait', q }
}

/** A started process as the engine sees it: finished or not, and the wait queue it sleeps on. */
export interface ProcHandle {
  readonly name: string
  /** The process returned. */
  done: boolean
  /** The wait queue it waits on now; null while it runs, sleeps for a time or is done. */
  waitingOn: WaitQueue | null
}

interface QEvent {
  t: number
  s: number
  label: string
  fn: () => void
  /** The `cause` of the event that scheduled this one. */
  c: number
}

/** The event queue and clock. */
export class Engine {
  /** Current simulated time, integer nanoseconds. */
  now = 0
  /** Number of events executed so far. */
  executed = 0
  private heap: QEvent[] = []
  private seq = 0
  private liveProcs = 0
  /**
   * A tag that every event inherits from the event that scheduled it (a process keeps the one it
   * had when it started waiting): the timeline sets it to the index of the step that runs, so
   * deferred work (workqueue items, SRCU callbacks, sleeps) names the step that caused it. -1: none.
   * Never read by models; it changes no simulated behaviour.
   */
  cause = -1
  /** The process running now (its name), or '' while a plain timer callback runs. */
  running = ''

  /** Schedules `fn` at absolute time `t` (clamped to now). */
  at(t: number, label: string, fn: () => void, cause = this.cause): void {
    const ev: QEvent = { t: Math.max(Math.round(t), this.now), s: this.seq++, label, fn, c: cause }
    const h = this.heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      const pe = h[p] as QEvent
      if (pe.t < ev.t || (pe.t === ev.t && pe.s < ev.s)) break
      h[i] = pe
      i = p
    }
    h[i] = ev
  }

  /** Schedules `fn` after `delay` nanoseconds. */
  after(delay: number, label: string, fn: () => void): void {
    this.at(this.now + Math.max(0, delay), label, fn)
  }

  private pop(): QEvent | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0] as QEvent
    const last = h.pop() as QEvent
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        let c = l
        const le = h[l] as QEvent
        if (r < n) {
          const re = h[r] as QEvent
          if (re.t < le.t || (re.t === le.t && re.s < le.s)) c = r
        }
        const ce = h[c] as QEvent
        if (last.t < ce.t || (last.t === ce.t && last.s < ce.s)) break
        h[i] = ce
        i = c
      }
      h[i] = last
    }
    return top
  }

  /** Time of the next event, or undefined when idle. */
  nextTime(): number | undefined {
    return this.heap[0]?.t
  }

  /** Pending events. */
  get pending(): number {
    return this.heap.length
  }

  /** Processes that have started and not finished. */
  get runningProcs(): number {
    return this.liveProcs
  }

  /** Runs one event; false when the queue is empty. */
  step(): boolean {
    const ev = this.pop()
    if (!ev) return false
    this.now = ev.t
    this.executed++
    this.cause = ev.c
    ev.fn()
    return true
  }

  /** Runs events until the queue is empty or `limit` events ran; returns false if the limit hit. */
  runUntilIdle(limit = Number.MAX_SAFE_INTEGER): boolean {
    let n = 0
    while (this.heap.length > 0) {
      if (n++ >= limit) return false
      this.step()
    }
    return true
  }

  /** Runs all events with time ≤ t, then sets the clock to t. */
  runUntil(t: number): void {
    while (this.heap.length > 0 && (this.heap[0] as QEvent).t <= t) this.step()
    if (t > this.now) this.now = Math.round(t)
  }

  /**
   * Starts a process now: runs it synchronously up to its first wait, then from events.
   * `done` receives its return value. The handle says whether it finished and what it waits on
   * (a process left waiting on a queue nobody wakes is how a scenario blocks).
   */
  spawn<T>(name: string, gen: Proc<T>, done?: (v: T) => void): ProcHandle {
    this.liveProcs++
    const handle: ProcHandle = { name, done: false, waitingOn: null }
    const resume = (): void => {
      handle.waitingOn = null
      const outer = this.running
      this.running = name
      const r = gen.next()
      this.running = outer
      if (r.done) {
        this.liveProcs--
        handle.done = true
        if (done) done(r.value)
        return
      }
      const w = r.value
      if (w.kind === 'sleep') this.after(w.ns, name, resume)
      else {
        const cause = this.cause
        handle.waitingOn = w.q
        w.q.waiters.push(() => this.at(this.now, name, resume, cause))
      }
    }
    resume()
    return handle
  }

  /** `wake_up_all`: every waiter resumes (in the order it started waiting) as a new event. */
  wakeUpAll(q: WaitQueue): void {
    const ws = q.waiters.splice(0, q.waiters.length)
    for (const w of ws) w()
  }
}
