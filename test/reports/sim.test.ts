/**
 * Reports over real simulator output: the fork scenario under D1–D6, stored the way the experiment
 * service stores it (test/fixtures/runs/make.ts), exported in every format.
 */
import { describe, expect, it } from 'vitest'
import { exportStoredRuns } from '../../src/main/services/reports'
import { ReportDocument } from '../../src/shared/report'
import { forkRuns } from '../fixtures/runs/make'

describe('reports of simulator runs', () => {
  const runs = forkRuns()

  it('every run is included (its result satisfies the contract) and the document validates', async () => {
    const json = await exportStoredRuns(runs, 'json', { probe: 'none' })
    const doc = ReportDocument.parse(JSON.parse(json.content))
    expect(doc.missingRuns).toEqual([])
    expect(doc.runs).toHaveLength(6)
    expect(doc.conclusion.some((s) => /^D1 kept .* alive for /.test(s))).toBe(true)
  })

  it('renders HTML with data for every chart, CSV and a trace', async () => {
    const html = (await exportStoredRuns(runs, 'html', { probe: 'none' })).content
    const data = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as {
      charts: { id: string; datasets: { t?: number[]; data?: number[] }[] }[]
    }
    expect(data.charts.length).toBeGreaterThanOrEqual(4 + 6)
    for (const c of data.charts) for (const d of c.datasets) expect((d.t ?? d.data ?? []).length, c.id).toBeGreaterThan(0)
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 1024 * 1024)
    const csv = (await exportStoredRuns(runs, 'csv', { probe: 'none' })).content
    expect(csv.split('\r\n').length).toBeGreaterThan(100)
    const trace = JSON.parse((await exportStoredRuns(runs, 'trace', { probe: 'none' })).content) as { traceEvents: { ph: string }[] }
    expect(trace.traceEvents.some((e) => e.ph === 'C')).toBe(true)
  })
})
