/**
 * Inputs the renderer-libs fuzzing found (renderer-libs.fuzz.test.ts), each as a plain example:
 * what hung, crashed or came out wrong, and what it must give now. A call that hung runs under
 * `bounded`, so a regression fails instead of hanging the run.
 */
import { describe, expect, it } from 'vitest'
import { axisTicks, makeAxis, multiplesIn, timeTickValues, windowFromPixels, zoomWindow } from '../../../src/renderer/lib/timeline'
import { bounded } from '../bounded'

const MAX = Number.MAX_VALUE

describe('renderer/lib/timeline.ts', () => {
  it('log-axis ticks of a window ending at Infinity return (they counted decades for ever)', () => {
    const ticks = bounded('timeTickValues', () => timeTickValues(makeAxis('log', 0), 0, Infinity, 0, 0))
    expect(ticks.length).toBeLessThanOrEqual(1000)
    expect(timeTickValues(makeAxis('log', 1e4), 0, 1e4, 1000, 64)).toEqual([0, 1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000])
  })

  it('axisTicks with an absurd tick count or width returns at most 1001 ticks (it looped n times)', () => {
    const axis = makeAxis('linear', 0)
    expect(bounded('axisTicks', () => axisTicks(axis, { t0: 0, t1: 5e-324 }, 0, 3.418e12)).length).toBeLessThanOrEqual(1001)
    expect(bounded('axisTicks', () => axisTicks(makeAxis('log', 1e9), { t0: 0, t1: 1e9 }, Infinity)).length).toBeLessThanOrEqual(1001)
    // a count of 0 cut the window into 0 parts: NaN positions
    for (const { x, t } of axisTicks(makeAxis('log', 1e9), { t0: 0, t1: 1e9 }, 800, 0)) expect(Number.isFinite(x) && Number.isFinite(t)).toBe(true)
  })

  it("the log axis's t(1) is the run's end, not past it (expm1(log1p(x)) rounds)", () => {
    const axis = makeAxis('log', 3_418_000_000_000)
    expect(axis.t(1)).toBeLessThanOrEqual(3_418_000_000_000)
    expect(axis.t(1)).toBeGreaterThan(3_417_999_999_999)
  })

  it('a zoom anchored far outside the window, or by an overflowing factor, is a finite window in the run (it was NaN)', () => {
    const axis = makeAxis('linear', 0)
    const w = zoomWindow(axis, { t0: 0, t1: 2.2274599169279797e-171 }, 4.489418608165842e170, -MAX)
    expect(Number.isFinite(w.t0) && Number.isFinite(w.t1) && w.t0 <= w.t1).toBe(true)
    const out = zoomWindow(makeAxis('linear', 1e9), { t0: 0, t1: 1e6 }, Infinity)
    expect(out).toEqual({ t0: 0, t1: 1e9 })
    // an ordinary zoom is unchanged: half the width around the centre
    expect(zoomWindow(makeAxis('linear', 1000), { t0: 0, t1: 1000 }, 0.5)).toEqual({ t0: 250, t1: 750 })
  })

  it('a drag from and to the left of the view is an empty window at its start, not a reversed one', () => {
    const axis = makeAxis('linear', 0)
    const w = windowFromPixels(axis, { t0: 5e-324, t1: 1e-323 }, -Infinity, -Infinity, 800)
    expect(w.t0).toBeLessThanOrEqual(w.t1)
    expect(windowFromPixels(makeAxis('linear', 800), { t0: 0, t1: 800 }, 100, 300, 800)).toEqual({ t0: 100, t1: 300 })
    expect(windowFromPixels(makeAxis('linear', 800), { t0: 0, t1: 800 }, NaN, NaN, 800)).toEqual({ t0: 0, t1: 800 })
  })

  it('multiplesIn never returns an infinite time', () => {
    expect(multiplesIn(-8.881784197001252e-16, 0, 5e-324, 0)).toEqual([])
    expect(multiplesIn(-Infinity, 0, 5e-324, 0)).toEqual([])
    expect(multiplesIn(0, MAX, MAX, 2)).toEqual([0, MAX])
    expect(multiplesIn(0, 10, 2)).toEqual([0, 2, 4, 6, 8, 10])
  })
})
