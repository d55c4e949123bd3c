/**
 * The world of one run: engine, PRNG, ledger, frames, costs, the machine (devices, IOMMUs), tasks
 * and the chosen teardown design, plus the finding sink and the hooks models emit on (metrics are
 * collected by subscribers, src/sim/metrics). Every model module receives the world explicitly;
 * there is no global state.
 */
import { Engine, type Proc } from './engine/engine'
import { Hooks, type HookListener } from './engine/hooks'
import { Rng } from './engine/rng'
import { TraceRing } from './engine/trace'
import { Srcu } from './engine/srcu'
import { Ledger, type CallPath, type MemoryFinding, type MemoryGrowth, type MemorySample } from './ledger/ledger'
import { Frames } from './kernel/frames'
import { makeCosts, type Costs } from './cost/model'
import type { Device } from './devices/device'
import type { Iommu } from './devices/iommu'
import type { MmStruct, NotifyEvent, Task } from './kernel/objects'
import type { TeardownDesign } from './teardown/design'

export type FindingKind =
  | 'use_after_free'
  | 'double_free'
  | 'refcount_underflow'
  | 'invariant'
  | 'livelock'
  | 'warn'

export interface Finding {
  kind: FindingKind
  t: number
  message: string
  /** For kind = invariant: the number in domain.md §7.4. */
  invariant?: number
  object?: string
  allocPath?: CallPath
  freePath?: CallPath | null
  accessPath?: CallPath
}

export type MarkerKind =
  | 'spawn'
  | 'fork'
  | 'exit'
  | 'close'
  | 'open'
  | 'mirror'
  | 'release'
  | 'notifier_release'
  | 'mmput'
  | '__mmput'
  | '__mmdrop'
  | 'free_notifier'
  | 'driver_free'
  | 'pasid_free'

export interface Marker {
  t: number
  kind: MarkerKind
  label: string
}

export interface InvalidationRecord {
  t: number
  event: NotifyEvent | 'SECONDARY_TLB'
  mm: string
  /** Byte addresses. */
  start: number
  end: number
  device: string
  mechanism: string
  pages: number
  cost: number
}

export type Mechanism =
  | 'device_pt_zap'
  | 'gpu_tlb_page'
  | 'gpu_tlb_full'
  | 'iotlb_psi'
  | 'iotlb_dsi'
  | 'iotlb_asid'
  | 'smmu_tlbi_va'
  | 'ats_inv'
  | 'cpu_tlb'

/** Records kept in full; aggregates cover every invalidation. */
const MAX_INVAL_RECORDS = 4096

/**
 * One `World.count` call: add `by` to the counter `name`. The payload object is reused from call
 * to call (counters are on the hot path): listeners read it during the call and never keep it.
 */
export interface CounterEvent {
  name: string
  by: number
}

/** A step begins (the interpreter): its ordinal among executed steps, source line and operation. */
export interface StepBegin {
  /** Ordinal of this step among the steps executed so far (repeats unrolled), from 0. */
  index: number
  line: number
  op: string
  /** The task the step names, if any. */
  task: string | null
  /** Iteration of the innermost `repeat` (0 outside one). */
  round: number
  t: number
  /**
   * The interpreter's state, read-only: at a step's begin it holds the outcome of the step before
   * (the oracle reads return codes, SNAPSHOT bytes, buffers and the tasks' mms from it).
   */
  view: StepView
}

/** Read-only view of the step interpreter's state (see StepBegin.view). */
export interface StepView {
  readonly w: World
  readonly ret: number | null
  readonly cpages: number | null
  readonly faults: number | null
  readonly snapshot: number[] | null
  /** Each task's mm by task name (kept after the task exits). */
  readonly mmOf: ReadonlyMap<string, MmStruct>
  /** Buffers filled by device_read/migrate/exclusive `into`, pread `into` and user_buffer. */
  readonly buffers: ReadonlyMap<string, { first: number; data: Int32Array }>
}

/**
 * One call of `__mmu_notifier_invalidate_range_start` (made only when the mm has subscriptions,
 * as `mmu_notifier_invalidate_range_start` checks `mm_has_notifiers`). Page indices.
 */
export interface NotifierRangeCall {
  t: number
  mm: MmStruct
  event: NotifyEvent
  start: number
  end: number
  /** Device index of the owner (MIGRATE / EXCLUSIVE), or -1 (NULL). */
  owner: number
  blockable: boolean
}

/** One interval subscription's `->invalidate` callback (e.g. `dmirror_interval_invalidate`). */
export interface IntervalInvalidateCall {
  t: number
  mm: MmStruct
  /** The subscription's ledger object (identifies it across calls). */
  sub: number
  event: NotifyEvent
  start: number
  end: number
  owner: number
}

export interface HookChannels extends Record<string, unknown> {
  invalidation: InvalidationRecord
  step: StepBegin
  notifier_range: NotifierRangeCall
  interval_invalidate: IntervalInvalidateCall
  marker: Marker
  finding: Finding
  counter: CounterEvent
  /** The ledger's memory at the end of a time stamp (reused payload, see MemorySample). */
  memory: MemorySample
  /** Every allocation (positive charge), with live bytes by type after it (reused payload). */
  memory_growth: MemoryGrowth
}

export class World {
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
  readonly tasks = new Map<string, Task>()
  readonly mms: MmStruct[] = []
  readonly devices: Device[] = []
  readonly iommus: Iommu[] = []
  design!: TeardownDesign
  private nextId = 1
  private nextPid = 100
  /** The notifier SRCU domain (`srcu` in mm/mmu_notifier.c): read sections around the callbacks. */
  readonly srcu: Srcu
  /** Other SRCU domains by name (e.g. kfd_processes_srcu), created on first use. */
  private readonly srcuDomains = new Map<string, Srcu>()
  /** SRCU callbacks queued and not yet run. */
  srcuPending = 0
  private srcuBarrierWaiters: Array<() => void> = []
  /** Findings already reported, to avoid flooding with identical ones. */
  private findingKeys = new Set<string>()

  constructor(seed: number, costOverrides: Partial<Record<string, number>> | undefined, traceCapacity: number) {
    this.rng = new Rng(seed)
    this.trace = new TraceRing(traceCapacity)
    this.ledger = new Ledger(() => this.engine.now, (f) => this.memoryFinding(f), this.hooks.listeners('memory'), this.hooks.listeners('memory_growth'))
    this.frames = new Frames(this.ledger)
    this.costs = makeCosts(costOverrides)
    this.srcu = new Srcu('mmu_notifier srcu', this.engine, () => this.costs.srcu_gp, (extra) => {
      this.count('srcu.gp_waited_for_callbacks')
      this.count('srcu.gp_wait_ns', extra)
    })
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

  /** An invariant of domain.md §7.4 was violated. Never throws. */
  violation(invariant: number, message: string, path?: CallPath): void {
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

  /**
   * call_srcu on the global notifier SRCU domain: `fn` runs after a grace period, i.e. not before
   * `srcu_gp` and not before every notifier callback in flight now has returned.
   */
  callSrcu(label: string, fn: () => void): void {
    this.srcuPending++
    this.log('srcu', 'call_srcu', label)
    this.srcu.startGp(label, () => {
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

  /** queue_work: runs the process on a kworker after the workqueue latency (+extra delay). */
  queueWork(label: string, extraDelay: number, body: () => Proc<void>): void {
    this.log('workqueue', 'queue_work', label)
    this.engine.after(this.costs.workqueue_delay + extraDelay, label, () => {
      this.engine.spawn(`kworker:${label}`, body())
    })
  }
}
