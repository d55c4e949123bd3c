/**
 * Runs and experiments as stored in the workspace and as listed by the API. A run is one
 * scenario under one design, seed and set of swept parameters; an experiment is the list of runs
 * one sweep produced.
 */
import { z } from 'zod'
import { CostsUsed } from './calibration'

/** A swept value: what the sweep set at one scenario path (or `design` / `seed`). */
export const ParamValue = z.union([z.string(), z.number(), z.boolean()])
export type ParamValue = z.infer<typeof ParamValue>

export const RunStatus = z.enum(['ok', 'expect_failed', 'failed', 'cancelled', 'timeout'])
export type RunStatus = z.infer<typeof RunStatus>

export const RunId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a run id: letters, digits, . _ -')
export const ExperimentId = RunId

export const RunManifest = z.object({
  schema: z.literal('hmmlab.run/1'),
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
  /** Which costs the run used: the defaults, this machine's calibration or a calibration file. */
  costs: CostsUsed.optional(),
  versions: z.object({ hmmlab: z.string(), node: z.string() }),
  timings: z.object({
    queuedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string(),
    wallMs: z.number().nonnegative(),
  }),
  status: RunStatus,
  error: z.string().optional(),
  tags: z.array(z.string().max(64)).max(64),
  /** Headline numbers for lists and comparisons (name → value). */
  metrics: z.record(z.string(), z.number()),
  expects: z.object({ passed: z.number().int().nonnegative(), failed: z.number().int().nonnegative() }),
  findings: z.number().int().nonnegative(),
})
export type RunManifest = z.infer<typeof RunManifest>

export const ExperimentManifest = z.object({
  schema: z.literal('hmmlab.experiment/1'),
  id: ExperimentId,
  name: z.string(),
  createdAt: z.string(),
  scenario: z.object({ name: z.string(), fileName: z.string(), hash: z.string() }),
  sweep: z.record(z.string(), z.array(ParamValue)),
  runIds: z.array(RunId),
})
export type ExperimentManifest = z.infer<typeof ExperimentManifest>

/** A problem found while reading the workspace: the path and why it was skipped. */
export const StoreProblem = z.object({ path: z.string(), message: z.string() })
export type StoreProblem = z.infer<typeof StoreProblem>

/**
 * A time series as stored and compared: sample times (ns of simulated time) and values, a step
 * function (each value holds until the next time).
 */
export const SeriesData = z.object({ t: z.array(z.number()), v: z.array(z.number()) }).refine((s) => s.t.length === s.v.length, 't and v must have the same length')
export type SeriesData = z.infer<typeof SeriesData>

/** A finding as compared across runs: its kind and a signature that identifies it across seeds. */
export const FindingKey = z.object({ kind: z.string(), signature: z.string(), message: z.string() })
export type FindingKey = z.infer<typeof FindingKey>

export const Comparison = z.object({
  runs: z.array(z.object({ id: RunId, label: z.string(), design: z.string(), seed: z.number(), parameters: z.record(z.string(), ParamValue) })),
  /** One row per metric: its value in each run (null where absent), and the difference to the first run. */
  metrics: z.array(
    z.object({ name: z.string(), values: z.array(z.number().nullable()), deltas: z.array(z.number().nullable()), ratios: z.array(z.number().nullable()) }),
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
