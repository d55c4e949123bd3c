/**
 * `hmmlab calibrate [--quick] [--json] [-o FILE]`: measures the CPU cost of the kernel's mm paths
 * on this machine (native/calibrate/calibrate.c, compiled with cc), fits the cost parameters and
 * writes the calibration to the user's data folder (or FILE). Runs then use it by default.
 * Exit codes: 0 done, 2 no compiler / not Linux / cannot write.
 */
import type { Command } from 'commander'
import { COST_DEFAULTS, type CostName } from '../../../sim/cost/model'
import type { Calibration } from '../../../shared/calibration'
import { calibrate, CalibrationError, type CalibrationProgress } from '../../services/calibration/runner'
import { defaultCalibrationPath, saveCalibration } from '../../services/calibration/store'
import { CalibrationParseError } from '../../services/calibration/fit'
import { checkOutputPath } from '../../services/safe-read'
import { stdoutFlushed } from './run'
import { formatNs } from '../../../shared/units'

interface Flags {
  quick?: boolean
  json?: boolean
  output?: string
  only?: string
}

/** A cost in ns, by the lab's one formatter (the app's Hardware view shows the same words). */
const fmt = (ns: number): string => formatNs(ns)

/** The human summary: machine, then one line per parameter with its fit. */
export function formatCalibration(cal: Calibration): string {
  const h = cal.host
  const lines = [
    `calibrated on ${h.hostname}, ${cal.date.slice(0, 16).replace('T', ' ')} UTC${cal.quick ? ' (quick)' : ''}: Linux ${h.kernel} ${h.machine}, ${h.cpuModel}, ${h.cpus} CPUs`,
    `  THP ${h.thpEnabled} (defrag ${h.thpDefrag})${h.thpObtained ? `, huge pages obtained ${h.thpObtained}` : ''}; ${cal.reps} repetitions per size, ${(cal.durationMs / 1000).toFixed(1)} s`,
    '',
    `  ${'parameter'.padEnd(15)} ${'measured'.padStart(11)} ${'default'.padStart(11)} ${'R²'.padStart(7)} ${'spread'.padStart(7)}  from`,
  ]
  for (const [name, p] of Object.entries(cal.params)) {
    const d = COST_DEFAULTS[name as CostName]?.value
    lines.push(
      `  ${name.padEnd(15)} ${fmt(p.value).padStart(11)} ${(d === undefined ? '—' : fmt(d)).padStart(11)} ${p.r2.toFixed(4).padStart(7)} ${`${(p.spread * 100).toFixed(0)}%`.padStart(7)}  ${p.from.join(', ')}`,
    )
  }
  const weak = Object.entries(cal.fits).filter(([, f]) => f.r2 < 0.95 || f.spread > 0.25)
  if (weak.length > 0) {
    lines.push('', '  noisy fits (R² < 0.95 or spread > 25%; the machine was busy, or the path is not linear in size):')
    for (const [b, f] of weak) lines.push(`    ${b}: R² ${f.r2.toFixed(3)}, spread ${(f.spread * 100).toFixed(0)}%`)
  }
  for (const s of cal.skipped) lines.push(`  skipped ${s.bench}: ${s.reason}`)
  return lines.join('\n')
}

export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description("measure this machine's kernel (faults, fork, munmap, mprotect, mremap, THP, TLB shootdown) and fit the cost parameters")
    .option('--quick', 'fewer sizes and repetitions (under 20 s)')
    .option('--json', 'print the calibration document as JSON')
    .option('-o, --output <file>', `write the calibration here instead of ${defaultCalibrationPath()}`)
    .option('--only <benches>', 'only these benchmarks (comma-separated, e.g. fault_anon,munmap)')
    .addHelpText('after', '\nNeeds a C compiler (cc). Runs afterwards use the calibration unless given --costs default.')
    .action(async (flags: Flags) => {
      process.exitCode = await calibrateCommand(flags)
      await stdoutFlushed()
    })
}

export async function calibrateCommand(flags: Flags): Promise<number> {
  const tty = process.stderr.isTTY === true
  let lastBench = ''
  const onProgress = (p: CalibrationProgress): void => {
    if (tty) {
      const w = 30
      const f = p.total > 0 ? Math.round((p.done / p.total) * w) : 0
      process.stderr.write(`\r  [${'#'.repeat(f)}${'.'.repeat(w - f)}] ${p.done}/${p.total} ${p.bench.padEnd(14)}`)
    } else if (p.bench !== lastBench) {
      process.stderr.write(`calibrate: ${p.bench} (${p.done}/${p.total})\n`)
    }
    lastBench = p.bench
  }
  // Refuse a bad -o before minutes of measuring: a FIFO, a device, a symlink or a folder
  const path = flags.output ?? defaultCalibrationPath()
  try {
    checkOutputPath(path, 'calibration')
  } catch (e) {
    process.stderr.write(`hmmlab calibrate: ${e instanceof Error ? e.message : String(e)}\n`)
    return 2
  }
  const only = flags.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  let cal: Calibration
  try {
    cal = await calibrate({ ...(flags.quick ? { quick: true } : {}), ...(only ? { only } : {}), onProgress })
  } catch (e) {
    if (tty) process.stderr.write('\r\x1b[K')
    if (e instanceof CalibrationError || e instanceof CalibrationParseError) {
      process.stderr.write(`hmmlab calibrate: ${e.message}\n`)
      return 2
    }
    throw e
  }
  if (tty) process.stderr.write('\r\x1b[K')
  try {
    await saveCalibration(path, cal)
  } catch (e) {
    process.stderr.write(`hmmlab calibrate: cannot write ${path}: ${e instanceof Error ? e.message : String(e)}\n`)
    return 2
  }
  if (flags.json) process.stdout.write(JSON.stringify(cal, null, 1) + '\n')
  else
    process.stdout.write(
      `${formatCalibration(cal)}\n\nwrote ${path}${flags.output ? ' (use it with --costs FILE)' : ' (runs use it by default; --costs default ignores it)'}\n`,
    )
  return 0
}
