/** The hand-made fork fixtures satisfy the stored-run contracts the reports build on. */
import { describe, expect, it } from 'vitest'
import { RunResult, RunSeries } from '../../src/shared/run-result'
import { ExperimentManifest, RunManifest } from '../../src/shared/runs'
import { DESIGNS, forkExperiment, forkRuns, HOSTILE, T_CLOSE, T_EXIT } from '../fixtures/runs/fork'

describe('fork fixture runs', () => {
  const runs = forkRuns()

  it('has one run per design D1–D6, each valid against RunManifest, RunResult and RunSeries', () => {
    expect(runs.map((r) => r.manifest.design)).toEqual([...DESIGNS])
    for (const r of runs) {
      expect(RunManifest.safeParse(r.manifest).error).toBeUndefined()
      expect(RunResult.safeParse(r.result).error).toBeUndefined()
      expect(RunSeries.safeParse(r.series).error).toBeUndefined()
    }
    expect(ExperimentManifest.safeParse(forkExperiment(runs)).error).toBeUndefined()
  })

  it('is deterministic', () => {
    expect(JSON.stringify(forkRuns())).toBe(JSON.stringify(runs))
  })

  it('keeps its numbers consistent: leak byte-seconds = bytes × time held; series agree with the leak table', () => {
    for (const r of runs) {
      const result = RunResult.parse(r.result)
      for (const l of result.leaks) expect(l.byteSeconds).toBeCloseTo((l.bytes * ((l.until ?? result.endTime) - l.since)) / 1e9, 6)
      const leakedAtExit = Object.entries(r.series)
        .filter(([k]) => k.startsWith('leaked.'))
        .reduce((s, [, v]) => {
          const series = v as { t: number[]; v: number[] }
          const i = series.t.findLastIndex((t) => t <= T_EXIT)
          return s + (i >= 0 ? series.v[i]! : 0)
        }, 0)
      expect(leakedAtExit).toBe(result.leaks.reduce((s, l) => s + l.bytes, 0))
    }
    const d1 = RunResult.parse(runs[0]!.result)
    expect(d1.leaks.every((l) => l.until === T_CLOSE)).toBe(true)
  })

  it('the hostile variant is still a valid run', () => {
    for (const r of forkRuns(HOSTILE)) expect(RunResult.safeParse(r.result).error).toBeUndefined()
  })
})
