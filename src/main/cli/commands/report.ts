import { resolve } from 'node:path'
import type { Command } from 'commander'
import { formatBytes, formatNs } from '../../../shared/units'
import { buildReport, pickFormat, renderReport, ReportError, type ReportTarget } from '../../services/reports'
import { RunStore } from '../../services/store/run-store'
import { defaultWorkspace } from '../../services/store/workspace'
import { checkOutputTarget, writeRegularFileSync } from '../../services/safe-read'
import { stdoutFlushed } from './run'

export { pickFormat }

interface ReportFlags {
  compare?: boolean
  format?: string
  output?: string
  workspace?: string
  probe?: boolean
  title?: string
}

function fail(message: string): void {
  process.stderr.write(`hmmlab report: ${message}\n`)
  process.exitCode = 2
}

/**
 * Registers `hmmlab report`:
 *   hmmlab report RUN|EXPERIMENT [--format html|json|csv|trace] [-o FILE|-] [--workspace DIR]
 *   hmmlab report --compare RUN RUN [RUN...] [...]
 * One id names a run, or else an experiment. Without `-o` the file is written into the current
 * folder under the report's own name; `-o -` writes to stdout. The format follows the `-o` name;
 * a name that says no format, or another one than `--format`, is refused (`pickFormat`). Exit 0
 * when written, 2 when an id is unknown, a run is damaged, or the options are wrong.
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('export a run, an experiment or a comparison as HTML, JSON, CSV or a Perfetto trace')
    .argument('<ids...>', 'a run id or an experiment id; with --compare, two or more run ids')
    .option('--compare', 'compare the runs named (two or more)')
    .option(
      '-f, --format <format>',
      'one of html, json, csv, trace (default: from the -o name: .html, .json, .csv, .trace.json; html to stdout); a name that says another format is refused',
    )
    .option('-o, --output <file>', 'where to write (default: ./<name of the report>; - for stdout)')
    .option('--workspace <dir>', 'folder where runs are stored (default: $HMMLAB_WORKSPACE or the user data folder)')
    .option('--title <text>', 'title of the report')
    .option('--no-probe', 'do not probe this machine for the report')
    .action(async (ids: string[], flags: ReportFlags) => {
      // a bad --format first; the name is checked against it once the target is known to be a file
      const asked = pickFormat(flags.format, undefined)
      if (asked instanceof Error) return fail(asked.message)
      let target: ReportTarget
      if (flags.compare) {
        if (ids.length < 2) return fail('--compare needs two or more run ids')
        if (ids.length > 16) return fail('--compare takes at most 16 runs')
        target = { kind: 'compare', runIds: ids }
      } else {
        if (ids.length !== 1) return fail(`give one run or experiment id (or --compare with several runs), not ${ids.length}`)
        target = { kind: 'run', runId: ids[0]! }
      }
      // a FIFO, a device, a folder, a link or an unwritable folder is refused before any work
      const named = flags.output !== undefined && flags.output !== '-' ? resolve(flags.output) : undefined
      if (named) {
        try {
          checkOutputTarget(named, 'report')
        } catch (err) {
          return fail(err instanceof Error ? err.message : String(err))
        }
      }
      // `-o x.pdf`, `-f json -o y.csv`: a name that says no format, or another one, is refused
      const format = pickFormat(flags.format, flags.output, '--format')
      if (format instanceof Error) return fail(format.message)
      const store = new RunStore(flags.workspace ?? defaultWorkspace())
      const opts = { probe: flags.probe === false ? ('none' as const) : ('live' as const), ...(flags.title ? { title: flags.title } : {}) }
      const started = performance.now()
      const cpuStarted = process.cpuUsage()
      let doc
      try {
        try {
          doc = await buildReport(store, target, opts)
        } catch (err) {
          if (!(err instanceof ReportError && err.code === 'not_found' && target.kind === 'run')) throw err
          const experimentId = target.runId
          doc = await buildReport(store, { kind: 'experiment', experimentId }, opts).catch((e2: unknown) => {
            throw e2 instanceof ReportError && e2.code === 'not_found'
              ? new ReportError(`no run or experiment ${experimentId} in ${store.root}`, 'not_found')
              : e2
          })
        }
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err))
      }
      const report = renderReport(doc, format)
      if (flags.output === '-') {
        process.stdout.write(report.content)
        // a pipe takes 64 KiB at a time: the entry point's process.exit must not cut the rest off
        await stdoutFlushed()
        process.exitCode = 0
        return
      }
      const file = named ?? resolve(report.fileName)
      try {
        // a temporary file renamed over the target: never half-written (safe-read.ts)
        writeRegularFileSync(file, report.content, 'report')
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err))
      }
      const ms = performance.now() - started
      const cpu = process.cpuUsage(cpuStarted)
      const cpuMs = (cpu.user + cpu.system) / 1000
      const missing = doc.missingRuns.length ? `; ${doc.missingRuns.length} run(s) not included: ${doc.missingRuns.map((m) => m.id).join(', ')}` : ''
      process.stderr.write(
        `hmmlab report: wrote ${file} (${format}, ${doc.runs.length} run(s), ${formatBytes(Buffer.byteLength(report.content))}, ${formatNs(ms * 1e6)}, ${formatNs(cpuMs * 1e6)} CPU)${missing}\n`,
      )
      process.exitCode = 0
    })
}
