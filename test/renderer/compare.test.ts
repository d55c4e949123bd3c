import { describe, expect, it } from 'vitest'
import { deltaClass, differs, filterRuns, metricDirection, orderMetrics } from '../../src/renderer/lib/compare'

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
