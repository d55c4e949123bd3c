/**
 * Scenario files, fuzzed: random text, random JSON, and mutations of the shipped scenarios
 * (lines deleted, duplicated, swapped, truncated, values replaced). Parsing must either succeed or
 * throw a ScenarioError whose every line names the file and a line number; a scenario that parses
 * must run to an end (bounded) without throwing.
 */
import fc from 'fast-check'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ScenarioError, parseScenario, runScenario } from '../../src/sim'
import { FUZZ_RUNS } from './fuzz-runs'

const root = join(__dirname, '../../scenarios')
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : /\.(ya?ml|json)$/.test(e.name) ? [join(dir, e.name)] : [],
  )
const shipped = walk(root).map((path) => ({ name: relative(root, path), text: readFileSync(path, 'utf8') }))

function checkParse(text: string, fileName: string): ReturnType<typeof parseScenario> | undefined {
  try {
    return parseScenario(text, fileName)
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError)
    for (const line of (err as ScenarioError).message.split('\n'))
      expect(line).toMatch(new RegExp(`^${fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?: \\(.*\\))?:\\d+: `))
    expect((err as ScenarioError).line).toBeGreaterThanOrEqual(1)
    return undefined
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    value: fc.oneof(fc.string(), fc.constantFrom('-1', '0', '1e300', 'null', '[]', '{}', '64T', 'D9', '"', ':', '- -', '&a *a', '!!binary x')),
  }),
)

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

function mutate(text: string, steps: Mutation[]): string {
  let lines = text.split('\n')
  for (const m of steps) {
    const i = lines.length ? m.at % lines.length : 0
    if (m.kind === 'delete') lines.splice(i, 1)
    else if (m.kind === 'duplicate') lines.splice(i, 0, lines[i] ?? '')
    else if (m.kind === 'swap') {
      const j = lines.length ? m.with % lines.length : 0
      ;[lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? '']
    } else if (m.kind === 'truncate') lines = lines.slice(0, i)
    else {
      const line = lines[i] ?? ''
      const colon = line.lastIndexOf(':')
      lines[i] = colon >= 0 ? `${line.slice(0, colon + 1)} ${m.value}` : m.value
    }
  }
  return lines.join('\n')
}

describe('fuzz: scenario files', () => {
  it('random text and random JSON never crash the parser', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ name: 'x', steps: v })),
        ),
        (text) => {
          checkParse(text, 'random.yaml')
        },
      ),
      { numRuns: FUZZ_RUNS },
    )
  })

  it('mutated shipped scenarios parse or fail with file and line; those that parse run to an end', () => {
    expect(shipped.length).toBeGreaterThan(0)
    fc.assert(
      fc.property(fc.constantFrom(...shipped), fc.array(mutation, { minLength: 1, maxLength: 4 }), (file, steps) => {
        const sc = checkParse(mutate(file.text, steps), file.name)
        if (!sc) return
        const design = sc.designs?.[0] ?? 'D4'
        const result = runScenario(sc, { design, seed: 1, maxEvents: 200_000 })
        expect(['passed', 'expects_failed', 'stopped']).toContain(result.outcome.status)
      }),
      { numRuns: Math.max(20, Math.floor(FUZZ_RUNS / 4)) },
    )
  })
})
