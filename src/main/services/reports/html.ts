/**
 * The HTML report: one self-contained file. Inline CSS (screen and print), Chart.js (and the zoom
 * plugin) inlined, the chart data inlined as JSON in a `<script type="application/json">` block,
 * a strict Content-Security-Policy that allows exactly the inline script and style by hash and no
 * network at all. Every string from the user (scenario name, description, text, labels, findings)
 * is escaped; tables, findings and the conclusion are rendered here, so the report reads fully even
 * where scripts do not run (printing, a mail client's viewer); each chart has a data table beside it.
 */
import type { ReportDocument, ReportRun } from '../../../shared/report'
import type { ProbeReport } from '../../../shared/probe'
import { backgroundWaitingWords, costsWords, MACHINE_PART_FROM, OBJECT_TYPES, statusWords, type InvalidationStat } from '../../../shared/record'
import { loadReportAssets, type ReportAssets } from './assets'
import { CLIENT_SCRIPT } from './client'
import { cspHash, escapeHtml as e, jsonForScript } from './escape'
import { seriesWithPrefix, stackSteps, sumSteps, thinSteps } from './stats'
import { BAND_ALPHA, PALETTE, typeColour } from '../../../shared/palette'
import { formatByteSeconds, formatBytes, formatNs, formatUnit } from '../../../shared/units'
import { sweepCheckWords, sweepFindingWords, sweepParamWords } from '../../../shared/sweep-text'

/** Most points per series in a chart (step changes kept, peaks kept)... */
export const MAX_CHART_POINTS = 600
/** ...and at most about this many over all line series of one report, so many runs stay small. */
export const CHART_POINT_BUDGET = 40_000
const MIN_CHART_POINTS = 120

type Unit = 'bytes' | 'ns' | 'byte_seconds'

export interface LineChartSpec {
  id: string
  kind: 'line'
  title: string
  unit: Unit
  yTitle: string
  /** Bands drawn as the app draws them: each dataset's `top` is the top of its band, `v` its own value. */
  stacked?: boolean
  /** End of the x axis, ns (the longest run's end). */
  xMax: number
  datasets: { label: string; color: string; fill?: string; t: number[]; v: number[]; top?: number[] }[]
}
export interface BarChartSpec {
  id: string
  kind: 'bar'
  title: string
  unit: Unit
  yTitle: string
  stacked?: boolean
  labels: string[]
  datasets: { label: string; color: string; data: number[] }[]
}
export type ChartSpec = LineChartSpec | BarChartSpec

/**
 * Series of object types as the app's stacked bands: ordered as the ledger lists the types,
 * on one thinned time grid held to the end of the run, each in its type's colour (the app's).
 */
function stackedSeries(list: { name: string; t: number[]; v: number[] }[], endTime: number, max: number): LineChartSpec['datasets'] {
  const known = OBJECT_TYPES as readonly string[]
  const rank = (n: string): number => (known.indexOf(n) >= 0 ? known.indexOf(n) : known.length)
  const ordered = [...list].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name))
  const s = stackSteps(ordered, max)
  if (s.t.length === 0) {
    s.t.push(0)
    for (const v of [...s.values, ...s.tops]) v.push(0)
  }
  const last = s.t.length - 1
  const hold = s.t[last]! < endTime
  return ordered.map((x, k) => ({
    label: x.name,
    color: typeColour(x.name, k),
    fill: typeColour(x.name, k, BAND_ALPHA),
    t: hold ? [...s.t, endTime] : s.t,
    v: hold ? [...s.values[k]!, s.values[k]![last]!] : s.values[k]!,
    top: hold ? [...s.tops[k]!, s.tops[k]![last]!] : s.tops[k]!,
  }))
}

/** The step series extended to the end of the run (its last value holds) and thinned. */
function chartSeries(s: { t: number[]; v: number[] }, endTime: number, max: number): { t: number[]; v: number[] } {
  const thin = s.t.length ? thinSteps(s, max) : { t: [0], v: [0] }
  const last = thin.t.length - 1
  if (last >= 0 && thin.t[last]! < endTime) return { t: [...thin.t, endTime], v: [...thin.v, thin.v[last]!] }
  return thin
}

/** The charts of a document, in page order (comparison charts first, then one group per run). */
export function chartSpecs(doc: ReportDocument): ChartSpec[] {
  const specs: ChartSpec[] = []
  const runs = doc.runs
  const lineSeries =
    (runs.length >= 2 ? 2 * runs.length : 0) +
    runs.reduce(
      (n, r) => n + seriesWithPrefix(r.series, 'memory.').length + seriesWithPrefix(r.series, 'leaked.').filter((s) => s.v.some((v) => v !== 0)).length,
      0,
    )
  const max = Math.max(MIN_CHART_POINTS, Math.min(MAX_CHART_POINTS, Math.floor(CHART_POINT_BUDGET / Math.max(1, lineSeries))))
  if (runs.length >= 2) {
    const labels = runs.map((r) => r.label)
    specs.push({
      id: 'cmp-memory',
      kind: 'line',
      title: 'Live memory over time, all object types, per run',
      unit: 'bytes',
      yTitle: 'bytes live',
      xMax: Math.max(...runs.map((r) => r.result.outcome.simulatedNs)),
      datasets: runs.map((r, i) => ({
        label: r.label,
        color: PALETTE[i % PALETTE.length]!,
        ...chartSeries(sumSteps(seriesWithPrefix(r.series, 'memory.')), r.result.outcome.simulatedNs, max),
      })),
    })
    specs.push({
      id: 'cmp-leaked',
      kind: 'line',
      title: 'Memory held for owners that have gone away, per run',
      unit: 'bytes',
      yTitle: 'bytes leaked',
      xMax: Math.max(...runs.map((r) => r.result.outcome.simulatedNs)),
      datasets: runs.map((r, i) => ({
        label: r.label,
        color: PALETTE[i % PALETTE.length]!,
        ...chartSeries(sumSteps(seriesWithPrefix(r.series, 'leaked.')), r.result.outcome.simulatedNs, max),
      })),
    })
    specs.push({
      id: 'cmp-byteseconds',
      kind: 'bar',
      title: 'Leaked byte-seconds per run',
      unit: 'byte_seconds',
      yTitle: 'B·s',
      labels,
      datasets: [{ label: 'leaked byte-seconds', color: PALETTE[1]!, data: runs.map((r) => r.result.aggregates.leaked.byteSeconds) }],
    })
    const mechs = [...new Set(runs.flatMap((r) => r.result.aggregates.invalidations.byMechanism.map((m) => m.mechanism ?? '')))].sort()
    specs.push({
      id: 'cmp-invalidation',
      kind: 'bar',
      title: 'Invalidation cost per run, by mechanism',
      unit: 'ns',
      yTitle: 'total cost',
      stacked: true,
      labels,
      datasets: mechs.map((m, i) => ({
        label: m,
        color: PALETTE[i % PALETTE.length]!,
        data: runs.map((r) => r.result.aggregates.invalidations.byMechanism.find((x) => x.mechanism === m)?.totalNs ?? 0),
      })),
    })
  }
  runs.forEach((r, i) => {
    const memory = seriesWithPrefix(r.series, 'memory.')
    if (memory.length)
      specs.push({
        id: `run${i}-memory`,
        kind: 'line',
        title: `Memory over time by object type — ${r.label}`,
        unit: 'bytes',
        yTitle: 'bytes live',
        xMax: r.result.outcome.simulatedNs,
        stacked: true,
        datasets: stackedSeries(memory, r.result.outcome.simulatedNs, max),
      })
    const leaked = seriesWithPrefix(r.series, 'leaked.').filter((s) => s.v.some((v) => v !== 0))
    if (leaked.length)
      specs.push({
        id: `run${i}-leaked`,
        kind: 'line',
        title: `Memory held for gone owners, by object type — ${r.label}`,
        unit: 'bytes',
        yTitle: 'bytes leaked',
        xMax: r.result.outcome.simulatedNs,
        stacked: true,
        datasets: stackedSeries(leaked, r.result.outcome.simulatedNs, max),
      })
  })
  return specs
}

/** The static table beside a chart: what prints and what a reader without scripts sees. */
function chartFallback(spec: ChartSpec): string {
  if (spec.kind === 'bar') {
    const head = `<tr><th scope="col">run</th>${spec.datasets.map((d) => `<th scope="col">${e(d.label)}</th>`).join('')}</tr>`
    const rows = spec.labels.map(
      (l, i) => `<tr><th scope="row">${e(l)}</th>${spec.datasets.map((d) => `<td class="num">${e(formatUnit(spec.unit, d.data[i] ?? 0))}</td>`).join('')}</tr>`,
    )
    return `<table class="data"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`
  }
  const rows = spec.datasets.map((d) => {
    let peak = 0
    let at = 0
    d.v.forEach((v, i) => {
      if (v > peak) {
        peak = v
        at = d.t[i]!
      }
    })
    const final = d.v[d.v.length - 1] ?? 0
    return `<tr><th scope="row">${e(d.label)}</th><td class="num">${e(formatUnit(spec.unit, peak))}</td><td class="num">${e(formatNs(at))}</td><td class="num">${e(formatUnit(spec.unit, final))}</td><td class="num">${d.t.length}</td></tr>`
  })
  return `<table class="data"><thead><tr><th scope="col">series</th><th scope="col">peak</th><th scope="col">peak at</th><th scope="col">at end</th><th scope="col">points</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function chartBlock(spec: ChartSpec): string {
  return `<figure class="chart" id="fig-${e(spec.id)}">
<figcaption>${e(spec.title)} <button type="button" class="reset no-print" id="reset-${e(spec.id)}">reset zoom</button></figcaption>
<div class="canvas-box"><canvas id="chart-${e(spec.id)}" role="img" aria-label="${e(spec.title)}"></canvas></div>
<details class="chart-data"><summary>Data table</summary>${chartFallback(spec)}</details>
</figure>`
}

type StatKey = 'event' | 'device' | 'mechanism'

function invalidationTable(rows: InvalidationStat[], keys: StatKey[]): string {
  if (rows.length === 0) return '<p class="muted">No invalidations.</p>'
  const body = rows
    .map(
      (r) =>
        `<tr>${keys.map((k) => `<td>${e(r[k] ?? '')}</td>`).join('')}<td class="num">${r.count}</td><td class="num">${e(formatNs(r.totalNs))}</td><td class="num">${e(formatNs(r.p50Ns))}</td><td class="num">${e(formatNs(r.p90Ns))}</td><td class="num">${e(formatNs(r.p99Ns))}</td><td class="num">${e(formatNs(r.maxNs))}</td></tr>`,
    )
    .join('')
  return `<table class="data"><thead><tr>${keys.map((k) => `<th scope="col">${k}</th>`).join('')}<th scope="col">count</th><th scope="col">total</th><th scope="col">p50</th><th scope="col">p90</th><th scope="col">p99</th><th scope="col">max</th></tr></thead><tbody>${body}</tbody></table>`
}

/** "1,000 of 6,003 rows kept (5,003 dropped at the table's cap; the totals above count every one)". */
function droppedNote(what: string, t: { total: number; dropped: number }): string {
  if (t.dropped === 0) return ''
  return `<p class="muted dropped">The table of ${e(what)} keeps ${t.total - t.dropped} of ${t.total} rows: ${t.dropped} dropped at its cap. Counts, costs and percentiles above are over all ${t.total}.</p>`
}

function invalidationSection(run: ReportRun): string {
  const inv = run.result.aggregates.invalidations
  if (inv.count === 0) return '<p class="muted">No invalidations.</p>'
  const byTotal = (a: InvalidationStat, b: InvalidationStat): number => b.totalNs - a.totalNs
  return `<p class="inv-total"><strong>${inv.count}</strong> invalidations costing <strong>${e(formatNs(inv.totalNs))}</strong> in total.</p>
${droppedNote('single invalidations', run.result.invalidations)}
<h4>By mechanism</h4>
${invalidationTable([...inv.byMechanism].sort(byTotal), ['mechanism'])}
<h4>By device</h4>
${invalidationTable([...inv.byDevice].sort(byTotal), ['device'])}
<h4>By event</h4>
${invalidationTable([...inv.byEvent].sort(byTotal), ['event'])}
<details><summary>By event, device and mechanism (${inv.by.length})</summary>${invalidationTable(inv.by, ['event', 'device', 'mechanism'])}</details>`
}

function leakTable(run: ReportRun): string {
  const leaks = run.result.leaks.rows
  if (leaks.length === 0) return '<p class="muted">No memory outlived its owner.</p>'
  const body = leaks
    .map(
      (l) =>
        `<tr><td>${e(l.objectType)}</td><td>${e(l.owner)}</td><td class="held-by">${l.heldBy.length ? e(l.heldBy.join(' → ')) : '—'}</td><td class="num">${e(formatBytes(l.peakBytes))}</td><td class="num">${e(formatBytes(l.bytesAtEnd))}</td><td class="num">${e(formatByteSeconds(l.byteSeconds))}</td><td class="num">${e(formatNs(l.since))}</td><td class="num">${l.until === null ? 'never' : e(formatNs(l.until))}</td></tr>`,
    )
    .join('')
  return `<table class="data"><thead><tr><th scope="col">object type</th><th scope="col">owner</th><th scope="col">held by</th><th scope="col">peak</th><th scope="col">at end</th><th scope="col">byte-seconds</th><th scope="col">owner gone at</th><th scope="col">freed at</th></tr></thead><tbody>${body}</tbody></table>${droppedNote('leaks', run.result.leaks)}`
}

function findingsList(run: ReportRun): string {
  const f = run.result.findings.rows
  if (f.length === 0) return '<p class="muted">No findings.</p>'
  return `<ul class="findings">${f
    .map(
      (x) =>
        `<li class="sev-${e(x.severity)}"><span class="sev">${e(x.severity)}</span> <code>${e(x.kind)}</code> at ${e(formatNs(x.t))}: ${e(x.message)}${x.paths
          .map(
            (p) =>
              `<div class="callpath"><div class="label">${e(p.label)}</div><ol>${p.frames.map((fr) => `<li><code>${e(fr)}</code></li>`).join('')}</ol></div>`,
          )
          .join('')}</li>`,
    )
    .join('')}</ul>${droppedNote('findings', run.result.findings)}`
}

function expectsList(run: ReportRun): string {
  const x = run.result.expects.rows
  if (x.length === 0) return ''
  const rows = x.flatMap((y) => {
    const checks = y.checks.length ? y.checks : [{ what: y.what, expected: '', actual: '', passed: y.passed }]
    return checks.map(
      (c, i) =>
        `<tr>${i === 0 ? `<td class="num" rowspan="${checks.length}">${y.line || '—'}</td><td rowspan="${checks.length}"><code>${e(y.what)}</code></td>` : ''}<td>${e(c.what)}</td><td>${e(c.expected)}</td><td>${e(c.actual)}</td><td class="${c.passed ? 'pass' : 'fail'}">${c.passed ? 'passed' : 'FAILED'}</td></tr>`,
    )
  })
  return `<h4>Expects (${x.filter((y) => y.passed).length}/${run.result.expects.total} passed)</h4><table class="data"><thead><tr><th scope="col">line</th><th scope="col">expect</th><th scope="col">check</th><th scope="col">expected</th><th scope="col">actual</th><th scope="col">outcome</th></tr></thead><tbody>${rows.join('')}</tbody></table>${droppedNote('expects', run.result.expects)}`
}

function metricsTable(doc: ReportDocument): string {
  if (doc.comparison) {
    const c = doc.comparison
    const head = `<tr><th scope="col">metric</th>${doc.runs.map((r) => `<th scope="col">${e(r.label)}</th>`).join('')}</tr>`
    const rows = c.metrics.map(
      (m) =>
        `<tr><th scope="row"><code>${e(m.name)}</code></th>${m.values
          .map((v, i) => {
            const d = m.deltas[i]
            const delta =
              i > 0 && d !== null && d !== undefined && d !== 0 ? ` <span class="delta">(${d > 0 ? '+' : '−'}${e(formatUnit(m.unit, Math.abs(d)))})</span>` : ''
            return `<td class="num">${e(formatUnit(m.unit, v))}${delta}</td>`
          })
          .join('')}</tr>`,
    )
    return `<div class="wide"><table class="data metrics"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div><p class="muted">Differences are to the first run.</p>`
  }
  const m = doc.runs[0]!.result.metrics
  const names = Object.keys(m).sort()
  if (names.length === 0) return '<p class="muted">No metrics.</p>'
  return `<table class="data metrics"><thead><tr><th scope="col">metric</th><th scope="col">value</th><th scope="col">raw</th><th scope="col">unit</th></tr></thead><tbody>${names
    .map(
      (n) =>
        `<tr><th scope="row"><code>${e(n)}</code></th><td class="num">${e(formatUnit(m[n]!.unit, m[n]!.value))}</td><td class="num">${e(m[n]!.value)}</td><td>${e(m[n]!.unit)}</td></tr>`,
    )
    .join('')}</tbody></table>`
}

function findingsDiff(doc: ReportDocument): string {
  const c = doc.comparison
  if (!c) return ''
  const item = (f: { kind: string; message: string }): string => `<li><code>${e(f.kind)}</code> ${e(f.message)}</li>`
  const parts = [
    `<h3>Findings across runs</h3>`,
    `<p>In all runs: ${c.findings.inAll.length ? '' : 'none'}</p>`,
    c.findings.inAll.length ? `<ul>${c.findings.inAll.map(item).join('')}</ul>` : '',
  ]
  c.runs.forEach((r, i) => {
    const only = c.findings.onlyIn[i] ?? []
    if (only.length) parts.push(`<p>Only in ${e(r.label)}:</p><ul>${only.map(item).join('')}</ul>`)
  })
  if (c.findings.inSome.length)
    parts.push(
      `<p>In some runs:</p><ul>${c.findings.inSome.map((s) => `<li><code>${e(s.finding.kind)}</code> ${e(s.finding.message)} — ${e(s.runIds.join(', '))}</li>`).join('')}</ul>`,
    )
  return parts.join('\n')
}

function probeSection(doc: ReportDocument): string {
  if (doc.probe.status !== 'ok') return `<p class="muted">Probe unavailable: ${e(doc.probe.reason)}</p>`
  const p: ProbeReport = doc.probe.report
  const findings = p.findings.length
    ? `<table class="data"><thead><tr><th scope="col">severity</th><th scope="col">subject</th><th scope="col">finding</th></tr></thead><tbody>${p.findings
        .map((f) => `<tr><td class="sev-${e(f.severity)}">${e(f.severity)}</td><td>${e(f.subject)}</td><td>${e(f.message)}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="muted">No probe findings.</p>'
  return `<p>Probed ${e(p.source.kind === 'live' ? 'this machine (the one that exported the report)' : p.source.path)} at ${e(p.probedAt)}.</p>
<ul class="summary">${p.summary.map((s) => `<li>${e(s)}</li>`).join('')}</ul>
<details><summary>Probe findings (${p.findings.length})</summary>${findings}</details>
<details><summary>Full probe report (JSON)</summary><pre class="json">${e(JSON.stringify(p, null, 2))}</pre></details>`
}

function scenarioSection(doc: ReportDocument): string {
  const seen = new Map<string, ReportRun>()
  for (const r of doc.runs) if (!seen.has(r.manifest.scenario.hash)) seen.set(r.manifest.scenario.hash, r)
  return [...seen.values()]
    .map((r) => {
      const s = r.manifest.scenario
      const description = r.result.meta.scenario.description
      return `<div class="scenario"><h3>${e(s.name)}</h3>${description ? `<p class="description">${e(description)}</p>` : ''}
<dl class="meta"><dt>file</dt><dd><code>${e(s.fileName)}</code></dd><dt>SHA-256</dt><dd><code class="hash">${e(s.hash)}</code></dd></dl>
<details><summary>Scenario text</summary><pre class="scenario-text">${e(s.text)}</pre></details></div>`
    })
    .join('\n')
}

/** Where a run's simulated machine came from when it replaced the scenario's (`manifest.machine`, newer manifests). */
function machineOf(r: ReportRun): string | undefined {
  const m = (r.manifest as { machine?: unknown }).machine
  return typeof m === 'string' && m !== '' ? m : undefined
}

/** Which parts of a probed machine came from the probe and which from the scenario (the record's `meta.machineParts`). */
function machinePartsOf(r: ReportRun): string {
  const parts = r.result.meta.machineParts
  if (!parts?.length) return ''
  return `<ul class="machine-parts">${parts.map((p) => `<li><code>${e(p.part)}</code> (${e(MACHINE_PART_FROM[p.from])}): ${e(p.detail)}</li>`).join('')}</ul>`
}

function runsTable(doc: ReportDocument): string {
  const paramNames = [...new Set(doc.runs.flatMap((r) => Object.keys(r.manifest.parameters)))].sort()
  const machines = doc.runs.some((r) => machineOf(r) !== undefined)
  const head = `<tr><th scope="col">run</th><th scope="col">design</th><th scope="col">seed</th>${paramNames.map((p) => `<th scope="col"><code>${e(p)}</code></th>`).join('')}${machines ? '<th scope="col">machine</th>' : ''}<th scope="col">status</th><th scope="col">expects</th><th scope="col">findings</th><th scope="col">simulated</th><th scope="col">wall</th></tr>`
  const rows = doc.runs.map(
    (r) =>
      `<tr><td><a href="#run-${e(r.id)}"><code>${e(r.id)}</code></a></td><td>${e(r.manifest.design)}</td><td class="num">${r.manifest.seed}</td>${paramNames
        .map((p) => `<td>${e(r.manifest.parameters[p] ?? '—')}</td>`)
        .join(
          '',
        )}${machines ? `<td>${e(machineOf(r) ?? 'from the scenario')}${machinePartsOf(r)}</td>` : ''}<td class="status-${e(r.manifest.status)}">${e(statusWords(r.manifest.status, r.manifest.stop))}</td><td class="num">${r.manifest.expects.passed}/${r.manifest.expects.passed + r.manifest.expects.failed}</td><td class="num">${r.result.findings.total}</td><td class="num">${e(formatNs(r.result.outcome.simulatedNs))}</td><td class="num">${e(formatNs(Math.round(r.manifest.timings.wallMs) * 1e6))}</td></tr>`,
  )
  const missing = doc.missingRuns.length
    ? `<p class="warn">Not included: ${doc.missingRuns.map((m) => `<code>${e(m.id)}</code> (${e(m.reason)})`).join('; ')}</p>`
    : ''
  const sweep =
    doc.experiment && Object.keys(doc.experiment.sweep).length
      ? `<p>Sweep: ${Object.entries(doc.experiment.sweep)
          .map(([k, v]) => `<code>${e(k)}</code> ∈ {${e(v.map(String).join(', '))}}`)
          .join('; ')}</p>`
      : ''
  return `${sweep}<div class="wide"><table class="data"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>${missing}`
}

/**
 * The sweep summary of an experiment with several seeds or `sweep_expect`s, in the words the CLI
 * prints and the app shows (src/shared/sweep-text.ts): per design and parameter set, the fraction
 * of seeds with each finding, then every `sweep_expect` verdict.
 */
function sweepSection(doc: ReportDocument): string {
  const x = doc.experiment
  const s = x?.summary
  if (!x || !s || !((x.seeds ?? 1) > 1 || s.checks.length)) return ''
  const rows = s.groups.map((g) => {
    const kinds = sweepFindingWords(g)
    const seeds = `${g.seeds.length} from ${g.seeds[0] ?? '—'}${g.unfinishedSeeds.length ? ` (${g.unfinishedSeeds.length} did not finish)` : ''}`
    return `<tr><td>${e(g.design)}</td><td>${e(sweepParamWords(g).trim()) || '—'}</td><td class="num">${e(seeds)}</td><td>${kinds.length ? e(kinds.join(', ')) : '<span class="muted">no findings</span>'}</td><td class="num">${g.failedSeeds.length}</td></tr>`
  })
  const checks = s.checks.length
    ? `<ul class="sweep-checks">${s.checks.map((c) => `<li class="${c.passed ? 'pass' : 'fail'}">${e(sweepCheckWords(c))}</li>`).join('')}</ul>`
    : ''
  return `<section id="sweep" aria-labelledby="sweep-h"><h2 id="sweep-h">Sweep summary: <span class="${s.passed ? 'pass' : 'fail'}">${s.passed ? 'passed' : 'failed'}</span></h2>
<table class="data"><thead><tr><th scope="col">design</th><th scope="col">parameters</th><th scope="col">seeds</th><th scope="col">seeds with each finding</th><th scope="col">expects failed</th></tr></thead><tbody>${rows.join('')}</tbody></table>
${checks}
</section>`
}

/** ` · a background step never returned: …` for a run that reached its end with a task stuck in a background step. */
function backgroundNote(run: ReportRun): string {
  const words = backgroundWaitingWords(run.result.outcome)
  return words ? ` · <span class="warn" data-waiting="background">${e(words)}</span>` : ''
}

function runSection(run: ReportRun, index: number, specs: ChartSpec[]): string {
  const charts = specs
    .filter((s) => s.id.startsWith(`run${index}-`))
    .map(chartBlock)
    .join('\n')
  return `<section class="run" id="run-${e(run.id)}">
<h2>Run ${e(run.label)}</h2>
<p class="muted"><code>${e(run.id)}</code> · design ${e(run.manifest.design)} · seed ${run.manifest.seed} · <span class="status-${e(run.manifest.status)}">${e(statusWords(run.manifest.status, run.manifest.stop))}</span> · ended at ${e(formatNs(run.result.outcome.simulatedNs))} simulated after ${run.result.outcome.stepsDone} of ${run.result.outcome.stepsTotal} steps${run.result.outcome.stop ? ` (${e(run.result.outcome.stop.message)})` : ''}${backgroundNote(run)} · <span class="costs">${e(costsWords(run.result.meta.costs))}</span></p>
<ul class="conclusion">${run.conclusion.map((s) => `<li>${e(s)}</li>`).join('')}</ul>
${charts}
<h3>Leaks</h3>
${leakTable(run)}
<h3>Invalidation cost</h3>
${invalidationSection(run)}
<h3>Findings</h3>
${findingsList(run)}
${expectsList(run)}
${runMetricsDetails(run)}
</section>`
}

function runMetricsDetails(run: ReportRun): string {
  const names = Object.keys(run.result.metrics).sort()
  if (!names.length) return ''
  return `<details><summary>All metrics of this run (${names.length})</summary><table class="data"><tbody>${names
    .map(
      (n) =>
        `<tr><th scope="row"><code>${e(n)}</code></th><td class="num">${e(formatUnit(run.result.metrics[n]!.unit, run.result.metrics[n]!.value))}</td></tr>`,
    )
    .join('')}</tbody></table></details>`
}

const CSS = `
:root{--fg:#1b1b1b;--muted:#666;--line:#d0d0d0;--bg:#fff;--accent:#1f5fa8;--err:#b00020;--warn:#8a5a00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:1.6em;margin:0 0 .3em}h2{font-size:1.3em;border-bottom:2px solid var(--line);padding-bottom:.2em;margin-top:2em}h3{font-size:1.1em;margin-top:1.4em}h4{font-size:1em;margin:1em 0 .4em}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em}
pre{background:#f6f6f6;border:1px solid var(--line);padding:8px;overflow:auto;max-height:480px;white-space:pre-wrap;word-break:break-word}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:.5em 0}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.hash{word-break:break-all}
.wide{overflow-x:auto;max-width:100%}
table.data{border-collapse:collapse;margin:.4em 0 1em;font-size:.93em}
table.data th,table.data td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
table.data thead th{background:#f0f3f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:var(--muted)}.warn{color:var(--warn)}p.mixed{border-left:4px solid var(--warn);background:#fff8e6;padding:8px 16px;color:inherit}.delta{color:var(--muted);font-size:.9em}
.pass{color:#186a1e}.fail,.sev-error>.sev,td.sev-error{color:var(--err);font-weight:600}.sev-warning>.sev,td.sev-warning{color:var(--warn);font-weight:600}
section.conclusion{background:#f3f7fc;border-left:4px solid var(--accent);padding:8px 16px;margin:1em 0}
ul.conclusion li,section.conclusion li{margin:.2em 0}
figure.chart{margin:1em 0 1.5em;border:1px solid var(--line);padding:8px 12px;break-inside:avoid}
figure.chart figcaption{font-weight:600;margin-bottom:4px;display:flex;justify-content:space-between;gap:8px}
.canvas-box{position:relative;height:320px;width:100%}
button.reset{font-size:.85em;font-weight:400}
ul.findings{list-style:none;padding-left:0}ul.findings>li{border-left:3px solid var(--line);padding:4px 10px;margin:6px 0}
ul.findings>li.sev-error{border-color:var(--err)}ul.findings>li.sev-warning{border-color:var(--warn)}
.callpath{margin:4px 0 0 8px}.callpath .label{color:var(--muted)}.callpath ol{margin:2px 0;padding-left:28px}
details{margin:.4em 0}summary{cursor:pointer;color:var(--accent)}
header .meta{font-size:.95em}
footer{margin-top:3em;color:var(--muted);font-size:.85em;border-top:1px solid var(--line);padding-top:8px}
@media print{
 @page{margin:14mm}
 body{max-width:none;padding:0;font-size:10.5pt}
 .no-print{display:none!important}
 a{color:inherit;text-decoration:none}
 h2{break-before:auto;break-after:avoid}h3,h4{break-after:avoid}
 section.run{break-before:page}
 table.data,figure.chart,.callpath{break-inside:avoid}
 pre{max-height:none;overflow:visible}
 .wide{overflow:visible}
 table.data{font-size:8.5pt;max-width:100%}
 table.data th,table.data td{padding:2px 4px}
 td.num{white-space:normal}
 .delta{display:block}
 .hash{font-size:8pt}
 .canvas-box{height:260px}
 details::details-content{display:block;content-visibility:visible}
 details>summary{list-style:none;color:var(--fg);font-weight:600}
}
`

/** Renders the document as one self-contained HTML file. */
export function renderHtml(doc: ReportDocument, assets: ReportAssets = loadReportAssets()): string {
  const specs = chartSpecs(doc)
  const script = [assets.chartJs, ...(assets.zoom ? [assets.zoom.hammer, assets.zoom.plugin] : []), CLIENT_SCRIPT].join('\n;\n')
  const csp = [
    "default-src 'none'",
    `script-src ${cspHash(script)}`,
    `style-src ${cspHash(CSS)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const runs = doc.runs
  const designs = [...new Set(runs.map((r) => r.manifest.design))]
  const seeds = [...new Set(runs.map((r) => r.manifest.seed))]
  const scenarios = [...new Set(runs.map((r) => r.manifest.scenario.name))]
  // runs of several scenarios: said above everything else (the conclusion's first sentence too)
  const mixed = doc.comparison?.mixedScenarios
  const kindWord = doc.kind === 'run' ? 'Run report' : doc.kind === 'experiment' ? 'Experiment report' : 'Comparison report'
  const cmpCharts = specs
    .filter((s) => s.id.startsWith('cmp-'))
    .map(chartBlock)
    .join('\n')
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="HMM Lab ${e(doc.hmmlab.version)}">
<title>${e(doc.title)} — HMM Lab</title>
<style>${CSS}</style>
</head>
<body>
<header>
<p class="muted">HMM Lab · ${e(kindWord)}</p>
<h1 id="title">${e(doc.title)}</h1>
<dl class="meta">
<dt>generated</dt><dd>${e(doc.generatedAt)}</dd>
<dt>HMM Lab</dt><dd>${e(doc.hmmlab.version)} (Chart.js ${e(assets.chartJsVersion)}${assets.zoom ? `, zoom plugin ${e(assets.zoom.version)}` : ''})</dd>
<dt>scenario${scenarios.length > 1 ? 's' : ''}</dt><dd>${scenarios.map((s) => e(s)).join(', ')}</dd>
<dt>designs</dt><dd>${designs.map((d) => e(d)).join(', ')}</dd>
<dt>seed${seeds.length > 1 ? 's' : ''}</dt><dd>${seeds.join(', ')}</dd>
<dt>runs</dt><dd>${runs.length}${doc.missingRuns.length ? ` (${doc.missingRuns.length} not included)` : ''}</dd>
${doc.experiment ? `<dt>experiment</dt><dd>${e(doc.experiment.name)} (<code>${e(doc.experiment.id)}</code>, created ${e(doc.experiment.createdAt)})</dd>` : ''}
</dl>
${mixed ? `<p class="warn mixed" id="mixed-scenarios" role="note"><strong>Different scenarios.</strong> ${e(mixed)}</p>` : ''}
</header>
<section class="conclusion" id="conclusion" aria-labelledby="conclusion-h">
<h2 id="conclusion-h">Conclusion</h2>
<ul>${doc.conclusion
    .filter((s) => s !== mixed)
    .map((s) => `<li>${e(s)}</li>`)
    .join('')}</ul>
</section>
${sweepSection(doc)}
<section id="scenario"><h2>Scenario</h2>
${scenarioSection(doc)}
</section>
<section id="runs"><h2>Runs and parameters</h2>
${runsTable(doc)}
</section>
<section id="metrics"><h2>Metrics</h2>
${metricsTable(doc)}
${cmpCharts}
${findingsDiff(doc)}
</section>
<section id="machine"><h2>Machine</h2>
${probeSection(doc)}
</section>
${runs.map((r, i) => runSection(r, i, specs)).join('\n')}
<footer>
<p>Generated by HMM Lab ${e(doc.hmmlab.version)} at ${e(doc.generatedAt)}. Times are simulated; sizes in binary units (1 MiB = 1,048,576 bytes).
Charts: hover for values, click legend entries to hide series${assets.zoom ? ', drag or Ctrl+wheel to zoom, Shift+drag to pan, double-click to reset' : ''}. This file needs no network.</p>
</footer>
<script type="application/json" id="report-data">${jsonForScript({ schema: doc.schema, kind: doc.kind, charts: specs })}</script>
<script>${script}</script>
</body>
</html>
`
}
