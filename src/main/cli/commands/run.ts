/**
 * `hmmlab run FILE... [--design D1,D4,...] [--seed N] [--json] [--out DIR]`: runs each scenario
 * under each design and prints a readable summary (a progress bar when stdout is a terminal), or
 * with --json the full result documents. Exit code: 0 every expect passed, 1 an expect failed,
 * 2 invalid input.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { readRegularFileSync, SafeReadError } from '../../services/safe-read'
import { SCENARIO_FILE_MAX_BYTES } from '../../../shared/text-limits'
import { basename, join } from 'node:path'
import type { Command } from 'commander'
import { formatBytes, formatNs } from '../../../shared/units'
import { chooseCosts, describeCosts, type CostChoice } from '../../services/calibration/store'
import { runExperiments, wantsExperiment, type ExperimentRunFlags } from './run-experiment'
import { compareRuns, DESIGNS, parseScenario, runScenario, runSweep, scenarioDesigns, ScenarioError, type DesignId, type RunResult, type SweepResult } from '../../../sim/index'

interface RunFlags {
  costs?: string
  design?: string
  seed?: string
  json?: boolean
  out?: string
  timeout?: string
}

/** Wall-time budget of one in-process run (all its seeds), as for a run on the experiment service. */
export const DEFAULT_RUN_BUDGET_S = 600

const fmtBytes = (n: number): string => formatBytes(n, { decimals: 1 })
const fmtNs = (n: number): string => formatNs(n, { decimals: 1 })

function summary(r: RunResult): string {
  const ok = r.expects.filter((e) => e.pass).length
  const mark = r.status === 'passed' ? '✓' : r.status === 'failed' ? '✗' : '…'
  const lines: string[] = []
  lines.push(
    `${mark} ${r.design.id} ${r.scenario.name}  seed ${r.seed}  ${fmtNs(r.simulated_ns)} simulated, ${r.events} events` +
      `  expects ${ok}/${r.expects.length}  findings ${r.findings.length}`,
  )
  lines.push(
    `    leaked at end ${fmtBytes(r.metrics.leaked_bytes_end)}, peak ${fmtBytes(r.metrics.leaked_bytes_peak)}, ${r.metrics.leak_byte_seconds.toExponential(2)} B·s;` +
      ` invalidations ${r.metrics.invalidation_count} costing ${fmtNs(r.metrics.invalidation_cost_ns)}`,
  )
  const leaks = r.leaks.filter((l) => l.byteSeconds > 0).sort((a, b) => b.byteSeconds - a.byteSeconds).slice(0, 4)
  for (const l of leaks) {
    const dur = l.since === null ? '' : l.until === null ? ` from ${fmtNs(l.since)} to the end` : ` for ${fmtNs(l.until - l.since)}`
    lines.push(`    ${l.owner}: ${fmtBytes(l.peakBytes)} of ${l.type} kept after exit${dur}`)
  }
  for (const e of r.expects.filter((x) => !x.pass)) {
    lines.push(`    ✗ line ${e.line}: ${e.label}`)
    for (const d of e.details.filter((x) => x.endsWith('✗') || !x.includes('expected'))) lines.push(`        ${d}`)
  }
  for (const f of r.findings.slice(0, 5)) {
    lines.push(`    ! ${f.kind}: ${f.message}`)
    if (f.accessPath) lines.push(`        at   ${f.accessPath.join(' → ')}`)
    if (f.freePath) lines.push(`        freed ${f.freePath.join(' → ')}`)
  }
  if (r.findings.length > 5) lines.push(`    … ${r.findings.length - 5} more findings`)
  return lines.join('\n')
}

function sweepSummary(s: SweepResult): string {
  const kinds = Object.entries(s.fractions)
    .map(([k, f]) => `${k} in ${s.hits[k]}/${s.seeds.length} seeds (${(f * 100).toFixed(1)}%)`)
    .join(', ')
  const lines = [`  sweep ${s.design}: ${s.seeds.length} seeds from ${s.seeds[0]}: ${kinds || 'no findings'}`]
  for (const e of s.expects) lines.push(`    ${e.pass ? '✓' : '✗'} ${e.detail}`)
  return lines.join('\n')
}

/** One line per design: what was kept after the owners exited, for how long, and at what cost. */
function comparison(rs: RunResult[]): string {
  const head = `  ${'design'.padEnd(7)} ${'peak leaked'.padStart(12)} ${'leaked B·s'.padStart(11)} ${'longest'.padStart(10)} ${'inval. cost'.padStart(12)} ${'findings'.padStart(8)}  expects`
  const rows = compareRuns(rs).map(
    (c) =>
      `  ${c.design.padEnd(7)} ${fmtBytes(c.leakedPeak).padStart(12)} ${c.leakByteSeconds.toExponential(2).padStart(11)} ${fmtNs(c.longestLeakNs).padStart(10)} ${fmtNs(c.invalidationCostNs).padStart(12)} ${String(c.findings).padStart(8)}  ${c.expectsPassed}/${c.expects}`,
  )
  return [head, ...rows].join('\n')
}

/**
 * Resolves once everything written to stdout so far has been handed to the OS. The CLI entry calls
 * process.exit right after the command returns, which would cut a piped `--json` document short.
 */
export function stdoutFlushed(): Promise<void> {
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
    .option('--json', 'print the full result document(s) as JSON')
    .option('--out <dir>', 'write one result JSON per run into this directory')
    .option('--sweep <key=values...>', 'sweep a parameter: design, seed or a scenario path, as v1,v2 or from..to[:step] (repeatable); runs on the experiment service')
    .option('--workers <n>', 'worker threads for the runs (default: one per core); runs on the experiment service')
    .option('--workspace <dir>', 'save every run in this workspace (default: the user data folder when the experiment service is used)')
    .option('--report <file>', 'also write a report of the runs (.html, .json, .csv or .trace.json)')
    .option('--timeout <seconds>', `stop a run that takes longer (default ${DEFAULT_RUN_BUDGET_S}; in process, or on the experiment service)`)
    .option('--costs <default|file>', "cost table: 'default' (published figures and assumptions) or a calibration file; default: this machine's calibration (hmmlab calibrate) when present")
    .addHelpText(
      'after',
      '\nWithout --sweep/--workers/--workspace/--report the runs happen in this process and print their full summaries;\nwith any of them each file becomes an experiment on the worker pool, saved in the workspace like runs started from the app.',
    )
    .action(async (files: string[], flags: RunFlags & ExperimentRunFlags) => {
      if (wantsExperiment(flags)) {
        if (flags.out) {
          process.stderr.write('hmmlab run: --out writes in-process results; with --sweep/--workers/--workspace/--report the runs are saved in the workspace instead\n')
          process.exitCode = 2
          return
        }
        process.exitCode = await runExperiments(files, flags)
      } else process.exitCode = runCommand(files, flags)
      await stdoutFlushed()
    })
}

/** The body of `hmmlab run`; returns the exit code. */
export function runCommand(files: string[], flags: RunFlags): number {
  let code = 0
  let designs: DesignId[] | null = null
  if (flags.design !== undefined) {
    const ids = flags.design.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)
    const bad = ids.filter((i) => !DESIGNS.some((d) => d.id === i))
    if (bad.length > 0 || ids.length === 0) {
      process.stderr.write(`hmmlab run: unknown design ${bad.join(', ') || '(none)'}; expected ${DESIGNS.map((d) => d.id).join(', ')}\n`)
      return 2
    }
    designs = ids as DesignId[]
  }
  let seed: number | undefined
  if (flags.seed !== undefined) {
    const n = Number(flags.seed)
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      process.stderr.write(`hmmlab run: --seed expects an integer 0..4294967295, got "${flags.seed}"\n`)
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
  if (flags.out) mkdirSync(flags.out, { recursive: true })
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
    try {
      sc = parseScenario(text, file)
    } catch (e) {
      if (e instanceof ScenarioError) process.stderr.write(`${e.message}\n`)
      else process.stderr.write(`hmmlab run: ${file}: ${e instanceof Error ? e.message : String(e)}\n`)
      code = 2
      continue
    }
    const runs: RunResult[] = []
    for (const d of designs ?? scenarioDesigns(sc)) {
      const onProgress = tty
        ? (p: { done: number; total: number; simulatedNs: number }) => {
            const w = 30
            const f = p.total > 0 ? Math.round((p.done / p.total) * w) : w
            process.stdout.write(`\r  ${d} [${'#'.repeat(f)}${'.'.repeat(w - f)}] ${p.done}/${p.total} steps, ${fmtNs(p.simulatedNs)}`)
          }
        : undefined
      const first = seed ?? sc.seed ?? 1
      const nSeeds = sc.seeds ?? 1
      // The wall-time budget of this run (every seed of it): checked by the simulator between events.
      const budget = wallBudget(budgetS * 1000)
      const opts = { shouldStop: budget.exceeded, ...costOpt, ...(onProgress ? { onProgress } : {}) }
      let result: RunResult
      let sweep: SweepResult | null = null
      if (nSeeds > 1) {
        const r = runSweep(sc, d, first, nSeeds, opts)
        result = r.firstResult
        sweep = r.sweep
      } else result = runScenario(sc, { design: d, seed: first, ...opts })
      if (tty) process.stdout.write('\r\x1b[K')
      if (budget.hit) {
        process.stderr.write(`hmmlab run: ${file} ${d}: stopped: the run exceeded its wall-time budget of ${budgetS} s (--timeout); its results are partial\n`)
        if (code === 0) code = 1
      }
      runs.push(result)
      if (result.status === 'failed' && code === 0) code = 1
      if (sweep && (sweep.failedSeeds.length > 0 || sweep.expects.some((e) => !e.pass)) && code === 0) code = 1
      const doc = sweep ? { sweep, result } : result
      if (flags.json) docs.push(doc)
      else {
        process.stdout.write(summary(result) + '\n')
        if (sweep) process.stdout.write(sweepSummary(sweep) + '\n')
      }
      if (flags.out) {
        const name = `${basename(file).replace(/\.(ya?ml|json)$/i, '')}.${d}.seed${first}.json`
        writeFileSync(join(flags.out, name), JSON.stringify(doc, null, 1) + '\n')
      }
    }
    if (!flags.json && runs.length > 1) process.stdout.write(`  comparison (${sc.name}):\n${comparison(runs)}\n\n`)
  }
  if (flags.json) process.stdout.write(JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 1) + '\n')
  return code
}
