/**
 * One SRCU domain (kernel/rcu/srcutree.c), as far as the model needs it: read-side sections
 * (`srcu_read_lock` / `srcu_read_unlock`) that may sleep, and grace periods that end only once
 * every reader that was inside its section when the grace period started has left it, and not
 * before the domain's grace-period latency (`srcu_gp`) has passed. Readers that enter after a
 * grace period started are not waited for (as with the real srcu_idx flip).
 *
 * `synchronize_srcu` (a process waits) and `call_srcu` (a callback runs from an event after the
 * grace period) are both built on `startGp`.
 */
import { WaitQueue, waitOn, type Engine, type Proc } from './engine'

interface GpWaiter {
  /** Readers with an id below this were in their section when the grace period started. */
  cutoff: number
  start: number
  fn: () => void
}

export class Srcu {
  private nextReader = 1
  /** Reader ids in their read-side section (insertion order = id order). */
  private readonly active = new Set<number>()
  /** Grace periods whose latency elapsed but that still wait for old readers. */
  private waiting: GpWaiter[] = []
  /** Grace periods that had to wait for readers, and the total extra time they waited (ns). */
  extendedGps = 0
  extendedNs = 0

  constructor(
    readonly name: string,
    private readonly engine: Engine,
    private readonly gpNs: () => number,
    /** Called when a grace period had to wait `extraNs` beyond its latency for old readers. */
    private readonly onExtended?: (extraNs: number) => void,
  ) {}

  /** Readers currently inside a read-side section. */
  get readers(): number {
    return this.active.size
  }

  /** srcu_read_lock: returns the token to pass to `readUnlock`. */
  readLock(): number {
    const id = this.nextReader++
    this.active.add(id)
    return id
  }

  /** srcu_read_unlock. Grace periods that only waited for this reader end (as a new event). */
  readUnlock(id: number): void {
    this.active.delete(id)
    if (this.waiting.length === 0) return
    const still: GpWaiter[] = []
    for (const g of this.waiting) {
      if (this.oldReadersGone(g.cutoff)) {
        const extra = this.engine.now - (g.start + this.gpNs())
        this.extendedGps++
        this.extendedNs += extra
        this.onExtended?.(extra)
        this.engine.after(0, `${this.name} gp end`, g.fn)
      } else still.push(g)
    }
    this.waiting = still
  }

  private oldReadersGone(cutoff: number): boolean {
    for (const id of this.active) return id >= cutoff
    return true
  }

  /** Starts a grace period now; `fn` runs (from an event) when it has ended. */
  startGp(label: string, fn: () => void): void {
    const cutoff = this.nextReader
    const start = this.engine.now
    this.engine.after(this.gpNs(), label, () => {
      if (this.oldReadersGone(cutoff)) fn()
      else this.waiting.push({ cutoff, start, fn })
    })
  }

  /** synchronize_srcu: sleeps until a grace period started now has ended. */
  *synchronize(): Proc<void> {
    let done = false
    const q = new WaitQueue(`synchronize_srcu(${this.name})`)
    this.startGp(`synchronize_srcu(${this.name})`, () => {
      done = true
      this.engine.wakeUpAll(q)
    })
    while (!done) yield waitOn(q)
  }
}
