/**
 * Running a scenario: builds the world for one (scenario, design, seed), runs the steps as the main
 * process, drains deferred work (SRCU callbacks, workqueues, delayed fput), and assembles the
 * result document (src/shared/result.ts). Deterministic: same inputs → byte-identical JSON.
 */
import { World, type Finding, type InvalidationRecord, type IntervalInvalidateCall, type Marker, type NotifierRangeCall, type RunStepBegin, type StepBegin } from './world'
import { Device } from './devices/device'
import { Iommu } from './devices/iommu'
import { DESIGN_TABLE, type DesignId } from './teardown'
import { Ctx, runSteps } from './scenario/interp'
import { hashText } from './scenario/parse'
import { MEM_TYPES, type MemType } from './ledger/ledger'
import { parseSize, ScenarioSchema, type Scenario } from '../shared/scenario'
import { ScenarioError } from './scenario/parse'
import { DESIGN_IDS } from './teardown'
import { SimLimitError } from './kernel/frames'
import type { RunResult } from '../shared/result'
import { attachMetrics, type Metrics } from './metrics/collectors'
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
  onProgress?: (p: RunProgress) => void
  shouldStop?: () => boolean
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
  /**
   * A base cost table under the scenario's own `costs:` (e.g. a calibration of this machine,
   * src/shared/calibration.ts); names must be cost names (COST_NAMES), values finite and ≥ 0.
   */
  costs?: Readonly<Record<string, number>>
}

function buildWorld(sc: Scenario, seed: number, base: Readonly<Record<string, number>> | undefined): World {
  const overrides: Record<string, number> = { ...(base ?? {}), ...(sc.costs ?? {}) }
  if (sc.machine?.cpus !== undefined) overrides.cpus = sc.machine.cpus
  const w = new World(seed, overrides, sc.trace?.capacity ?? 2000)
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
    const spec = d as { name: string; iommu?: string; ats?: boolean; tlb_entries?: number; vram?: number | string; fault_chunk_pages?: number; memory?: 'private' | 'coherent' }
    w.devices.push(
      new Device(i, {
        name: d.name,
        kind,
        iommu: spec.iommu !== undefined ? iommus.get(spec.iommu) ?? null : null,
        ats: spec.ats ?? false,
        tlbEntries: spec.tlb_entries ?? (kind === 'gpu' ? 4096 : 64),
        vramBytes: spec.vram !== undefined ? parseSize(spec.vram) : 4 * 2 ** 30,
        faultChunkPages: spec.fault_chunk_pages ?? (kind === 'gpu' ? 512 : 64),
        coherent: spec.memory === 'coherent',
      }),
    )
  })
  for (const dev of w.devices) w.pgmaps.push({ type: dev.spec.coherent ? 'coherent' : 'private', owner: dev.idx })
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
export function runScenario(sc: Scenario & { source?: { file: string; hash: string } }, opts: RunOptions): RunResult {
  const file = sc?.source?.file ?? '(scenario object)'
  if (!(DESIGN_IDS as readonly string[]).includes(opts?.design)) throw new ScenarioError(`${file}: design: expected one of ${DESIGN_IDS.join(', ')}, got ${String(opts?.design)}`, file, 0, 'design')
  if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed <= 0xffffffff)) throw new ScenarioError(`${file}: seed: expected an integer 0..4294967295, got ${String(opts.seed)}`, file, 0, 'seed')
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
      if (!(COST_NAMES as string[]).includes(k)) throw new ScenarioError(`${file}: costs: unknown cost "${k}" in the cost table given to the run`, file, 0, 'costs')
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ScenarioError(`${file}: costs.${k}: expected a finite number ≥ 0, got ${String(v)}`, file, 0, `costs.${k}`)
    }
  }
  const w = buildWorld(sc, seed, opts.costs)
  w.design = design
  design.init?.(w)
  // metrics are hook subscribers; they subscribe first, live listeners after them
  const metrics = attachMetrics(w.hooks)
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
  e.spawn('main', runSteps(ctx, sc.steps, true), () => {
    mainDone = true
  })
  const maxEvents = opts.maxEvents ?? 50_000_000
  let n = 0
  const total = sc.steps.length
  for (;;) {
    try {
      if (!e.step()) break
    } catch (err) {
      // a model bug must not take the host down: report it and stop this run
      const limit = err instanceof SimLimitError
      w.finding({ kind: 'warn', message: `${limit ? 'model limit reached' : 'simulator internal error'} at ${e.now} ns: ${err instanceof Error ? err.message : String(err)}` })
      ctx.stopped = true
      break
    }
    n++
    // After every event: one event can be long (a random_access of 4096 pages), and a wall-time
    // budget must hold between two of them.
    if (opts.shouldStop?.()) {
      ctx.stopped = true
      break
    }
    if ((n & 4095) === 0) {
      opts.onProgress?.({ done: ctx.topDone, total, simulatedNs: e.now, events: e.executed })
    }
    if (n >= maxEvents) {
      ctx.stopped = true
      w.finding({ kind: 'warn', message: `run stopped after ${maxEvents} events (event cap)` })
      break
    }
  }
  if (!mainDone && !ctx.stopped) w.finding({ kind: 'warn', message: 'the scenario blocked: a process waits forever (no more events)' })
  w.ledger.flush()
  opts.onProgress?.({ done: ctx.topDone, total, simulatedNs: e.now, events: e.executed })
  return buildResult(w, ctx, metrics, sc, seed)
}

function buildResult(w: World, ctx: Ctx, metrics: Metrics, sc: Scenario & { source?: { file: string; hash: string } }, seed: number): RunResult {
  const led = w.ledger
  const inv = metrics.invalidations.summary()
  const failed = ctx.expects.some((x) => !x.pass)
  const liveAtEnd = led.objects
    .filter((o) => o.freeT === null)
    .map((o) => ({ type: o.type, owner: led.owners[o.owner]?.label ?? '?', label: o.label, bytes: o.bytes, alloc_t: o.allocT }))
  const trace = w.trace.toArray()
  return {
    format: 'hmmlab-result/1',
    scenario: {
      name: sc.name,
      file: sc.source?.file ?? '',
      hash: sc.source?.hash ?? hashText(JSON.stringify(sc)),
      description: sc.description ?? '',
    },
    seed,
    design: { id: w.design.id, title: w.design.title, summary: w.design.summary, correct: w.design.correct },
    status: ctx.stopped ? 'stopped' : failed ? 'failed' : 'passed',
    simulated_ns: w.engine.now,
    events: w.engine.executed,
    metrics: {
      peak_bytes: metrics.peak.byType(),
      final_bytes: byType(led.liveByType),
      leaked_bytes_end: led.leakedTotal,
      leaked_bytes_peak: led.peakLeaked,
      leak_byte_seconds: led.leakByteSeconds(),
      invalidation_count: inv.count,
      invalidation_cost_ns: inv.total_ns,
      invalidations_by: inv.by,
      device_tlbs: w.devices.map((d) => ({ device: d.name, hits: d.tlb.hits, misses: d.tlb.misses, page_flushes: d.tlb.pageFlushes, full_flushes: d.tlb.fullFlushes })),
      iommus: w.iommus.map((io) => ({ name: io.name, vendor: io.spec.vendor, psi: io.psiCount, dsi: io.dsiCount, ats: io.atsCount, qi_waits: io.qiWaits, iotlb_hits: io.iotlb.hits, iotlb_misses: io.iotlb.misses })),
      counters: metrics.counters.toRecord(),
      srcu_callbacks_pending: w.srcuPending,
    },
    series: { t: metrics.memory.series.t, bytes: metrics.memory.series.byType, leaked: metrics.memory.series.leaked },
    markers: w.markers.map((m) => ({ t: m.t, kind: m.kind, label: m.label })),
    invalidations: { records: w.invalidations, dropped: w.invalidationsDropped },
    leaks: led.leakTable(),
    live_at_end: liveAtEnd,
    findings: w.findings.map((f) => ({
      kind: f.kind,
      t: f.t,
      message: f.message,
      ...(f.invariant !== undefined ? { invariant: f.invariant } : {}),
      ...(f.object !== undefined ? { object: f.object } : {}),
      ...(f.allocPath !== undefined ? { allocPath: [...f.allocPath] } : {}),
      ...(f.freePath !== undefined ? { freePath: f.freePath ? [...f.freePath] : null } : {}),
      ...(f.accessPath !== undefined ? { accessPath: [...f.accessPath] } : {}),
    })),
    expects: ctx.expects,
    steps: ctx.steps,
    steps_dropped: ctx.stepsDropped,
    trace: { records: trace, dropped: w.trace.dropped },
  }
}
