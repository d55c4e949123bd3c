/**
 * The run record: the one document of one run (one scenario × design × seed × swept parameters).
 * The simulator builds it (`runScenario`), the run worker moves it, the store writes it once
 * (`runs/<id>/result.json`, its series in `series.json`), and every view reads it: the CLI
 * summary, the app's panels, the HTML / JSON / CSV / Perfetto exports and comparisons. No layer
 * renames a field or recomputes a total from a table: the exact aggregates are here, and every
 * capped table says how many rows it dropped.
 *
 * Units: times are simulated ns since the start of the run, sizes bytes, costs ns; every metric
 * carries its unit as data. Shared with the browser renderer and the simulator: zod only.
 */
import { z } from 'zod'
import { DESIGN_IDS, FINDING_KINDS, MEM_TYPE_NAMES } from './scenario'

export const RECORD_SCHEMA = 'hmmlab.run-record/1' as const
/** Earlier stored results, listed as "old format" (their totals were recomputed from capped tables). */
export const OLD_RESULT_SCHEMAS = ['hmmlab.result/1', 'hmmlab-result/1'] as const

/** Object types of the ledger, in the kernel's words; memory series are named `memory.<type>`. */
export const OBJECT_TYPES = MEM_TYPE_NAMES

export const ParamValue = z.union([z.string(), z.number(), z.boolean()])
export type ParamValue = z.infer<typeof ParamValue>

// ---------------------------------------------------------------------------------------------
// Units and metrics

export const UNITS = ['ns', 'bytes', 'byte_seconds', 'count', 'fraction'] as const
export const Unit = z.enum(UNITS)
export type Unit = z.infer<typeof Unit>

export const Metric = z.object({ value: z.number(), unit: Unit })
export type Metric = z.infer<typeof Metric>
export const Metrics = z.record(z.string(), Metric)
export type Metrics = z.infer<typeof Metrics>

// ---------------------------------------------------------------------------------------------
// Meta and outcome

/** Where the cost model's numbers came from: the built-in defaults, a calibration of a host, or a file. */
export const CostsProvenance = z
  .object({
    source: z.enum(['default', 'calibrated', 'file']),
    host: z.string().optional(),
    date: z.string().optional(),
    file: z.string().optional(),
  })
  .strict()
export type CostsProvenance = z.infer<typeof CostsProvenance>
export const DEFAULT_COSTS: CostsProvenance = { source: 'default' }

/** Where a run's costs came from, in a few words: "default costs", "costs: calibrated on HOST, DATE", "costs: from FILE (calibrated on HOST, DATE)". */
export function costsWords(c: CostsProvenance): string {
  if (c.source === 'default') return 'default costs'
  const on = `${c.host ?? 'unknown host'}, ${c.date ? c.date.slice(0, 16).replace('T', ' ') : 'unknown date'}`
  if (c.source === 'calibrated') return `costs: calibrated on ${on}`
  return `costs: from ${c.file ?? 'a file'} (calibrated on ${on})`
}

/**
 * One part of a simulated machine and where it came from when "simulate this machine" replaced the
 * scenario's: `probe` (this machine), `scenario` (kept from the scenario: the probe does not say,
 * or a test_hmm device the kernel has) or `removed` (the scenario's, and this machine lacks it).
 */
export const MachinePart = z
  .object({
    /** `iommus`, `devices.gpu0`, `cpus`, `patches`, `swap`. */
    part: z.string(),
    from: z.enum(['probe', 'scenario', 'removed']),
    /** In words: what it is now and why. */
    detail: z.string(),
  })
  .strict()
export type MachinePart = z.infer<typeof MachinePart>

/** Where a machine part came from, in the same words in the app, the report and the CLI. */
export const MACHINE_PART_FROM: Record<MachinePart['from'], string> = {
  probe: 'this machine (probe)',
  scenario: 'the scenario',
  removed: 'removed: this machine lacks it',
}

export const RecordMeta = z.object({
  scenario: z.object({
    name: z.string(),
    /** The file name as the user gave it. */
    file: z.string(),
    /** Hash of the scenario text (the simulator's FNV-1a; the store adds its SHA-256 in the manifest). */
    hash: z.string(),
    text: z.string(),
    description: z.string(),
  }),
  design: z.object({ id: z.enum(DESIGN_IDS), title: z.string(), summary: z.string(), correct: z.boolean() }),
  seed: z.number().int().nonnegative(),
  /** Swept parameters applied to the scenario (path → value), design and seed excluded. */
  parameters: z.record(z.string(), ParamValue),
  /** Set when the scenario's `machine:` was replaced by a probed one: where it came from. */
  machine: z.string().optional(),
  /** With `machine`: which parts of the machine came from the probe and which from the scenario (src/shared/simulate-machine.ts). */
  machineParts: z.array(MachinePart).optional(),
  versions: z.object({ hmmlab: z.string(), node: z.string().optional() }),
  costs: CostsProvenance,
})
export type RecordMeta = z.infer<typeof RecordMeta>

/**
 * Why the simulator (or the host) stopped a run before its end. A user's cancel is a stop for `user`;
 * `blocked`: the main sequence waits in a step that nothing can end (no more events).
 */
export const STOP_REASONS = ['user', 'step_cap', 'event_cap', 'model_limit', 'wall_time', 'internal_error', 'blocked'] as const
export const StopReason = z.enum(STOP_REASONS)
export type StopReason = z.infer<typeof StopReason>

export const STOP_WORDS: Record<StopReason, string> = {
  user: 'cancelled',
  step_cap: 'step cap',
  event_cap: 'event cap',
  model_limit: 'model limit',
  wall_time: 'wall-time budget',
  internal_error: 'internal error',
  blocked: 'blocked',
}

export const Stop = z.object({ reason: StopReason, message: z.string() })
export type Stop = z.infer<typeof Stop>

/**
 * A step some task was still in when nothing more could happen: it waits forever. `sequence`: the
 * scenario's own list (`main`; the run then stopped, `blocked`) or a `background` block (the one
 * that starts on line `background`; the run can still reach its end).
 */
export const WaitingStep = z.object({
  sequence: z.enum(['main', 'background']),
  /** Line of the `background` step; absent for main. */
  background: z.number().int().nonnegative().optional(),
  op: z.string(),
  line: z.number().int().nonnegative(),
  task: z.string().nullable(),
  /** The wait queue it sleeps on, in the model's words (`vfork_done of B`). */
  on: z.string().nullable(),
})
export type WaitingStep = z.infer<typeof WaitingStep>

/** `task A stays in mmap (line 12), waiting on vfork_done of B`. */
export function waitingWords(w: WaitingStep): string {
  return `${w.task ? `task ${w.task} stays in ` : ''}${w.op} (line ${w.line})${w.on ? `, waiting on ${w.on}` : ''}`
}

/**
 * `a background step never returned: task B stays in device_read (line 86), waiting on …`, for a
 * run whose background steps were still waiting at its end; undefined when none was.
 */
export function backgroundWaitingWords(o: { waiting?: readonly WaitingStep[] | undefined }): string | undefined {
  const stuck = (o.waiting ?? []).filter((x) => x.sequence === 'background')
  if (!stuck.length) return undefined
  return `${stuck.length === 1 ? 'a background step never returned' : `${stuck.length} background steps never returned`}: ${stuck.map(waitingWords).join('; ')}`
}

export const Outcome = z.object({
  status: z.enum(['passed', 'expects_failed', 'stopped']),
  /** Set when `status` is `stopped`. */
  stop: Stop.optional(),
  simulatedNs: z.number().nonnegative(),
  events: z.number().int().nonnegative(),
  /** Top-level steps finished, of all. */
  stepsDone: z.number().int().nonnegative(),
  stepsTotal: z.number().int().nonnegative(),
  /**
   * Steps still waiting when the run ran out of events (set only when there are some): every
   * sequence that did not finish. A run whose main sequence is among them is `stopped` (`blocked`);
   * one with only background steps here reached its end, and these steps never returned.
   */
  waiting: z.array(WaitingStep).optional(),
})
export type Outcome = z.infer<typeof Outcome>

// ---------------------------------------------------------------------------------------------
// Aggregates (exact, over every event, never over a capped table)

export const InvalidationStat = z.object({
  event: z.string().optional(),
  device: z.string().optional(),
  mechanism: z.string().optional(),
  count: z.number().int().nonnegative(),
  totalNs: z.number().nonnegative(),
  /** Nearest-rank percentiles of the cost of one invalidation. */
  p50Ns: z.number().nonnegative(),
  p90Ns: z.number().nonnegative(),
  p99Ns: z.number().nonnegative(),
  maxNs: z.number().nonnegative(),
})
export type InvalidationStat = z.infer<typeof InvalidationStat>

const num = z.number()
const BytesByType = z.record(z.enum(MEM_TYPE_NAMES), num)

export const Aggregates = z.object({
  invalidations: z.object({
    count: z.number().int().nonnegative(),
    totalNs: z.number().nonnegative(),
    /** By event × device × mechanism, sorted by key. */
    by: z.array(InvalidationStat),
    byEvent: z.array(InvalidationStat),
    byDevice: z.array(InvalidationStat),
    byMechanism: z.array(InvalidationStat),
  }),
  /** Peak live bytes of each type (checked at every allocation) and of all types together. */
  peakBytes: BytesByType,
  peakBytesTotal: num,
  finalBytes: BytesByType,
  leaked: z.object({ endBytes: num, peakBytes: num, byteSeconds: num }),
  deviceTlbs: z.array(z.object({ device: z.string(), hits: num, misses: num, pageFlushes: num, fullFlushes: num })),
  iommus: z.array(z.object({ name: z.string(), vendor: z.string(), psi: num, dsi: num, ats: num, qiWaits: num, iotlbHits: num, iotlbMisses: num })),
  counters: z.record(z.string(), num),
  srcuCallbacksPending: num,
})
export type Aggregates = z.infer<typeof Aggregates>

// ---------------------------------------------------------------------------------------------
// Tables: rows kept, and how many were not

/** A capped table: the rows kept, how many rows there were, how many were dropped. */
export function table<T extends z.ZodType>(row: T) {
  return z.object({ rows: z.array(row), total: z.number().int().nonnegative(), dropped: z.number().int().nonnegative() })
}
export interface Table<T> {
  rows: T[]
  total: number
  dropped: number
}

/** Keeps the first `cap` rows and counts the rest. */
export function capRows<T>(rows: readonly T[], cap: number, droppedBefore = 0): Table<T> {
  const kept = rows.length > cap ? rows.slice(0, cap) : [...rows]
  const dropped = rows.length - kept.length + droppedBefore
  return { rows: kept, total: kept.length + dropped, dropped }
}

/** Invalidations as columns (one array per field; strings index `dict`). */
export const InvalidationColumns = z.object({
  t: z.array(num),
  event: z.array(z.number().int()),
  start: z.array(num),
  end: z.array(num),
  device: z.array(z.number().int()),
  mechanism: z.array(z.number().int()),
  pages: z.array(num),
  costNs: z.array(num),
  dict: z.object({ event: z.array(z.string()), device: z.array(z.string()), mechanism: z.array(z.string()) }),
})
export type InvalidationColumns = z.infer<typeof InvalidationColumns>

export const CallPath = z.object({ label: z.string(), frames: z.array(z.string()) })

export const Finding = z.object({
  kind: z.enum(FINDING_KINDS),
  severity: z.enum(['error', 'warning', 'info']),
  t: num,
  message: z.string(),
  /** Stable across seeds (no addresses or times): used to diff findings between runs. */
  signature: z.string(),
  invariant: num.optional(),
  object: z.string().optional(),
  paths: z.array(CallPath),
})
export type Finding = z.infer<typeof Finding>

export const Leak = z.object({
  objectType: z.enum(MEM_TYPE_NAMES),
  /** Whose memory it is (the owner that has gone away), e.g. "task A". */
  owner: z.string(),
  /**
   * The chain of references that kept it alive after its owner was gone, holder first, e.g.
   * ["B's fd 3", "struct file /dev/kfd", "D1's mm_users reference", "A's mm_struct"]; empty when
   * the ledger recorded no reference (memory the model freed late by itself).
   */
  heldBy: z.array(z.string()),
  /** Bytes still held at the end of the run, and the most held at once after the owner went away. */
  bytesAtEnd: num,
  peakBytes: num,
  byteSeconds: num,
  /** When the owner went away, and when the memory was finally freed (null: never, in this run). */
  since: num,
  until: num.nullable(),
})
export type Leak = z.infer<typeof Leak>

export const ExpectCheck = z.object({ what: z.string(), expected: z.string(), actual: z.string(), passed: z.boolean() })
export type ExpectCheck = z.infer<typeof ExpectCheck>

export const ExpectRow = z.object({
  /** Index of the step in the flattened step log, and its line in the user's scenario file. */
  step: z.number().int().nonnegative(),
  line: z.number().int().nonnegative(),
  t: num,
  /** The expect as the user wrote it, in a few words. */
  what: z.string(),
  passed: z.boolean(),
  checks: z.array(ExpectCheck),
})
export type ExpectRow = z.infer<typeof ExpectRow>

export const StepRow = z.object({ op: z.string(), line: num, t0: num, t1: num, ret: num.nullable(), cpages: num.nullable(), faults: num.nullable() })
export type StepRow = z.infer<typeof StepRow>

export const Marker = z.object({ t: num, kind: z.string(), label: z.string() })
export type Marker = z.infer<typeof Marker>

export const Lane = z.object({ id: z.string(), kind: z.enum(['task', 'device', 'iommu', 'kernel']), label: z.string() })
export type Lane = z.infer<typeof Lane>

/** One trace record; `cat` is its timeline lane (see `lanes`). */
export const TraceRow = z.object({ t: num, cat: z.string(), name: z.string(), detail: z.string() })
export type TraceRow = z.infer<typeof TraceRow>

export const LiveRow = z.object({ type: z.enum(MEM_TYPE_NAMES), owner: z.string(), label: z.string(), bytes: num, allocT: num })

// ---------------------------------------------------------------------------------------------
// Refcount tracks and the timeline (slices on lanes, cause → effect flows)

/** The reference counts the record follows, by their kernel field names. */
export const REFCOUNT_COUNTERS = ['mm_users', 'mm_count', 'f_count', 'users'] as const
export const RefcountCounter = z.enum(REFCOUNT_COUNTERS)
export type RefcountCounter = z.infer<typeof RefcountCounter>

/**
 * One refcount of one object: `object` is the ledger's label ("mm of A", "dmirror0 file (opened by
 * A as 3)"), `counter` the field (`users` is struct mmu_notifier's, mmu_notifier_get/put). `changes`,
 * `peak` and `final` are exact over every change, also past the row cap; `dropped` counts this
 * track's rows not kept.
 */
export const RefcountTrack = z.object({
  object: z.string(),
  type: z.enum(MEM_TYPE_NAMES),
  owner: z.string(),
  counter: RefcountCounter,
  changes: z.number().int().nonnegative(),
  peak: num,
  final: num,
  dropped: z.number().int().nonnegative(),
})
export type RefcountTrack = z.infer<typeof RefcountTrack>

/**
 * Every refcount change as a step series (columns): at `t` track `track` took `value`, by kernel
 * function `fn` (index into `dict.fn`: mm_init, mmget, mmput, fput, …); `step` is the index of the
 * scenario step that caused it (deferred work keeps the step that queued it; -1: none) and `line`
 * that step's line in the scenario file (0: none). Rows of one track are in time order.
 */
export const RefcountRows = z.object({
  track: z.array(z.number().int().nonnegative()),
  t: z.array(num),
  value: z.array(num),
  step: z.array(z.number().int()),
  line: z.array(z.number().int().nonnegative()),
  fn: z.array(z.number().int().nonnegative()),
  dict: z.object({ fn: z.array(z.string()) }),
})
export type RefcountRows = z.infer<typeof RefcountRows>

export const Refcounts = z.object({
  tracks: z.array(RefcountTrack),
  /** Objects whose counts were not followed (beyond the track cap). */
  tracksDropped: z.number().int().nonnegative(),
  rows: RefcountRows,
  total: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
})
export type Refcounts = z.infer<typeof Refcounts>

/** Kinds of timeline lanes: one per task, device, IOMMU; the kernel's (workqueue, SRCU, scenario). */
export const TimelineLane = z.object({ id: z.string(), kind: z.enum(['task', 'device', 'iommu', 'kernel']), label: z.string() })
export type TimelineLane = z.infer<typeof TimelineLane>

/**
 * Slices (durations) as columns: on lane `lane` (index into `lanes`) from `t0` to `t1`, named
 * `dict.name[name]`, of category `dict.cat[cat]` (step, invalidate, device_tlb, iommu, srcu_gp,
 * work, fault), caused by step `step` (-1: none), with a one-line `detail`. Sorted by t0.
 */
export const TimelineSlices = z.object({
  lane: z.array(z.number().int().nonnegative()),
  t0: z.array(num),
  t1: z.array(num),
  name: z.array(z.number().int().nonnegative()),
  cat: z.array(z.number().int().nonnegative()),
  step: z.array(z.number().int()),
  detail: z.array(z.string()),
  dict: z.object({ name: z.array(z.string()), cat: z.array(z.string()) }),
})
export type TimelineSlices = z.infer<typeof TimelineSlices>

/** Cause → effect arrows between slices (indices into the kept slices). */
export const TimelineFlows = z.object({ from: z.array(z.number().int().nonnegative()), to: z.array(z.number().int().nonnegative()) })
export type TimelineFlows = z.infer<typeof TimelineFlows>

export const Timeline = z.object({
  lanes: z.array(TimelineLane),
  slices: TimelineSlices,
  slicesTotal: z.number().int().nonnegative(),
  slicesDropped: z.number().int().nonnegative(),
  flows: TimelineFlows,
  flowsTotal: z.number().int().nonnegative(),
  flowsDropped: z.number().int().nonnegative(),
})
export type Timeline = z.infer<typeof Timeline>

/**
 * Caps of the refcount rows and the timeline (a storm of gets and puts cannot bloat the record):
 * `slices` counts the slices other than steps, `stepSlices` the steps (the first ones kept).
 */
export const TIMELINE_CAPS = { refcountTracks: 256, refcountRowsPerTrack: 1024, refcountRows: 16384, slices: 4096, stepSlices: 2048, flows: 4096 } as const

// ---------------------------------------------------------------------------------------------
// Series: one time axis

export const RecordSeries = z
  .object({
    t: z.array(num),
    /** Live bytes by type at each time. */
    memory: z.record(z.string(), z.array(num)),
    /** Bytes held for owners that have gone away, by type. */
    leaked: z.record(z.string(), z.array(num)),
  })
  .refine((s) => [...Object.values(s.memory), ...Object.values(s.leaked)].every((v) => v.length === s.t.length), 'every series has one value per time')
export type RecordSeries = z.infer<typeof RecordSeries>

// ---------------------------------------------------------------------------------------------
// The record

const RecordBody = {
  schema: z.literal(RECORD_SCHEMA),
  meta: RecordMeta,
  outcome: Outcome,
  metrics: Metrics,
  aggregates: Aggregates,
  invalidations: z.object({ rows: InvalidationColumns, total: z.number().int().nonnegative(), dropped: z.number().int().nonnegative() }),
  trace: table(TraceRow),
  lanes: z.array(Lane),
  steps: table(StepRow),
  markers: table(Marker),
  findings: table(Finding),
  expects: table(ExpectRow),
  leaks: table(Leak),
  liveAtEnd: table(LiveRow),
  /** Refcount step series (absent in records made before they were recorded). */
  refcounts: Refcounts.optional(),
  /** Slices on lanes and their flows (absent in records made before they were recorded). */
  timeline: Timeline.optional(),
}

export const RunRecord = z.object({ ...RecordBody, series: RecordSeries })
export type RunRecord = z.infer<typeof RunRecord>

/** The record as `result.json` holds it: its series live in `series.json`. */
export const StoredRecord = z.object(RecordBody)
export type StoredRecord = z.infer<typeof StoredRecord>

/** Row caps of the tables (the aggregates stay exact past them). */
export const TABLE_CAPS = { invalidations: 4096, steps: 4096, markers: 4096, findings: 1000, expects: 1000, leaks: 1000, liveAtEnd: 1000 } as const

// ---------------------------------------------------------------------------------------------
// Metric names (stable: the same in the simulator, the store, the CLI, the app and every export)

/** Headline metrics of a record, from its outcome and aggregates; the names never change between layers. */
export function recordMetrics(outcome: Outcome, a: Aggregates, findings: number, expectsFailed: number): Metrics {
  const m: Metrics = {
    simulated_ns: { value: outcome.simulatedNs, unit: 'ns' },
    events: { value: outcome.events, unit: 'count' },
    leaked_bytes_end: { value: a.leaked.endBytes, unit: 'bytes' },
    leaked_bytes_peak: { value: a.leaked.peakBytes, unit: 'bytes' },
    leak_byte_seconds: { value: a.leaked.byteSeconds, unit: 'byte_seconds' },
    invalidation_count: { value: a.invalidations.count, unit: 'count' },
    invalidation_cost_ns: { value: a.invalidations.totalNs, unit: 'ns' },
    peak_bytes_total: { value: a.peakBytesTotal, unit: 'bytes' },
    findings: { value: findings, unit: 'count' },
    expects_failed: { value: expectsFailed, unit: 'count' },
    srcu_callbacks_pending: { value: a.srcuCallbacksPending, unit: 'count' },
  }
  for (const t of MEM_TYPE_NAMES) {
    m[`peak_bytes.${t}`] = { value: a.peakBytes[t] ?? 0, unit: 'bytes' }
    m[`final_bytes.${t}`] = { value: a.finalBytes[t] ?? 0, unit: 'bytes' }
  }
  for (const [k, v] of Object.entries(a.counters)) m[`counter.${k}`] = { value: v, unit: 'count' }
  return m
}

/** The unit of a metric by its name, for metrics stored before units were data. */
export function unitOfName(name: string): Unit {
  if (/byte_?seconds$/.test(name)) return 'byte_seconds'
  if (/(^|[._])bytes([._]|$)/.test(name) || /^(memory|leaked)\./.test(name)) return 'bytes'
  if (/(_|^)ns$/.test(name) || /_ns_/.test(name)) return 'ns'
  if (/fraction/.test(name)) return 'fraction'
  return 'count'
}

/** Old stored metric names (hmmlab.run/1 manifests) → the record's names. */
export function migrateMetricName(name: string): string {
  const fixed: Record<string, string> = {
    leaked_end_bytes: 'leaked_bytes_end',
    leaked_peak_bytes: 'leaked_bytes_peak',
    events_count: 'events',
    srcu_callbacks_pending_count: 'srcu_callbacks_pending',
    findings_count: 'findings',
  }
  if (fixed[name]) return fixed[name]
  const pf = /^(peak|final)_(.+)_bytes$/.exec(name)
  if (pf && (MEM_TYPE_NAMES as readonly string[]).includes(pf[2]!)) return `${pf[1]}_bytes.${pf[2]}`
  if (name.startsWith('counter_')) return `counter.${name.slice('counter_'.length)}`
  return name
}

// ---------------------------------------------------------------------------------------------
// Status words: the same in the simulator, the store, the CLI and the app

/** How a stored run ended. `crashed`: the run produced no record (the worker died, ran out of memory). */
export const RUN_STATUSES = ['passed', 'expects_failed', 'stopped', 'cancelled', 'crashed'] as const
export const RunStatus = z.enum(RUN_STATUSES)
export type RunStatus = z.infer<typeof RunStatus>

/** The status of a stored run from the record's outcome: a stop for `user` is a cancel. */
export function statusOfOutcome(o: Pick<Outcome, 'status' | 'stop'>): RunStatus {
  if (o.status === 'stopped') return o.stop?.reason === 'user' ? 'cancelled' : 'stopped'
  return o.status
}

/** "passed", "expects failed", "stopped (step cap)", "cancelled", "crashed". */
export function statusWords(status: RunStatus, stop?: Stop | { reason: StopReason } | undefined): string {
  switch (status) {
    case 'passed':
      return 'passed'
    case 'expects_failed':
      return 'expects failed'
    case 'stopped':
      return stop ? `stopped (${STOP_WORDS[stop.reason]})` : 'stopped'
    case 'cancelled':
      return 'cancelled'
    case 'crashed':
      return 'crashed'
  }
}

/** True when the run went to its end (its numbers describe the whole scenario). */
export function isFinished(status: RunStatus): boolean {
  return status === 'passed' || status === 'expects_failed'
}

/** A step series of the record (one time axis) as `{ t, v }`, named `memory.<type>` / `leaked.<type>`. */
export function seriesEntries(s: RecordSeries): Record<string, { t: number[]; v: number[] }> {
  const out: Record<string, { t: number[]; v: number[] }> = {}
  for (const [type, v] of Object.entries(s.memory)) out[`memory.${type}`] = { t: s.t, v }
  for (const [type, v] of Object.entries(s.leaked)) out[`leaked.${type}`] = { t: s.t, v }
  return out
}

/** Says why a stored result cannot be read as a record: an old format, or not a record at all. */
export function describeNotARecord(value: unknown, runId: string): string {
  const schema =
    value !== null && typeof value === 'object'
      ? ((value as { schema?: unknown; format?: unknown }).schema ?? (value as { format?: unknown }).format)
      : undefined
  if (typeof schema === 'string' && (OLD_RESULT_SCHEMAS as readonly string[]).includes(schema)) {
    return `old format: run ${runId} was stored as ${schema} by an earlier HMM Lab, whose totals were recounted from capped tables; run the scenario again to see it here`
  }
  const parsed = StoredRecord.safeParse(value)
  if (parsed.success) return ''
  const issue = parsed.error.issues[0]
  return `result.json of run ${runId} is not an ${RECORD_SCHEMA} document${issue ? ` (at ${issue.path.join('.') || 'top'}: ${issue.message})` : ''}`
}
