/**
 * The run record in the terminal's words: the CLI summary of a run and of a sweep. A projection
 * of the record (src/shared/record.ts): every number is read from it, none recounted from a
 * table, and the status words are the ones the app and the reports use.
 */
import { formatBytes, formatNs } from '../../shared/units'
import { statusWords, statusOfOutcome, type RunRecord, type StoredRecord } from '../../shared/record'
import type { SweepSummary } from '../../shared/plan'

const fmtBytes = (n: number): string => formatBytes(n, { decimals: 1 })
const fmtNs = (n: number): string => formatNs(n, { decimals: 1 })

/** ✓ passed, ✗ expects failed, ■ stopped or cancelled. */
export function statusMark(status: string): string {
  return status === 'passed' ? '✓' : status === 'expects_failed' ? '✗' : status === 'crashed' ? '!' : '■'
}

/** "(4096 of 6003 kept)" when a table dropped rows. */
function kept(t: { total: number; dropped: number }): string {
  return t.dropped ? ` (the table keeps ${t.total - t.dropped} of ${t.total})` : ''
}

/** The summary of one run. */
export function recordSummary(r: RunRecord | StoredRecord): string {
  const status = statusOfOutcome(r.outcome)
  const a = r.aggregates
  const o = r.outcome
  const passed = r.expects.rows.filter((e) => e.passed).length
  const lines: string[] = []
  const params = Object.entries(r.meta.parameters)
    .map(([k, v]) => ` ${k}=${String(v)}`)
    .join('')
  lines.push(
    `${statusMark(status)} ${r.meta.design.id} ${r.meta.scenario.name}  seed ${r.meta.seed}${params}  ${statusWords(status, o.stop)}  ${fmtNs(o.simulatedNs)} simulated, ${o.events} events` +
      `  expects ${passed}/${r.expects.total}  findings ${r.findings.total}`,
  )
  if (o.stop) lines.push(`    ${status === 'cancelled' ? 'cancelled' : 'stopped'} after ${o.stepsDone} of ${o.stepsTotal} steps: ${o.stop.message}`)
  lines.push(
    `    leaked at end ${fmtBytes(a.leaked.endBytes)}, peak ${fmtBytes(a.leaked.peakBytes)}, ${a.leaked.byteSeconds.toExponential(2)} B·s;` +
      ` invalidations ${a.invalidations.count} costing ${fmtNs(a.invalidations.totalNs)}${kept(r.invalidations)}`,
  )
  const leaks = r.leaks.rows
    .filter((l) => l.byteSeconds > 0)
    .sort((x, y) => y.byteSeconds - x.byteSeconds)
    .slice(0, 4)
  for (const l of leaks) {
    const dur = l.until === null ? ` from ${fmtNs(l.since)} to the end` : ` for ${fmtNs(l.until - l.since)}`
    lines.push(`    ${l.owner}: ${fmtBytes(l.peakBytes)} of ${l.objectType} kept after exit${dur}`)
    if (l.heldBy.length) lines.push(`        held by ${l.heldBy.join(' → ')}`)
  }
  for (const e of r.expects.rows.filter((x) => !x.passed)) {
    lines.push(`    ✗ line ${e.line}: ${e.what}`)
    for (const c of e.checks.filter((x) => !x.passed)) lines.push(`        ${c.what}: expected ${c.expected}, got ${c.actual}`)
  }
  for (const f of r.findings.rows.slice(0, 5)) {
    lines.push(`    ! ${f.kind}: ${f.message}`)
    for (const p of f.paths.filter((x) => x.label !== 'allocated at')) lines.push(`        ${p.label.replace(/ at$/, '').padEnd(8)} ${p.frames.join(' → ')}`)
  }
  if (r.findings.total > 5) lines.push(`    … ${r.findings.total - 5} more findings`)
  return lines.join('\n')
}

/** The sweep summary: per design (and parameter set), the fraction of seeds with each finding; every sweep_expect. */
export function sweepSummaryText(s: SweepSummary): string {
  const lines: string[] = []
  for (const g of s.groups) {
    const finished = g.seeds.length - g.unfinishedSeeds.length
    const kinds = Object.entries(g.fractions)
      .map(([k, f]) => `${k} in ${g.hits[k]}/${finished} seeds (${(f * 100).toFixed(1)}%)`)
      .join(', ')
    const params = Object.entries(g.parameters)
      .map(([k, v]) => ` ${k}=${String(v)}`)
      .join('')
    lines.push(
      `  sweep ${g.design}${params}: ${g.seeds.length} seeds from ${g.seeds[0]}: ${kinds || 'no findings'}${g.failedSeeds.length ? `; expects failed in ${g.failedSeeds.length} seeds` : ''}${g.unfinishedSeeds.length ? `; ${g.unfinishedSeeds.length} seeds did not finish` : ''}`,
    )
  }
  for (const c of s.checks) lines.push(`    ${c.passed ? '✓' : '✗'} sweep_expect ${c.what}`)
  lines.push(`  sweep ${s.passed ? 'passed' : 'failed'}`)
  return lines.join('\n')
}
