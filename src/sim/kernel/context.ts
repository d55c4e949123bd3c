/**
 * The kernel context of one run: what kernel, driver and design code may reach. Engine, PRNG,
 * ledger, frames, costs, trace, the hooks models emit on (metrics are hook subscribers), the SRCU
 * domains and the workqueue, the finding sink, the task and mm lists, device memory (pgmaps) and the
 * mmput notifier chain. It knows nothing of scenarios, devices as the scenario built them, or the
 * chosen teardown design: those live in the composition root (src/sim/world.ts), which extends it.
 */
import { Engine, type Proc, type WaitQueue } from '../engine/engine'
import { Hooks, type HookListener } from '../engine/hooks'
import { Rng } from '../engine/rng'
import { TraceRing } from '../engine/trace'
import { Srcu } from '../engine/srcu'
import { Ledger, type CallPath, type MemoryFinding } from '../ledger/ledger'
import { Frames } from './frames'
import { INVARIANTS, type InvariantName } from './invariants'
import { makeCosts, type Costs } from '../cost/model'
import type { MmStruct, Task } from './objects'
import type { SwapInfo } from './swap'
import { DEFAULT_KERNEL, type KernelVersionT } from './version'
import { DEFAULT_HZ, DEFAULT_MMAP_MIN_ADDR } from '../../shared/scenario'
import type { CounterEvent, DevPagemap, Finding, HookChannels, InvalidationRecord, Marker, MarkerKind, MmputNotifier, SpanEvent } from './types'

/** Records kept in full; aggregates cover every invalidation. */
const MAX_INVAL_RECORDS = 4096

export class Kernel {
  readonly engine = new Engine()
  readonly rng: Rng
  readonly ledger: Ledger
  readonly frames: Frames
  readonly costs: Costs
  readonly trace: TraceRing
  readonly hooks = new Hooks<HookChannels>()
  readonly findings: Finding[] = []
  readonly markers: Marker[] = []
  readonly invalidations: InvalidationRecord[] = []
  invalidationsDropped = 0
  /** The reused payload of the `counter` hook. */
  private readonly counterEvent: CounterEvent = { name: '', by: 0 }
  /** Listeners of the `counter` hook (the live array: `count` is on the hot path). */
  private readonly counterListeners = this.hooks.listeners('counter')
  /** PROTECTION_PAGE invalidate_range_start calls so far (model state for invariant 7). */
  protectionPageInvalidations = 0
  /**
   * Every task by name: the task list the kernel walks with for_each_process (scenario names stand
   * for pids).
   */
  readonly tasks = new Map<string, Task>()
  /** Every mm_struct allocated, in allocation order (walked where the kernel walks rmap or tasks). */
  readonly mms: MmStruct[] = []
  /** Device memory by device index (struct dev_pagemap, registered by memremap_pages). */
  readonly pgmaps: DevPagemap[] = []
  /** The mmput notifier chain (never merged; D3 joins it), run by __mmput before exit_mmap. */
  readonly mmputChain: MmputNotifier[] = []
  /** Locked folios by frame, each with the queue its waiters sleep on (kernel/filemap.ts). */
  readonly folioLocks = new Map<number, WaitQueue>()
  /** The swap device (swapon), or null: no swap (the default, `machine.swap`). */
  swap: SwapInfo | null = null
  private nextId = 1
  private nextPid = 100
  /** The notifier SRCU domain (`srcu` in mm/mmu_notifier.c): read sections around the callbacks. */
  readonly srcu: Srcu
  /** Other SRCU domains by name (e.g. kfd_processes_srcu), created on first use. */
  private readonly srcuDomains = new Map<string, Srcu>()
  /** SRCU callbacks queued and not yet run. */
  srcuPending = 0
  private srcuBarrierWaiters: Array<() => void> = []
  /**
   * Driver behaviours newer than the kernel the model follows, each named after the patch that
   * brings it, off unless the scenario's `machine.patches` lists it.
   */
  readonly patches = new Set<string>()
  /**
   * The kernel version the model follows (`machine.kernel`, default mainline): rules that changed
   * across versions ask `kernelHas` (kernel/version.ts), never this field directly.
   */
  kernel: KernelVersionT = DEFAULT_KERNEL
  /** CONFIG_HZ (`machine.hz`, default 250): the tick that delayed work waits for. */
  hz: number = DEFAULT_HZ
  /** vm.mmap_min_addr in bytes (`machine.mmap_min_addr`): MAP_FIXED below it is -EPERM (do_mmap). */
  mmapMinAddr: number = DEFAULT_MMAP_MIN_ADDR
  /** Findings already reported, to avoid flooding with identical ones. */
  private findingKeys = new Set<string>()

  constructor(seed: number, costOverrides: Partial<Record<string, number>> | undefined, traceCapacity: number) {
    this.rng = new Rng(seed)
    this.trace = new TraceRing(traceCapacity)
    this.ledger = new Ledger(
      () => this.engine.now,
      (f) => this.memoryFinding(f),
      this.hooks.listeners('memory'),
      this.hooks.listeners('memory_growth'),
    )
    this.frames = new Frames(this.ledger)
    this.costs = makeCosts(costOverrides)
    this.srcu = new Srcu(
      'mmu_notifier srcu',
      this.engine,
      () => this.costs.srcu_gp,
      (extra) => {
        this.count('srcu.gp_waited_for_callbacks')
        this.count('srcu.gp_wait_ns', extra)
      },
    )
  }

  /** Another SRCU domain than the notifier's (a driver's own), created on first use. */
  srcuDomain(name: string): Srcu {
    let d = this.srcuDomains.get(name)
    if (!d) {
      d = new Srcu(name, this.engine, () => this.costs.srcu_gp)
      this.srcuDomains.set(name, d)
    }
    return d
  }

  /** A fresh id for model objects. */
  id(): number {
    return this.nextId++
  }

  pid(): number {
    return this.nextPid++
  }

  /** Adds to a named counter: emitted on the `counter` hook (the metrics collector owns the values). */
  count(name: string, by = 1): void {
    const ls = this.counterListeners
    if (ls.length === 0) return
    const e = this.counterEvent
    e.name = name
    e.by = by
    for (let i = 0; i < ls.length; i++) (ls[i] as HookListener<CounterEvent>)(e)
  }

  /** Writes a trace record. */
  log(cat: string, name: string, detail: string): void {
    this.trace.push({ t: this.engine.now, cat, name, detail })
  }

  /** Records a marker for the timeline. */
  mark(kind: MarkerKind, label: string): void {
    const m = { t: this.engine.now, kind, label }
    this.markers.push(m)
    this.log('marker', kind, label)
    this.hooks.emit('marker', m)
  }

  /** Reports a finding (deduplicated by kind + message + invariant). */
  finding(f: Omit<Finding, 't'>): void {
    const key = `${f.kind}|${f.invariant ?? ''}|${f.message}`
    if (this.findingKeys.has(key)) return
    this.findingKeys.add(key)
    const full: Finding = { t: this.engine.now, ...f }
    this.findings.push(full)
    this.log('finding', f.kind, f.message)
    this.hooks.emit('finding', full)
  }

  /** An invariant of kernel/invariants.ts was violated (reported with its number). Never throws. */
  violation(name: InvariantName, message: string, path?: CallPath): void {
    const invariant = INVARIANTS[name].n
    this.finding({ kind: 'invariant', invariant, message: `invariant ${invariant}: ${message}`, ...(path ? { accessPath: path } : {}) })
  }

  private memoryFinding(f: MemoryFinding): void {
    this.finding({ kind: f.kind, message: f.message, object: f.object, allocPath: f.allocPath, freePath: f.freePath, accessPath: f.accessPath })
  }

  /** Records one device/IOMMU/CPU invalidation action. */
  invalidation(r: Omit<InvalidationRecord, 't'>): void {
    const rec: InvalidationRecord = { t: this.engine.now, ...r }
    if (this.invalidations.length < MAX_INVAL_RECORDS) this.invalidations.push(rec)
    else this.invalidationsDropped++
    this.hooks.emit('invalidation', rec)
  }

  private nextSpan = 1
  /** The `span` payload, reused by every begin and end (a run can have millions of faults). */
  private readonly spanEvent: SpanEvent = { phase: 'begin', id: 0, kind: 'fault', label: '', mm: '', start: 0, end: 0, write: false, via: '' }

  /** Opens a timeline span (`span` hook); returns its id for `spanEnd`, or 0 when nobody listens. */
  spanBegin(kind: SpanEvent['kind'], label: string): number {
    if (!this.hooks.has('span')) return 0
    const id = this.nextSpan++
    this.emitSpan('begin', id, kind, label, '', 0, 0, false, '')
    return id
  }

  /**
   * Opens the span of a fault over pages [start, end) of the mm labelled `mm` (`via`: who asked);
   * returns its id for `spanEnd(id, 'fault', 'fault')`, or 0 when nobody listens.
   */
  faultSpanBegin(mm: string, start: number, end: number, write: boolean, via: string): number {
    if (!this.hooks.has('span')) return 0
    const id = this.nextSpan++
    this.emitSpan('begin', id, 'fault', 'fault', mm, start, end, write, via)
    return id
  }

  /** Closes a span opened by `spanBegin` or `faultSpanBegin` (0: none). */
  spanEnd(id: number, kind: SpanEvent['kind'], label: string): void {
    if (id !== 0) this.emitSpan('end', id, kind, label, '', 0, 0, false, '')
  }

  private emitSpan(
    phase: SpanEvent['phase'],
    id: number,
    kind: SpanEvent['kind'],
    label: string,
    mm: string,
    start: number,
    end: number,
    write: boolean,
    via: string,
  ): void {
    const e = this.spanEvent
    e.phase = phase
    e.id = id
    e.kind = kind
    e.label = label
    e.mm = mm
    e.start = start
    e.end = end
    e.write = write
    e.via = via
    this.hooks.emit('span', e)
  }

  /**
   * call_srcu on the global notifier SRCU domain: `fn` runs after a grace period, i.e. not before
   * `srcu_gp` and not before every notifier callback in flight now has returned.
   */
  callSrcu(label: string, fn: () => void): void {
    this.srcuPending++
    this.log('srcu', 'call_srcu', label)
    const span = this.spanBegin('srcu_gp', label)
    this.srcu.startGp(label, () => {
      this.spanEnd(span, 'srcu_gp', label)
      this.srcuPending--
      fn()
      if (this.srcuPending === 0) {
        const ws = this.srcuBarrierWaiters.splice(0)
        for (const w of ws) w()
      }
    })
  }

  /**
   * synchronize_srcu on the notifier domain (or `domain`): waits for a grace period, which also
   * waits out every read-side section (notifier callback) in flight when it started.
   */
  *synchronizeSrcu(domain: Srcu = this.srcu): Proc<void> {
    this.count('synchronize_srcu')
    yield* domain.synchronize()
  }

  /**
   * queue_delayed_work(wq, dwork, msecs_to_jiffies(ms)) (kernel/workqueue.c __queue_delayed_work):
   * a timer set to expire `jiffies + delay` jiffies; the timer wheel runs it on the tick at which
   * jiffies reaches that value (kernel/time/timer.c __run_timers), which then queues the work
   * (delayed_work_timer_fn → __queue_work) and a kworker runs it after the workqueue latency. So
   * the wait is between delay − 1 and delay jiffies, not `ms`. The run's time 0 is a tick; a delay
   * of 0 jiffies queues the work at once.
   */
  queueDelayedWork(label: string, ms: number, body: () => Proc<void>): void {
    const delay = msecsToJiffies(ms, this.hz)
    if (delay === 0) {
      this.queueWork(label, 0, body)
      return
    }
    const expires = Math.floor((this.engine.now * this.hz) / 1e9) + delay
    const tickAt = Math.ceil((expires * 1e9) / this.hz)
    this.queueWork(label, Math.max(0, tickAt - this.engine.now), body)
  }

  /** queue_work: runs the process on a kworker after the workqueue latency (+extra delay). */
  queueWork(label: string, extraDelay: number, body: () => Proc<void>): void {
    this.log('workqueue', 'queue_work', label)
    this.engine.after(this.costs.workqueue_delay + extraDelay, label, () => {
      const span = this.spanBegin('work', label)
      this.engine.spawn(`kworker:${label}`, body(), () => this.spanEnd(span, 'work', label))
    })
  }
}

/**
 * msecs_to_jiffies (include/linux/jiffies.h _msecs_to_jiffies): milliseconds rounded up to whole
 * jiffies at `hz` ticks per second (1 ms is one jiffy at any HZ ≤ 1000).
 */
export function msecsToJiffies(ms: number, hz: number): number {
  if (!(ms > 0)) return 0
  return Math.ceil((ms * hz) / 1000 - 1e-9)
}
