/**
 * The timeline collector: refcount tracks (every change of mm_users, mm_count, f_count and a
 * notifier's users, with the step that caused it), slices on lanes (steps, invalidation brackets,
 * device TLB and IOMMU invalidations, SRCU grace periods, workqueue items, faults) and cause →
 * effect flows between them, for the record's `refcounts` and `timeline`.
 *
 * A hook subscriber like the other collectors: models only emit (`step`, `span`, `notifier_range`,
 * `range_end`, `invalidation`, the ledger's refcount changes). It tags the engine's `cause` with
 * the index of the step that begins, which every event scheduled from it inherits, so deferred work
 * (delayed_fput, an SRCU callback's mmdrop) names the step that queued it. Bounded: at most
 * TIMELINE_CAPS rows, slices and flows are kept; the rest are counted.
 */
import type { Engine } from '../engine/engine'
import type { Hooks } from '../engine/hooks'
import type { Ledger, RefChange } from '../ledger/ledger'
import type { HookChannels, InvalidationRecord, NotifierRangeCall, RangeEndCall, SpanEvent, StepBegin } from '../kernel/types'
import { PAGE_SIZE } from '../kernel/page'
import { REFCOUNT_COUNTERS, TIMELINE_CAPS, type Refcounts, type RefcountCounter, type StepRow, type Timeline, type TimelineLane } from '../../shared/record'

/** Where the machine's devices sit: an IOMMU's invalidations go on its lane. */
export interface TimelineMachine {
  devices: ReadonlyArray<{ name: string; iommu: string | null }>
  iommus: readonly string[]
}

/** A slice before the record is built (`t1` NaN while open). */
interface RawSlice {
  lane: string
  t0: number
  t1: number
  name: string
  cat: string
  step: number
  detail: string
}

/** One end of a flow: a step slice (by step index) or a collected slice (by raw id). */
type End = { step: number } | { raw: number }

const IOMMU_MECHANISMS = new Set(['iotlb_psi', 'iotlb_dsi', 'iotlb_asid', 'smmu_tlbi_va', 'ats_inv'])
/** Index of each followed counter (a track's key is ledger id × 4 + this). */
const COUNTER_INDEX: Readonly<Record<string, number>> = Object.fromEntries(REFCOUNT_COUNTERS.map((c, i) => [c, i]))

function hex(n: number): string {
  return `0x${n.toString(16)}`
}

export class TimelineCollector {
  // steps: line, op and task by step index
  private readonly stepLine: number[] = []
  private readonly stepOp: string[] = []
  private readonly stepTask: Array<string | null> = []
  private readonly stepT0: number[] = []

  // refcounts
  private readonly trackOf = new Map<number, number>()
  private readonly tracks: Array<Refcounts['tracks'][number]> = []
  private tracksDropped = 0
  private readonly rows: Refcounts['rows'] = { track: [], t: [], value: [], step: [], line: [], fn: [], dict: { fn: [] } }
  private readonly fnIndex = new Map<string, number>()
  private refTotal = 0

  // slices and flows
  private readonly raw: RawSlice[] = []
  private rawDropped = 0
  private readonly flows: Array<{ from: End; to: End }> = []
  private flowsDropped = 0
  /** Open invalidation brackets per mm (innermost last), with their raw slice (-1: not kept). */
  private readonly open = new Map<object, Array<{ raw: number; event: string; start: number; end: number; mm: string }>>()
  /** Open spans by id: raw slice (-1 when not kept). */
  private readonly spans = new Map<number, number>()
  /** Open work item per kworker process name (its raw slice). */
  private readonly workOf = new Map<string, number>()
  /** Where the last device / IOMMU slice on a lane ended (back-to-back costs of one callback). */
  private readonly laneCursor = new Map<string, number>()
  private readonly laneKinds = new Map<string, TimelineLane>()
  private readonly iommuOfDevice = new Map<string, string | null>()
  /** The lane of an invalidation record by mechanism and device, made once (it runs per record). */
  private readonly recordLane = new Map<string, Map<string, string>>()

  constructor(
    hooks: Hooks<HookChannels>,
    private readonly engine: Engine,
    private readonly ledger: Ledger,
    machine: TimelineMachine,
  ) {
    for (const d of machine.devices) this.iommuOfDevice.set(d.name, d.iommu)
    hooks.on('step', (s: StepBegin) => this.onStep(s))
    hooks.on('span', (s: SpanEvent) => this.onSpan(s))
    hooks.on('notifier_range', (r: NotifierRangeCall) => this.onRangeStart(r))
    hooks.on('range_end', (r: RangeEndCall) => this.onRangeEnd(r))
    hooks.on('invalidation', (r: InvalidationRecord) => this.onInvalidation(r))
    ledger.refListeners.push((r: RefChange) => this.onRef(r))
  }

  // -------------------------------------------------------------------------------------------
  // refcounts

  private onRef(r: RefChange): void {
    const ci = COUNTER_INDEX[r.counter]
    if (ci === undefined) return
    const key = r.id * 4 + ci
    let ti = this.trackOf.get(key)
    if (ti === undefined) {
      if (this.tracks.length >= TIMELINE_CAPS.refcountTracks) {
        ti = -1
        this.tracksDropped++
      } else {
        const o = this.ledger.objects[r.id]
        ti = this.tracks.length
        this.tracks.push({
          object: o?.label ?? `object ${r.id}`,
          type: o?.type ?? 'driver_object',
          owner: o ? (this.ledger.owners[o.owner]?.label ?? '?') : '?',
          counter: r.counter as RefcountCounter,
          changes: 0,
          peak: r.value,
          final: r.value,
          dropped: 0,
        })
      }
      this.trackOf.set(key, ti)
    }
    if (ti < 0) return
    const tr = this.tracks[ti] as Refcounts['tracks'][number]
    tr.changes++
    tr.final = r.value
    if (r.value > tr.peak) tr.peak = r.value
    this.refTotal++
    if (tr.changes - tr.dropped > TIMELINE_CAPS.refcountRowsPerTrack || this.rows.t.length >= TIMELINE_CAPS.refcountRows) {
      tr.dropped++
      return
    }
    let fi = this.fnIndex.get(r.fn)
    if (fi === undefined) {
      fi = this.rows.dict.fn.push(r.fn) - 1
      this.fnIndex.set(r.fn, fi)
    }
    const step = this.engine.cause
    const rows = this.rows
    rows.track.push(ti)
    rows.t.push(this.engine.now)
    rows.value.push(r.value)
    rows.step.push(step)
    rows.line.push(step >= 0 ? (this.stepLine[step] ?? 0) : 0)
    rows.fn.push(fi)
  }

  // -------------------------------------------------------------------------------------------
  // slices

  private onStep(s: StepBegin): void {
    this.engine.cause = s.index
    this.stepLine[s.index] = s.line
    this.stepOp[s.index] = s.op
    this.stepTask[s.index] = s.task
    this.stepT0[s.index] = s.t
  }

  private lane(id: string, kind: TimelineLane['kind'], label: string): string {
    if (!this.laneKinds.has(id)) this.laneKinds.set(id, { id, kind, label })
    return id
  }

  /** The lane of what runs now: a kworker, a timer callback (SRCU), or the task of the causing step. */
  private contextLane(): string {
    const proc = this.engine.running
    if (proc.startsWith('kworker:')) return this.lane('workqueue', 'kernel', 'workqueue (kworker)')
    if (proc === '') return this.lane('srcu', 'kernel', 'SRCU callbacks')
    const task = this.engine.cause >= 0 ? this.stepTask[this.engine.cause] : null
    return task ? this.lane(`task:${task}`, 'task', `task ${task}`) : this.lane('kernel', 'kernel', 'kernel')
  }

  /** What caused what runs now: the work item of this kworker, else the step. */
  private contextCause(): End | null {
    const w = this.workOf.get(this.engine.running)
    if (w !== undefined && w >= 0) return { raw: w }
    return this.engine.cause >= 0 ? { step: this.engine.cause } : null
  }

  /** True when no more slices are kept: the caller counts the drop and builds no text. */
  private full(cause: boolean): boolean {
    if (this.raw.length < TIMELINE_CAPS.slices) return false
    this.rawDropped++
    if (cause) this.flowsDropped++
    return true
  }

  private addSlice(s: RawSlice, cause: End | null): number {
    if (this.raw.length >= TIMELINE_CAPS.slices) {
      this.rawDropped++
      if (cause) this.flowsDropped++
      return -1
    }
    const id = this.raw.push(s) - 1
    if (cause) this.addFlow(cause, { raw: id })
    return id
  }

  private addFlow(from: End, to: End): void {
    if (this.flows.length >= TIMELINE_CAPS.flows) this.flowsDropped++
    else this.flows.push({ from, to })
  }

  private onSpan(s: SpanEvent): void {
    const now = this.engine.now
    if (s.phase === 'end') {
      const id = this.spans.get(s.id)
      if (id === undefined) return
      this.spans.delete(s.id)
      if (id >= 0) (this.raw[id] as RawSlice).t1 = now
      if (s.kind === 'work') this.workOf.delete(`kworker:${s.label}`)
      return
    }
    const cause = this.contextCause()
    let id: number
    if (this.full(cause !== null)) {
      // a dropped fault needs no end; a dropped work item still names its kworker's context
      if (s.kind === 'work') {
        this.spans.set(s.id, -1)
        this.workOf.set(`kworker:${s.label}`, -1)
      }
      return
    }
    if (s.kind === 'work') {
      // the kworker runs it; its cause is the step (or work) that queued it
      const lane = this.lane('workqueue', 'kernel', 'workqueue (kworker)')
      id = this.addSlice({ lane, t0: now, t1: NaN, name: s.label, cat: 'work', step: this.engine.cause, detail: `work item ${s.label}` }, cause)
      this.workOf.set(`kworker:${s.label}`, id)
    } else if (s.kind === 'srcu_gp') {
      const lane = this.lane('srcu', 'kernel', 'SRCU callbacks')
      id = this.addSlice(
        { lane, t0: now, t1: NaN, name: `grace period: ${s.label}`, cat: 'srcu_gp', step: this.engine.cause, detail: `call_srcu → ${s.label}` },
        cause,
      )
    } else {
      id = this.addSlice(
        { lane: this.contextLane(), t0: now, t1: NaN, name: 'fault', cat: 'fault', step: this.engine.cause, detail: s.describe ? s.describe() : s.label },
        cause,
      )
    }
    this.spans.set(s.id, id)
  }

  private onRangeStart(r: NotifierRangeCall): void {
    const mm = r.mm as unknown as object
    let stack = this.open.get(mm)
    if (!stack) {
      stack = []
      this.open.set(mm, stack)
    }
    const label = (r.mm as unknown as { label: string }).label
    const outer = stack[stack.length - 1]
    const cause: End | null = outer && outer.raw >= 0 ? { raw: outer.raw } : this.contextCause()
    if (this.full(cause !== null)) {
      stack.push({ raw: -1, event: r.event, start: r.start, end: r.end, mm: label })
      return
    }
    const raw = this.addSlice(
      {
        lane: this.contextLane(),
        t0: r.t,
        t1: NaN,
        name: `invalidate ${r.event}`,
        cat: 'invalidate',
        step: this.engine.cause,
        detail: `mmu_notifier_invalidate_range_start..end ${r.event} ${label} [${hex(r.start * PAGE_SIZE)}, ${hex(r.end * PAGE_SIZE)})`,
      },
      cause,
    )
    stack.push({ raw, event: r.event, start: r.start, end: r.end, mm: label })
  }

  private onRangeEnd(e: RangeEndCall): void {
    const r = e.range
    const stack = this.open.get(r.mm as unknown as object)
    if (!stack) return
    for (let i = stack.length - 1; i >= 0; i--) {
      const o = stack[i] as { raw: number; event: string; start: number; end: number }
      if (o.event !== r.event || o.start !== r.start || o.end !== r.end) continue
      if (o.raw >= 0) (this.raw[o.raw] as RawSlice).t1 = this.engine.now
      stack.splice(i, 1)
      return
    }
  }

  private laneOfRecord(r: InvalidationRecord): string {
    let byDevice = this.recordLane.get(r.mechanism)
    if (!byDevice) this.recordLane.set(r.mechanism, (byDevice = new Map()))
    let lane = byDevice.get(r.device)
    if (lane !== undefined) return lane
    if (IOMMU_MECHANISMS.has(r.mechanism)) {
      const io = this.iommuOfDevice.get(r.device) ?? r.device
      lane = this.lane(`iommu:${io}`, 'iommu', `IOMMU ${io}`)
    } else if (r.mechanism === 'cpu_tlb') lane = this.lane('cpu', 'kernel', 'CPU TLB')
    else lane = this.lane(`device:${r.device}`, 'device', `device ${r.device}`)
    byDevice.set(r.device, lane)
    return lane
  }

  private onInvalidation(r: InvalidationRecord): void {
    const lane = this.laneOfRecord(r)
    // the costs of one callback are spent one after the other: lay them back to back on the lane
    const t0 = Math.max(r.t, this.laneCursor.get(lane) ?? 0)
    const t1 = t0 + Math.max(0, r.cost)
    this.laneCursor.set(lane, t1)
    if (this.full(true)) return
    let cause: End | null = null
    for (const stack of this.open.values()) {
      const o = stack[stack.length - 1]
      if (o && o.mm === r.mm) cause = o.raw >= 0 ? { raw: o.raw } : null
    }
    cause ??= this.contextCause()
    this.addSlice(
      {
        lane,
        t0,
        t1,
        name: r.mechanism,
        cat: lane.startsWith('iommu:') ? 'iommu' : lane === 'cpu' ? 'cpu_tlb' : 'device_tlb',
        step: this.engine.cause,
        detail: `${r.event} ${r.mm}${lane.startsWith('iommu:') ? ` (${r.device})` : ''}: ${r.pages} pages [${hex(r.start)}, ${hex(r.end)}), ${r.cost} ns`,
      },
      cause,
    )
  }

  // -------------------------------------------------------------------------------------------
  // the record

  refcounts(): Refcounts {
    const dropped = this.refTotal - this.rows.t.length
    return { tracks: this.tracks.map((t) => ({ ...t })), tracksDropped: this.tracksDropped, rows: this.rows, total: this.refTotal, dropped }
  }

  /**
   * Slices (the steps of the step log on their tasks' lanes, then every collected one, sorted by
   * start) and flows between kept slices. `steps` is the interpreter's step log; `end` the run's end.
   */
  timeline(steps: readonly StepRow[], end: number): Timeline {
    // step log rows → step indices: the first begun step of the same start time, line and operation
    const rowsAt = new Map<number, number[]>()
    steps.forEach((row, k) => {
      const list = rowsAt.get(row.t0)
      if (list) list.push(k)
      else rowsAt.set(row.t0, [k])
    })
    const indexOfRow = new Int32Array(steps.length).fill(-1)
    for (let i = 0; i < this.stepLine.length; i++) {
      const list = rowsAt.get(this.stepT0[i] as number)
      if (!list) continue
      for (let j = 0; j < list.length; j++) {
        const k = list[j] as number
        const row = steps[k] as StepRow
        if (indexOfRow[k] === -1 && row.line === this.stepLine[i] && row.op === this.stepOp[i]) {
          indexOfRow[k] = i
          break
        }
      }
    }
    // every slice as a number: 0..stepRows-1 the kept step rows, then the collected slices
    const stepRows: number[] = []
    let stepsDropped = 0
    for (let k = 0; k < steps.length; k++) {
      const idx = indexOfRow[k] as number
      if (idx < 0 || !this.stepTask[idx]) continue
      if (stepRows.length >= TIMELINE_CAPS.stepSlices) {
        stepsDropped++
        continue
      }
      stepRows.push(k)
    }
    const nSteps = stepRows.length
    const n = nSteps + this.raw.length
    const t0 = new Float64Array(n)
    for (let i = 0; i < nSteps; i++) t0[i] = (steps[stepRows[i] as number] as StepRow).t0
    for (let i = 0; i < this.raw.length; i++) t0[nSteps + i] = (this.raw[i] as RawSlice).t0
    const order = Array.from({ length: n }, (_, i) => i)
    order.sort((a, b) => (t0[a] as number) - (t0[b] as number) || a - b)
    const finalOf = new Int32Array(n)
    for (let i = 0; i < n; i++) finalOf[order[i] as number] = i

    const laneOf = (i: number): string => {
      if (i >= nSteps) return (this.raw[i - nSteps] as RawSlice).lane
      const task = this.stepTask[indexOfRow[stepRows[i] as number] as number] as string
      return this.lane(`task:${task}`, 'task', `task ${task}`)
    }
    // lanes: tasks first (in order of appearance), then devices, IOMMUs, kernel
    const laneIds: string[] = new Array<string>(n)
    const used = new Set<string>()
    for (let i = 0; i < n; i++) {
      const l = laneOf(i)
      laneIds[i] = l
      used.add(l)
    }
    const rank = { task: 0, device: 1, iommu: 2, kernel: 3 } as const
    const lanes = [...this.laneKinds.values()].filter((l) => used.has(l.id))
    lanes.sort((a, b) => rank[a.kind] - rank[b.kind])
    const laneIndex = new Map(lanes.map((l, i) => [l.id, i]))

    const nameIndex = new Map<string, number>()
    const catIndex = new Map<string, number>()
    const slices: Timeline['slices'] = { lane: [], t0: [], t1: [], name: [], cat: [], step: [], detail: [], dict: { name: [], cat: [] } }
    const intern = (m: Map<string, number>, arr: string[], v: string): number => {
      let i = m.get(v)
      if (i === undefined) {
        i = arr.push(v) - 1
        m.set(v, i)
      }
      return i
    }
    for (let k = 0; k < n; k++) {
      const i = order[k] as number
      slices.lane.push(laneIndex.get(laneIds[i] as string) as number)
      slices.t0.push(t0[i] as number)
      if (i < nSteps) {
        const row = steps[stepRows[i] as number] as StepRow
        slices.t1.push(Math.max(row.t0, row.t1))
        slices.name.push(intern(nameIndex, slices.dict.name, row.op))
        slices.cat.push(intern(catIndex, slices.dict.cat, 'step'))
        slices.step.push(indexOfRow[stepRows[i] as number] as number)
        slices.detail.push(`line ${row.line}${row.ret !== null ? ` → ${row.ret}` : ''}`)
      } else {
        const s = this.raw[i - nSteps] as RawSlice
        const open = Number.isNaN(s.t1)
        slices.t1.push(Math.max(s.t0, open ? end : s.t1))
        slices.name.push(intern(nameIndex, slices.dict.name, s.name))
        slices.cat.push(intern(catIndex, slices.dict.cat, s.cat))
        slices.step.push(s.step)
        slices.detail.push(open ? `${s.detail} (not finished at the end of the run)` : s.detail)
      }
    }
    const stepAt = new Map<number, number>()
    for (let i = 0; i < nSteps; i++) stepAt.set(indexOfRow[stepRows[i] as number] as number, i)
    const resolve = (e: End): number | undefined => {
      const at = 'step' in e ? stepAt.get(e.step) : nSteps + e.raw
      return at === undefined || at >= n ? undefined : (finalOf[at] as number)
    }
    const flows: Timeline['flows'] = { from: [], to: [] }
    let unresolved = 0
    for (const f of this.flows) {
      const a = resolve(f.from)
      const b = resolve(f.to)
      if (a === undefined || b === undefined || a === b) {
        unresolved++
        continue
      }
      flows.from.push(a)
      flows.to.push(b)
    }
    const flowsDropped = this.flowsDropped + unresolved
    return {
      lanes,
      slices,
      slicesTotal: n + this.rawDropped + stepsDropped,
      slicesDropped: this.rawDropped + stepsDropped,
      flows,
      flowsTotal: flows.from.length + flowsDropped,
      flowsDropped,
    }
  }
}
