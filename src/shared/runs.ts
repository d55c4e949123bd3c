/**
 * Runs and experiments as stored in the workspace and as listed by the API. A run is one
 * scenario under one design, seed and set of swept parameters; an experiment is the list of runs
 * one sweep produced.
 */
import { z } from 'zod'
import { CostsProvenance, Metric, migrateMetricName, ParamValue, RunStatus, Stop, Unit, unitOfName } from './record'
import { SweepSummary } from './plan'

/** A swept value (`ParamValue`) and how a run ended (`RunStatus`) live with the record. */
export { ParamValue, RunStatus } from './record'

export const RunId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a run id: letters, digits, . _ -')
export const ExperimentId = RunId

const RunManifestBody = z.object({
  schema: z.literal('hmmlab.run/2'),
  id: RunId,
  experimentId: ExperimentId.optional(),
  scenario: z.object({
    name: z.string(),
    fileName: z.string(),
    /** SHA-256 of the scenario text, hex. */
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    text: z.string(),
  }),
  design: z.string(),
  seed: z.number().int(),
  /** The swept parameters of this run (scenario path → value), design and seed excluded. */
  parameters: z.record(z.string(), ParamValue),
  /** Set when the scenario's `machine:` was replaced by a probed one: where it came from. */
  machine: z.string().optional(),
  versions: z.object({ hmmlab: z.string(), node: z.string() }),
  timings: z.object({
    queuedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string(),
    wallMs: z.number().nonnegative(),
  }),
  /** The record's status (`cancelled` for a user's stop; `crashed` when there is no record). */
  status: RunStatus,
  /** Why a `stopped` or `cancelled` run stopped. */
  stop: Stop.optional(),
  error: z.string().optional(),
  tags: z.array(z.string().max(64)).max(64),
  /** The record's metrics (same names, units as data), for lists and comparisons. */
  metrics: z.record(z.string(), Metric),
  expects: z.object({ passed: z.number().int().nonnegative(), failed: z.number().int().nonnegative() }),
  findings: z.number().int().nonnegative(),
  /** Which costs the run used (the record's `meta.costs`): the defaults, this machine's calibration or a calibration file. */
  costs: CostsProvenance.optional(),
  /** Set when the manifest was read from an earlier format (`hmmlab.run/1`): what changed. */
  migrated: z.string().optional(),
})

const OLD_STATUS: Record<string, { status: RunStatus; stop?: z.infer<typeof Stop> }> = {
  ok: { status: 'passed' },
  expect_failed: { status: 'expects_failed' },
  failed: { status: 'crashed' },
  cancelled: { status: 'cancelled', stop: { reason: 'user', message: 'cancelled' } },
  timeout: { status: 'stopped', stop: { reason: 'wall_time', message: 'the run exceeded its time limit' } },
}

/** An `hmmlab.run/1` manifest read as `hmmlab.run/2`: status words and metric names of the record. */
function migrateManifest(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || (raw as { schema?: unknown }).schema !== 'hmmlab.run/1') return raw
  const m = raw as Record<string, unknown>
  const old = OLD_STATUS[String(m.status)]
  const metrics: Record<string, z.infer<typeof Metric>> = {}
  if (m.metrics && typeof m.metrics === 'object') {
    for (const [k, v] of Object.entries(m.metrics as Record<string, unknown>)) {
      if (typeof v !== 'number') continue
      const name = migrateMetricName(k)
      metrics[name] = { value: v, unit: unitOfName(name) }
    }
  }
  return {
    ...m,
    schema: 'hmmlab.run/2',
    status: old?.status ?? m.status,
    ...(old?.stop && m.status !== 'cancelled'
      ? { stop: { ...old.stop, message: typeof m.error === 'string' ? m.error : old.stop.message } }
      : old?.stop
        ? { stop: old.stop }
        : {}),
    metrics,
    migrated: "stored by an earlier HMM Lab (hmmlab.run/1): status and metric names read in today's words; its result is in the old format",
  }
}

/** A run's manifest; earlier `hmmlab.run/1` manifests are migrated when read. */
export const RunManifest = z.preprocess(migrateManifest, RunManifestBody)
export type RunManifest = z.infer<typeof RunManifestBody>
/** The current manifest schema alone (what the store writes). */
export const RunManifestV2 = RunManifestBody

export const ExperimentManifest = z.object({
  schema: z.literal('hmmlab.experiment/1'),
  id: ExperimentId,
  name: z.string(),
  createdAt: z.string(),
  scenario: z.object({ name: z.string(), fileName: z.string(), hash: z.string() }),
  sweep: z.record(z.string(), z.array(ParamValue)),
  runIds: z.array(RunId),
  /** Consecutive seeds per design the scenario asked for (`seeds:`), when more than one. */
  seeds: z.number().int().positive().optional(),
  /** The sweep summary (fractions of seeds per design, `sweep_expect` checked), once every run finished. */
  summary: SweepSummary.optional(),
  /** `passed` when every run passed and the summary holds; set once every run finished. */
  status: z.enum(['passed', 'failed', 'incomplete']).optional(),
})
export type ExperimentManifest = z.infer<typeof ExperimentManifest>

/** A problem found while reading the workspace: the path and why it was skipped. */
export const StoreProblem = z.object({ path: z.string(), message: z.string() })
export type StoreProblem = z.infer<typeof StoreProblem>

/**
 * A time series as stored and compared: sample times (ns of simulated time) and values, a step
 * function (each value holds until the next time).
 */
export const SeriesData = z
  .object({ t: z.array(z.number()), v: z.array(z.number()) })
  .refine((s) => s.t.length === s.v.length, 't and v must have the same length')
export type SeriesData = z.infer<typeof SeriesData>

/** The series of a run as stored in `series.json`: `memory.<type>` (bytes live), `leaked.<type>` (bytes held for gone owners). */
export const RunSeries = z.record(z.string(), SeriesData)
export type RunSeries = z.infer<typeof RunSeries>

/** A finding as compared across runs: its kind and a signature that identifies it across seeds. */
export const FindingKey = z.object({ kind: z.string(), signature: z.string(), message: z.string() })
export type FindingKey = z.infer<typeof FindingKey>

export const Comparison = z.object({
  runs: z.array(
    z.object({
      id: RunId,
      label: z.string(),
      design: z.string(),
      seed: z.number(),
      parameters: z.record(z.string(), ParamValue),
      /** The run's scenario: its name, the SHA-256 of its text, and its label among these runs (`scenarioLabels`). */
      scenario: z.object({ name: z.string(), hash: z.string(), label: z.string() }).optional(),
      /** The record's invalidation table: how many rows there were and how many its cap dropped (absent: an old-format result). */
      invalidationRows: z.object({ total: z.number().int().nonnegative(), dropped: z.number().int().nonnegative() }).optional(),
    }),
  ),
  /** Set when the runs come from more than one scenario: the warning said above the comparison (`mixedScenariosWarning`). */
  mixedScenarios: z.string().optional(),
  /** One row per metric: its value in each run (null where absent), and the difference to the first run. */
  metrics: z.array(
    z.object({
      name: z.string(),
      unit: Unit,
      values: z.array(z.number().nullable()),
      deltas: z.array(z.number().nullable()),
      ratios: z.array(z.number().nullable()),
    }),
  ),
  /** Series present in at least one run, resampled on one shared time grid. */
  series: z.array(z.object({ name: z.string(), t: z.array(z.number()), values: z.array(z.array(z.number().nullable())) })),
  /** Findings grouped by the set of runs they occur in (like a snapshot diff). */
  findings: z.object({
    inAll: z.array(FindingKey),
    /** For each run (same order as `runs`), the findings that no other run has. */
    onlyIn: z.array(z.array(FindingKey)),
    /** Findings in more than one run but not in all. */
    inSome: z.array(z.object({ finding: FindingKey, runIds: z.array(RunId) })),
  }),
})
export type Comparison = z.infer<typeof Comparison>
