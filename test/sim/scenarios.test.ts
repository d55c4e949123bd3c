import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, scenarioDesigns } from '../../src/sim/index'
import { RunRecord, statusOfOutcome } from '../../src/shared/record'
import { planRuns, summarizeSweep } from '../../src/shared/plan'
import { read, shippedScenarios } from './helpers'

describe('shipped scenarios', () => {
  const files = shippedScenarios()
  it('there are shipped scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(4)
  })
  for (const f of files) {
    const sc = parseScenario(read(f), f)
    for (const d of scenarioDesigns(sc)) {
      it(`${f} passes its expects under ${d}`, () => {
        const r = runScenario(sc, { design: d })
        const failed = r.expects.rows
          .filter((e) => !e.passed)
          .map((e) => `line ${e.line}: ${e.what}: ${e.checks.map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`).join('; ')}`)
        expect(failed).toEqual([])
        expect(r.outcome.status).toBe('passed')
        expect(r.expects.rows.length).toBeGreaterThan(0)
        expect(RunRecord.safeParse(r).success).toBe(true)
        // a bound on a hang, not on speed: mirror-under-load alone takes 30 s and more on a busy machine
      }, 600_000)
      if ((sc.seeds ?? 1) > 1 && (sc.sweep_expect ?? []).length > 0) {
        it(`${f} meets its sweep expectations under ${d}`, () => {
          const runs = planRuns({ sets: [{}], designs: [d], seed: sc.seed ?? 1, seeds: sc.seeds ?? 1 }).map((p) => {
            const r = runScenario(sc, { design: d, seed: p.seed })
            return { ...p, status: statusOfOutcome(r.outcome), findingKinds: r.findings.rows.map((f) => f.kind) }
          })
          const sweep = summarizeSweep(runs, sc.sweep_expect ?? [])
          expect(sweep.checks.filter((e) => !e.passed)).toEqual([])
          expect(sweep.checks.length).toBeGreaterThan(0)
        }, 600_000)
      }
    }
  }
})
