/**
 * The run record in the terminal's words: the CLI summary of a run and of a sweep. A projection
 * of the record (src/shared/record.ts): every number is read from it, none recounted from a
 * table, metrics keep the record's names, every value reads as in the app and the reports (the
 * lab's one formatter, src/shared/units.ts), and the status words are the ones they use.
 */
import { formatUnit } from '../../shared/units'
import {
  backgroundWaitingWords,
  MACHINE_PART_FROM,
  statusWords,
  statusOfOutcome,
  type RecordMeta,
  type RunRecord,
  type StoredRecord,
} from '../../shared/record'
import type { SweepSummary } from '../../shared/plan'
import { sweepSummaryLines } from '../../shared/sweep-text'
import { errnoName } from '../../shared/scenario'

/** A metric of the record as every view shows it: `11.73 ms`; "—" when the record has none. */
export function metricValue(r: { metrics: RunRecord['metrics'] }, name: string): string {
  const m = r.metrics[name]
  return m ? formatUnit(m.unit, m.value) : '—'
}

/** Every metric of the record, one per line, `name  value`, sorted by name as the app's Metrics table. */
export function metricLines(r: { metrics: RunRecord['metrics'] }, indent = '    '): string[] {
  const names = Object.keys(r.metrics).sort((a, b) => a.localeCompare(b))
  const width = Math.max(0, ...names.map((n) => n.length))
  return names.map((n) => `${indent}${n.padEnd(width)}  ${metricValue(r, n)}`)
}

/**
 * Where the simulated machine came from when a probed one replaced the scenario's (the record's
 * `meta.machine` and `meta.machineParts`), part by part; no lines for the scenario's own machine.
 */
export function machineLines(meta: Pick<RecordMeta, 'machine' | 'machineParts'>, indent = '    '): string[] {
  if (!meta.machine) return []
  const parts = meta.machineParts ?? []
  const lines = [`${indent}machine: ${meta.machine}, not the scenario's${parts.length ? ': part by part' : ' (a run from before the parts were recorded)'}`]
  for (const p of parts) lines.push(`${indent}    ${p.part} (${MACHINE_PART_FROM[p.from]}): ${p.detail}`)
  return lines
}

/** ✓ passed, ✗ expects failed, ■ stopped or cancelled. */
export function statusMark(status: string): string {
  return status === 'passed' ? '✓' : status === 'expects_failed' ? '✗' : status === 'crashed' ? '!' : '■'
}

/** "(4096 of 6003 kept)" when a table dropped rows. */
function kept(t: { total: number; dropped: number }): string {
  return t.dropped ? ` (the table keeps ${t.total - t.dropped} of ${t.total})` : ''
}

/** Each failed expect with its line in the user's file and every check that failed: `✗ line 25: …`, `ret: expected 1, got 0`. */
export function failedExpectLines(expects: RunRecord['expects'], indent = '    '): string[] {
  const lines: string[] = []
  for (const e of expects.rows.filter((x) => !x.passed)) {
    lines.push(`${indent}✗ line ${e.line}: ${e.what}`)
    for (const c of e.checks.filter((x) => !x.passed)) lines.push(`${indent}    ${c.what}: expected ${c.expected}, got ${c.actual}`)
  }
  return lines
}

/** The summary of one run; with `metrics`, every metric of the record too. */
export function recordSummary(r: RunRecord | StoredRecord, opts: { metrics?: boolean } = {}): string {
  const status = statusOfOutcome(r.outcome)
  const o = r.outcome
  const passed = r.expects.rows.filter((e) => e.passed).length
  const lines: string[] = []
  const params = Object.entries(r.meta.parameters)
    .map(([k, v]) => ` ${k}=${String(v)}`)
    .join('')
  lines.push(
    `${statusMark(status)} ${r.meta.design.id} ${r.meta.scenario.name}  seed ${r.meta.seed}${params}  ${statusWords(status, o.stop)}  ${metricValue(r, 'simulated_ns')} simulated, ${metricValue(r, 'events')} events` +
      `  expects ${passed}/${r.expects.total}  findings ${r.findings.total}`,
  )
  if (o.stop) lines.push(`    ${status === 'cancelled' ? 'cancelled' : 'stopped'} after ${o.stepsDone} of ${o.stepsTotal} steps: ${o.stop.message}`)
  const stuck = backgroundWaitingWords(o)
  if (stuck) lines.push(`    ! ${stuck}`)
  lines.push(...machineLines(r.meta))
  // the headline metrics by the record's names, as the app's Metrics table and the reports name them
  const headline = (names: string[]): string => names.map((n) => `${n} ${metricValue(r, n)}`).join(', ')
  lines.push(
    `    ${headline(['leaked_bytes_end', 'leaked_bytes_peak', 'leak_byte_seconds'])}; ${headline(['invalidation_count', 'invalidation_cost_ns'])}${kept(r.invalidations)}`,
  )
  const leaks = r.leaks.rows
    .filter((l) => l.byteSeconds > 0)
    .sort((x, y) => y.byteSeconds - x.byteSeconds)
    .slice(0, 4)
  for (const l of leaks) {
    const dur = l.until === null ? ` from ${formatUnit('ns', l.since)} to the end` : ` for ${formatUnit('ns', l.until - l.since)}`
    lines.push(`    ${l.owner}: ${formatUnit('bytes', l.peakBytes)} of ${l.objectType} kept after exit${dur}`)
    if (l.heldBy.length) lines.push(`        held by ${l.heldBy.join(' → ')}`)
  }
  lines.push(...failedExpectLines(r.expects))
  lines.push(...failedStepLines(r.steps, r.expects))
  for (const f of r.findings.rows.slice(0, 5)) {
    lines.push(`    ! ${f.kind}: ${f.message}`)
    for (const p of f.paths.filter((x) => x.label !== 'allocated at')) lines.push(`        ${p.label.replace(/ at$/, '').padEnd(8)} ${p.frames.join(' → ')}`)
  }
  if (r.findings.total > 5) lines.push(`    … ${r.findings.total - 5} more findings`)
  if (opts.metrics) lines.push('    metrics:', ...metricLines(r, '      '))
  return lines.join('\n')
}

/** How many failed steps a summary lists; the rest are counted. */
const FAILED_STEPS_SHOWN = 5

/** A step's row as the steps table has it. */
type StepLine = { op: string; line: number; t1: number; ret: number | null }

/**
 * True when an expect asked for exactly the errno this step returned: a `ret` check that passed,
 * made right after the step ended (an expect reads the return code of the step before it, at the
 * time that step ended, and takes no time itself). Such a return is what the scenario wanted.
 */
export function errnoExpected(s: StepLine, expects: readonly { t: number; checks: readonly { what: string; actual: string; passed: boolean }[] }[]): boolean {
  if (s.ret === null || s.ret >= 0) return false
  const name = errnoName(s.ret)
  return expects.some((e) => e.t === s.t1 && e.checks.some((c) => c.what === 'ret' && c.passed && c.actual === name))
}

/**
 * The steps whose call failed when nothing expected it (a negative return, an errno, as the kernel
 * function returned it, and no `expect: { ret: … }` right after it that asked for that errno),
 * with their line in the user's file: without them a failed mmap is seen only in `--json`.
 * Counted from the steps table (its first rows when it was capped).
 */
export function failedStepLines(
  steps: { rows: readonly StepLine[] },
  expects: { rows: readonly { t: number; checks: readonly { what: string; actual: string; passed: boolean }[] }[] },
  indent = '    ',
): string[] {
  const failed = steps.rows.filter((s) => s.ret !== null && s.ret < 0 && !errnoExpected(s, expects.rows))
  const lines = failed.slice(0, FAILED_STEPS_SHOWN).map((s) => `${indent}✗ line ${s.line}: ${s.op} returned ${errnoName(s.ret!)} (no expect asked for it)`)
  if (failed.length > FAILED_STEPS_SHOWN) lines.push(`${indent}… ${failed.length - FAILED_STEPS_SHOWN} more failed steps`)
  return lines
}

/** The sweep summary: per design (and parameter set), the fraction of seeds with each finding; every sweep_expect. */
export function sweepSummaryText(s: SweepSummary): string {
  return sweepSummaryLines(s).join('\n')
}
