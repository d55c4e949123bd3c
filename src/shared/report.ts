/**
 * The report document: what `reports.export` with `format: 'json'` returns and what the HTML,
 * CSV and trace exports are rendered from. One document covers one run, one experiment (a sweep)
 * or a comparison of runs; every run carries its stored run record whole (src/shared/record.ts:
 * exact aggregates, capped tables with their dropped counts) and the conclusion in words. No
 * number is recomputed from a table.
 *
 * Units as in `record.ts`: times are simulated ns, sizes bytes, costs ns, byte-seconds B·s.
 * Pure zod, no Node imports (the renderer may validate a document with it).
 */
import { z } from 'zod'
import { ProbeReport } from './probe'
import { StoredRecord } from './record'
import { Comparison, ExperimentManifest, RunManifest, RunSeries } from './runs'

export const REPORT_SCHEMA = 'hmmlab.report/1' as const

export const ReportKind = z.enum(['run', 'experiment', 'compare'])
export type ReportKind = z.infer<typeof ReportKind>

export const ReportRun = z.object({
  id: z.string(),
  /** What tells this run apart from the others of the report: design, then seed and swept parameters where they differ (all of them for a single run). */
  label: z.string(),
  manifest: RunManifest,
  /** The run record as stored (its series below); every number of the report is read from it. */
  result: StoredRecord,
  series: RunSeries,
  /** Sentences generated from the record's numbers. */
  conclusion: z.array(z.string()),
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
