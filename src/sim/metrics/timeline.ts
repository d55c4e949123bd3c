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
 * TIMELINE_CAPS rows, slices and flows are kept; the rest are counted. A kept slice is numbers and
 * references to strings the models hold anyway; its detail text is spelled once, by `timeline`.
 */
import type { Engine } from '../engine/engine'
import type { Hooks } from '../engine/hooks'
import type { Ledger, RefChange } from '../ledger/ledger'
import type { HookChannels, InvalidationRecord, NotifierRangeCall, RangeEndCall, SpanEvent, StepBegin } from '../kernel/types'
import { hexAddress, PAGE_SIZE } from '../kernel/page'
import { formatNs } from '../../shared/units'
import { REFCOUNT_COUNTERS, TIMELINE_CAPS, type Refcounts, type RefcountCounter, type StepRow, type Timeline, type TimelineLane } from '../../shared/record'

/** Where the machine's devices sit: an IOMMU's invalidations go on its lane. */
export interface TimelineMachine {
  devices: ReadonlyArray<{ name: string; iommu: string | null }>
  iommus: readonly string[]
}

/**
 * One end of a flow as one number: a collected slice by its raw id (≥ 0), a step slice by its
 * index as -1 - index; NONE: no cause. Numbers, not objects: a storm makes thousands of them.
 */
type End = number
const NONE = -0x40000000

/** An open invalidation bracket: its raw slice (-1: not kept) and what its range_end matches. */
interface OpenRange {
  raw: number
  event: string
  start: number
  end: number
  mm: string
}

/**
 * How a kept slice's detail is spelled from its arguments (columns sA…sC, sN0…sN3), by `timeline`:
 * - FAULT: mm sA, via sB, pages [sN0, sN1), write when sN2 is 1;
 * - RANGE: event sA, mm sB, pages [sN0, sN1);
 * - RECORD (an invalidation record): event sA, mm sB, device sC, bytes [sN0, sN1), sN2 pages,
 *   cost sN3 ns;
 * - WORK, SRCU: the label sA.
 */
const FAULT = 0
const RANGE = 1
const RECORD = 2
const WORK = 3
const SRCU = 4

const IOMMU_MECHANISMS = new Set(['iotlb_psi', 'iotlb_dsi', 'iotlb_asid', 'smmu_tlbi_va', 'ats_inv'])
/** Index of each followed counter (a track's key is ledger id × 4 + this). */
const COUNTER_INDEX: Readonly<Record<string, number>> = Object.fromEntries(REFCOUNT_COUNTERS.map((c, i) => [c, i]))

export class TimelineCollector {
  // steps: line, op and task by step index
  private readonly stepLine: number[] = []
  private readonly stepOp: string[] = []
  private readonly stepTask: Array<string | null> = []
  private readonly stepT0: number[] = []
  /** The lane of each step's task, made when first needed (-1 or a hole: not yet). */
  private readonly stepLane: number[] = []

  // refcounts
  private readonly trackOf = new Map<number, number>()
  private readonly tracks: Array<Refcounts['tracks'][number]> = []
  private tracksDropped = 0
  private readonly rows: Refcounts['rows'] = { track: [], t: [], value: [], step: [], line: [], fn: [], dict: { fn: [] } }
  private readonly fnIndex = new Map<string, number>()
  private refTotal = 0

  // collected slices, as columns by raw id (t1 NaN while open); the detail's kind and arguments
  // (see FAULT…SRCU), not its text: a storm keeps thousands of slices
  private readonly sLane: number[] = []
  private readonly sT0: number[] = []
  private readonly sT1: number[] = []
  private readonly sName: string[] = []
  private readonly sCat: string[] = []
  private readonly sStep: number[] = []
  private readonly sKind: number[] = []
  private readonly sA: string[] = []
  private readonly sB: string[] = []
  private readonly sC: string[] = []
  private readonly sN0: number[] = []
  private readonly sN1: number[] = []
  private readonly sN2: number[] = []
  private readonly sN3: number[] = []
  private rawDropped = 0
  private readonly flowFrom: End[] = []
  private readonly flowTo: End[] = []
  private flowsDropped = 0
  /** Open invalidation brackets per mm (innermost last). */
  private readonly open = new Map<object, OpenRange[]>()
  /**
   * Open spans: id and raw slice (-1: not kept), in no order. A few at a time (a Map that fills and
   * empties at each fault reallocates its table); a dropped fault is not in it.
   */
  private readonly spanId: number[] = []
  private readonly spanRaw: number[] = []
  /** Open work item per kworker process name (its raw slice). */
  private readonly workOf = new Map<string, number>()
  /** Where the last device / IOMMU slice on a lane ended, by lane (back-to-back costs of one callback). */
  private readonly laneCursor: number[] = []
  /** Lanes in the order they were first used, and each one's number by id. */
  private readonly laneList: TimelineLane[] = []
  private readonly laneNo = new Map<string, number>()
  private readonly iommuOfDevice = new Map<string, string | null>()
  /** The lane of an invalidation record by mechanism and device, made once (it runs per record). */
  private readonly recordLane = new Map<string, Map<string, number>>()
  /** The category of an invalidation record's slice, by lane. */
  private readonly recordCat: string[] = []
  /** Slice names `invalidate <event>`, made once per event. */
  private readonly rangeName = new Map<string, string>()

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

  /** The number of lane `id`, made now if it is new (lanes keep the order of their first use). */
  private lane(id: string, kind: TimelineLane['kind'], label: string): number {
    let no = this.laneNo.get(id)
    if (no === undefined) {
      no = this.laneList.push({ id, kind, label }) - 1
      this.laneNo.set(id, no)
    }
    return no
  }

  /** The lane of step `step`'s task (the step has one). */
  private taskLane(step: number, task: string): number {
    const no = this.stepLane[step]
    if (no !== undefined && no >= 0) return no
    return (this.stepLane[step] = this.lane(`task:${task}`, 'task', `task ${task}`))
  }

  /** The lane of what runs now: a kworker, a timer callback (SRCU), or the task of the causing step. */
  private contextLane(): number {
    const proc = this.engine.running
    if (proc.startsWith('kworker:')) return this.lane('workqueue', 'kernel', 'workqueue (kworker)')
    if (proc === '') return this.lane('srcu', 'kernel', 'SRCU callbacks')
    const step = this.engine.cause
    const task = step >= 0 ? this.stepTask[step] : null
    return task ? this.taskLane(step, task) : this.lane('kernel', 'kernel', 'kernel')
  }

  /** What caused what runs now: the work item of this kworker, else the step (NONE: nothing). */
  private contextCause(): End {
    const w = this.workOf.get(this.engine.running)
    if (w !== undefined && w >= 0) return w
    return this.engine.cause >= 0 ? -1 - this.engine.cause : NONE
  }

  /** True when no more slices are kept: the caller counts the drop. */
  private full(cause: boolean): boolean {
    if (this.sLane.length < TIMELINE_CAPS.slices) return false
    this.rawDropped++
    if (cause) this.flowsDropped++
    return true
  }

  /**
   * Keeps a slice (the caller checked `full`) of the step that runs now, its detail as `kind` and
   * arguments; returns its raw id.
   */
  private addSlice(
    lane: number,
    t0: number,
    t1: number,
    name: string,
    cat: string,
    cause: End,
    kind: number,
    a: string,
    b: string,
    c: string,
    n0: number,
    n1: number,
    n2: number,
    n3: number,
  ): number {
    const id = this.sLane.push(lane) - 1
    this.sT0.push(t0)
    this.sT1.push(t1)
    this.sName.push(name)
    this.sCat.push(cat)
    this.sStep.push(this.engine.cause)
    this.sKind.push(kind)
    this.sA.push(a)
    this.sB.push(b)
    this.sC.push(c)
    this.sN0.push(n0)
    this.sN1.push(n1)
    this.sN2.push(n2)
    this.sN3.push(n3)
    if (cause !== NONE) this.addFlow(cause, id)
    return id
  }

  private addFlow(from: End, to: End): void {
    if (this.flowFrom.length >= TIMELINE_CAPS.flows) this.flowsDropped++
    else {
      this.flowFrom.push(from)
      this.flowTo.push(to)
    }
  }

  private onSpan(s: SpanEvent): void {
    const now = this.engine.now
    if (s.phase === 'end') {
      // the span begun last is likeliest to end first
      const ids = this.spanId
      let i = ids.length - 1
      while (i >= 0 && ids[i] !== s.id) i--
      if (i < 0) return
      const id = this.spanRaw[i] as number
      const last = ids.length - 1
      ids[i] = ids[last] as number
      this.spanRaw[i] = this.spanRaw[last] as number
      ids.pop()
      this.spanRaw.pop()
      if (id >= 0) this.sT1[id] = now
      if (s.kind === 'work') this.workOf.delete(`kworker:${s.label}`)
      return
    }
    if (this.sLane.length >= TIMELINE_CAPS.slices) {
      // past the cap (most faults of a long run): count it without building its cause
      this.rawDropped++
      if (this.engine.cause >= 0 || (this.workOf.get(this.engine.running) ?? -1) >= 0) this.flowsDropped++
      // a dropped fault needs no end; a dropped work item still names its kworker's context
      if (s.kind === 'work') {
        this.spanId.push(s.id)
        this.spanRaw.push(-1)
        this.workOf.set(`kworker:${s.label}`, -1)
      }
      return
    }
    const cause = this.contextCause()
    let id: number
    if (s.kind === 'work') {
      // the kworker runs it; its cause is the step (or work) that queued it
      const lane = this.lane('workqueue', 'kernel', 'workqueue (kworker)')
      id = this.addSlice(lane, now, NaN, s.label, 'work', cause, WORK, s.label, '', '', 0, 0, 0, 0)
      this.workOf.set(`kworker:${s.label}`, id)
    } else if (s.kind === 'srcu_gp') {
      const lane = this.lane('srcu', 'kernel', 'SRCU callbacks')
      id = this.addSlice(lane, now, NaN, `grace period: ${s.label}`, 'srcu_gp', cause, SRCU, s.label, '', '', 0, 0, 0, 0)
    } else {
      id = this.addSlice(this.contextLane(), now, NaN, 'fault', 'fault', cause, FAULT, s.mm, s.via, '', s.start, s.end, s.write ? 1 : 0, 0)
    }
    this.spanId.push(s.id)
    this.spanRaw.push(id)
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
    const cause = outer && outer.raw >= 0 ? outer.raw : this.contextCause()
    if (this.full(cause !== NONE)) {
      stack.push({ raw: -1, event: r.event, start: r.start, end: r.end, mm: label })
      return
    }
    let name = this.rangeName.get(r.event)
    if (name === undefined) this.rangeName.set(r.event, (name = `invalidate ${r.event}`))
    const raw = this.addSlice(this.contextLane(), r.t, NaN, name, 'invalidate', cause, RANGE, r.event, label, '', r.start, r.end, 0, 0)
    stack.push({ raw, event: r.event, start: r.start, end: r.end, mm: label })
  }

  private onRangeEnd(e: RangeEndCall): void {
    const r = e.range
    const stack = this.open.get(r.mm as unknown as object)
    if (!stack) return
    for (let i = stack.length - 1; i >= 0; i--) {
      const o = stack[i] as OpenRange
      if (o.event !== r.event || o.start !== r.start || o.end !== r.end) continue
      if (o.raw >= 0) this.sT1[o.raw] = this.engine.now
      if (i === stack.length - 1) stack.pop()
      else stack.splice(i, 1)
      return
    }
  }

  private laneOfRecord(r: InvalidationRecord): number {
    let byDevice = this.recordLane.get(r.mechanism)
    if (!byDevice) this.recordLane.set(r.mechanism, (byDevice = new Map()))
    let lane = byDevice.get(r.device)
    if (lane !== undefined) return lane
    if (IOMMU_MECHANISMS.has(r.mechanism)) {
      const io = this.iommuOfDevice.get(r.device) ?? r.device
      lane = this.lane(`iommu:${io}`, 'iommu', `IOMMU ${io}`)
    } else if (r.mechanism === 'cpu_tlb') lane = this.lane('cpu', 'kernel', 'CPU TLB')
    else lane = this.lane(`device:${r.device}`, 'device', `device ${r.device}`)
    const id = (this.laneList[lane] as TimelineLane).id
    this.recordCat[lane] = id.startsWith('iommu:') ? 'iommu' : id === 'cpu' ? 'cpu_tlb' : 'device_tlb'
    byDevice.set(r.device, lane)
    return lane
  }

  private onInvalidation(r: InvalidationRecord): void {
    // Past the cap no slice is kept again: the lane and its cursor serve kept slices only.
    if (this.full(true)) return
    const lane = this.laneOfRecord(r)
    // the costs of one callback are spent one after the other: lay them back to back on the lane
    const t0 = Math.max(r.t, this.laneCursor[lane] ?? 0)
    const t1 = t0 + Math.max(0, r.cost)
    this.laneCursor[lane] = t1
    let cause: End = NONE
    for (const stack of this.open.values()) {
      const o = stack[stack.length - 1]
      if (o && o.mm === r.mm) cause = o.raw >= 0 ? o.raw : NONE
    }
    if (cause === NONE) cause = this.contextCause()
    const cat = this.recordCat[lane] as string
    this.addSlice(lane, t0, t1, r.mechanism, cat, cause, RECORD, r.event, r.mm, r.device, r.start, r.end, r.pages, r.cost)
  }

  // -------------------------------------------------------------------------------------------
  // the record

  refcounts(): Refcounts {
    const dropped = this.refTotal - this.rows.t.length
    return { tracks: this.tracks.map((t) => ({ ...t })), tracksDropped: this.tracksDropped, rows: this.rows, total: this.refTotal, dropped }
  }

  /**
   * The detail of kept slice `r`, spelled from its kind and arguments; `page` spells the address of
   * a page number, `ns` a time.
   */
  private detail(r: number, page: (pg: number) => string, ns: (n: number) => string): string {
    const a = this.sA[r] as string
    const kind = this.sKind[r] as number
    if (kind === WORK) return `work item ${a}`
    if (kind === SRCU) return `call_srcu → ${a}`
    const b = this.sB[r] as string
    const n0 = this.sN0[r] as number
    const n1 = this.sN1[r] as number
    if (kind === FAULT) return `${this.sN2[r] === 1 ? 'write' : 'read'} fault ${a} [${page(n0)}, ${page(n1)}) (${b})`
    if (kind === RANGE) return `mmu_notifier_invalidate_range_start..end ${a} ${b} [${page(n0)}, ${page(n1)})`
    // a record's range is in bytes, page-aligned as the models give it
    const device = this.sCat[r] === 'iommu' ? ` (${this.sC[r] as string})` : ''
    const start = n0 % PAGE_SIZE === 0 ? page(n0 / PAGE_SIZE) : hexAddress(n0)
    const end = n1 % PAGE_SIZE === 0 ? page(n1 / PAGE_SIZE) : hexAddress(n1)
    return `${a} ${b}${device}: ${this.sN2[r] as number} pages [${start}, ${end}), ${ns(this.sN3[r] as number)}`
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
    const nRaw = this.sLane.length
    const n = nSteps + nRaw
    const t0 = new Float64Array(n)
    for (let i = 0; i < nSteps; i++) t0[i] = (steps[stepRows[i] as number] as StepRow).t0
    for (let i = 0; i < nRaw; i++) t0[nSteps + i] = this.sT0[i] as number
    const order: number[] = []
    for (let i = 0; i < n; i++) order.push(i)
    order.sort((a, b) => (t0[a] as number) - (t0[b] as number) || a - b)
    const finalOf = new Int32Array(n)
    for (let i = 0; i < n; i++) finalOf[order[i] as number] = i

    // the lane of every slice; the steps' task lanes are made here, in step order
    const laneOf = new Int32Array(n)
    for (let i = 0; i < nSteps; i++) {
      const idx = indexOfRow[stepRows[i] as number] as number
      laneOf[i] = this.taskLane(idx, this.stepTask[idx] as string)
    }
    for (let i = 0; i < nRaw; i++) laneOf[nSteps + i] = this.sLane[i] as number
    // lanes: tasks first (in order of appearance), then devices, IOMMUs, kernel
    const used = new Uint8Array(this.laneList.length)
    for (let i = 0; i < n; i++) used[laneOf[i] as number] = 1
    const rank = { task: 0, device: 1, iommu: 2, kernel: 3 } as const
    const lanes = this.laneList.filter((_, no) => used[no] === 1)
    lanes.sort((a, b) => rank[a.kind] - rank[b.kind])
    const laneIndex = new Int32Array(this.laneList.length)
    lanes.forEach((l, i) => (laneIndex[this.laneNo.get(l.id) as number] = i))

    const nameIndex = new Map<string, number>()
    const catIndex = new Map<string, number>()
    // a storm's slices name the same pages and costs again and again: spell each once
    const pageText = new Map<number, string>()
    const page = (pg: number): string => {
      let h = pageText.get(pg)
      if (h === undefined) pageText.set(pg, (h = hexAddress(pg * PAGE_SIZE)))
      return h
    }
    const nsText = new Map<number, string>()
    const ns = (n: number): string => {
      let h = nsText.get(n)
      if (h === undefined) nsText.set(n, (h = formatNs(n)))
      return h
    }
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
      slices.lane.push(laneIndex[laneOf[i] as number] as number)
      slices.t0.push(t0[i] as number)
      if (i < nSteps) {
        const row = steps[stepRows[i] as number] as StepRow
        slices.t1.push(Math.max(row.t0, row.t1))
        slices.name.push(intern(nameIndex, slices.dict.name, row.op))
        slices.cat.push(intern(catIndex, slices.dict.cat, 'step'))
        slices.step.push(indexOfRow[stepRows[i] as number] as number)
        slices.detail.push(`line ${row.line}${row.ret !== null ? ` → ${row.ret}` : ''}`)
      } else {
        const r = i - nSteps
        const s0 = this.sT0[r] as number
        const s1 = this.sT1[r] as number
        const open = Number.isNaN(s1)
        slices.t1.push(Math.max(s0, open ? end : s1))
        slices.name.push(intern(nameIndex, slices.dict.name, this.sName[r] as string))
        slices.cat.push(intern(catIndex, slices.dict.cat, this.sCat[r] as string))
        slices.step.push(this.sStep[r] as number)
        const detail = this.detail(r, page, ns)
        slices.detail.push(open ? `${detail} (not finished at the end of the run)` : detail)
      }
    }
    const stepAt = new Int32Array(this.stepLine.length).fill(-1)
    for (let i = 0; i < nSteps; i++) stepAt[indexOfRow[stepRows[i] as number] as number] = i
    const resolve = (e: End): number => {
      const at = e >= 0 ? nSteps + e : -1 - e < stepAt.length ? (stepAt[-1 - e] as number) : -1
      return at < 0 || at >= n ? -1 : (finalOf[at] as number)
    }
    const flows: Timeline['flows'] = { from: [], to: [] }
    let unresolved = 0
    for (let f = 0; f < this.flowFrom.length; f++) {
      const a = resolve(this.flowFrom[f] as End)
      const b = resolve(this.flowTo[f] as End)
      if (a < 0 || b < 0 || a === b) {
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
