/** The experiment view's pure parts: units from the record, per-design rows, zeros on a log axis, seeds that changed nothing. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RunManifest } from '../../src/shared/runs'
import {
  RANDOM_DESIGNS,
  RANDOM_STEPS,
  axisUnit,
  designBars,
  designRows,
  isDesignOnly,
  metricUnit,
  randomStepsIn,
  seedNote,
  zeroLines,
} from '../../src/renderer/lib/experiment'
import { unitStep } from '../../src/renderer/lib/ticks'
import { integerTicks, integerValues } from '../../src/renderer/lib/experiment'

const run = (
  design: string,
  seed: number,
  bs: number,
  opts: { parameters?: Record<string, number>; status?: RunManifest['status']; text?: string; id?: string } = {},
): RunManifest =>
  ({
    id: opts.id ?? `${design}-s${seed}`,
    design,
    seed,
    status: opts.status ?? 'passed',
    parameters: opts.parameters ?? {},
    scenario: { name: 's', fileName: 's.yaml', hash: '0'.repeat(64), text: opts.text ?? 'name: s\nsteps: []\n' },
    metrics: {
      leak_byte_seconds: { value: bs, unit: 'byte_seconds' },
      leaked_bytes_peak: { value: bs * 2, unit: 'bytes' },
      invalidation_cost_ns: { value: 1500, unit: 'ns' },
    },
    expects: { passed: 3, failed: 1 },
    findings: 0,
  }) as unknown as RunManifest

describe('experiment view', () => {
  it('takes the unit from the record and scales the axis to it', () => {
    const runs = [run('D1', 1, 5 * 2 ** 20)]
    expect(metricUnit(runs, 'leak_byte_seconds')).toBe('byte_seconds')
    expect(metricUnit(runs, 'invalidation_cost_ns')).toBe('ns')
    expect(metricUnit(runs, 'nope')).toBeUndefined()
    expect(axisUnit('byte_seconds', 5 * 2 ** 20)).toEqual({ scale: 2 ** 20, words: 'MiB·s' })
    expect(axisUnit('bytes', 3000)).toEqual({ scale: 1024, words: 'KiB' })
    expect(axisUnit('ns', 2_500_000)).toEqual({ scale: 1e6, words: 'ms' })
    expect(axisUnit('count', 7)).toEqual({ scale: 1, words: 'count' })
  })

  it('a design-only experiment gets one bar per design and one row per design', () => {
    const runs = [run('D3', 1, 0), run('D1', 1, 100), run('D2', 1, 7, { status: 'crashed' })]
    expect(isDesignOnly(runs)).toBe(true)
    expect(isDesignOnly([run('D1', 1, 1), run('D1', 2, 1)])).toBe(false)
    expect(isDesignOnly([run('D1', 1, 1, { parameters: { x: 1 } }), run('D1', 1, 1, { parameters: { x: 2 } })])).toBe(false)
    // crashed runs have no numbers to draw
    expect(designBars(runs, 'leak_byte_seconds')).toEqual([
      { design: 'D1', value: 100 },
      { design: 'D3', value: 0 },
    ])
    const t = designRows(runs)
    expect(t.rows.map((r) => r.label)).toEqual(['D1', 'D2', 'D3'])
    expect(t.rows[0]!.values.leak_byte_seconds).toEqual({ value: 100, unit: 'byte_seconds' })
    expect(t.rows[0]!.expects).toEqual({ passed: 3, total: 4 })
    expect(t.more).toBe(0)
    // labels name what differs, and the table says how many rows it left out
    const many = [run('D1', 1, 1), run('D1', 2, 1), run('D4', 1, 1)]
    const capped = designRows(many, 2)
    expect(capped.rows.map((r) => r.label)).toEqual(['D1, seed 1', 'D1, seed 2'])
    expect(capped.more).toBe(1)
  })

  it('names the designs at 0, which a logarithmic axis cannot draw', () => {
    expect(
      zeroLines([
        { design: 'D1', points: [{ y: 1 }, { y: 0 }] },
        { design: 'D3', points: [{ y: 0 }, { y: 0 }] },
        { design: 'D5', points: [] },
      ]),
    ).toEqual(['D3'])
  })

  it('says when every seed gave the same result, and whether the scenario has randomness', () => {
    expect(seedNote([run('D1', 1, 5), run('D4', 1, 9)])).toBeUndefined()
    const same = seedNote([run('D1', 1, 5), run('D1', 2, 5), run('D1', 3, 5), run('D4', 1, 9), run('D4', 2, 9)])
    expect(same).toEqual({ seeds: 3, groups: 2, identical: true, randomSources: [] })
    const differ = seedNote([run('D1', 1, 5), run('D1', 2, 6)])
    expect(differ?.identical).toBe(false)
    // unfinished runs do not count as a seed that agreed
    expect(seedNote([run('D1', 1, 5), run('D1', 2, 0, { status: 'crashed' })])).toBeUndefined()
    const text = 'name: s\nsteps:\n  - random_access: { task: A, region: r, count: 10 }\n'
    expect(seedNote([run('D1', 1, 5, { text }), run('D1', 2, 5, { text })])?.randomSources).toEqual(['random_access'])
    expect(seedNote([run('B2', 1, 5), run('B2', 2, 5)])?.randomSources).toEqual(['design B2'])
    expect(randomStepsIn('steps:\n  - { invalidation_storm: { task: A } }\n')).toEqual(['invalidation_storm'])
    expect(randomStepsIn('name: random_access_demo\nsteps: []\n')).toEqual([])
  })

  it('knows every place the simulator draws random numbers', () => {
    // Every `rng.` call in src/sim (besides the generator itself) is in a step or a design the list names.
    const files: string[] = []
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f)
        if (statSync(p).isDirectory()) walk(p)
        else if (p.endsWith('.ts')) files.push(p)
      }
    }
    walk(join(__dirname, '../../src/sim'))
    const uses = files.filter((f) => !f.endsWith('engine/rng.ts') && /\brng\.(int|chance|float|u32|pick)\(/.test(readFileSync(f, 'utf8')))
    expect(uses.map((f) => f.slice(f.indexOf('src/sim/'))).sort()).toEqual(['src/sim/scenario/steps.ts', 'src/sim/teardown/broken.ts'])
    const steps = readFileSync(join(__dirname, '../../src/sim/scenario/steps.ts'), 'utf8')
    // each rng use in steps.ts sits in the generator of a listed step
    const fns = [...steps.matchAll(/function\* (\w+)\([^)]*\)[^{]*\{([\s\S]*?)\n\}/g)].filter((m) => /\brng\./.test(m[2]!)).map((m) => m[1])
    expect(fns.sort()).toEqual(['randomAccess', 'storm'])
    // …the generators of the steps random_access and invalidation_storm
    expect(steps).toMatch(/\*random_access\([\s\S]*?randomAccess\(/)
    expect(steps).toMatch(/\*invalidation_storm\([\s\S]*?storm\(/)
    expect(RANDOM_STEPS).toEqual(['random_access', 'invalidation_storm'])
    expect(/id === 'B1'[\s\S]*B2[\s\S]*rng\.int/.test(readFileSync(join(__dirname, '../../src/sim/teardown/broken.ts'), 'utf8'))).toBe(true)
    expect(RANDOM_DESIGNS).toEqual(['B2'])
  })
})

describe('the metric axis (experiment-charts metricAxis)', () => {
  it('steps in round numbers of the unit shown, not of the raw unit', () => {
    const MiB = 2 ** 20
    // 667.6 MiB·s: steps of 200 MiB·s (Chart.js alone chose 10^8 byte-seconds: 95.37 MiB·s)
    expect(unitStep(667.6 * MiB, MiB)! / MiB).toBe(200)
    expect(unitStep(64 * MiB, MiB)! / MiB).toBe(20)
    expect(unitStep(292_000, 1000)! / 1000).toBe(50)
    // counts never step by less than one
    expect(unitStep(3, 1, 1)).toBe(1)
    // nothing to cut: Chart.js chooses
    expect(unitStep(0, 1)).toBeUndefined()
  })
})

describe('the seed-sweep axis (review 8 #14)', () => {
  const lines = (xs: (number | string)[]) => [{ points: xs.map((x) => ({ x })) }]
  it('draws whole seeds only: Chart.js’s ticks between two seeds (1.5, 2.5) are dropped', () => {
    expect(integerValues(lines([1, 2, 3]))).toBe(true)
    const axis = { ticks: [1, 1.5, 2, 2.5, 3].map((value) => ({ value })) }
    integerTicks(axis)
    expect(axis.ticks.map((t) => t.value)).toEqual([1, 2, 3])
  })
  it('a parameter with fractional values keeps every tick', () => {
    expect(integerValues(lines([0.5, 1, 1.5]))).toBe(false)
    expect(integerValues(lines(['a', 'b']))).toBe(false)
  })
})
