/** The counter registry (src/shared/counters.ts): complete for what the simulator counts, and enforced by the parser. */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COUNTERS, COUNTER_NAMES, nearestNames } from '../../src/shared/counters'
import { parseScenario, ScenarioError } from '../../src/sim/index'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

describe('counter registry', () => {
  it('names every counter the simulator counts', () => {
    const counted = new Set<string>()
    for (const f of sources(join(__dirname, '../../src/sim'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\.count\(\s*'([^']+)'/g)) counted.add(m[1]!)
    }
    expect(counted.size).toBeGreaterThan(20)
    expect([...counted].filter((c) => !Object.hasOwn(COUNTERS, c))).toEqual([])
    expect(COUNTER_NAMES).toContain('invalidate.PROTECTION_PAGE')
  })

  it('a misspelled counter is refused at parse time with its line and the nearest names', () => {
    const text = ['name: typo', 'steps:', '  - spawn: { task: A }', '  - expect: { counter: { name: invalidate.PROTECTON_PAGE, value: 1 } }', ''].join('\n')
    let err: unknown
    try {
      parseScenario(text, 'typo.yaml')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ScenarioError)
    expect((err as ScenarioError).line).toBe(4)
    expect((err as Error).message).toContain(
      'typo.yaml:4: steps[1].expect.counter.name: unknown counter "invalidate.PROTECTON_PAGE"; nearest known: invalidate.PROTECTION_PAGE',
    )
    expect(nearestNames('hmm_range_falt', COUNTER_NAMES)[0]).toBe('hmm_range_fault')
  })
})
