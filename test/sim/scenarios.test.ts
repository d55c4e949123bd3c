import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, runSweep, scenarioDesigns } from '../../src/sim/index'
import { RunResultSchema } from '../../src/shared/result'
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
        const failed = r.expects.filter((e) => !e.pass).map((e) => `line ${e.line}: ${e.label}: ${e.details.join('; ')}`)
        expect(failed).toEqual([])
        expect(r.status).toBe('passed')
        expect(r.expects.length).toBeGreaterThan(0)
        expect(RunResultSchema.safeParse(r).success).toBe(true)
      })
      if ((sc.seeds ?? 1) > 1 && (sc.sweep_expect ?? []).length > 0) {
        it(`${f} meets its sweep expectations under ${d}`, () => {
          const { sweep } = runSweep(sc, d, sc.seed ?? 1, sc.seeds ?? 1)
          expect(sweep.expects.filter((e) => !e.pass)).toEqual([])
        })
      }
    }
  }
})
