/**
 * The stored-run fixtures are real runs of the simulator (test/fixtures/runs/make.ts), the files
 * on disk are what the simulator makes today (regenerate: npx tsx scripts/make-run-fixtures.ts),
 * and every layer tells the same story as the record: report totals equal the record's aggregates,
 * the stored status equals the record's outcome, expect lines lie in the user's file.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { documentFromRuns, renderCsv, renderHtml } from '../../src/main/services/reports'
import { RunStore } from '../../src/main/services/store/run-store'
import { compareRuns } from '../../src/main/services/compare'
import { StoredRecord, statusOfOutcome } from '../../src/shared/record'
import { ExperimentManifest, RunManifest, RunSeries } from '../../src/shared/runs'
import { DESIGNS, fixtureSets, forkExperiment, forkRuns, HOSTILE, stormRun } from '../fixtures/runs/make'

const base = join(__dirname, '..', 'fixtures', 'runs')

describe('stored-run fixtures', () => {
  it('are the simulator’s runs: the files on disk equal a fresh run', async () => {
    for (const set of fixtureSets()) {
      const store = new RunStore(join(base, set.name))
      for (const r of set.runs) {
        const disk = await store.getRun(r.manifest.id)
        expect(disk, `${set.name}/${r.manifest.id} (regenerate: npx tsx scripts/make-run-fixtures.ts)`).toEqual(JSON.parse(JSON.stringify(r)))
      }
      if (set.experiment) expect(await store.getExperiment(set.experiment.id)).toEqual(set.experiment)
    }
  }, 60_000)

  it('follow the contracts: one run per design, each valid', () => {
    const runs = forkRuns()
    expect(runs.map((r) => r.manifest.design)).toEqual([...DESIGNS])
    for (const r of [...runs, stormRun(), ...forkRuns(HOSTILE)]) {
      expect(RunManifest.safeParse(r.manifest).error).toBeUndefined()
      expect(StoredRecord.safeParse(r.result).error).toBeUndefined()
      expect(RunSeries.safeParse(r.series).error).toBeUndefined()
    }
    expect(ExperimentManifest.safeParse(forkExperiment(runs)).error).toBeUndefined()
  })

  it('the stored status is the record’s outcome and its metrics are the record’s', () => {
    for (const r of [...forkRuns(), stormRun()]) {
      const rec = StoredRecord.parse(r.result)
      expect(r.manifest.status).toBe(statusOfOutcome(rec.outcome))
      expect(r.manifest.metrics).toEqual(rec.metrics)
      expect(r.manifest.findings).toBe(rec.findings.total)
    }
  })

  it('expect lines lie in the user’s file, on an expect', () => {
    for (const r of forkRuns()) {
      const rec = StoredRecord.parse(r.result)
      const lines = r.manifest.scenario.text.split('\n')
      expect(rec.expects.rows.length).toBeGreaterThan(0)
      for (const e of rec.expects.rows) {
        expect(e.line, e.what).toBeGreaterThan(0)
        expect(lines[e.line - 1], `${r.manifest.id} line ${e.line}`).toMatch(/expect/)
      }
    }
  })
})

describe('the storm: more invalidations than the table keeps', () => {
  const run = stormRun()
  const rec = StoredRecord.parse(run.result)

  it('the record keeps the exact count and cost, and says how many rows the table dropped', () => {
    expect(rec.invalidations.dropped).toBeGreaterThan(0)
    expect(rec.invalidations.rows.t.length).toBe(rec.invalidations.total - rec.invalidations.dropped)
    expect(rec.aggregates.invalidations.count).toBe(rec.invalidations.total)
    const sum = (xs: { count: number }[]) => xs.reduce((s, x) => s + x.count, 0)
    for (const by of [
      rec.aggregates.invalidations.by,
      rec.aggregates.invalidations.byEvent,
      rec.aggregates.invalidations.byDevice,
      rec.aggregates.invalidations.byMechanism,
    ])
      expect(sum(by)).toBe(rec.aggregates.invalidations.count)
    // the events after the cap (the fork's, the exit's) are in the aggregates
    expect(rec.aggregates.invalidations.byEvent.map((s) => s.event)).toEqual(expect.arrayContaining(['CLEAR']))
    expect(rec.metrics.invalidation_count).toEqual({ value: rec.aggregates.invalidations.count, unit: 'count' })
  })

  it('HTML, CSV and compare report the record’s totals, not the table’s', async () => {
    const doc = await documentFromRuns('run', [run], { probe: 'none' })
    const html = renderHtml(doc)
    const count = rec.aggregates.invalidations.count
    expect(html).toContain(`<strong>${count}</strong> invalidations`)
    expect(html).toContain(`keeps ${count - rec.invalidations.dropped} of ${count} rows: ${rec.invalidations.dropped} dropped`)
    const csv = renderCsv(doc)
    expect(csv).toContain(`,invalidation,total,*,,count,${count},count`)
    expect(csv).toContain(`,invalidation,total,*,,total_ns,${rec.aggregates.invalidations.totalNs},ns`)
    expect(csv).toContain(`,table,invalidations,,,dropped,${rec.invalidations.dropped},count`)
    expect(csv).toContain(`,metric,invalidation_count,,,value,${count},count`)
    const fork = forkRuns()[0]!
    const c = compareRuns([run, fork].map((r) => ({ manifest: r.manifest, series: r.series, findings: [] })))
    expect(c.metrics.find((m) => m.name === 'invalidation_count')!.values[0]).toBe(count)
    expect(c.metrics.find((m) => m.name === 'invalidation_cost_ns')).toMatchObject({
      unit: 'ns',
      values: [rec.aggregates.invalidations.totalNs, expect.any(Number)],
    })
  })

  it('the storm fixture is the storm of the issue', () => {
    const text = readFileSync(join(base, 'storm.yaml'), 'utf8')
    expect(text).toContain('times: 3000')
    expect(rec.meta.scenario.text).toBe(text)
  })
})
