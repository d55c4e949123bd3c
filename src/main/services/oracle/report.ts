/**
 * The oracle's reports: a readable terminal diff (per scenario a verdict line, then the
 * differences in step order: the first place the two sides part comes first), and one
 * self-contained HTML file (inline CSS, no script, a CSP that allows nothing else).
 */
import { escapeHtml as e, cspHash } from '../reports/escape'
import { notReturned, type OracleDifference } from './compare'
import { describeSimulatedKernel, type HmmTestRow, type OracleResults, type ScenarioOutcome } from './results'

const MARK: Record<string, string> = {
  agree: '✓ agree ',
  known: '~ known ',
  differ: '✗ differ',
  inexpressible: '- not run',
  invalid: '! invalid',
  guest_failed: '! guest  ',
}

function where(d: Pick<OracleDifference, 'step' | 'line' | 'op' | 'task'>): string {
  if (d.step === null) return 'after the last step'
  return `step ${d.step}, line ${d.line} (${d.op}${d.task ? `, task ${d.task}` : ''})`
}

export interface TextOptions {
  /** Differences printed per scenario (the rest are counted). */
  maxDifferences?: number
  /** Also print tolerance uses step by step (otherwise counted per tolerance). */
  verbose?: boolean
}

function verdictOf(o: ScenarioOutcome): string {
  return o.status === 'compared' ? o.comparison.verdict : o.status
}

/** What the guests said of khugepaged's background scan (kernel side `version.khugepaged`), per distinct answer. */
function khugepagedOf(r: OracleResults): string {
  const seen = new Set<string>()
  for (const o of r.scenarios) if (o.status === 'compared' && o.kernel.version.khugepaged !== undefined) seen.add(o.kernel.version.khugepaged)
  return seen.size === 0 ? '' : `; khugepaged ${[...seen].join(' / ')}`
}

/** The terminal report. */
export function formatOracleText(r: OracleResults, opts: TextOptions = {}): string {
  const max = opts.maxDifferences ?? 8
  const out: string[] = []
  const k = r.kernel
  out.push(
    `hmmlab oracle: design ${r.design}; kernel ${k ? `${k.release} (${k.accel}, ${k.source})${khugepagedOf(r)}` : 'not run'}; simulator ${r.simulator.version}`,
  )
  if (k) out.push(`  ${describeSimulatedKernel(r.simulator.kernel)}`)
  for (const o of r.scenarios) {
    const v = verdictOf(o)
    const name = o.name ?? o.file
    if (o.status === 'invalid') {
      out.push(`${MARK.invalid} ${o.file}`, `    ${o.message}`)
      continue
    }
    if (o.status === 'inexpressible') {
      out.push(
        `${MARK.inexpressible} ${name}  ${o.file}`,
        `    the kernel cannot run step ${o.unsupported.index}, line ${o.unsupported.line} (${o.unsupported.op}): ${o.unsupported.why}`,
      )
      continue
    }
    if (o.status === 'guest_failed') {
      out.push(`${MARK.guest_failed} ${name}  ${o.file}`, `    ${o.message}`)
      if (o.console_tail)
        out.push(
          ...o.console_tail
            .trimEnd()
            .split('\n')
            .slice(-10)
            .map((l) => `    | ${l}`),
        )
      continue
    }
    const c = o.comparison
    const nNew = c.differences.filter((d) => d.status === 'new').length
    const nKnown = c.differences.length - nNew
    out.push(
      `${MARK[v]} ${name}  ${o.file}  ${c.counts.steps} steps, ${c.counts.kernel.items}/${c.counts.simulator.items} invalidation slices (kernel/simulator)` +
        (c.differences.length ? `; ${nNew} new, ${nKnown} known difference${c.differences.length === 1 ? '' : 's'}` : '') +
        (c.tolerated.length ? `; ${c.tolerated.length} tolerated` : ''),
    )
    // new differences first (in step order), then the known ones
    const ordered = [...c.differences.filter((d) => d.status === 'new'), ...c.differences.filter((d) => d.status === 'known')]
    ordered.slice(0, max).forEach((d, i) => {
      const tag = d.status === 'known' ? `known (${d.known})` : i === 0 ? 'first difference' : 'difference'
      out.push(`    ${tag}: ${where(d)}: ${d.field} ${d.subject}`, `        kernel:    ${d.kernel}`, `        simulator: ${d.simulator}`)
    })
    if (ordered.length > max) out.push(`    … ${ordered.length - max} more (--json or --report FILE.html for all)`)
    const byTol = new Map<string, number>()
    for (const t of c.tolerated) byTol.set(t.id, (byTol.get(t.id) ?? 0) + 1)
    if (opts.verbose) for (const t of c.tolerated) out.push(`    tolerated (${t.id}): ${where({ ...t, task: null })}: ${t.detail}`)
    else for (const [id, n] of byTol) out.push(`    tolerated: ${id} on ${n} step${n === 1 ? '' : 's'}`)
    for (const s of c.skipped) out.push(`    not compared: ${s.field} (${s.why}) on ${s.steps} step${s.steps === 1 ? '' : 's'}`)
  }
  if (r.hmm_tests) out.push('', ...formatHmmTests(r.hmm_tests))
  const unseen = r.declarations.known.filter((x) => !x.seen)
  if (unseen.length > 0 && r.scenarios.some((o) => o.status === 'compared')) {
    out.push(`known differences not seen in this run (fixed, or in scenarios not run): ${unseen.map((x) => x.id).join(', ')}`)
  }
  const s = r.summary
  out.push(
    `summary: ${s.agree} agree, ${s.known} only known differences, ${s.differ} differ, ${s.inexpressible} not expressible, ${s.invalid} invalid, ${s.guest_failed} guest failures`,
  )
  return out.join('\n') + '\n'
}

export function formatHmmTests(rows: readonly HmmTestRow[]): string[] {
  const out = ['kernel hmm-tests (guest TAP) next to the simulator replay (scenarios/selftests):']
  for (const r of rows) {
    const agree = r.agree === null ? '  ' : r.agree ? '✓ ' : '✗ '
    out.push(
      `  ${agree}${`${r.fixture}.${r.test}`.padEnd(48)} kernel ${r.kernel.padEnd(6)} simulator ${r.simulator.padEnd(7)} ${r.source}${r.message ? `  (${r.message})` : ''}`,
    )
  }
  const common = rows.filter((r) => r.agree !== null)
  out.push(
    `  ${common.filter((r) => r.agree).length}/${common.length} common tests agree; ${rows.filter((r) => r.source === 'scenarios only').length} scenario(s) follow tests newer than this kernel's file`,
  )
  return out
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1b1b;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.agree{color:#1a7f37}.known{color:#9a6700}.differ,.invalid,.guest_failed{color:#cf222e}.inexpressible{color:#57606a}
code,.mono{font-family:ui-monospace,monospace;font-size:12px}details{margin:6px 0}.muted{color:#57606a}
@media print{details{display:block}}`

/** One self-contained HTML file of the results. */
export function oracleHtml(r: OracleResults): string {
  const k = r.kernel
  const rows = r.scenarios
    .map((o) => {
      const v = verdictOf(o)
      const detail =
        o.status === 'compared'
          ? `${o.comparison.differences.filter((d) => d.status === 'new').length} new, ${o.comparison.differences.filter((d) => d.status === 'known').length} known, ${o.comparison.tolerated.length} tolerated`
          : o.status === 'inexpressible'
            ? `step ${o.unsupported.index}, line ${o.unsupported.line} (${o.unsupported.op}): ${o.unsupported.why}`
            : o.message
      return `<tr><td class="${e(v)}">${e(v)}</td><td>${e(o.name ?? '')}</td><td class="mono">${e(o.file)}</td><td>${e(detail)}</td></tr>`
    })
    .join('\n')
  const sections = r.scenarios
    .filter((o): o is Extract<ScenarioOutcome, { status: 'compared' }> => o.status === 'compared')
    .map((o) => {
      const c = o.comparison
      const diffs = c.differences.length
        ? `<table><tr><th>step</th><th>line</th><th>op</th><th>field</th><th>subject</th><th>kernel</th><th>simulator</th><th>status</th></tr>${c.differences
            .map(
              (d) =>
                `<tr><td>${e(d.step ?? 'after')}</td><td>${e(d.line)}</td><td>${e(d.op)}</td><td>${e(d.field)}</td><td class="mono">${e(d.subject)}</td><td class="mono">${e(d.kernel)}</td><td class="mono">${e(d.simulator)}</td><td class="${d.status === 'new' ? 'differ' : 'known'}">${e(d.status === 'new' ? 'new' : `known: ${d.known}`)}</td></tr>`,
            )
            .join('')}</table>`
        : '<p class="agree">No differences.</p>'
      const tol = c.tolerated.length
        ? `<details><summary>${c.tolerated.length} tolerated</summary><table><tr><th>tolerance</th><th>step</th><th>line</th><th>detail</th></tr>${c.tolerated.map((t) => `<tr><td>${e(t.id)}</td><td>${e(t.step ?? 'after')}</td><td>${e(t.line)}</td><td>${e(t.detail)}</td></tr>`).join('')}</table></details>`
        : ''
      const skipped = c.skipped.length
        ? `<p class="muted">Not compared: ${c.skipped.map((s) => `${e(s.field)} (${e(s.why)}; ${s.steps} steps)`).join('; ')}</p>`
        : ''
      const steps = o.kernel.steps
        .map((ks, i) => {
          const ss = o.simulator.steps[i]
          const inv = (x: typeof ks | undefined) =>
            x
              ? x.invalidations
                  .map(
                    (v) =>
                      `${v.via === 'interval' ? '→' : ''}${v.event}${v.whole ? ' *' : v.slices.map((s) => ` ${s.region}+${s.first}/${s.pages}`).join('')}${v.owner ? ` [${v.owner}]` : ''}`,
                  )
                  .join(', ')
              : ''
          return `<tr><td>${ks.index}</td><td>${ks.line}</td><td>${e(ks.op)}</td><td>${e(ks.task ?? '')}</td><td>${e(ks.unfinished !== undefined ? notReturned(ks) : (ks.ret ?? ''))} / ${e(ss?.unfinished !== undefined ? notReturned(ss) : (ss?.ret ?? ''))}</td><td class="mono">${e(inv(ks).slice(0, 2000))}</td><td class="mono">${e(inv(ss).slice(0, 2000))}</td></tr>`
        })
        .join('')
      return `<h2 id="${e(o.file)}"><span class="${e(c.verdict)}">${e(c.verdict)}</span> ${e(o.name)} <span class="mono muted">${e(o.file)}</span></h2>
${diffs}${tol}${skipped}
<details><summary>Steps side by side (kernel / simulator)</summary><table><tr><th>step</th><th>line</th><th>op</th><th>task</th><th>ret</th><th>kernel invalidations</th><th>simulator invalidations</th></tr>${steps}</table></details>`
    })
    .join('\n')
  const hmm = r.hmm_tests
    ? `<h2>Kernel hmm-tests next to the simulator's replay</h2><table><tr><th>test</th><th>kernel</th><th>simulator</th><th>from</th><th>agree</th></tr>${r.hmm_tests
        .map(
          (t) =>
            `<tr><td class="mono">${e(`${t.fixture}.${t.test}`)}</td><td>${e(t.kernel)}</td><td>${e(t.simulator)}</td><td>${e(t.source)}</td><td class="${t.agree === false ? 'differ' : t.agree ? 'agree' : ''}">${e(t.agree === null ? '—' : t.agree ? 'yes' : 'no')}</td></tr>`,
        )
        .join('')}</table>`
    : ''
  const decl = `<h2>Tolerances</h2><table><tr><th>id</th><th>rule</th><th>field</th><th>kernel</th><th>evidence</th></tr>${r.declarations.tolerances.map((t) => `<tr><td>${e(t.id)}</td><td>${e(t.rule)}</td><td>${e(t.field)}</td><td class="mono">${e(t.kernel)}</td><td>${e(t.evidence)}</td></tr>`).join('')}</table>
<h2>Known differences</h2><table><tr><th>id</th><th>field</th><th>kernel</th><th>evidence</th><th>why it stays</th><th>seen</th></tr>${r.declarations.known.map((x) => `<tr><td>${e(x.id)}</td><td>${e(x.field)}</td><td class="mono">${e(x.kernel)}</td><td>${e(x.evidence)}</td><td>${e(x.why)}</td><td>${x.seen ? 'yes' : 'no'}</td></tr>`).join('')}</table>`
  const s = r.summary
  const csp = `default-src 'none'; style-src ${cspHash(CSS)}`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HMM Lab fidelity report (real kernel oracle)</title>
<style>${CSS}</style></head><body>
<h1>HMM Lab fidelity: the simulator against a real kernel</h1>
<p>Design ${e(r.design)}. Kernel ${e(k ? `${k.release} (${k.accel}; ${k.source})${khugepagedOf(r)}` : 'not run')}. Simulator ${e(r.simulator.version)}. ${e(r.created)}.</p>${k ? `<p>${e(describeSimulatedKernel(r.simulator.kernel))}.</p>` : ''}
<p><span class="agree">${s.agree} agree</span>, <span class="known">${s.known} with known differences only</span>, <span class="differ">${s.differ} differ</span>, ${s.inexpressible} not expressible, ${s.invalid} invalid, ${s.guest_failed} guest failures.</p>
<table><tr><th>verdict</th><th>scenario</th><th>file</th><th></th></tr>${rows}</table>
${hmm}
${sections}
${decl}
</body></html>
`
}
