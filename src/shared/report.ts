/**
 * The report document: what `reports.export` with `format: 'json'` returns and what the HTML,
 * CSV and trace exports are rendered from. One document covers one run, one experiment (a sweep)
 * or a comparison of runs; every run carries its stored result whole plus the derived summaries
 * (invalidation cost statistics, leak totals, the conclusion in words).
 *
 * Units as in `run-result.ts`: times are simulated ns, sizes bytes, costs ns, byte-seconds B·s.
 * Pure zod, no Node imports (the renderer may validate a document with it).
 */
import { z } from 'zod'
import { ProbeReport } from './probe'
import { RunResult, RunSeries } from './run-result'
import { Comparison, ExperimentManifest, RunManifest } from './runs'

export const REPORT_SCHEMA = 'hmmlab.report/1' as const

export const ReportKind = z.enum(['run', 'experiment', 'compare'])
export type ReportKind = z.infer<typeof ReportKind>

/** Invalidation cost statistics of one (mechanism, device) pair; `device` is `*` for all devices. */
export const InvalidationStat = z.object({
  mechanism: z.string(),
  device: z.string(),
  count: z.number().int().nonnegative(),
  totalNs: z.number().nonnegative(),
  /** Nearest-rank percentiles of the per-invalidation cost. */
  p50Ns: z.number().nonnegative(),
  p90Ns: z.number().nonnegative(),
  p99Ns: z.number().nonnegative(),
  maxNs: z.number().nonnegative(),
})
export type InvalidationStat = z.infer<typeof InvalidationStat>

export const RunSummary = z.object({
  /** One row per (mechanism, device), sorted by total cost, largest first. */
  invalidations: z.array(InvalidationStat),
  /** One row per mechanism over all devices (`device: '*'`), largest total first. */
  invalidationsByMechanism: z.array(InvalidationStat),
  invalidationCount: z.number().int().nonnegative(),
  invalidationTotalNs: z.number().nonnegative(),
  /** Sum of `bytes` over the leak table (memory held for owners that had gone away). */
  leakedBytes: z.number().nonnegative(),
  /** Sum of `byteSeconds` over the leak table. */
  leakedByteSeconds: z.number().nonnegative(),
  /** Largest total of the `memory.*` series at one time, bytes. */
  peakMemoryBytes: z.number().nonnegative(),
  /** Sentences generated from the numbers of this run. */
  conclusion: z.array(z.string()),
})
export type RunSummary = z.infer<typeof RunSummary>

export const ReportRun = z.object({
  id: z.string(),
  /** What tells this run apart from the others of the report: design, then seed and swept parameters where they differ (all of them for a single run). */
  label: z.string(),
  manifest: RunManifest,
  result: RunResult,
  series: RunSeries,
  summary: RunSummary,
})
export type ReportRun = z.infer<typeof ReportRun>

/** The probe of the machine that exported the report, or why there is none. */
export const ReportProbe = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok'), report: ProbeReport }),
  z.object({ status: z.literal('unavailable'), reason: z.string() }),
])
export type ReportProbe = z.infer<typeof ReportProbe>

export const ReportDocument = z.object({
  schema: z.literal(REPORT_SCHEMA),
  kind: ReportKind,
  title: z.string(),
  /** ISO time the report was generated. */
  generatedAt: z.string(),
  hmmlab: z.object({ version: z.string() }),
  /** Set for `kind: 'experiment'`. */
  experiment: ExperimentManifest.optional(),
  runs: z.array(ReportRun).min(1),
  /** Runs named by the target that could not be included (not stored, damaged, failed without a result). */
  missingRuns: z.array(z.object({ id: z.string(), reason: z.string() })),
  /** Metrics with deltas, aligned series and the findings diff; set when there are two or more runs. */
  comparison: Comparison.optional(),
  /** Sentences generated from the numbers: across runs first, then per run. */
  conclusion: z.array(z.string()),
  probe: ReportProbe,
})
export type ReportDocument = z.infer<typeof ReportDocument>
