/**
 * Reports over real simulator output: a built-in scenario run under D1–D6 through the simulator and
 * the run worker's mapping (toStored), then exported in every format. Loose checks on purpose: the
 * numbers belong to the simulator; here the point is that its output reports without a problem.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim'
import { toStored } from '../../src/main/services/experiments/to-stored'
import { appRoot } from '../../src/main/paths'
import { exportStoredRuns } from '../../src/main/services/reports'
import type { StoredRun } from '../../src/main/services/store/run-store'
import { ReportDocument } from '../../src/shared/report'

function simulate(relative: string): StoredRun[] {
  const file = join(appRoot(), 'scenarios', relative)
  const text = readFileSync(file, 'utf8')
  const scenario = parseScenario(text, relative)
  return (['D1', 'D2', 'D3', 'D4', 'D5', 'D6'] as const).map((design) => {
    const stored = toStored(runScenario(scenario, { design, seed: 1 }))
    return {
      manifest: {
        schema: 'hmmlab.run/1',
        id: `sim-${design}`,
        scenario: { name: stored.result.scenario.name, fileName: relative, hash: createHash('sha256').update(text).digest('hex'), text },
        design,
        seed: 1,
        parameters: {},
        versions: { hmmlab: '0.1.0', node: process.version },
        timings: { queuedAt: '2026-11-25T10:00:00.000Z', finishedAt: '2026-11-25T10:00:01.000Z', wallMs: 1 },
        status: stored.expects.failed ? 'expect_failed' : 'ok',
        tags: [],
        metrics: stored.metrics,
        expects: stored.expects,
        findings: stored.findings,
      },
      result: stored.result,
      series: stored.series,
    }
  })
}

describe('reports of simulator runs', () => {
  const runs = simulate('thread-2014/a-fork-after-mirror.yaml')

  it('every run is included (its result satisfies the contract) and the document validates', async () => {
    const json = await exportStoredRuns(runs, 'json', { probe: 'none' })
    const doc = ReportDocument.parse(JSON.parse(json.content))
    expect(doc.missingRuns).toEqual([])
    expect(doc.runs).toHaveLength(6)
    expect(doc.conclusion.some((s) => /^D1 kept .* alive for /.test(s))).toBe(true)
  })

  it('renders HTML with data for every chart, CSV and a trace', async () => {
    const html = (await exportStoredRuns(runs, 'html', { probe: 'none' })).content
    const data = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as { charts: { id: string; datasets: { t?: number[]; data?: number[] }[] }[] }
    expect(data.charts.length).toBeGreaterThanOrEqual(4 + 6)
    for (const c of data.charts) for (const d of c.datasets) expect((d.t ?? d.data ?? []).length, c.id).toBeGreaterThan(0)
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 1024 * 1024)
    const csv = (await exportStoredRuns(runs, 'csv', { probe: 'none' })).content
    expect(csv.split('\r\n').length).toBeGreaterThan(100)
    const trace = JSON.parse((await exportStoredRuns(runs, 'trace', { probe: 'none' })).content) as { traceEvents: { ph: string }[] }
    expect(trace.traceEvents.some((e) => e.ph === 'C')).toBe(true)
  })
})
