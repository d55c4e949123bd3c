/**
 * The kernel's hmm-tests replayed in the simulator: every scenario under scenarios/selftests must
 * pass all its expects, and docs/fidelity.md must describe exactly the files present.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RunRecord } from '../../src/shared/record'
import { COST_DEFAULTS, COST_NAMES, parseScenario, runScenario, scenarioDesigns } from '../../src/sim/index'
import { COHERENT_SUFFIX, fidelityRows, KERNEL_TESTS, runSelftest, selftestFiles, SELFTEST_DIR } from './helpers'

const PASSES = 'passes'
const CANNOT = 'cannot be expressed yet'

describe('scenarios/selftests: every expect passes', () => {
  const files = selftestFiles()
  it('there are selftest scenarios', () => {
    expect(files.length).toBeGreaterThan(0)
  })
  for (const name of files) {
    it(`${name}.yaml passes its expects`, () => {
      const runs = runSelftest(name)
      expect(runs.length).toBeGreaterThan(0)
      for (const r of runs) {
        expect(r.failed, `${name} under ${r.design}`).toEqual([])
        expect(r.result.outcome.status).toBe('passed')
        expect(r.result.expects.rows.length).toBeGreaterThan(0)
        expect(RunRecord.safeParse(r.result).success).toBe(true)
      }
    })
  }
})

describe('docs/fidelity.md matches scenarios/selftests', () => {
  const rows = fidelityRows()
  const files = selftestFiles()
  it('has one row per kernel test, in the kernel order', () => {
    expect(rows.map((r) => r.name)).toEqual([...KERNEL_TESTS])
  })
  it('every status is "passes" or "cannot be expressed yet"', () => {
    for (const r of rows) expect([PASSES, CANNOT], r.name).toContain(r.status)
  })
  it('every file has a row, and its row says "passes" (the "Coherent variant" cell for <test>.coherent.yaml)', () => {
    for (const f of files) {
      const coherent = f.endsWith(COHERENT_SUFFIX)
      const base = coherent ? f.slice(0, -COHERENT_SUFFIX.length) : f
      const row = rows.find((r) => r.name === base)
      expect(row, `${f}.yaml has no row in docs/fidelity.md`).toBeDefined()
      expect(coherent ? row?.coherent : row?.status, f).toBe(PASSES)
    }
  })
  it('the "Coherent variant" cell says "passes" exactly when <test>.coherent.yaml exists, else gives a reason', () => {
    for (const r of rows) {
      const has = files.includes(r.name + COHERENT_SUFFIX)
      if (has) expect(r.coherent, r.name).toBe(PASSES)
      else {
        expect(r.coherent, r.name).not.toBe(PASSES)
        expect(r.coherent.length, `${r.name}: the coherent cell gives no reason`).toBeGreaterThan(10)
      }
    }
  })
  it('every "passes" row has a file that passes', () => {
    for (const r of rows.filter((x) => x.status === PASSES)) {
      expect(existsSync(join(SELFTEST_DIR, `${r.name}.yaml`)), `${r.name}.yaml missing`).toBe(true)
      for (const run of runSelftest(r.name)) expect(run.failed, `${r.name} under ${run.design}`).toEqual([])
    }
  })
  it('the summary counts the passing tests and coherent variants', () => {
    const doc = readFileSync('docs/fidelity.md', 'utf8')
    const pass = rows.filter((r) => r.status === PASSES).length
    const coh = rows.filter((r) => r.coherent === PASSES).length
    expect(doc).toContain(`**Summary: ${pass} of ${KERNEL_TESTS.length} pass**`)
    expect(doc).toContain(`${coh} coherent variants pass`)
  })
  it('every "cannot be expressed yet" row gives a reason and has no file', () => {
    for (const r of rows.filter((x) => x.status === CANNOT)) {
      expect(files, r.name).not.toContain(r.name)
      expect(r.cells.join(' ').length, r.name).toBeGreaterThan(r.name.length + CANNOT.length + 40)
    }
  })
})

describe('scenarios/selftests: results do not depend on the cost model', () => {
  // every time cost (unit ns) scaled by a random factor in [0.1, 10]; hmm_timeout is the kernel's
  // HMM_RANGE_DEFAULT_TIMEOUT (a constant of the code under test, not a cost), counts stay as they are
  const timeCosts = COST_NAMES.filter((n) => COST_DEFAULTS[n].unit === 'ns' && n !== 'hmm_timeout')
  function perturbed(seed: number): Record<string, number> {
    let a = seed >>> 0
    const rnd = (): number => {
      a = (a * 1664525 + 1013904223) >>> 0
      return a / 4294967296
    }
    const out: Record<string, number> = {}
    for (const n of timeCosts) out[n] = Math.max(1, Math.round(COST_DEFAULTS[n].value * 10 ** (rnd() * 2 - 1)))
    return out
  }
  for (const name of selftestFiles()) {
    it(`${name}.yaml passes under 2 perturbed cost models`, () => {
      const file = join(SELFTEST_DIR, `${name}.yaml`)
      const base = parseScenario(readFileSync(file, 'utf8'), file)
      for (const k of [1, 2]) {
        const costs = perturbed(k * 7919)
        const sc = { ...base, costs: { ...(base.costs ?? {}), ...costs } }
        for (const design of scenarioDesigns(sc)) {
          const r = runScenario(sc, { design })
          const failed = r.expects.rows
            .filter((e) => !e.passed)
            .map(
              (e) =>
                `line ${e.line}: ${e.what}: ${e.checks
                  .filter((c) => !c.passed)
                  .map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`)
                  .join('; ')}`,
            )
          expect(failed, `${name} under ${design}, costs ${JSON.stringify(costs)}`).toEqual([])
        }
      }
    })
  }
})
