/**
 * Reports: a run, an experiment (sweep) or a comparison of runs exported as one self-contained
 * HTML file, the JSON document (src/shared/report.ts), tidy long CSV, or a Chrome trace-event
 * JSON that Perfetto opens. `docs/reports.md` describes each format.
 *
 *   const file = await exportReport(store, { kind: 'run', runId }, 'html')
 *   // → { fileName: 'fork-leak-D1-seed1.html', mimeType: 'text/html; charset=utf-8', content }
 *
 * The route `reports.export` maps onto `exportReport`; the CLI's `hmmlab report` and the run
 * command's `--report FILE` use `exportReport` and `exportStoredRuns`.
 */
import type { ReportDocument } from '../../../shared/report'
import type { ExperimentManifest, RunManifest } from '../../../shared/runs'
import type { StoredRun } from '../store/run-store'
import { writeRegularFileSync } from '../safe-read'
import { renderCsv } from './csv'
import { documentFromRuns, ReportError, type DocumentOptions } from './document'
import { renderHtml } from './html'
import { renderTrace } from './trace'

export { ReportError, documentFromRuns, resolveProbe, type DocumentOptions, type ProbeSource } from './document'
export { renderHtml, chartSpecs, MAX_CHART_POINTS } from './html'
export { renderCsv, CSV_COLUMNS } from './csv'
export { buildTrace, renderTrace, type TraceFile, type TraceEventJson } from './trace'
export { loadReportAssets } from './assets'
export { escapeHtml, jsonForScript } from './escape'

export type ReportFormat = 'html' | 'json' | 'csv' | 'trace'
export type ReportTarget = { kind: 'run'; runId: string } | { kind: 'experiment'; experimentId: string } | { kind: 'compare'; runIds: string[] }

/** What the route returns: a file name to offer, its MIME type and the text. */
export interface ExportedReport {
  fileName: string
  mimeType: string
  content: string
}

/** The part of the run store reports read. */
export interface ReportStore {
  getRun(id: string): Promise<StoredRun>
  getExperiment(id: string): Promise<ExperimentManifest>
  listRuns(): Promise<{ items: RunManifest[] }>
}

export type ExportOptions = DocumentOptions

const MIME: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  trace: 'application/json',
}
const EXT: Record<ReportFormat, string> = { html: 'html', json: 'report.json', csv: 'csv', trace: 'trace.json' }

function isNotFound(err: unknown): boolean {
  return (err as { code?: string })?.code === 'not_found'
}

/** Reads the runs a target names from the store and builds the report document. */
export async function buildReport(store: ReportStore, target: ReportTarget, opts: ExportOptions = {}): Promise<ReportDocument> {
  if (target.kind === 'run') {
    let run: StoredRun
    try {
      run = await store.getRun(target.runId)
    } catch (err) {
      throw new ReportError(err instanceof Error ? err.message : String(err), isNotFound(err) ? 'not_found' : 'invalid')
    }
    const doc = await documentFromRuns('run', [run], opts)
    return doc
  }
  if (target.kind === 'experiment') {
    let experiment: ExperimentManifest
    try {
      experiment = await store.getExperiment(target.experimentId)
    } catch (err) {
      throw new ReportError(err instanceof Error ? err.message : String(err), isNotFound(err) ? 'not_found' : 'invalid')
    }
    const listed = new Set((await store.listRuns()).items.filter((m) => m.experimentId === experiment.id).map((m) => m.id))
    const ids = [...new Set([...experiment.runIds, ...listed])]
    const { runs, missing } = await readRuns(store, ids)
    return documentFromRuns('experiment', runs, { ...opts, experiment, missing })
  }
  const { runs, missing } = await readRuns(store, target.runIds)
  if (missing.length) throw new ReportError(`cannot compare: ${missing.map((m) => `${m.id}: ${m.reason}`).join('; ')}`, 'not_found')
  const doc = await documentFromRuns('compare', runs, opts)
  if (doc.runs.length < 2) throw new ReportError(`cannot compare: ${doc.missingRuns.map((m) => `${m.id}: ${m.reason}`).join('; ')}`, 'invalid')
  return doc
}

async function readRuns(store: ReportStore, ids: string[]): Promise<{ runs: StoredRun[]; missing: { id: string; reason: string }[] }> {
  const runs: StoredRun[] = []
  const missing: { id: string; reason: string }[] = []
  for (const id of ids) {
    try {
      runs.push(await store.getRun(id))
    } catch (err) {
      missing.push({ id, reason: err instanceof Error ? err.message : String(err) })
    }
  }
  return { runs, missing }
}

/** Renders a document in one format. */
export function renderReport(doc: ReportDocument, format: ReportFormat): ExportedReport {
  const content =
    format === 'html' ? renderHtml(doc) : format === 'json' ? `${JSON.stringify(doc, null, 1)}\n` : format === 'csv' ? renderCsv(doc) : renderTrace(doc)
  return { fileName: `${reportBaseName(doc)}.${EXT[format]}`, mimeType: MIME[format], content }
}

/** The route's function: reads the target from the store and renders it. */
export async function exportReport(store: ReportStore, target: ReportTarget, format: ReportFormat, opts: ExportOptions = {}): Promise<ExportedReport> {
  return renderReport(await buildReport(store, target, opts), format)
}

/**
 * For `hmmlab run ... --report FILE`: renders runs already in hand (stored or just finished) without
 * reading the store. One run → a run report; several → an experiment report (pass `experiment`) or a
 * comparison.
 */
export async function exportStoredRuns(
  runs: StoredRun[],
  format: ReportFormat,
  opts: ExportOptions & { experiment?: ExperimentManifest } = {},
): Promise<ExportedReport> {
  const kind = runs.length === 1 ? 'run' : opts.experiment ? 'experiment' : 'compare'
  return renderReport(await documentFromRuns(kind, runs, opts), format)
}

/** A file name from the document: scenario file stem, then the run, experiment or designs. */
export function reportBaseName(doc: ReportDocument): string {
  const first = doc.runs[0]!
  const stem = first.manifest.scenario.fileName.replace(/^.*[\\/]/, '').replace(/\.(ya?ml|json)$/i, '')
  const what =
    doc.kind === 'run'
      ? `${first.manifest.design}-seed${first.manifest.seed}`
      : doc.kind === 'experiment'
        ? (doc.experiment?.id ?? 'experiment')
        : `compare-${doc.runs.map((r) => r.manifest.design).join('-')}`
  const name = `${stem || 'report'}-${what}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '')
  return name.slice(0, 120) || 'report'
}

const FORMATS: ReportFormat[] = ['html', 'json', 'csv', 'trace']

/** The format a file name says: `.trace.json`, `.json`, `.csv`, `.html` or `.htm`; undefined for any other name. */
export function formatOfName(fileName: string): ReportFormat | undefined {
  if (/\.trace\.json$/i.test(fileName)) return 'trace'
  if (/\.json$/i.test(fileName)) return 'json'
  if (/\.csv$/i.test(fileName)) return 'csv'
  if (/\.html?$/i.test(fileName)) return 'html'
  return undefined
}

/** What a file name ends in, for messages: `ends in .pdf`, `ends in .trace.json`, `has no extension`. */
function endingOf(fileName: string): string {
  const base = fileName.replace(/^.*[\\/]/, '')
  const m = /(\.trace\.json|\.[^.]+)$/i.exec(base)
  return m && m.index > 0 ? `ends in ${m[1]}` : 'has no extension'
}

/**
 * The format of a report written to `fileName`: `format` when given, else what the name says
 * (`formatOfName`). Refused with an Error naming the file and why, so that no file holds a format
 * its name denies: a name that says another format than `format` (`-f json -o y.csv`), a name
 * that says no format without `format` (`x.txt`, `report`), and `.pdf` always (the command line
 * writes no PDF). A trace may go to a plain `.json` name (it is JSON). Stdout (`-` or no name)
 * takes any format, HTML by default. `formatOption` names the option that sets the format, for
 * the messages (`--format`).
 */
export function pickFormat(format: string | undefined, fileName: string | undefined, formatOption?: string): ReportFormat | Error {
  if (format !== undefined && !(FORMATS as string[]).includes(format))
    return new Error(`the format must be one of ${FORMATS.join(', ')}, not ${JSON.stringify(format)}`)
  const chosen = format as ReportFormat | undefined
  if (!fileName || fileName === '-') return chosen ?? 'html'
  if (/\.pdf$/i.test(fileName))
    return new Error(
      `${fileName}: reports are written as html, json, csv or trace, not PDF; write the HTML report and print it from a browser, or save it as PDF from the desktop app's Reports view`,
    )
  const named = formatOfName(fileName)
  if (chosen === undefined) {
    if (named) return named
    return new Error(
      `${fileName}: the name ${endingOf(fileName)}, which says no report format; end it in .html, .json, .csv or .trace.json${formatOption ? `, or give ${formatOption}` : ''}`,
    )
  }
  if (named === undefined || named === chosen || (chosen === 'trace' && named === 'json')) return chosen
  return new Error(
    `${fileName}: the name ${endingOf(fileName)} (${named}) but the format asked for is ${chosen}; name the file ${chosen === 'trace' ? '.trace.json' : `.${chosen}`}${formatOption ? `, or drop ${formatOption} to write ${named}` : ''}`,
  )
}

/**
 * For `hmmlab run ... --report FILE`: renders the runs just made into FILE, the format following
 * its name (`.html`, `.json`, `.csv`, `.trace.json`). Returns what was written and how long it took;
 * a file that cannot be written throws a SafeReadError naming it and why.
 */
export async function writeReportFile(
  runs: StoredRun[],
  file: string,
  opts: ExportOptions & { experiment?: ExperimentManifest; format?: ReportFormat } = {},
): Promise<{ file: string; format: ReportFormat; bytes: number; ms: number }> {
  const started = performance.now()
  const picked = pickFormat(opts.format, file)
  if (picked instanceof Error) throw picked
  const report = await exportStoredRuns(runs, picked, opts)
  // never half-written, never into a FIFO, a device or through a link (safe-read.ts)
  writeRegularFileSync(file, report.content, 'report')
  return { file, format: picked, bytes: Buffer.byteLength(report.content), ms: performance.now() - started }
}
