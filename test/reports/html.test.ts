/**
 * The HTML report: self-contained (no external reference), strict CSP matching the inline script
 * and style, every section present, user text escaped, size of the typical six-design report.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chartSpecs, documentFromRuns, exportReport, exportStoredRuns, jsonForScript, renderHtml } from '../../src/main/services/reports'
import { escapeHtml } from '../../src/main/services/reports/escape'
import { stackSteps } from '../../src/main/services/reports/stats'
import { BAND_ALPHA, typeColour } from '../../src/shared/palette'
import { fixtureRun, forkRun, forkRuns, HOSTILE } from '../fixtures/runs/make'

const B_FILE = 'scenarios/thread-2014/b-release-free-and-deferred-job.yaml'
import { contains, fixtureProbe, fixtureWorkspace, type FixtureWorkspace } from './helpers'

let ws: FixtureWorkspace
beforeAll(async () => {
  ws = await fixtureWorkspace()
})
afterAll(async () => {
  await ws.dispose()
})

function inlineBlocks(html: string, tag: 'script' | 'style'): { attrs: string; body: string }[] {
  const re = new RegExp(`<${tag}([^>]*)>([\\s\\S]*?)</${tag}>`, 'g')
  return [...html.matchAll(re)].map((m) => ({ attrs: m[1]!, body: m[2]! }))
}

function dataBlock(html: string): { charts: { id: string; kind: string; datasets: unknown[] }[] } {
  const block = inlineBlocks(html, 'script').find((b) => b.attrs.includes('application/json'))!
  return JSON.parse(block.body)
}

const sha = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`

describe('HTML report of the six-design experiment', () => {
  let html = ''
  let ms = 0
  beforeAll(async () => {
    const probe = await fixtureProbe()
    const started = performance.now()
    html = (await exportReport(ws.store, { kind: 'experiment', experimentId: ws.experimentId }, 'html', { probe: { report: probe } })).content
    ms = performance.now() - started
  })

  it('is under 2 MB', () => {
    const bytes = Buffer.byteLength(html)
    // A figure, not a pass/fail: the time depends on the machine (read from the store, validate, render).
    console.log(`six-design experiment report: ${(bytes / 1024).toFixed(0)} KiB, built in ${ms.toFixed(0)} ms`)
    expect(bytes).toBeLessThan(2 * 1024 * 1024)
  })

  it('references nothing outside itself', () => {
    expect(html.match(/<(script|img|link|iframe|object|embed)[^>]*\s(src|href)=/i)).toBeNull()
    expect(html.match(/url\(\s*['"]?(https?:)?\/\//i)).toBeNull()
    expect(html.match(/sourceMappingURL/)).toBeNull()
    expect(html.match(/@import/)).toBeNull()
  })

  it('has a strict CSP that allows exactly its inline script and style by hash', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!.replace(/&#39;/g, "'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    const scripts = inlineBlocks(html, 'script').filter((b) => !b.attrs.includes('application/json'))
    expect(scripts).toHaveLength(1)
    expect(csp).toContain(`script-src ${sha(scripts[0]!.body)}`)
    const styles = inlineBlocks(html, 'style')
    expect(styles).toHaveLength(1)
    expect(csp).toContain(`style-src ${sha(styles[0]!.body)}`)
    expect(contains(scripts[0]!.body, 'Chart.js v4')).toBe(true)
  })

  it('has every section: title, date, version, scenario text and hash, seeds, designs, parameters, probe, charts, tables, findings, conclusion', () => {
    for (const id of ['title', 'conclusion', 'scenario', 'runs', 'metrics', 'machine']) expect(contains(html, `id="${id}"`), `id="${id}"`).toBe(true)
    expect(contains(html, 'HMM Lab</dt><dd>0.1.0'), 'HMM Lab</dt><dd>0.1.0').toBe(true)
    expect(html).toMatch(/<dt>generated<\/dt><dd>\d{4}-\d\d-\d\dT/)
    expect(html).toMatch(/<code class="hash">[0-9a-f]{64}<\/code>/)
    expect(contains(html, '<pre class="scenario-text">name: '), '<pre class="scenario-text">name: ').toBe(true)
    expect(contains(html, '<dt>designs</dt><dd>D1, D2, D3, D4, D5, D6</dd>'), '<dt>designs</dt><dd>D1, D2, D3, D4, D5, D6</dd>').toBe(true)
    expect(contains(html, '<dt>seed</dt><dd>1</dd>'), '<dt>seed</dt><dd>1</dd>').toBe(true)
    expect(contains(html, 'Probed /'), 'probe section').toBe(true)
    expect(contains(html, '<ul class="summary"><li>kernel '), 'probe summary').toBe(true)
    expect(contains(html, 'Full probe report (JSON)'), 'Full probe report (JSON)').toBe(true)
    for (const h of ['Leaks', 'Invalidation cost', 'By mechanism', 'By device', 'By event', 'Findings', 'Expects (11/11 passed)'])
      expect(contains(html, `>${h}</h`), `>${h}</h`).toBe(true)
    expect(contains(html, '<th scope="col">p99</th>'), '<th scope="col">p99</th>').toBe(true)
    // no design of the fork finds anything: under D5 dmirror_fault fails on A's dead mm (-EFAULT)
    expect(html.split('<p class="muted">No findings.</p>').length - 1, 'a findings section per run, all empty').toBe(6)
    expect(html).toMatch(/D1 kept up to 64\.\d+ MiB of A&#39;s memory/)
    expect(html).toMatch(/D4 kept up to [\d.]+ MiB of A&#39;s memory \([^)]*VRAM[^)]*\) alive for 10\.\d+ s after A exited/)
    // status words of the record
    expect(contains(html, '<td class="status-passed">passed</td>')).toBe(true)
  })

  it('inlines the data of every chart, each with a canvas and a fallback table', () => {
    const data = dataBlock(html)
    expect(data.charts.length).toBe(4 + 6 * 2 - 1) // comparison charts + memory per run + leaked per run (D3 leaks nothing)
    for (const c of data.charts) {
      expect(contains(html, `<canvas id="chart-${c.id}"`), `<canvas id="chart-${c.id}"`).toBe(true)
      expect(c.datasets.length).toBeGreaterThan(0)
    }
    expect(html.match(/<details class="chart-data">/g)).toHaveLength(data.charts.length)
  })
})

describe('size with dense series (the simulator samples every type at every event)', () => {
  it('six runs × ten object types × 20 000 changing samples stay well under 2 MB', async () => {
    const runs = forkRuns().map((r) => {
      const n = 20_000
      const grid = Array.from({ length: n }, (_, i) => Math.round((i * 15e9) / n))
      const series: Record<string, { t: number[]; v: number[] }> = {}
      for (const type of ['mm_struct', 'vma', 'cpu_pagetable', 'gpu_pagetable', 'iommu_pagetable', 'page', 'vram', 'driver_object', 'notifier', 'pasid'])
        series[`memory.${type}`] = { t: grid, v: grid.map((_, i) => 4096 * ((i * 7919) % 1000)) }
      series['leaked.total'] = { t: grid, v: grid.map((t) => (t > 2e9 && t < 12e9 ? 1 << 20 : 0)) }
      return { ...r, series }
    })
    const html = await exportStoredRuns(runs, 'html', { probe: 'none' })
    const bytes = Buffer.byteLength(html.content)
    console.log(`six dense runs: HTML ${(bytes / 1024).toFixed(0)} KiB`)
    expect(bytes).toBeLessThan(2 * 1024 * 1024)
    const points = dataBlock(html.content)
      .charts.flatMap((c) => c.datasets as { t?: number[] }[])
      .reduce((s, d) => s + (d.t?.length ?? 0), 0)
    expect(points).toBeLessThanOrEqual(40_000 + 200)
  })
})

describe('escaping of user text', () => {
  it('a scenario whose name and description hold HTML and script appears as text only', async () => {
    const { content: html } = await exportStoredRuns([forkRun('D1', HOSTILE)], 'html', { probe: 'none' })
    expect(contains(html, '<script>window.__pwned'), '<script>window.__pwned').toBe(false)
    expect(contains(html, '<img src=x'), '<img src=x').toBe(false)
    expect(contains(html, '</script><script>'), '</script><script>').toBe(false)
    expect(contains(html, escapeHtml(HOSTILE.scenarioName)), escapeHtml(HOSTILE.scenarioName)).toBe(true)
    expect(contains(html, escapeHtml(HOSTILE.description)), escapeHtml(HOSTILE.description)).toBe(true)
    // exactly the two script blocks of the report, the data block intact and round-tripping
    expect(html.match(/<script/g)).toHaveLength(2)
    expect(html.match(/<\/script>/g)).toHaveLength(2)
    const data = dataBlock(html)
    expect(data.charts.length).toBeGreaterThan(0)
    expect(html.match(/<title>/g)).toHaveLength(1)
  })

  it('jsonForScript leaves no way out of a script element and round-trips', () => {
    const value = { s: '</script><!-- <script> & \u2028\u2029 </SCRIPT >' }
    const text = jsonForScript(value)
    expect(text).not.toMatch(/<|>|&|\u2028|\u2029/)
    expect(JSON.parse(text)).toEqual(value)
  })

  it('chart labels from the data are escaped in fallback tables and captions', async () => {
    const doc = await documentFromRuns('run', [forkRun('D2', HOSTILE)], { probe: 'none' })
    const html = renderHtml(doc)
    for (const spec of chartSpecs(doc)) expect(contains(html, escapeHtml(spec.title)), escapeHtml(spec.title)).toBe(true)
  })
})

describe('run and comparison reports', () => {
  it('a single run has its memory and leak charts and no comparison section', async () => {
    const { content, fileName, mimeType } = await exportReport(ws.store, { kind: 'run', runId: ws.runIds[0]! }, 'html', { probe: 'none' })
    expect(fileName).toBe('a-fork-after-mirror-D1-seed1.html')
    expect(mimeType).toBe('text/html; charset=utf-8')
    expect(dataBlock(content).charts.map((c) => c.id)).toEqual(['run0-memory', 'run0-leaked'])
    expect(contains(content, 'Probe unavailable: not requested'), 'Probe unavailable: not requested').toBe(true)
  })

  it('a comparison has the metrics with deltas and the findings diff', async () => {
    const { content } = await exportReport(ws.store, { kind: 'compare', runIds: [ws.runIds[0]!, ws.runIds[4]!] }, 'html', { probe: 'none' })
    expect(contains(content, 'Differences are to the first run.'), 'Differences are to the first run.').toBe(true)
    expect(contains(content, 'Findings across runs'), 'Findings across runs').toBe(true)
    expect(contains(content, '<p>In all runs: none</p>'), 'neither D1 nor D5 of the fork finds anything').toBe(true)
    // a run with findings (2014 (b), B1 frees in ->release: use-after-free and double free) against one without
    const b1 = await exportStoredRuns([forkRun('D1'), fixtureRun(B_FILE, 'B1')], 'html', { probe: 'none' })
    expect(contains(b1.content, 'Only in B1'), 'Only in B1').toBe(true)
    expect(contains(b1.content, '<code>double_free</code>'), 'the double free of B1').toBe(true)
    expect(contains(b1.content, '<div class="callpath">'), 'its call paths').toBe(true)
    expect(
      dataBlock(content)
        .charts.map((c) => c.id)
        .slice(0, 4),
    ).toEqual(['cmp-memory', 'cmp-leaked', 'cmp-byteseconds', 'cmp-invalidation'])
  })

  it('works with the typical six runs given directly (the run command path)', async () => {
    const r = await exportStoredRuns(forkRuns(), 'html', { probe: 'none' })
    expect(r.fileName).toMatch(/compare-D1-D2-D3-D4-D5-D6\.html$/)
  })
})

describe('runs table', () => {
  it('names the machine a run simulated when the manifest says it replaced the scenario’s', async () => {
    const run = forkRun('D1')
    ;(run.manifest as { machine?: string }).machine = 'probed: <this machine>'
    const { content } = await exportStoredRuns([run, forkRun('D2')], 'html', { probe: 'none' })
    expect(contains(content, '<th scope="col">machine</th>')).toBe(true)
    expect(contains(content, '<td>probed: &lt;this machine&gt;</td>')).toBe(true)
    expect(contains(content, '<td>from the scenario</td>')).toBe(true)
  })
})

describe('cost provenance', () => {
  it('each run says where its costs came from, read from the record', async () => {
    const calibrated = forkRun('D1')
    ;(calibrated.result as { meta: { costs: unknown } }).meta.costs = { source: 'calibrated', host: 'gpu<host>', date: '2026-11-20T09:30:12.000Z' }
    const fromFile = forkRun('D3')
    ;(fromFile.result as { meta: { costs: unknown } }).meta.costs = { source: 'file', host: 'lab1', date: '2026-10-01T08:00:00.000Z', file: 'costs.json' }
    const { content } = await exportStoredRuns([calibrated, forkRun('D2'), fromFile], 'html', { probe: 'none' })
    expect(contains(content, '<span class="costs">costs: calibrated on gpu&lt;host&gt;, 2026-11-20 09:30</span>')).toBe(true)
    expect(contains(content, '<span class="costs">default costs</span>')).toBe(true)
    expect(contains(content, '<span class="costs">costs: from costs.json (calibrated on lab1, 2026-10-01 08:00)</span>')).toBe(true)
  })
})

describe('memory charts as the app draws them', () => {
  it("stack the object types in the ledger's order, each in the app's colour for its type", async () => {
    const run = forkRun('D1')
    const specs = chartSpecs(await documentFromRuns('run', [run], { probe: 'none' }))
    for (const id of ['run0-memory', 'run0-leaked']) {
      const spec = specs.find((c) => c.id === id)
      expect(spec?.kind, id).toBe('line')
      if (spec?.kind !== 'line') continue
      expect(spec.stacked).toBe(true)
      const types = spec.datasets.map((d) => d.label)
      spec.datasets.forEach((d, k) => {
        expect(d.color).toBe(typeColour(d.label, k))
        expect(d.fill).toBe(typeColour(d.label, k, BAND_ALPHA))
        // one time grid; each top is the sum of the bands up to it
        expect(d.t).toEqual(spec.datasets[0]!.t)
        d.top!.forEach((top, i) => expect(top).toBe(spec.datasets.slice(0, k + 1).reduce((sum, x) => sum + x.v[i]!, 0)))
      })
      expect(types.indexOf('mm_struct')).toBeLessThan(types.indexOf('pages'))
    }
    const memory = specs.find((c) => c.id === 'run0-memory')!
    if (memory.kind === 'line') {
      // the top band ends at the run's final live bytes, as the record's aggregates say
      const top = memory.datasets[memory.datasets.length - 1]!.top!
      const final = (run.result as { aggregates: { finalBytes: Record<string, number> } }).aggregates.finalBytes
      expect(top[top.length - 1]).toBe(Object.values(final).reduce((a, b) => a + b, 0))
    }
  })

  it('stackSteps keeps every change and the peaks of the total when it thins', () => {
    const a = { t: [0, 10, 20, 30], v: [1, 1, 5, 0] }
    const b = { t: [0, 15, 30], v: [2, 3, 0] }
    const s = stackSteps([a, b], 100)
    expect(s.t).toEqual([0, 15, 20, 30])
    expect(s.values).toEqual([
      [1, 1, 5, 0],
      [2, 3, 3, 0],
    ])
    expect(s.tops[1]).toEqual([3, 4, 8, 0])
    const many = { t: Array.from({ length: 5000 }, (_, i) => i), v: Array.from({ length: 5000 }, (_, i) => (i === 3333 ? 1e6 : i % 7)) }
    const thin = stackSteps([many], 200)
    expect(thin.t.length).toBeLessThanOrEqual(210)
    expect(Math.max(...thin.tops[0]!)).toBe(1e6)
  })
})
