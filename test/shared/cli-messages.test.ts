/**
 * The examples our messages and docs give must be real: a sweep path shown in an error or in the
 * sweep builder's placeholder sweeps a shipped scenario; a scenario id offered as an example is a
 * shipped file; a percentage shown in the docs is the one the CLI prints. Errors name the flag or
 * field, the bad value as written, and the real limit.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ParamPath, parseSweepArg } from '../../src/shared/sweep'
import { planRuns } from '../../src/shared/plan'
import { labRoutes, SCENARIO_ID_EXAMPLES } from '../../src/shared/contracts/lab'
import { loadWithParameters } from '../../src/main/services/sim-binding'
import { formatFraction } from '../../src/shared/units'

const root = join(__dirname, '..', '..')
const forkFile = join(root, 'scenarios/thread-2014/a-fork-after-mirror.yaml')

/** A value each documented leaf accepts. */
const SAMPLE: Record<string, number | boolean> = { tlb_entries: 64, iotlb_entries: 64, ats: false }

function firstMessage(result: { success: boolean; error?: { issues: { message: string }[] } }): string {
  expect(result.success).toBe(false)
  return result.error!.issues[0]!.message
}

describe('documented sweep paths', () => {
  const pathMessage = firstMessage(ParamPath.safeParse('bad key'))
  const placeholder = /placeholder="seed or ([^"]+)" :data-testid="`sweep-param-/.exec(
    readFileSync(join(root, 'src/renderer/views/ExperimentsView.vue'), 'utf8'),
  )?.[1]
  const sweepDoc = readFileSync(join(root, 'src/shared/sweep.ts'), 'utf8').split('*/')[0]!
  const examples = [...new Set([...`${pathMessage} ${placeholder ?? ''} ${sweepDoc}`.matchAll(/\bmachine(\.[A-Za-z0-9_]+)+/g)].map((m) => m[0]))]

  it('are found in the error text, the placeholder and the module comment', () => {
    expect(placeholder).toBeDefined()
    expect(examples.length).toBeGreaterThanOrEqual(2)
  })

  it('each sweeps a shipped scenario (parsed as a --sweep argument, applied and validated)', () => {
    const text = readFileSync(forkFile, 'utf8')
    for (const path of examples) {
      const leaf = path.split('.').pop()!
      expect(SAMPLE, `no sample value for ${path}`).toHaveProperty(leaf)
      const [key, values] = parseSweepArg(`${path}=${String(SAMPLE[leaf])}`)
      expect(key).toBe(path)
      const loaded = loadWithParameters(text, forkFile, { [key]: (values as (number | boolean)[])[0]! })
      let node: unknown = loaded
      for (const part of path.split('.')) node = (node as Record<string, unknown>)[part]
      expect(node, path).toBe(SAMPLE[leaf])
    }
  })
})

describe('--sweep messages name the flag, the value and the limit', () => {
  it('a range that goes down', () => {
    expect(() => parseSweepArg('seed=8..1')).toThrow('--sweep "seed=8..1": the range goes down (8..1); a range goes up, e.g. seed=1..8')
  })

  it('a seed that is not an integer 0..2^32-1', () => {
    expect(() => parseSweepArg('seed=abc')).toThrow('--sweep "seed=abc": seed "abc" is not an integer 0..4294967295')
    expect(() => parseSweepArg('seed=1,2.5')).toThrow('seed "2.5" is not an integer 0..4294967295')
    expect(() => parseSweepArg('seed=1..4294967296')).toThrow('seed "4294967296" is not an integer')
    expect(parseSweepArg('seed=0,4294967295')).toEqual(['seed', [0, 4294967295]])
  })

  it('the planner names a bad seed as given, not NaN', () => {
    expect(() => planRuns({ sets: [{ seed: 'abc' }], designs: ['D1'], seed: 1, seeds: 1 })).toThrow('seed "abc" is not an integer 0..4294967295')
  })
})

describe('experiments.start messages', () => {
  const input = labRoutes['experiments.start'].input

  it('the seed limit is 0..2^32-1, said so', () => {
    for (const seed of [1e300, -1, 2 ** 32, 1.5])
      expect(firstMessage(input.safeParse({ scenarioId: SCENARIO_ID_EXAMPLES[0], seed })), String(seed)).toContain('0..4294967295')
    expect(input.safeParse({ scenarioId: SCENARIO_ID_EXAMPLES[0], seed: 2 ** 32 - 1 }).success).toBe(true)
  })

  it('a bad scenarioId is answered with ids of shipped scenarios', () => {
    const message = firstMessage(input.safeParse({ scenarioId: 'fork-leak.yaml' }))
    for (const id of SCENARIO_ID_EXAMPLES) {
      expect(message).toContain(id)
      expect(existsSync(join(root, 'scenarios', id.slice('builtin:'.length))), id).toBe(true)
    }
  })

  it('neither or both of scenarioId and scenario: says which', () => {
    expect(firstMessage(input.safeParse({}))).toMatch(/give exactly one of scenarioId .* or scenario .*; neither was given/)
    expect(firstMessage(input.safeParse({ scenarioId: SCENARIO_ID_EXAMPLES[0], scenario: { text: 'name: x', fileName: 'x.yaml' } }))).toContain(
      'both were given',
    )
  })
})

describe('docs/scenarios.md', () => {
  it('shows the sweep fraction as the CLI prints it', () => {
    const doc = readFileSync(join(root, 'docs/scenarios.md'), 'utf8')
    const shown = [...doc.matchAll(/in (\d+)\/(\d+) seeds \(([\d.]+%)\)/g)]
    expect(shown.length).toBeGreaterThan(0)
    for (const [, hits, seeds, percent] of shown) expect(percent).toBe(formatFraction(Number(hits) / Number(seeds)))
  })

  it('docs/probe.md points only at files of the repository', () => {
    expect(readFileSync(join(root, 'docs/probe.md'), 'utf8')).not.toMatch(/project\s+notes|shared\/probe\.md/)
  })
})
