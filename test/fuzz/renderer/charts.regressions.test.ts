/**
 * Inputs the renderer-libs fuzzing found (renderer-libs.fuzz.test.ts), each as a plain example:
 * what hung, crashed or came out wrong, and what it must give now. A call that hung runs under
 * `bounded`, so a regression fails instead of hanging the run.
 */
import { describe, expect, it } from 'vitest'
import { histogram, lodIndexes, lodScatterBudget, lodStep, thinCdf } from '../../../src/renderer/lib/shape'
import { logTicks, niceStep, unitStep } from '../../../src/renderer/lib/ticks'
import { bounded } from '../bounded'

const MAX = Number.MAX_VALUE

describe('renderer/lib/shape.ts', () => {
  const g = Float64Array.from([0, 0, 0])
  const v = Float32Array.from([0, 0, 0])

  it('a window that ends before it starts has no points (it threw RangeError: Invalid typed array length: -1)', () => {
    expect(lodIndexes(g, v, v, 999.9999, 0, 1)).toHaveLength(0)
    expect(lodStep(g, v, v, 999.9999, 0, 1)).toEqual([])
    const grid = Float64Array.from([0, 10, 20, 30])
    const tops = Float32Array.from([1, 2, 3, 4])
    expect(Array.from(lodIndexes(grid, tops, tops, 5, 25))).toEqual([0, 1, 2, 3])
  })

  it('lodScatterBudget with a grid of Infinity or -Infinity cells returns (it looped for ever, or threw RangeError)', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ x: i, y: i % 7 }))
    expect(bounded('lodScatterBudget', () => lodScatterBudget(points, 0, 100, Infinity, 10, { sorted: true }, 10)).length).toBeLessThanOrEqual(100)
    expect(bounded('lodScatterBudget', () => lodScatterBudget([], 0, 0, -Infinity, -1, { sorted: false }, 0))).toEqual([])
  })

  it('histogram counts values near both ends of the doubles (one was lost to a NaN bin) and keeps its edges finite', () => {
    const h = histogram([2.0956323250114558e293, -1.7976931348623137e308], 1)
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(2)
    expect(h.edges.every(Number.isFinite)).toBe(true)
    const wide = histogram([-MAX, 0], 14)
    expect(wide.edges.every(Number.isFinite)).toBe(true)
    const tiny = histogram([0, 2e-323], 6)
    for (let i = 1; i < tiny.edges.length; i++) expect(tiny.edges[i]!).toBeGreaterThanOrEqual(tiny.edges[i - 1]!)
    expect(histogram([1, 2, 3, 4], 2)).toEqual({ edges: [1, 2.5, 4], counts: [2, 2], log: false })
  })

  it('thinCdf never draws a single point twice', () => {
    expect(thinCdf([{ x: 0, y: 1 }], 0)).toEqual([{ x: 0, y: 1 }])
  })
})

describe('renderer/lib/ticks.ts', () => {
  it('logTicks up to Infinity returns (it counted powers for ever), and no tick is Infinity', () => {
    expect(bounded('logTicks', () => logTicks(1e-9, Infinity, 2))).toEqual([])
    expect(logTicks(2.0437404783801895e295, 1.7976931336161026e308, 2).every(Number.isFinite)).toBe(true)
    expect(logTicks(1, 1000, 10)).toEqual([1, 10, 100, 1000])
  })

  it('niceStep and unitStep give a finite step above zero, or leave it to Chart.js', () => {
    expect(niceStep(5e-324)).toBeGreaterThan(0)
    expect(Number.isFinite(niceStep(MAX, 1))).toBe(true)
    expect(niceStep(Infinity)).toBe(1)
    expect(unitStep(5e-324, Infinity)).toBeUndefined()
    expect(niceStep(100)).toBe(20)
  })
})
