import { describe, expect, it } from 'vitest'
import { cdf, lodScatter, lodScatterBudget, thinCdf } from '../../src/renderer/lib/shape'

describe('scatter level of detail', () => {
  const n = 200_000
  let s = 11
  const rand = (): number => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  const pts = Array.from({ length: n }, (_, i) => ({ x: i * 10, y: 100 + rand() * 1000, i })).map((p) => (p.i === 123_456 ? { ...p, y: 1e7 } : p))

  it('keeps at most one point per cell, the extremes, and only the visible range', () => {
    const all = lodScatter(pts, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 400, 150, { sorted: true })
    expect(all.length).toBeLessThanOrEqual(400 * 150)
    expect(all.length).toBeLessThan(n / 3)
    expect(all.some((p) => p.y === 1e7)).toBe(true)
    // The lowest point's cell is drawn: a kept point within one cell (of 150 over the y spread) of it.
    const ymin = pts.reduce((m, q) => Math.min(m, q.y), Number.POSITIVE_INFINITY)
    const keptMin = all.reduce((m, q) => Math.min(m, q.y), Number.POSITIVE_INFINITY)
    expect(keptMin - ymin).toBeLessThanOrEqual((1e7 - ymin) / 150)
    for (let i = 1; i < all.length; i++) expect(all[i]!.x).toBeGreaterThanOrEqual(all[i - 1]!.x)
    // Every point kept is a real point, unchanged (its index survives for the details panel).
    expect(all.every((p) => pts[p.i] === p)).toBe(true)
    // A zoom: only that range, whole when it holds few points.
    const zoom = lodScatter(pts, 5000, 5990, 400, 150, { sorted: true })
    expect(zoom.map((p) => p.x)).toEqual(Array.from({ length: 100 }, (_, k) => 5000 + k * 10))
  })

  it('unsorted points on log axes: non-positive ones are dropped from the reduction, the range is honoured', () => {
    const logPts = pts.map((p) => ({ x: 1 + ((p.i * 7919) % 100_000), y: p.y, i: p.i }))
    logPts.push({ x: 0, y: 5, i: -1 })
    const got = lodScatter(logPts, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 100, 50, { sorted: false, logX: true, logY: true })
    expect(got.length).toBeLessThanOrEqual(100 * 50)
    expect(got.some((p) => p.x <= 0)).toBe(false)
    expect(got.some((p) => p.y === 1e7)).toBe(true)
  })

  it('timeline lanes as rows: every lane keeps its events, long slices are all kept', () => {
    const ev = Array.from({ length: 50_000 }, (_, i) => ({ x: i, y: i % 4, ...(i % 1000 === 0 ? { x2: i + 5000 } : {}) }))
    const got = lodScatter(ev, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 200, 4, { sorted: true, rowOf: (p) => p.y })
    expect(new Set(got.map((p) => p.y))).toEqual(new Set([0, 1, 2, 3]))
    expect(got.filter((p) => p.x2 !== undefined)).toHaveLength(50)
    expect(got.length).toBeLessThanOrEqual(200 * 4 + 50)
  })

  it('a dense cloud is brought within the point budget with bigger cells; the outlier stays', () => {
    const cloud = pts.map((p) => ({ ...p, y: p.i === 123_456 ? 2500 : p.y }))
    const dense = lodScatter(cloud, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 400, 150, { sorted: true })
    expect(dense.length).toBeGreaterThan(2000)
    const got = lodScatterBudget(cloud, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 400, 150, { sorted: true }, 2000)
    expect(got.length).toBeLessThanOrEqual(2000)
    expect(got.length).toBeGreaterThan(100)
    expect(got.some((p) => p.y === 2500)).toBe(true)
    // Within budget already: unchanged.
    expect(lodScatterBudget(cloud, 5000, 5990, 400, 150, { sorted: true }, 2000)).toHaveLength(100)
  })

  it('thins a CDF and keeps its ends', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => 1 + ((i * 7919) % 50_000))
    const full = cdf(values)
    const thin = thinCdf(full, 500, true)
    expect(thin.length).toBeLessThanOrEqual(1002)
    expect(thin[0]).toEqual(full[0])
    expect(thin[thin.length - 1]).toEqual(full[full.length - 1])
    for (let i = 1; i < thin.length; i++) expect(thin[i]!.y).toBeGreaterThan(thin[i - 1]!.y)
    expect(thinCdf(full.slice(0, 10), 500)).toEqual(full.slice(0, 10))
  })
})
