/** JSON (the document, schema-valid) and CSV (tidy long format) exports; errors of export. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CSV_COLUMNS, exportReport, ReportError } from '../../src/main/services/reports'
import { StoredRecord } from '../../src/shared/record'
import { ReportDocument } from '../../src/shared/report'
import { RunStore } from '../../src/main/services/store/run-store'
import { fixtureWorkspace, type FixtureWorkspace } from './helpers'
import { fixtureRun, forkRun } from '../fixtures/runs/make'

let ws: FixtureWorkspace
beforeAll(async () => {
  ws = await fixtureWorkspace()
})
afterAll(async () => {
  await ws.dispose()
})

/** RFC 4180 parser, enough for the tests. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += c
  }
  return rows
}

describe('JSON export', () => {
  it('is the full document and validates against ReportDocument', async () => {
    const r = await exportReport(ws.store, { kind: 'experiment', experimentId: ws.experimentId }, 'json', {
      probe: 'none',
      now: () => new Date('2026-11-25T12:00:00Z'),
    })
    expect(r.mimeType).toBe('application/json')
    expect(r.fileName).toBe('a-fork-after-mirror-exp-fork.report.json')
    const doc = ReportDocument.parse(JSON.parse(r.content))
    expect(doc.kind).toBe('experiment')
    expect(doc.generatedAt).toBe('2026-11-25T12:00:00.000Z')
    expect(doc.runs.map((x) => x.manifest.design)).toEqual(['D1', 'D2', 'D3', 'D4', 'D5', 'D6'])
    expect(doc.runs[0]!.result.trace.rows.length).toBeGreaterThan(0)
    expect(doc.comparison?.metrics.length).toBeGreaterThan(0)
    // the document carries the record: its totals are the aggregates, as the simulator counted them
    const d1 = doc.runs[0]!.result.aggregates
    expect(d1.leaked.peakBytes).toBeGreaterThanOrEqual(64 * 1024 * 1024)
    expect(d1.invalidations.byMechanism.reduce((s, m) => s + m.count, 0)).toBe(d1.invalidations.count)
    for (const m of d1.invalidations.by) {
      expect(m.p50Ns).toBeLessThanOrEqual(m.p90Ns)
      expect(m.p90Ns).toBeLessThanOrEqual(m.p99Ns)
      expect(m.p99Ns).toBeLessThanOrEqual(m.maxNs)
    }
    expect(doc.conclusion[0]).toMatch(/^Least memory held after owners went away: D3 .*most: D1/)
  })
})

describe('CSV export', () => {
  it('is one tidy long table: same columns on every row, records for metrics, series, leaks, invalidations, findings', async () => {
    const r = await exportReport(ws.store, { kind: 'compare', runIds: [ws.runIds[0]!, ws.runIds[2]!] }, 'csv', { probe: 'none' })
    expect(r.mimeType).toBe('text/csv; charset=utf-8')
    const rows = parseCsv(r.content)
    expect(rows[0]).toEqual([...CSV_COLUMNS])
    for (const row of rows) expect(row.length).toBe(CSV_COLUMNS.length)
    const col = (name: (typeof CSV_COLUMNS)[number]): number => CSV_COLUMNS.indexOf(name)
    const records = new Set(rows.slice(1).map((x) => x[col('record')]))
    expect([...records].sort()).toEqual(['expect', 'invalidation', 'leak', 'metric', 'series', 'status', 'table'])
    // the leak rows are the record's, the totals its aggregates
    const rec = StoredRecord.parse((await ws.store.getRun(ws.runIds[0]!)).result)
    const leakPeaks = rows.filter((x) => x[col('run_id')] === ws.runIds[0] && x[col('record')] === 'leak' && x[col('measure')] === 'peak_bytes')
    expect(leakPeaks.map((x) => Number(x[col('value')]))).toEqual(rec.leaks.rows.map((l) => l.peakBytes))
    const total = rows.find(
      (x) => x[col('run_id')] === ws.runIds[0] && x[col('record')] === 'invalidation' && x[col('name')] === 'total' && x[col('measure')] === 'count',
    )
    expect(Number(total![col('value')])).toBe(rec.aggregates.invalidations.count)
    const p99 = rows.find((x) => x[col('record')] === 'invalidation' && x[col('name')] === 'mechanism' && x[col('measure')] === 'p99_ns')
    expect(Number(p99![col('value')])).toBeGreaterThan(0)
    const status = rows.find((x) => x[col('run_id')] === ws.runIds[0] && x[col('record')] === 'status')
    expect(status![col('name')]).toBe('passed')
  })

  it('guards text cells against spreadsheet formulas and quotes commas', async () => {
    const store = new RunStore(ws.dir)
    // 2014 (b) under B1 (->release frees the object its deferred job then uses): real findings
    const run = fixtureRun('scenarios/thread-2014/b-release-free-and-deferred-job.yaml', 'B1', { scenarioName: 'x', seed: 7 })
    const rec = run.result as { findings: { rows: { kind: string; message: string }[] }; leaks: { rows: { owner: string }[] } }
    rec.findings.rows[0]!.message = '=HYPERLINK("http://x"), "quoted"'
    rec.leaks.rows[0]!.owner = '=cmd|calc'
    await store.saveRun(run)
    const r = await exportReport(store, { kind: 'run', runId: run.manifest.id }, 'csv', { probe: 'none' })
    const rows = parseCsv(r.content)
    const finding = rows.find((x) => x[4] === 'finding')!
    expect(finding[5]).toBe(rec.findings.rows[0]!.kind)
    expect(finding[6]).toBe('error: =HYPERLINK("http://x"), "quoted"')
    expect(rows.find((x) => x[4] === 'leak')![6]!.startsWith("'=cmd|calc -> ")).toBe(true)
    expect(r.content).not.toMatch(/(^|,)=HYPERLINK/m)
  })
})

describe('export errors', () => {
  it('an unknown run is not_found', async () => {
    await expect(exportReport(ws.store, { kind: 'run', runId: 'no-such-run' }, 'html')).rejects.toMatchObject({ name: 'ReportError', code: 'not_found' })
  })

  it('an experiment with a run that is missing reports the others and names the missing one', async () => {
    const store = new RunStore(ws.dir)
    const exp = await store.getExperiment(ws.experimentId)
    await store.saveExperiment({ ...exp, id: 'exp-partial', runIds: [...exp.runIds.slice(0, 2), 'gone-run'] })
    const r = await exportReport(store, { kind: 'experiment', experimentId: 'exp-partial' }, 'json', { probe: 'none' })
    const doc = ReportDocument.parse(JSON.parse(r.content))
    expect(doc.runs).toHaveLength(2)
    expect(doc.missingRuns.map((m) => m.id)).toEqual(['gone-run'])
  })

  it('a comparison with a missing run fails and says which', async () => {
    const err = await exportReport(ws.store, { kind: 'compare', runIds: [ws.runIds[0]!, 'gone-run'] }, 'html', { probe: 'none' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ReportError)
    expect((err as Error).message).toContain('gone-run')
  })

  it('a stored result that breaks the contract is named, not rendered half', async () => {
    const store = new RunStore(ws.dir)
    const run = forkRun('D5', { seed: 9 })
    ;(run.result as { outcome: { simulatedNs: unknown } }).outcome.simulatedNs = 'soon'
    await store.saveRun(run)
    await expect(exportReport(store, { kind: 'run', runId: run.manifest.id }, 'html', { probe: 'none' })).rejects.toThrow(/outcome\.simulatedNs/)
  })

  it('a run stored by an earlier HMM Lab is named as an old format, never rendered half', async () => {
    const store = new RunStore(ws.dir)
    const run = forkRun('D3', { seed: 11 })
    run.result = { schema: 'hmmlab.result/1', endTime: 1, metrics: {} }
    await store.saveRun(run)
    await expect(exportReport(store, { kind: 'run', runId: run.manifest.id }, 'html', { probe: 'none' })).rejects.toThrow(
      /old format: run .* hmmlab\.result\/1/,
    )
  })

  it('the probe degrades to "unavailable" with the reason when it fails', async () => {
    const r = await exportReport(ws.store, { kind: 'run', runId: ws.runIds[0]! }, 'json', { probe: { report: { bogus: true } as never } })
    const doc = ReportDocument.parse(JSON.parse(r.content))
    expect(doc.probe.status).toBe('unavailable')
  })
})

describe('writeReportFile (for `hmmlab run --report FILE`)', () => {
  it('writes the runs in hand in the format its name says', async () => {
    const { writeReportFile } = await import('../../src/main/services/reports')
    const { readFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const file = join(ws.dir, 'just-run.trace.json')
    const out = await writeReportFile([forkRun('D1'), forkRun('D4')], file, { probe: 'none' })
    expect(out.format).toBe('trace')
    expect(out.bytes).toBeGreaterThan(0)
    expect(JSON.parse(await readFile(file, 'utf8')).traceEvents.length).toBeGreaterThan(0)
  })

  it('refuses a name that says no report format, and writes nothing', async () => {
    const { writeReportFile } = await import('../../src/main/services/reports')
    const { readFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const file = join(ws.dir, 'just-run.pdf')
    await expect(writeReportFile([forkRun('D1')], file, { probe: 'none' })).rejects.toThrow(
      /just-run\.pdf: reports are written as html, json, csv or trace, not PDF/,
    )
    await expect(readFile(file)).rejects.toThrow(/ENOENT/)
  })
})
