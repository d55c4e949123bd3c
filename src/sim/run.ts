/**
 * Running a scenario: builds the world for one (scenario, design, seed), runs the steps as the main
 * process, drains deferred work (SRCU callbacks, workqueues, delayed fput), and assembles the
 * result document (src/shared/result.ts). Deterministic: same inputs → byte-identical JSON.
 */
import {
  World,
  type Finding,
  type InvalidationRecord,
  type IntervalInvalidateCall,
  type Marker,
  type NotifierRangeCall,
  type RunStepBegin,
  type StepBegin,
} from './world'
import { Device } from './devices/device'
import { memremapPages } from './drivers/mirror'
import { dmirrorArrayPages } from './drivers/dmirror'
import { DEFAULT_KERNEL, KERNEL_VERSIONS, type KernelVersionT } from './kernel/version'
import { Iommu } from './devices/iommu'
import { DESIGN_TABLE, type DesignId } from './teardown'
import { Ctx, startMain } from './scenario/interp'
import { hashText } from './scenario/parse'
import { MEM_TYPES, type MemType } from './ledger/ledger'
import { DEFAULT_HZ, DEFAULT_MMAP_MIN_ADDR, parseSize, ScenarioSchema, type Scenario } from '../shared/scenario'
import { ScenarioError } from './scenario/parse'
import { DESIGN_IDS } from './teardown'
import { PAGE_SIZE, SimLimitError } from './kernel/frames'
import { SwapInfo } from './kernel/swap'
import { HPAGE_PMD_NR } from './kernel/page'
import { APP_VERSION } from '../shared/version'
import { formatNs } from '../shared/units'
import {
  capRows,
  DEFAULT_COSTS,
  RECORD_SCHEMA,
  recordMetrics,
  TABLE_CAPS,
  type Aggregates,
  type CostsProvenance,
  type ExpectCheck,
  type InvalidationColumns,
  type Outcome,
  type RunRecord,
  type Stop,
  type WaitingStep,
  waitingWords,
} from '../shared/record'
import { attachMetrics, type Metrics } from './metrics/collectors'
import { TimelineCollector } from './metrics/timeline'
import type { LoadedScenario } from './scenario/parse'
import { COST_NAMES } from './cost/model'

export interface RunProgress {
  /** Top-level steps finished. */
  done: number
  total: number
  simulatedNs: number
  events: number
}

export interface RunOptions {
  design: DesignId
  /** Default: the scenario's seed, else 1. */
  seed?: number
  /**
   * The kernel version to follow instead of the scenario's `machine.kernel` (the oracle passes the
   * version of the guest's release); default: the scenario's, else mainline.
   */
  kernel?: KernelVersionT
  onProgress?: (p: RunProgress) => void
  shouldStop?: () => boolean
  /** Why a true `shouldStop` stops the run: a user's cancel (default) or a wall-time budget. */
  stopReason?: 'user' | 'wall_time'
  /** Called after each top-level step with its index and operation (progress, benchmarks). */
  onStepDone?: (index: number, op: string) => void
  /** Live subscribers to model hooks (e.g. a UI timeline): invalidations, markers, findings. */
  hooks?: {
    invalidation?: (r: InvalidationRecord) => void
    marker?: (m: Marker) => void
    finding?: (f: Finding) => void
    /** Every step as it begins (the oracle tags kernel observations with it). */
    step?: (s: RunStepBegin) => void
    /** Every `__mmu_notifier_invalidate_range_start` call, uncapped. */
    notifierRange?: (r: NotifierRangeCall) => void
    /** Every interval subscription callback, uncapped. */
    intervalInvalidate?: (r: IntervalInvalidateCall) => void
    /**
     * The run's world, once, before the first step: read-only inspection of model state (page
     * tables, frames, ledger) from a `step` listener, e.g. test/fidelity/host-kernel.test.ts.
     */
    world?: (w: World) => void
  }
  /** Hard cap on simulated events (default 50 million). */
  maxEvents?: number
  /** What the record's meta says beyond the scenario: the swept parameters, the machine's origin, the cost model's provenance, the user's text. */
  meta?: { parameters?: Record<string, string | number | boolean>; machine?: string; costs?: CostsProvenance; text?: string }
  /**
   * A base cost table under the scenario's own `costs:` (e.g. a calibration of this machine,
   * src/shared/calibration.ts); names must be cost names (COST_NAMES), values finite and ≥ 0.
   */
  costs?: Readonly<Record<string, number>>
  /**
   * false: run without the timeline collector (metrics/timeline.ts), so the record has no
   * `refcounts` and `timeline`; everything else is the same. Only for measuring what the collector
   * costs (bench/timeline.bench.ts); default true.
   */
  timeline?: boolean
}

function buildWorld(sc: Scenario, seed: number, base: Readonly<Record<string, number>> | undefined, kernel: KernelVersionT | undefined): World {
  const overrides: Record<string, number> = { ...(base ?? {}), ...(sc.costs ?? {}) }
  if (sc.machine?.cpus !== undefined) overrides.cpus = sc.machine.cpus
  const w = new World(seed, overrides, sc.trace?.capacity ?? 2000)
  for (const patch of sc.machine?.patches ?? []) w.patches.add(patch)
  w.kernel = kernel ?? sc.machine?.kernel ?? DEFAULT_KERNEL
  w.hz = sc.machine?.hz ?? DEFAULT_HZ
  w.mmapMinAddr = sc.machine?.mmap_min_addr ?? DEFAULT_MMAP_MIN_ADDR
  const iommus = new Map<string, Iommu>()
  for (const s of sc.machine?.iommus ?? []) {
    const io = new Iommu({
      name: s.name,
      vendor: s.vendor ?? 'intel',
      psi: s.psi ?? true,
      mamv: s.mamv ?? 9,
      qiBatch: s.qi_batch ?? w.costs.qi_batch,
      fullFlushThreshold: s.full_flush_threshold ?? 512,
      iotlbEntries: s.iotlb_entries ?? 2048,
    })
    iommus.set(s.name, io)
    w.iommus.push(io)
  }
  const devs = sc.machine?.devices ?? [{ name: 'dmirror0' }]
  devs.forEach((d, i) => {
    const kind = 'kind' in d && d.kind ? d.kind : 'dmirror'
    const spec = d as {
      name: string
      iommu?: string
      ats?: boolean
      tlb_entries?: number
      vram?: number | string
      fault_chunk_pages?: number
      memory?: 'private' | 'coherent'
    }
    w.devices.push(
      new Device(i, {
        name: d.name,
        kind,
        iommu: spec.iommu !== undefined ? (iommus.get(spec.iommu) ?? null) : null,
        ats: spec.ats ?? false,
        tlbEntries: spec.tlb_entries ?? (kind === 'gpu' ? 4096 : 64),
        vramBytes: spec.vram !== undefined ? parseSize(spec.vram) : 4 * 2 ** 30,
        faultChunkPages: spec.fault_chunk_pages ?? (kind === 'gpu' ? HPAGE_PMD_NR : dmirrorArrayPages(w)),
        coherent: spec.memory === 'coherent',
      }),
    )
  })
  if (sc.machine?.swap !== undefined) {
    const pages = Math.floor(parseSize(sc.machine.swap) / PAGE_SIZE)
    if (pages > 0) w.swap = new SwapInfo(pages)
  }
  for (const dev of w.devices) memremapPages(w, dev)
  w.frames.devMemory = (d, bytes) => {
    const dev = w.devices[d]
    if (dev) dev.vramUsed = Math.max(0, dev.vramUsed + bytes)
  }
  return w
}

function byType(arr: number[]): Record<MemType, number> {
  return Object.fromEntries(MEM_TYPES.map((t, i) => [t, arr[i] ?? 0])) as Record<MemType, number>
}

/** Runs one scenario under one design and seed; returns the result document. */
export function runScenario(sc: LoadedScenario, opts: RunOptions): RunRecord {
  const file = sc?.source?.file ?? '(scenario object)'
  if (!(DESIGN_IDS as readonly string[]).includes(opts?.design))
    throw new ScenarioError(`${file}: design: expected one of ${DESIGN_IDS.join(', ')}, got ${String(opts?.design)}`, file, 0, 'design')
  if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed <= 0xffffffff))
    throw new ScenarioError(`${file}: seed: expected an integer 0..4294967295, got ${String(opts.seed)}`, file, 0, 'seed')
  if (opts.kernel !== undefined && !(KERNEL_VERSIONS as readonly string[]).includes(opts.kernel))
    throw new ScenarioError(`${file}: kernel: expected one of ${KERNEL_VERSIONS.join(', ')}, got ${String(opts.kernel)}`, file, 0, 'kernel')
  if (!sc?.source) {
    // objects that did not come through parseScenario are validated here
    const v = ScenarioSchema.safeParse(sc)
    if (!v.success) {
      const i = v.error.issues[0]
      const field = i ? i.path.map(String).join('.') || '(document)' : '(document)'
      throw new ScenarioError(`${file}: ${field}: ${i?.message ?? 'invalid scenario'}`, file, 0, field)
    }
  }
  const design = DESIGN_TABLE[opts.design]
  const seed = opts.seed ?? sc.seed ?? 1
  if (opts.costs) {
    for (const [k, v] of Object.entries(opts.costs)) {
      if (!(COST_NAMES as string[]).includes(k))
        throw new ScenarioError(`${file}: costs: unknown cost "${k}" in the cost table given to the run`, file, 0, 'costs')
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new ScenarioError(`${file}: costs.${k}: expected a finite number ≥ 0, got ${String(v)}`, file, 0, `costs.${k}`)
    }
  }
  const w = buildWorld(sc, seed, opts.costs, opts.kernel)
  w.design = design
  design.init?.(w)
  // metrics are hook subscribers; they subscribe first, live listeners after them
  const metrics = attachMetrics(w.hooks)
  const timeline =
    opts.timeline === false
      ? null
      : new TimelineCollector(w.hooks, w.engine, w.ledger, {
          devices: w.devices.map((d) => ({ name: d.name, iommu: d.spec.iommu?.name ?? null })),
          iommus: w.iommus.map((io) => io.name),
        })
  if (opts.hooks?.invalidation) w.hooks.on('invalidation', opts.hooks.invalidation)
  if (opts.hooks?.marker) w.hooks.on('marker', opts.hooks.marker)
  if (opts.hooks?.finding) w.hooks.on('finding', opts.hooks.finding)
  // the interpreter emits its own state as `view` (scenario/interp.ts): a RunStepBegin
  if (opts.hooks?.step) w.hooks.on('step', opts.hooks.step as (s: StepBegin) => void)
  if (opts.hooks?.notifierRange) w.hooks.on('notifier_range', opts.hooks.notifierRange)
  if (opts.hooks?.intervalInvalidate) w.hooks.on('interval_invalidate', opts.hooks.intervalInvalidate)
  opts.hooks?.world?.(w)
  const ctx = new Ctx(w, design, sc, metrics.counters)
  if (opts.onStepDone) ctx.onStepDone = opts.onStepDone
  const e = w.engine
  let mainDone = false
  startMain(ctx, sc.steps, () => {
    mainDone = true
  })
  const maxEvents = opts.maxEvents ?? 50_000_000
  let stop: Stop | undefined
  let n = 0
  const total = sc.steps.length
  for (;;) {
    try {
      if (!e.step()) break
    } catch (err) {
      // a model bug must not take the host down: report it and stop this run
      const limit = err instanceof SimLimitError
      const message = `${limit ? 'model limit reached' : 'simulator internal error'} at ${formatNs(e.now)}: ${err instanceof Error ? err.message : String(err)}`
      w.finding({ kind: 'warn', message })
      stop = { reason: limit ? 'model_limit' : 'internal_error', message }
      ctx.stopped = true
      break
    }
    n++
    // After every event: one event can be long (a random_access of 4096 pages), and a wall-time
    // budget must hold between two of them.
    if (opts.shouldStop?.()) {
      const why = opts.stopReason === 'wall_time' ? 'wall-time budget exceeded' : 'cancelled'
      stop = { reason: opts.stopReason ?? 'user', message: `${why} at ${formatNs(e.now)} of simulated time, after ${ctx.topDone} of ${total} steps` }
      ctx.stopped = true
      break
    }
    if ((n & 4095) === 0) {
      opts.onProgress?.({ done: ctx.topDone, total, simulatedNs: e.now, events: e.executed })
    }
    if (n >= maxEvents) {
      ctx.stopped = true
      const message = `run stopped after ${maxEvents} events (event cap)`
      w.finding({ kind: 'warn', message })
      stop = { reason: 'event_cap', message }
      break
    }
  }
  // Out of events with a sequence still inside a step: that step waits forever. The run reached
  // its end only if the main sequence did its last step (docs/scenarios.md "How a run ends").
  const waiting = ctx.stopped ? [] : waitingSteps(ctx)
  if (!mainDone && !ctx.stopped) {
    const main = waiting.find((x) => x.sequence === 'main')
    const message = `the scenario blocked (nothing more can happen): ${main ? waitingWords(main) : 'the main sequence waits'}`
    w.finding({ kind: 'warn', message })
    stop = { reason: 'blocked', message }
  }
  // the interpreter stops by itself only at its step cap
  if (ctx.stopped && !stop) stop = { reason: 'step_cap', message: w.findings.find((f) => /step cap/.test(f.message))?.message ?? 'run stopped at the step cap' }
  w.ledger.flush()
  opts.onProgress?.({ done: ctx.topDone, total, simulatedNs: e.now, events: e.executed })
  const record = buildRecord(w, ctx, metrics, sc, seed, stop, opts)
  if (waiting.length) record.outcome.waiting = waiting
  if (timeline) {
    record.refcounts = timeline.refcounts()
    record.timeline = timeline.timeline(ctx.steps, w.engine.now)
  }
  return record
}

/** Every sequence left inside a step (main first), with the wait queue it sleeps on. */
function waitingSteps(ctx: Ctx): WaitingStep[] {
  const out: WaitingStep[] = []
  for (const q of ctx.sequences) {
    if (!q.proc || q.proc.done || !q.at) continue
    out.push({
      sequence: q.kind,
      ...(q.kind === 'background' ? { background: q.line } : {}),
      op: q.at.op,
      line: q.at.line,
      task: q.at.task,
      on: q.proc.waitingOn?.name ?? null,
    })
  }
  return out
}

/** Severity of a finding as the views show it. */
function severityOf(kind: string): 'error' | 'warning' {
  return kind === 'warn' ? 'warning' : 'error'
}

/** Stable across seeds: kind, invariant number, the object's type and the call site; no times or ids. */
function signatureOf(f: Finding): string {
  return [f.kind, f.invariant ?? '', (f.object ?? '').replace(/[#@]?\d+/g, '#'), (f.accessPath ?? f.freePath ?? []).join('<')].join('|')
}

/** Turns one detail line of the interpreter's expects into a check (what / expected / actual). */
function checkOf(line: string, pass: boolean): ExpectCheck {
  const failed = line.endsWith('✗')
  const text = line.replace(/\s*✗$/, '')
  const m = /^(.*?): expected (.*?), got (.*)$/.exec(text)
  if (m) return { what: m[1] as string, expected: (m[2] as string).replace(/^= /, ''), actual: m[3] as string, passed: !failed }
  const m2 = /^(.*?): expected (.*?), but (.*)$/.exec(text)
  if (m2) return { what: m2[1] as string, expected: (m2[2] as string).replace(/^= /, ''), actual: m2[3] as string, passed: false }
  return { what: text, expected: '', actual: '', passed: !failed && pass }
}

function columns(records: readonly InvalidationRecord[]): InvalidationColumns {
  const dict = { event: [] as string[], device: [] as string[], mechanism: [] as string[] }
  const maps = { event: new Map<string, number>(), device: new Map<string, number>(), mechanism: new Map<string, number>() }
  const index = (k: 'event' | 'device' | 'mechanism', v: string): number => {
    let i = maps[k].get(v)
    if (i === undefined) {
      i = dict[k].push(v) - 1
      maps[k].set(v, i)
    }
    return i
  }
  const c: InvalidationColumns = { t: [], event: [], start: [], end: [], device: [], mechanism: [], pages: [], costNs: [], dict }
  for (const r of records) {
    c.t.push(r.t)
    c.event.push(index('event', r.event))
    c.start.push(r.start)
    c.end.push(r.end)
    c.device.push(index('device', r.device))
    c.mechanism.push(index('mechanism', r.mechanism))
    c.pages.push(r.pages)
    c.costNs.push(r.cost)
  }
  return c
}

/** Timeline lanes: one per trace category, its kind from the names the model uses. */
function lanesOf(cats: readonly string[]): RunRecord['lanes'] {
  return [...new Set(cats)].map((id) => ({
    id,
    kind: /iommu|iotlb|ats|pasid/i.test(id) ? 'iommu' : /gpu|dev|dmirror|kfd/i.test(id) ? 'device' : /task|pid|proc/i.test(id) ? 'task' : 'kernel',
    label: id,
  }))
}

function buildRecord(w: World, ctx: Ctx, metrics: Metrics, sc: LoadedScenario, seed: number, stop: Stop | undefined, opts: RunOptions): RunRecord {
  const led = w.ledger
  const inv = metrics.invalidations.summary()
  const expects = ctx.expects.map((x) => ({
    step: x.step,
    line: x.line,
    t: x.t,
    what: x.label,
    passed: x.pass,
    checks: x.details.map((d) => checkOf(d, x.pass)),
  }))
  const failedExpects = expects.filter((x) => !x.passed).length
  const outcome: Outcome = {
    status: stop ? 'stopped' : failedExpects > 0 ? 'expects_failed' : 'passed',
    ...(stop ? { stop } : {}),
    simulatedNs: w.engine.now,
    events: w.engine.executed,
    stepsDone: ctx.topDone,
    stepsTotal: sc.steps.length,
  }
  const aggregates: Aggregates = {
    invalidations: inv,
    peakBytes: metrics.peak.byType(),
    peakBytesTotal: metrics.peak.total,
    finalBytes: byType(led.liveByType),
    leaked: { endBytes: led.leakedTotal, peakBytes: led.peakLeaked, byteSeconds: led.leakByteSeconds() },
    deviceTlbs: w.devices.map((d) => ({
      device: d.name,
      hits: d.tlb.hits,
      misses: d.tlb.misses,
      pageFlushes: d.tlb.pageFlushes,
      fullFlushes: d.tlb.fullFlushes,
    })),
    iommus: w.iommus.map((io) => ({
      name: io.name,
      vendor: io.spec.vendor,
      psi: io.psiCount,
      dsi: io.dsiCount,
      ats: io.atsCount,
      qiWaits: io.qiWaits,
      iotlbHits: io.iotlb.hits,
      iotlbMisses: io.iotlb.misses,
    })),
    counters: metrics.counters.toRecord(),
    srcuCallbacksPending: w.srcuPending,
  }
  const findings = w.findings.map((f) => {
    const paths = [
      ...(f.allocPath ? [{ label: 'allocated at', frames: [...f.allocPath] }] : []),
      ...(f.freePath ? [{ label: 'freed at', frames: [...f.freePath] }] : []),
      ...(f.accessPath ? [{ label: 'accessed at', frames: [...f.accessPath] }] : []),
    ]
    return {
      kind: f.kind,
      severity: severityOf(f.kind),
      t: f.t,
      message: f.message,
      signature: signatureOf(f),
      ...(f.invariant !== undefined ? { invariant: f.invariant } : {}),
      ...(f.object !== undefined ? { object: f.object } : {}),
      paths,
    }
  })
  const trace = w.trace.toArray()
  const liveAtEnd = led.objects
    .filter((o) => o.freeT === null)
    .map((o) => ({ type: o.type, owner: led.owners[o.owner]?.label ?? '?', label: o.label, bytes: o.bytes, allocT: o.allocT }))
  const leaks = led.leakTable().map((l) => ({
    objectType: l.type,
    owner: l.owner,
    heldBy: [...l.heldBy],
    bytesAtEnd: l.bytesAtEnd,
    peakBytes: l.peakBytes,
    byteSeconds: l.byteSeconds,
    since: l.since ?? 0,
    until: l.until,
  }))
  const mseries = metrics.memory.series
  const record: RunRecord = {
    schema: RECORD_SCHEMA,
    meta: {
      scenario: {
        name: sc.name,
        file: sc.source?.file ?? '',
        hash: sc.source?.hash ?? hashText(JSON.stringify(sc)),
        text: opts.meta?.text ?? sc.source?.text ?? '',
        description: sc.description ?? '',
      },
      design: { id: w.design.id, title: w.design.title, summary: w.design.summary, correct: w.design.correct },
      seed,
      parameters: { ...(opts.meta?.parameters ?? {}) },
      ...(opts.meta?.machine ? { machine: opts.meta.machine } : {}),
      versions: { hmmlab: APP_VERSION },
      costs: { ...(opts.meta?.costs ?? DEFAULT_COSTS) },
    },
    outcome,
    metrics: recordMetrics(outcome, aggregates, findings.length, failedExpects),
    aggregates,
    invalidations: { rows: columns(w.invalidations), total: w.invalidations.length + w.invalidationsDropped, dropped: w.invalidationsDropped },
    trace: { rows: trace, total: trace.length + w.trace.dropped, dropped: w.trace.dropped },
    lanes: lanesOf(trace.map((r) => r.cat)),
    steps: { rows: ctx.steps, total: ctx.steps.length + ctx.stepsDropped, dropped: ctx.stepsDropped },
    markers: capRows(
      w.markers.map((m) => ({ t: m.t, kind: m.kind, label: m.label })),
      TABLE_CAPS.markers,
    ),
    findings: capRows(findings, TABLE_CAPS.findings),
    expects: capRows(expects, TABLE_CAPS.expects),
    leaks: capRows(leaks, TABLE_CAPS.leaks),
    liveAtEnd: capRows(liveAtEnd, TABLE_CAPS.liveAtEnd),
    series: {
      t: mseries.t,
      memory: Object.fromEntries(MEM_TYPES.filter((t) => mseries.byType[t].some((v) => v !== 0)).map((t) => [t, mseries.byType[t]])),
      leaked: Object.fromEntries(MEM_TYPES.filter((t) => mseries.leakedByType[t].some((v) => v !== 0)).map((t) => [t, mseries.leakedByType[t]])),
    },
  }
  return record
}
