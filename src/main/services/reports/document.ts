/**
 * Builds the report document (src/shared/report.ts) from stored runs: validates each stored
 * record (an old format is named as such), writes the conclusion from the record's numbers, adds
 * the comparison for two or more runs and the probe of this machine.
 */
import { REPORT_SCHEMA, ReportDocument, type ReportKind, type ReportProbe, type ReportRun } from '../../../shared/report'
import { describeNotARecord, StoredRecord, statusWords } from '../../../shared/record'
import type { ExperimentManifest, FindingKey, RunManifest, RunSeries } from '../../../shared/runs'
import { SeriesData } from '../../../shared/runs'
import { ProbeReport as ProbeReportSchema, type ProbeReport } from '../../../shared/probe'
import { APP_VERSION } from '../../../shared/version'
import { compareRuns, runLabel } from '../compare'
import type { StoredRun } from '../store/run-store'
import { distinguishingLabels as labelsOf, experimentConclusion, runConclusion } from '../../../shared/conclusion'
import { distinctScenarios, mixedScenariosWarning, scenarioLabels } from '../../../shared/scenario-mix'

/** Where the report's probe comes from. */
export type ProbeSource =
  /** Probe this machine now (src/main/services/probe, systeminformation skipped); the default. */
  | 'live'
  /** No probe: the report says so. */
  | 'none'
  /** A probe report at hand (the app's Hardware view, a saved `hmmlab probe --json`). */
  | { report: ProbeReport }

export interface DocumentOptions {
  title?: string
  probe?: ProbeSource
  /** Clock for `generatedAt` (tests pin it). */
  now?: () => Date
}

/** Thrown when a target cannot be reported (no such run, a damaged run, nothing to report). */
export class ReportError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'invalid',
  ) {
    super(message)
    this.name = 'ReportError'
  }
}

/** A stored run checked against the record's schema; `reason` says why it cannot be reported (an old format, a run without a record). */
export function checkStoredRun(run: StoredRun): { ok: true; run: ReportRun } | { ok: false; id: string; reason: string } {
  const id = run.manifest.id
  const parsed = StoredRecord.safeParse(run.result)
  if (!parsed.success) {
    const status =
      run.manifest.status === 'passed' || run.manifest.status === 'expects_failed'
        ? ''
        : ` (run ${statusWords(run.manifest.status, run.manifest.stop)}${run.manifest.error ? `: ${run.manifest.error}` : ''})`
    return { ok: false, id, reason: `${describeNotARecord(run.result, id)}${status}` }
  }
  const series: RunSeries = {}
  for (const [name, value] of Object.entries(run.series)) {
    const s = SeriesData.safeParse(value)
    if (s.success) series[name] = s.data
  }
  return {
    ok: true,
    run: {
      id,
      label: runLabel(run.manifest),
      manifest: run.manifest,
      result: parsed.data,
      series,
      conclusion: runConclusion(run.manifest.design, parsed.data),
    },
  }
}

/**
 * Labels that name what tells runs apart: the design (of its scenario, when the runs' scenarios
 * differ), then the seed and the swept parameters only where they differ between runs (a single
 * run gets its full label; src/shared/conclusion.ts).
 */
export function distinguishingLabels(manifests: RunManifest[]): string[] {
  const scenarios = scenarioLabels(manifests.map((m) => m.scenario))
  const mixed = distinctScenarios(scenarios).length > 1
  return labelsOf(manifests.map((m, i) => ({ design: m.design, seed: m.seed, parameters: m.parameters, ...(mixed ? { scenario: scenarios[i]! } : {}) })))
}

/** Assembles the document from runs already read; pure apart from the probe. */
export async function documentFromRuns(
  kind: ReportKind,
  stored: StoredRun[],
  opts: DocumentOptions & { experiment?: ExperimentManifest; missing?: { id: string; reason: string }[] } = {},
): Promise<ReportDocument> {
  // Started first so the probe module loads while the runs are checked.
  const probe = resolveProbe(opts.probe ?? 'live')
  const runs: ReportRun[] = []
  const missing = [...(opts.missing ?? [])]
  for (const s of stored) {
    const checked = checkStoredRun(s)
    if (checked.ok) runs.push(checked.run)
    else missing.push({ id: checked.id, reason: checked.reason })
  }
  if (runs.length === 0) {
    await probe
    throw new ReportError(`nothing to report: ${missing.map((m) => `${m.id}: ${m.reason}`).join('; ') || 'no runs'}`, 'invalid')
  }
  // Runs of different scenarios are never seeds of one experiment: grouped apart, each named by
  // its scenario, and the report says so first.
  const scenarios = scenarioLabels(runs.map((r) => r.manifest.scenario))
  const mixed = mixedScenariosWarning(scenarios)
  // One function words the conclusion for the report and for the app's experiment view.
  const told = experimentConclusion(
    runs.map((r, i) => ({
      design: r.manifest.design,
      seed: r.manifest.seed,
      parameters: r.manifest.parameters,
      status: r.manifest.status,
      result: r.result,
      ...(mixed ? { scenario: scenarios[i]! } : {}),
    })),
    { summary: opts.experiment?.summary },
  )
  const names = told.names
  runs.forEach((r, i) => {
    r.label = told.labels[i]!
    r.conclusion = told.perRun[i]!
  })
  const comparison =
    runs.length >= 2
      ? compareRuns(
          runs.map((r) => ({
            manifest: r.manifest,
            series: r.series,
            findings: r.result.findings.rows.map((f): FindingKey => ({ kind: f.kind, signature: f.signature, message: f.message })),
          })),
        )
      : undefined
  const conclusion = mixed ? [mixed, ...told.conclusion] : told.conclusion
  const scenarioNames = [...new Set(runs.map((r) => r.manifest.scenario.name))]
  const title =
    opts.title ??
    (kind === 'run'
      ? `${scenarioNames[0]} — ${runs[0]!.label}`
      : kind === 'experiment'
        ? `${opts.experiment?.name ?? scenarioNames.join(', ')} — ${runs.length} runs`
        : mixed
          ? `Comparison of ${distinctScenarios(scenarios).length} scenarios — ${names.join(' vs ')}`
          : `Comparison: ${scenarioNames.join(', ')} — ${names.join(' vs ')}`)
  const doc: ReportDocument = {
    schema: REPORT_SCHEMA,
    kind,
    title,
    generatedAt: (opts.now ?? (() => new Date()))().toISOString(),
    hmmlab: { version: APP_VERSION },
    ...(opts.experiment ? { experiment: opts.experiment } : {}),
    runs,
    missingRuns: missing,
    ...(comparison ? { comparison } : {}),
    conclusion,
    probe: await probe,
  }
  // Every part was validated where it came in (results, series, probe); check the envelope only,
  // since re-validating every result doubles the cost of a large export.
  ReportDocument.omit({ runs: true }).parse({ ...doc, runs: undefined })
  return doc
}

/** The probe section: runs the probe service if asked, and degrades to "unavailable" if it fails. */
export async function resolveProbe(source: ProbeSource): Promise<ReportProbe> {
  if (source === 'none') return { status: 'unavailable', reason: 'not requested' }
  if (typeof source === 'object') {
    const checked = ProbeReportSchema.safeParse(source.report)
    return checked.success ? { status: 'ok', report: checked.data } : { status: 'unavailable', reason: 'the probe report given does not match its schema' }
  }
  try {
    const mod = (await import('../probe/index')) as { runProbe?: (o: { system: 'skip' }) => Promise<{ report: ProbeReport }> }
    if (typeof mod.runProbe !== 'function') return { status: 'unavailable', reason: 'the probe service has no runProbe function' }
    const { report } = await mod.runProbe({ system: 'skip' })
    const checked = ProbeReportSchema.safeParse(report)
    if (!checked.success)
      return { status: 'unavailable', reason: `the probe returned a report that does not match its schema: ${checked.error.issues[0]?.message ?? 'invalid'}` }
    return { status: 'ok', report: checked.data }
  } catch (err) {
    return { status: 'unavailable', reason: `the probe failed: ${err instanceof Error ? err.message : String(err)}` }
  }
}
