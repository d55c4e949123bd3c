import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { deltaClass, differs, filterRuns, metricDirection, openingSeries, orderMetrics } from '../../src/renderer/lib/compare'
import { compareRuns } from '../../src/main/services/compare'
import type { RunManifest } from '../../src/shared/runs'

describe('comparing metrics', () => {
  it('knows which way is better for leaks, costs and hits, and not for counters', () => {
    expect(metricDirection('leak_byte_seconds')).toBe('lower')
    expect(metricDirection('invalidation_cost_ns')).toBe('lower')
    expect(metricDirection('peak_bytes.pages')).toBe('lower')
    expect(metricDirection('iotlb_hits')).toBe('higher')
    expect(metricDirection('counter.invalidate.CLEAR')).toBe('neutral')
    expect(metricDirection('simulated_ns')).toBe('neutral')
  })
  it('colours a change as better only when it is an improvement', () => {
    expect(deltaClass('leak_byte_seconds', -5)).toBe('better')
    expect(deltaClass('leak_byte_seconds', 5)).toBe('worse')
    expect(deltaClass('iotlb_hits', -5)).toBe('worse')
    expect(deltaClass('counter.fork', -5)).toBe('changed')
    expect(deltaClass('counter.fork', 0)).toBe('same')
    expect(deltaClass('leak_byte_seconds', null)).toBe('same')
  })
  it('puts the key metrics first and finds the rows that differ', () => {
    const rows = [{ name: 'counter.x' }, { name: 'invalidation_count' }, { name: 'zeta' }, { name: 'leak_byte_seconds' }]
    expect(orderMetrics(rows).map((r) => r.name)).toEqual(['leak_byte_seconds', 'invalidation_count', 'counter.x', 'zeta'])
    expect(differs({ values: [1, 1, 1] })).toBe(false)
    expect(differs({ values: [1, 2] })).toBe(true)
    expect(differs({ values: [1, null] })).toBe(true)
  })
  it('searches stored runs by id, scenario, design and seed', () => {
    const runs = [
      { id: 'exp.001-d1-s1', scenario: { name: 'fork after mirror' }, design: 'D1', seed: 1 },
      { id: 'exp.002-d4-s2', scenario: { name: 'fork after mirror' }, design: 'D4', seed: 2 },
      { id: 'other', scenario: { name: 'storm' }, design: 'D4', seed: 1 },
    ]
    expect(filterRuns(runs, 'fork d4').map((r) => r.id)).toEqual(['exp.002-d4-s2'])
    expect(filterRuns(runs, 'seed 1').map((r) => r.id)).toEqual(['exp.001-d1-s1', 'other'])
    expect(filterRuns(runs, '  ')).toHaveLength(3)
  })
})

describe('the series Compare opens on', () => {
  const FORK = join(import.meta.dirname, '..', 'fixtures', 'runs', 'fork', 'runs')
  const fork = (design: string) => {
    const dir = join(FORK, `a-fork-after-mirror-${design}-s1`)
    return {
      manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as RunManifest,
      series: JSON.parse(readFileSync(join(dir, 'series.json'), 'utf8')) as Record<string, unknown>,
      findings: [],
    }
  }
  const runs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, label: '', design: 'D1', seed: 1, parameters: {} }))
  const series = (name: string, ...values: (number | null)[][]) => ({ name, t: values[0]!.map((_, i) => i), values })

  it('the stored fork runs D1 and D2: the leak of 64 MiB of pages, not the first name in the alphabet', () => {
    const c = compareRuns([fork('D1'), fork('D2')])
    expect(c.series[0]!.name).toBe('leaked.cpu_pagetable')
    const o = openingSeries(c)!
    expect(o.name).toBe('leaked.pages')
    expect(o.why).toBe('of memory held for owners that are gone, the series that differs most between these 2 runs')
  })

  it('live memory when nothing held for gone owners differs; ties go to the record’s order of object types', () => {
    const c = {
      runs: runs(2),
      series: [
        series('leaked.pages', [0, 5], [0, 5]),
        series('memory.gpu_pagetable', [0, 8], [0, 4]),
        series('memory.pages', [0, 8], [0, 4]),
        series('memory.vma', [1, 1], [1, 2]),
      ],
    }
    expect(openingSeries(c)).toEqual({
      name: 'memory.pages',
      why: 'no series of memory held for gone owners differs; of live memory, the series that differs most between these 2 runs',
    })
  })

  it('a series one run lacks differs by its values', () => {
    const c = { runs: runs(2), series: [series('leaked.mm_struct', [0, 64], [0, 64]), series('leaked.vma', [0, 200], [null, null])] }
    expect(openingSeries(c)!.name).toBe('leaked.vma')
  })

  it('no series differs: the live memory series that holds the most bytes, and says so', () => {
    const c = {
      runs: runs(3),
      series: [
        series('leaked.gpu_pagetable', [0, 2], [0, 2], [0, 2]),
        series('memory.mm_struct', [1, 1], [1, 1], [1, 1]),
        series('memory.pages', [0, 9], [0, 9], [0, 9]),
      ],
    }
    expect(openingSeries(c)).toEqual({
      name: 'memory.pages',
      why: 'no series differs between these 3 runs; this is the live memory series that holds the most bytes',
    })
    expect(openingSeries({ runs: runs(2), series: [] })).toBeUndefined()
  })
})
