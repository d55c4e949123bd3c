/**
 * `hmmlab run FILE... [--design D1,D4,...] [--seed N] [--json] [--out DIR]`: runs each scenario
 * under each design and prints a readable summary (a progress bar when stdout is a terminal), or
 * with --json the full result documents. Exit code: 0 every expect passed, 1 an expect failed,
 * 2 invalid input.
 */
import { prepareOutputFolder, readRegularFileSync, SafeReadError, writeRegularFileSync } from '../../services/safe-read'
import { SCENARIO_FILE_MAX_BYTES } from '../../../shared/text-limits'
import { basename, dirname, join, resolve } from 'node:path'
import { appRoot } from '../../paths'
import { resolveMachineRef, type MachineOverride } from '../../services/machine-ref'
import { loadOnMachine } from '../../services/sim-binding'
import type { MachinePart } from '../../../shared/record'
import type { Command } from 'commander'
import { formatNs } from '../../../shared/units'
import { DESIGN_TABLE_METRICS, longestLeakWords } from '../../../shared/conclusion'
import { planRuns, summarizeSweep, type SweepSummary } from '../../../shared/plan'
import { statusOfOutcome } from '../../../shared/record'
import { isSeed, MAX_SEED } from '../../../shared/scenario'
import { chooseCosts, describeCosts, type CostChoice } from '../../services/calibration/store'
import { parseDesignFlag, runExperiments, wantsExperiment, type ExperimentRunFlags } from './run-experiment'
import { metricValue, recordSummary, sweepSummaryText } from '../record-text'
import { compareRuns, DESIGNS, parseScenario, runScenario, scenarioDesigns, ScenarioError, type DesignId, type RunRecord } from '../../../sim/index'

interface RunFlags {
  costs?: string
  design?: string
  seed?: string
  json?: boolean
  metrics?: boolean
  out?: string
  timeout?: string
}

/** Wall-time budget of one in-process run (all its seeds), as for a run on the experiment service. */
export const DEFAULT_RUN_BUDGET_S = 600

/**
 * One line per design: what was kept after the owners exited (at its peak and still at the end),
 * for how long and at what cost: the columns of the app's per-design table (DESIGN_TABLE_METRICS,
 * by the record's names), then the longest leak (`≥ 10.1 s (to the end)` when it was never freed).
 */
function comparison(rs: RunRecord[]): string {
  const names = DESIGN_TABLE_METRICS.map((m) => m.name)
  const rows = compareRuns(rs)
  const cells = rs.map((r, k) => [
    ...names.map((n) => metricValue(r, n)),
    longestLeakWords(rows[k]!.longestLeakNs, rows[k]!.longestLeakOpen),
    `${rows[k]!.expectsPassed}/${rows[k]!.expects}`,
  ])
  const heads = [...names, 'longest leak', 'expects']
  const width = heads.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (design: string, c: string[]): string => `  ${design.padEnd(7)} ${c.map((x, i) => x.padStart(width[i]!)).join(' ')}`.trimEnd()
  return [line('design', heads), ...rows.map((c, k) => line(c.design, cells[k]!))].join('\n')
}

/**
 * Resolves once everything written to stdout so far has been handed to the OS. The CLI entry calls
 * process.exit right after the command returns, which would cut a piped `--json` document short.
 */
export function stdoutFlushed(): Promise<void> {
  // nothing waiting in the stream (a file, a terminal, a pipe that took it all): nothing to wait for
  if (process.stdout.writableLength === 0) return Promise.resolve()
  return new Promise((resolve) => {
    if (!process.stdout.write('', () => resolve())) process.stdout.once('drain', () => resolve())
  })
}

/** A wall-time budget: `exceeded()` turns true (and stays) once `ms` have passed since it was made. */
export function wallBudget(ms: number, now: () => number = Date.now): { exceeded: () => boolean; readonly hit: boolean } {
  const deadline = now() + ms
  let hit = false
  return {
    exceeded: () => (hit ||= now() > deadline),
    get hit() {
      return hit
    },
  }
}

/** Registers `hmmlab run`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run scenarios under teardown designs')
    .argument('<files...>', 'scenario files (YAML or JSON)')
    .option('--design <ids>', `comma-separated designs (${DESIGNS.map((d) => d.id).join(', ')}); default: the scenario's`)
    .option('--seed <n>', 'seed (default: the scenario seed)')
    .option('--json', 'print the run records as JSON (first seed of each design, up to 3 more that did not pass, then { sweep })')
    .option('--metrics', "print every metric of each run's record under its summary (as the app's Metrics table)")
    .option('--out <dir>', 'write one result JSON per run into this directory')
    .option(
      '--sweep <key=values...>',
      'sweep a parameter: design, seed or a scenario path, as v1,v2 or from..to[:step] (repeatable); runs on the experiment service',
    )
    .option('--workers <n>', 'worker threads for the runs (default: one per core); runs on the experiment service')
    .option('--workspace <dir>', 'save every run in this workspace (default: the user data folder when the experiment service is used)')
    .option('--report <file>', 'also write a report of the runs (.html, .json, .csv or .trace.json)')
    .option('--timeout <seconds>', `stop a run that takes longer (default ${DEFAULT_RUN_BUDGET_S}; in process, or on the experiment service)`)
    .option(
      '--costs <default|file>',
      "cost table: 'default' (published figures and assumptions) or a calibration file; default: this machine's calibration (hmmlab calibrate) when present",
    )
    .addHelpText(
      'after',
      '\nWithout --sweep/--workers/--workspace/--report the runs happen in this process and print their full summaries;\nwith any of them each file becomes an experiment on the worker pool, saved in the workspace like runs started from the app.',
    )
    .action(async (files: string[], flags: RunFlags & ExperimentRunFlags) => {
      if (wantsExperiment(flags)) {
        if (flags.out) {
          process.stderr.write(
            'hmmlab run: --out writes in-process results; with --sweep/--workers/--workspace/--report the runs are saved in the workspace instead\n',
          )
          process.exitCode = 2
          return
        }
        process.exitCode = await runExperiments(files, flags)
      } else process.exitCode = runCommand(files, flags, await machineOverrides(files))
      await stdoutFlushed()
    })
}

/**
 * The machines of the scenarios that name theirs by reference (`machine: probed`, `machine: FILE`,
 * resolved as the experiment service does; a machine file may lie beside the scenario or in the
 * built-in library), or why one cannot be loaded. A file that cannot be read is left to runCommand.
 */
export async function machineOverrides(files: readonly string[]): Promise<Map<string, MachineOverride | Error>> {
  const out = new Map<string, MachineOverride | Error>()
  for (const file of files) {
    let text: string
    try {
      text = readRegularFileSync(file, { maxBytes: SCENARIO_FILE_MAX_BYTES, what: 'scenario' }).toString('utf8')
    } catch {
      continue
    }
    try {
      const m = await resolveMachineRef(text, file, resolve(file), [dirname(resolve(file)), join(appRoot(), 'scenarios')])
      if (m) out.set(file, m)
    } catch (e) {
      out.set(file, e instanceof Error ? e : new Error(String(e)))
    }
  }
  return out
}

/** The body of `hmmlab run`; returns the exit code. `machines`: from machineOverrides. */
export function runCommand(files: string[], flags: RunFlags, machines: ReadonlyMap<string, MachineOverride | Error> = new Map()): number {
  let code = 0
  let designs: DesignId[] | null = null
  if (flags.design !== undefined) {
    const parsed = parseDesignFlag(flags.design)
    if (parsed instanceof Error) {
      process.stderr.write(`hmmlab run: ${parsed.message}\n`)
      return 2
    }
    designs = parsed
  }
  let seed: number | undefined
  if (flags.seed !== undefined) {
    const n = Number(flags.seed)
    if (!isSeed(n)) {
      process.stderr.write(`hmmlab run: --seed expects an integer 0..${MAX_SEED}, got "${flags.seed}"\n`)
      return 2
    }
    seed = n
  }
  const budgetS = flags.timeout === undefined ? DEFAULT_RUN_BUDGET_S : Number(flags.timeout)
  if (!(budgetS > 0) || !Number.isFinite(budgetS)) {
    process.stderr.write(`hmmlab run: --timeout expects a positive number of seconds, got "${flags.timeout}"\n`)
    return 2
  }
  let costs: CostChoice
  try {
    costs = chooseCosts(flags.costs)
  } catch (e) {
    process.stderr.write(`hmmlab run: ${e instanceof Error ? e.message : String(e)}\n`)
    return 2
  }
  // the costs used go with every run's output: on stderr, so --json stays one document
  process.stderr.write(`${describeCosts(costs.used)}\n`)
  const costOpt = costs.table ? { costs: costs.table } : {}
  const tty = process.stdout.isTTY === true && !flags.json
  const docs: unknown[] = []
  if (flags.out) {
    // a file, a link to nothing or an unwritable folder is refused before any run
    try {
      prepareOutputFolder(flags.out, '--out folder')
    } catch (e) {
      process.stderr.write(`hmmlab run: ${e instanceof Error ? e.message : String(e)}\n`)
      return 2
    }
  }
  for (const file of files) {
    let text: string
    try {
      // a regular file, bounded, never a wait on a FIFO or a device (safe-read.ts)
      text = readRegularFileSync(file, { maxBytes: SCENARIO_FILE_MAX_BYTES, what: 'scenario' }).toString('utf8')
    } catch (e) {
      process.stderr.write(`hmmlab run: cannot read ${e instanceof SafeReadError ? e.message : `${file}: ${e instanceof Error ? e.message : String(e)}`}\n`)
      code = 2
      continue
    }
    let sc
    const machine = machines.get(file)
    let machineParts: MachinePart[] | undefined
    if (machine instanceof Error) {
      process.stderr.write(`hmmlab run: ${machine.message}\n`)
      code = 2
      continue
    }
    try {
      if (machine) ({ scenario: sc, machineParts } = loadOnMachine(text, file, {}, machine.spec))
      else sc = parseScenario(text, file)
    } catch (e) {
      if (e instanceof ScenarioError) process.stderr.write(`${e.message}\n`)
      else process.stderr.write(`hmmlab run: ${file}: ${e instanceof Error ? e.message : String(e)}\n`)
      code = 2
      continue
    }
    // the one planner: designs × seeds (`seeds:`), the same runs the experiment service makes
    const planned = planRuns({ sets: [{}], designs: designs ?? scenarioDesigns(sc), seed: seed ?? sc.seed ?? 1, seeds: sc.seeds ?? 1 })
    const runs: RunRecord[] = []
    const finished: { design: string; seed: number; parameters: Record<string, never>; status: string; findingKinds: string[] }[] = []
    const firstOf = new Map<string, RunRecord>()
    const shown = new Map<string, number>()
    const budgets = new Map<string, ReturnType<typeof wallBudget>>()
    for (const p of planned) {
      const d = p.design as DesignId
      const onProgress = tty
        ? (q: { done: number; total: number; simulatedNs: number }) => {
            const w = 30
            const f = q.total > 0 ? Math.round((q.done / q.total) * w) : w
            process.stdout.write(`\r  ${d} seed ${p.seed} [${'#'.repeat(f)}${'.'.repeat(w - f)}] ${q.done}/${q.total} steps, ${formatNs(q.simulatedNs)}`)
          }
        : undefined
      // The wall-time budget of this design's run (every seed of it), checked by the simulator
      // between events; once spent, no further seed of the design starts.
      let budget = budgets.get(d)
      if (!budget) budgets.set(d, (budget = wallBudget(budgetS * 1000)))
      else if (budget.hit) continue
      const result = runScenario(sc, {
        design: d,
        seed: p.seed,
        shouldStop: budget.exceeded,
        stopReason: 'wall_time',
        meta: { text, costs: costs.used, ...(machine ? { machine: machine.origin } : {}) },
        ...costOpt,
        ...(onProgress ? { onProgress } : {}),
      })
      if (tty) process.stdout.write('\r\x1b[K')
      // which parts of the machine came from the probe and which from the scenario, as the run worker records them
      if (machineParts) result.meta.machineParts = machineParts
      if (budget.hit)
        process.stderr.write(
          `hmmlab run: ${file} ${d} seed ${p.seed}: stopped: the run exceeded its wall-time budget of ${budgetS} s (--timeout); its results are partial and its later seeds do not start\n`,
        )
      const status = statusOfOutcome(result.outcome)
      finished.push({ design: d, seed: p.seed, parameters: {}, status, findingKinds: result.findings.rows.map((f) => f.kind) })
      if (status !== 'passed' && code === 0) code = 1
      const first = !firstOf.has(d)
      if (first) {
        firstOf.set(d, result)
        runs.push(result)
      }
      // the first seed of each design is shown, and up to three more that did not pass
      const shownOthers = shown.get(d) ?? 0
      if (first || (status !== 'passed' && shownOthers < 3)) {
        if (!first) shown.set(d, shownOthers + 1)
        if (flags.json) docs.push(result)
        else process.stdout.write(recordSummary(result, { metrics: flags.metrics === true }) + '\n')
        if (flags.out) {
          const name = `${basename(file).replace(/\.(ya?ml|json)$/i, '')}.${d}.seed${p.seed}.json`
          try {
            // never half-written, never into a FIFO or through a link already there (safe-read.ts)
            writeRegularFileSync(join(flags.out, name), JSON.stringify(result, null, 1) + '\n', 'result file')
          } catch (e) {
            process.stderr.write(`hmmlab run: ${e instanceof Error ? e.message : String(e)}\n`)
            code = 2
          }
        }
      }
    }
    if ((sc.seeds ?? 1) > 1 || sc.sweep_expect?.length) {
      const sweep: SweepSummary = summarizeSweep(finished, sc.sweep_expect ?? [])
      if (!sweep.passed && code === 0) code = 1
      if (flags.json) docs.push({ sweep })
      else process.stdout.write(sweepSummaryText(sweep) + '\n')
    }
    if (!flags.json && runs.length > 1) process.stdout.write(`  comparison (${sc.name}):\n${comparison(runs)}\n\n`)
  }
  // nothing ran (every file invalid): no document, not `[]`; the errors are on stderr
  if (flags.json && docs.length > 0) process.stdout.write(JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 1) + '\n')
  return code
}
