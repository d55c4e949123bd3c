/**
 * `hmmlab run` through the experiment service (the same one the app uses): when the command line
 * asks for a sweep (`--sweep key=v1,v2`, `key=from..to[:step]`), worker threads (`--workers N`)
 * or a workspace (`--workspace DIR`), each scenario becomes an experiment whose runs go to the
 * worker pool and are saved in the run store. Prints progress on a terminal, then one line per run.
 */
import { chooseCosts, describeCosts, type CostChoice } from '../../services/calibration/store'
import { checkOutputTarget, readRegularFileSync, SafeReadError } from '../../services/safe-read'
import { SCENARIO_FILE_MAX_BYTES } from '../../../shared/text-limits'
import { basename, dirname, resolve } from 'node:path'
import { createLabServices } from '../../services'
import { checkWorkspace, defaultWorkspace } from '../../services/store/workspace'
import { resolveMachineRef } from '../../services/machine-ref'
import { pickFormat, writeReportFile } from '../../services/reports'
import type { RunManifest } from '../../../shared/runs'
import { parseSweepArg, type SweepAxis } from '../../../shared/sweep'
import { RecordMeta, StoredRecord, statusWords, type RecordSeries } from '../../../shared/record'
import { DESIGN_IDS, isSeed, MAX_SEED, type DesignIdT as DesignId } from '../../../shared/scenario'
import type { SweepSummary } from '../../../shared/plan'
import type { RunStore } from '../../services/store/run-store'
import { stdoutFlushed } from './run'
import { formatBytes, formatNs } from '../../../shared/units'
import { failedExpectLines, failedStepLines, machineLines, metricLines, metricValue, statusMark, sweepSummaryText } from '../record-text'

export interface ExperimentRunFlags {
  sweep?: string[]
  workers?: string
  workspace?: string
  design?: string
  seed?: string
  json?: boolean
  report?: string
  timeout?: string
  costs?: string
  metrics?: boolean
}

/**
 * The designs `--design` names (upper-cased), or the message why not: an unknown id, or a list
 * with no id at all (`--design ,`), which would otherwise make an experiment of no runs.
 */
export function parseDesignFlag(text: string): DesignId[] | Error {
  const ids = text
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean)
  const known = DESIGN_IDS.join(', ')
  if (ids.length === 0) return new Error(`--design ${JSON.stringify(text)} names no design; give one or more of ${known}, separated by commas`)
  const bad = ids.filter((i) => !(DESIGN_IDS as readonly string[]).includes(i))
  if (bad.length > 0) return new Error(`--design ${JSON.stringify(text)}: unknown design ${bad.join(', ')}; expected ${known}`)
  return ids as DesignId[]
}

/** True when the flags ask for the experiment service rather than a single in-process run. */
export function wantsExperiment(flags: ExperimentRunFlags): boolean {
  return Boolean(flags.sweep?.length || flags.workers || flags.workspace || flags.report)
}

/** Runs every file as an experiment; resolves to the exit code (0 all ok, 1 a run not ok, 2 bad input). */
export async function runExperiments(files: string[], flags: ExperimentRunFlags): Promise<number> {
  const fail = (message: string): number => {
    process.stderr.write(`hmmlab run: ${message}\n`)
    return 2
  }
  const axes: Record<string, SweepAxis> = {}
  try {
    for (const arg of flags.sweep ?? []) {
      const [key, axis] = parseSweepArg(arg)
      axes[key] = axis
    }
  } catch (err) {
    return fail((err as Error).message)
  }
  const workers = flags.workers === undefined ? undefined : Number(flags.workers)
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 256))
    return fail(`--workers must be an integer 1..256, got ${JSON.stringify(flags.workers)}`)
  const seed = flags.seed === undefined ? undefined : Number(flags.seed)
  if (seed !== undefined && !isSeed(seed)) return fail(`--seed expects an integer 0..${MAX_SEED}, got ${JSON.stringify(flags.seed)}`)
  const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout) * 1000
  if (timeoutMs !== undefined && !(timeoutMs > 0)) return fail(`--timeout must be a positive number of seconds, got ${JSON.stringify(flags.timeout)}`)
  let designs: DesignId[] | undefined
  if (flags.design !== undefined) {
    const parsed = parseDesignFlag(flags.design)
    if (parsed instanceof Error) return fail(parsed.message)
    designs = parsed
  }

  // --report FILE (one per scenario when several are given): a FIFO, a device, a folder, a link
  // or an unwritable folder is refused before any run starts
  const reportTarget = (file: string): string =>
    files.length > 1 ? flags.report!.replace(/(\.[a-z.]+)$/i, `-${basename(file).replace(/\.[^.]+$/, '')}$1`) : flags.report!
  if (flags.report) {
    try {
      for (const file of files) {
        checkOutputTarget(reportTarget(file), 'report')
        // the format follows the name: one that says no report format (x.pdf) is refused here too
        const format = pickFormat(undefined, reportTarget(file))
        if (format instanceof Error) throw format
      }
    } catch (err) {
      return fail((err as Error).message)
    }
  }

  const tty = process.stdout.isTTY === true && !flags.json
  const progressLine = (text: string): void => {
    if (tty) process.stdout.write(`\r\x1b[2K${text}`)
  }
  // a workspace runs cannot be saved in (a file, a FIFO, no permission) is refused before any run
  let workspace: string
  try {
    workspace = checkWorkspace(flags.workspace ?? defaultWorkspace())
  } catch (err) {
    return fail((err as Error).message)
  }
  let costs: CostChoice
  try {
    costs = chooseCosts(flags.costs)
  } catch (err) {
    return fail((err as Error).message)
  }
  process.stderr.write(`${describeCosts(costs.used)}\n`)
  const services = createLabServices({
    ...(flags.costs ? { costs: flags.costs } : {}),
    workspace,
    ...(workers ? { threads: workers } : {}),
    onEvent: (name, payload) => {
      if (name === 'experiment.progress') {
        const p = payload as { done: number; total: number; failed: number; etaMs: number | null }
        progressLine(`runs ${p.done}/${p.total}${p.failed ? `, ${p.failed} failed` : ''}${p.etaMs ? `, about ${Math.ceil(p.etaMs / 1000)} s left` : ''}`)
      }
    },
  })
  let code = 0
  // --json: what to print once every file has run (the runs' records are read back from the store)
  const printed: JsonItem[] = []
  try {
    for (const file of files) {
      let text: string
      try {
        text = readRegularFileSync(file, { maxBytes: SCENARIO_FILE_MAX_BYTES, what: 'scenario' }).toString('utf8')
      } catch (err) {
        code = Math.max(
          code,
          fail(
            err instanceof SafeReadError
              ? `cannot read ${err.message}`
              : `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
          ),
        )
        continue
      }
      let started
      try {
        // The scenario named on the command line may name a machine file next to it.
        const machine = await resolveMachineRef(text, basename(file), resolve(file), [...services.machineRoots, dirname(resolve(file))])
        started = await services.experiments.start({
          scenarioText: text,
          fileName: file,
          sweep: { axes },
          ...(designs ? { designs } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
          costs: { table: costs.table, used: costs.used },
          ...(machine ? { machine: { spec: machine.spec, origin: machine.origin } } : {}),
        })
      } catch (err) {
        code = Math.max(code, fail((err as Error).message))
        continue
      }
      const summary = await started.done
      progressLine('')
      if (tty) process.stdout.write('\r\x1b[2K')
      if (flags.json) {
        printed.push(...jsonSelection(summary.runs))
        const sweep = summary.experiment.summary
        if (sweep && ((summary.experiment.seeds ?? 1) > 1 || sweep.checks.length)) printed.push({ sweep })
        // stdout stays one JSON document; where the runs went is said on stderr
        process.stderr.write(`${file}: experiment ${summary.experimentId}, ${summary.runs.length} runs, saved in ${services.workspace}\n`)
      } else {
        process.stdout.write(`${file}: experiment ${summary.experimentId}, ${summary.runs.length} runs, saved in ${services.workspace}\n`)
        // where the machine came from, when a probed one replaced the scenario's: from the first run's record
        const machineRun = summary.runs.find((r) => r.machine)
        if (machineRun) {
          const meta = await services.store
            .getRun(machineRun.id, { series: false })
            .then((stored) => MACHINE_META.safeParse((stored.result as { meta?: unknown } | null)?.meta))
            .catch(() => undefined)
          const lines = meta?.success ? machineLines(meta.data, '  ') : [`  machine: ${machineRun.machine}, not the scenario's (its record cannot be read)`]
          process.stdout.write(lines.map((l) => `${l}\n`).join(''))
        }
        // From each stored record: which expects failed, on which line of the user's file, and which
        // steps' calls failed when no expect asked for that errno; up to 4 runs of each design and
        // parameters, as in process. Every run is read, so whether a run gets these lines depends
        // on its record only, never on its place in the sweep.
        const shownFailures = new Map<string, number>()
        const hiddenFailures = new Map<string, number>()
        for (const r of summary.runs) {
          process.stdout.write(`  ${runLine(r)}\n`)
          const result = await services.store
            .getRun(r.id, { series: false })
            .then((stored) => stored.result as { expects?: unknown; steps?: unknown } | null)
            .catch(() => null)
          const expects = EXPECTS.safeParse(result?.expects)
          const steps = STEPS.safeParse(result?.steps)
          const lines = [
            ...(expects.success && r.status === 'expects_failed' ? failedExpectLines(expects.data, '      ') : []),
            ...(steps.success ? failedStepLines(steps.data, expects.success ? expects.data : { rows: [] }, '      ') : []),
          ]
          const key = groupKey(r)
          if (lines.length && (shownFailures.get(key) ?? 0) < 4) {
            shownFailures.set(key, (shownFailures.get(key) ?? 0) + 1)
            process.stdout.write(lines.map((l) => `${l}\n`).join(''))
          } else if (lines.length) {
            const words = [r.design, ...Object.entries(r.parameters).map(([k, v]) => `${k}=${String(v)}`)].join(' ')
            hiddenFailures.set(words, (hiddenFailures.get(words) ?? 0) + 1)
          }
          if (flags.metrics)
            process.stdout.write(
              metricLines(r, '      ')
                .map((l) => `${l}\n`)
                .join(''),
            )
        }
        for (const [words, n] of hiddenFailures)
          process.stdout.write(`  … ${n} more runs of ${words} with failed expects or steps (hmmlab report RUN shows each)\n`)
        for (const u of summary.unsaved) process.stdout.write(`  ! ${u.runId} not saved: ${u.error}\n`)
        const sweep = summary.experiment.summary
        if (sweep && ((summary.experiment.seeds ?? 1) > 1 || sweep.checks.length)) process.stdout.write(`${sweepSummaryText(sweep)}\n`)
      }
      // a run that did not pass, or a sweep_expect that does not hold, fails the command
      if (summary.runs.some((r) => r.status !== 'passed') || summary.experiment.status !== 'passed' || summary.unsaved.length) code = Math.max(code, 1)
      if (flags.report) {
        const stored = await Promise.all(summary.runs.map((r) => services.store.getRun(r.id)))
        const experiment = await services.store.getExperiment(summary.experimentId)
        let written
        try {
          written = await writeReportFile(stored, reportTarget(file), { experiment })
        } catch (err) {
          // the runs are saved; only the report is missing
          code = Math.max(code, fail(`${(err as Error).message} (the runs are saved in ${services.workspace})`))
          continue
        }
        if (!flags.json) process.stdout.write(`  report: ${written.file} (${written.format}, ${formatBytes(written.bytes)}, ${formatNs(written.ms * 1e6)})\n`)
      }
    }
    if (flags.json && printed.length > 0) await printRecords(printed, services.store)
  } finally {
    await services.close()
  }
  return code
}

/** One document of `--json`: a run (its record, read from the store) or a sweep summary. */
type JsonItem = RunManifest | { sweep: SweepSummary }

/** A run's design and swept parameters: the seeds of one group run the same steps. */
function groupKey(r: RunManifest): string {
  return `${r.design} ${JSON.stringify(r.parameters)}`
}

/**
 * The runs whose records `--json` prints, as in process (run.ts): the first seed of each design
 * (under each set of swept parameters), and up to three more of it that did not pass. Every run
 * is in the workspace; `hmmlab report` exports any of them.
 */
export function jsonSelection(runs: readonly RunManifest[]): RunManifest[] {
  const shown = new Map<string, number>()
  const out: RunManifest[] = []
  for (const r of runs) {
    const key = groupKey(r)
    const n = shown.get(key)
    if (n === undefined || (r.status !== 'passed' && n < 4)) {
      shown.set(key, (n ?? 0) + 1)
      out.push(r)
    }
  }
  return out
}

/** The record's series back from the store's `memory.<type>` / `leaked.<type>` entries (seriesEntries). */
function recordSeries(entries: Record<string, unknown>): RecordSeries {
  const series: RecordSeries = { t: [], memory: {}, leaked: {} }
  for (const [name, value] of Object.entries(entries)) {
    const { t, v } = value as { t: number[]; v: number[] }
    const dot = name.indexOf('.')
    const group = name.slice(0, dot)
    if (group !== 'memory' && group !== 'leaked') continue
    series.t = t
    series[group][name.slice(dot + 1)] = v
  }
  return series
}

/**
 * Prints the `--json` documents as in process: one document alone, else an array, each record
 * whole (its series put back) and written one at a time, so thousands of runs never sit in
 * memory together. A run that ended without a record (crashed, cancelled) is printed as
 * `{ run: <its manifest> }`.
 */
async function printRecords(items: readonly JsonItem[], store: RunStore): Promise<void> {
  const many = items.length > 1
  if (many) process.stdout.write('[\n')
  for (const [i, item] of items.entries()) {
    let doc: unknown = item
    if (!('sweep' in item)) {
      const stored = await store.getRun(item.id)
      const result = stored.result as Record<string, unknown> | null
      doc = result && 'meta' in result ? { ...result, series: recordSeries(stored.series) } : { run: item }
    }
    process.stdout.write(`${JSON.stringify(doc, null, 1)}${many && i < items.length - 1 ? ',' : ''}\n`)
    await stdoutFlushed()
  }
  if (many) process.stdout.write(']\n')
}

/** The part of a record's meta that says where its machine came from. */
const MACHINE_META = RecordMeta.pick({ machine: true, machineParts: true })

/** The record's expects table. */
const EXPECTS = StoredRecord.shape.expects

/** The record's steps table (each step's return code). */
const STEPS = StoredRecord.shape.steps

/** One run of an experiment: its status, then the headline metrics by the record's names (the manifest repeats them). */
function runLine(r: RunManifest): string {
  const mark = statusMark(r.status)
  const params = Object.entries(r.parameters).map(([k, v]) => `${k}=${String(v)}`)
  const numbers = [`expects ${r.expects.passed}/${r.expects.passed + r.expects.failed}`, `findings ${r.findings}`]
  for (const name of ['leak_byte_seconds', 'invalidation_count', 'invalidation_cost_ns']) if (r.metrics[name]) numbers.push(`${name} ${metricValue(r, name)}`)
  return `${mark} ${r.design} seed ${r.seed}${params.length ? ` ${params.join(' ')}` : ''}  ${statusWords(r.status, r.stop)}  ${numbers.join(', ')}${r.error ? `  (${r.error})` : ''}  [${r.id}]`
}
