/**
 * The renderer's pure number crunchers, fuzzed with extreme values: the time axis and its ticks
 * and windows (lib/timeline.ts), level of detail and binning (lib/shape.ts), chart tick steps
 * (lib/ticks.ts) and the unit formatters (shared/units.ts, lib/format.ts). A view hands them
 * whatever a record, a zoom gesture or a canvas size gives (NaN, ±Infinity, -0, denormals, 1e308,
 * reversed windows): every call must return (run under `bounded`, so a loop that cannot end fails
 * with its input instead of hanging the run), and what it returns must be finite, ordered, inside
 * the window and of bounded size.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  axisTicks,
  chooseAxis,
  distinctTimes,
  makeAxis,
  multiplesIn,
  panWindow,
  timeTickValues,
  windowFromPixels,
  zoomWindow,
  type Axis,
  type AxisMode,
} from '../../../src/renderer/lib/timeline'
import { cdf, histogram, lodIndexes, lodScatterBudget, lodStep, quantile, stackSeries, thinCdf, unionGrid } from '../../../src/renderer/lib/shape'
import { logTicks, niceStep, unitStep } from '../../../src/renderer/lib/ticks'
import { BYTE_UNITS, byteUnitFor, formatQuantity, timeUnitFor } from '../../../src/shared/units'
import { formatDelta, formatEta, formatRatio } from '../../../src/renderer/lib/format'
import { bounded } from '../bounded'
import { fuzzParams } from '../fuzz-runs'

/** Any double, with the troublesome ones often. */
const anyNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 0.5, 5e-324, 1e-300, 1e-9, 999.9999, 999_999.9, 2 ** 53, 3.418e12, 1e21, 1e300, Number.MAX_VALUE, NaN, Infinity, -Infinity),
)
/** A run's end or a time in it (ns): 0 to a few hours, sometimes past what a float steps through exactly. */
const time = fc.oneof(fc.double({ min: 0, max: 1e13, noNaN: true }), fc.constantFrom(0, 1, 1e3, 1e9, 3.418e12, 2 ** 53, 1e18))
const modes = fc.constantFrom<AxisMode>('linear', 'log', 'events')
const eventTimes = fc.array(fc.oneof(time, anyNumber), { maxLength: 40 })
/** A sane view width in pixels. */
const width = fc.integer({ min: 1, max: 8000 })

/** An axis over a finite run, and a window in it (t0 < t1 on the axis, possibly tiny). */
const axisAndWindow = fc
  .tuple(modes, time, eventTimes, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([mode, end, events, a, b]) => {
    const axis = makeAxis(mode, end, events)
    const lo = Math.min(a, b)
    const hi = Math.max(a, b)
    return { axis, w: { t0: axis.t(lo), t1: axis.t(hi) }, desc: `${mode} end=${end} events=${JSON.stringify(events)} u=[${lo}, ${hi}]` }
  })
  .filter(({ w }) => w.t1 > w.t0)

const sortedFinite = (xs: readonly number[]): boolean => xs.every((x, i) => Number.isFinite(x) && (i === 0 || xs[i - 1]! <= x))

/** The window a view may show: finite, ordered, inside the run. */
function expectWindowIn(axis: Axis, w: { t0: number; t1: number }): void {
  expect(Number.isFinite(w.t0) && Number.isFinite(w.t1), `window ${w.t0}..${w.t1} is not finite`).toBe(true)
  expect(w.t0).toBeGreaterThanOrEqual(0)
  expect(w.t1).toBeLessThanOrEqual(axis.end)
  expect(w.t0).toBeLessThanOrEqual(w.t1)
}

describe('fuzz: the time axis (renderer/lib/timeline.ts)', () => {
  it('makeAxis: any end and event times give an axis whose u and t stay in range and never decrease', () => {
    fc.assert(
      fc.property(modes, fc.oneof(time, anyNumber), eventTimes, fc.array(anyNumber, { maxLength: 12 }), (mode, end, events, probes) => {
        const axis = bounded(`makeAxis(${mode}, ${end})`, () => makeAxis(mode, end, events))
        if (!(Number.isFinite(end) && end >= 0)) return // only: it returned
        expect(Number.isFinite(axis.end) && axis.end >= 1).toBe(true)
        const ts = probes.filter(Number.isFinite).sort((a, b) => a - b)
        const us = ts.map((t) => axis.u(t))
        for (const u of us) expect(u >= 0 && u <= 1, `u = ${u}`).toBe(true)
        expect(sortedFinite(us)).toBe(true)
        for (const u of [0, 1, ...probes.filter((p) => p >= 0 && p <= 1)]) {
          const t = axis.t(u)
          expect(t >= 0 && t <= axis.end, `t(${u}) = ${t} outside [0, ${axis.end}]`).toBe(true)
        }
      }),
      fuzzParams(),
    )
  })

  it('distinctTimes: strictly increasing, finite, 0 and the end included', () => {
    fc.assert(
      fc.property(eventTimes, time, (times, end) => {
        const ts = distinctTimes(times, end)
        expect(ts.length).toBeGreaterThanOrEqual(2)
        expect(ts[0] === 0).toBe(true) // -0 counts as 0
        expect(ts).toContain(end)
        for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!)
        expect(ts.length).toBeLessThanOrEqual(times.length + 2)
      }),
      fuzzParams(),
    )
  })

  it('multiplesIn: at most max + 1 values, strictly increasing, inside the window, for any input', () => {
    fc.assert(
      fc.property(anyNumber, anyNumber, anyNumber, fc.integer({ min: 0, max: 300 }), (t0, t1, step, max) => {
        const out = bounded(`multiplesIn(${t0}, ${t1}, ${step})`, () => multiplesIn(t0, t1, step, max))
        expect(out.length).toBeLessThanOrEqual(max + 1)
        for (let i = 1; i < out.length; i++) expect(out[i]!).toBeGreaterThan(out[i - 1]!)
        for (const t of out) expect(Number.isFinite(t)).toBe(true)
      }),
      fuzzParams(),
    )
  })

  it('timeTickValues: returns for any numbers; in a real window the ticks are sorted, inside and gap pixels apart', () => {
    fc.assert(
      fc.property(modes, fc.oneof(time, anyNumber), eventTimes, anyNumber, anyNumber, anyNumber, anyNumber, (mode, end, events, t0, t1, w, gap) => {
        const axis = makeAxis(mode, end, events)
        const out = bounded(`timeTickValues(${mode}, ${t0}, ${t1}, ${w}, ${gap})`, () => timeTickValues(axis, t0, t1, w, gap))
        expect(out.length).toBeLessThanOrEqual(events.length + 1000)
      }),
      fuzzParams(),
    )
    fc.assert(
      fc.property(axisAndWindow, width, fc.integer({ min: 8, max: 200 }), ({ axis, w }, px, gap) => {
        const out = bounded('timeTickValues', () => timeTickValues(axis, w.t0, w.t1, px, gap))
        expect(sortedFinite(out)).toBe(true)
        for (const t of out) expect(t >= w.t0 && t <= w.t1).toBe(true)
        // kept ticks are at least `gap` pixels apart on a `px` wide view
        expect(out.length).toBeLessThanOrEqual(Math.floor(px / gap) + 1)
      }),
      fuzzParams(),
    )
  })

  it('axisTicks: at most about n + 1 ticks, each inside the view and the window', () => {
    fc.assert(
      fc.property(axisAndWindow, width, fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }), ({ axis, w, desc }, px, n) => {
        const out = bounded(`axisTicks(${desc}, ${px}, ${n})`, () => axisTicks(axis, w, px, n))
        const want = n ?? Math.max(2, Math.floor(px / 110))
        expect(out.length).toBeLessThanOrEqual(2 * want + 2)
        for (const { x, t } of out) {
          expect(Number.isFinite(x) && Number.isFinite(t), `tick x=${x} t=${t}`).toBe(true)
          expect(x).toBeGreaterThanOrEqual(-1e-6 * px)
          expect(x).toBeLessThanOrEqual(px * (1 + 1e-6))
        }
      }),
      fuzzParams(),
    )
  })

  it('axisTicks: any width and tick count return a bounded list', () => {
    fc.assert(
      fc.property(axisAndWindow, anyNumber, fc.option(anyNumber, { nil: undefined }), ({ axis, w, desc }, px, n) => {
        const out = bounded(`axisTicks(${desc}, width ${px}, n ${n})`, () => axisTicks(axis, w, px, n))
        expect(out.length).toBeLessThanOrEqual(1001)
      }),
      fuzzParams(),
    )
  })

  it('zoomWindow, panWindow, windowFromPixels: any factor, fraction or pixels keep the window finite and inside the run', () => {
    fc.assert(
      fc.property(axisAndWindow, anyNumber, anyNumber, anyNumber, anyNumber, anyNumber, ({ axis, w }, factor, at, fraction, x0, x1) => {
        expectWindowIn(axis, zoomWindow(axis, w, factor, at))
        expectWindowIn(axis, panWindow(axis, w, fraction))
        expectWindowIn(axis, windowFromPixels(axis, w, x0, x1, 800))
      }),
      fuzzParams(),
    )
  })

  it('chooseAxis: any times and end give a mode, a sentence and a quiet stretch inside the run', () => {
    fc.assert(
      fc.property(eventTimes, fc.oneof(time, anyNumber), (times, end) => {
        const c = bounded(`chooseAxis(${end})`, () => chooseAxis(times, end))
        expect(['linear', 'events']).toContain(c.mode)
        expect(c.why.length).toBeGreaterThan(0)
        if (Number.isFinite(end)) {
          expect(c.quiet.t0).toBeLessThanOrEqual(c.quiet.t1)
          expect(c.quiet.share >= 0 && c.quiet.share <= 1).toBe(true)
        }
      }),
      fuzzParams(),
    )
  })
})

/** A sorted float64 grid with its band (tops ≥ values ≥ 0). */
const band = fc.array(fc.tuple(time, fc.double({ min: 0, max: 1e12, noNaN: true })), { maxLength: 400 }).map((pairs) => {
  pairs.sort((a, b) => a[0] - b[0])
  return { grid: Float64Array.from(pairs, (p) => p[0]), tops: Float32Array.from(pairs, (p) => p[1]), values: Float32Array.from(pairs, (p) => p[1]) }
})

describe('fuzz: level of detail and binning (renderer/lib/shape.ts)', () => {
  it('lodIndexes and lodStep: any window (reversed, infinite, NaN) gives increasing indexes within the budget', () => {
    fc.assert(
      fc.property(band, anyNumber, anyNumber, fc.integer({ min: 1, max: 50 }), ({ grid, tops, values }, x0, x1, buckets) => {
        const idx = bounded(`lodIndexes(${x0}, ${x1}, ${buckets})`, () => lodIndexes(grid, tops, values, x0, x1, buckets))
        expect(idx.length).toBeLessThanOrEqual(Math.max(4 * buckets, 4 * (buckets + 2)))
        for (let k = 0; k < idx.length; k++) {
          expect(idx[k]! >= 0 && idx[k]! < grid.length).toBe(true)
          if (k > 0) expect(idx[k]!).toBeGreaterThan(idx[k - 1]!)
        }
        const pts = bounded(`lodStep(${x0}, ${x1}, ${buckets})`, () => lodStep(grid, tops, values, x0, x1, buckets))
        expect(pts.length).toBeLessThanOrEqual(idx.length + 2)
      }),
      fuzzParams(),
    )
  })

  it('lodScatterBudget: any window, grid and budget return a subset of the points', () => {
    const points = fc.array(fc.record({ x: anyNumber, y: anyNumber }), { maxLength: 300 })
    fc.assert(
      fc.property(points, anyNumber, anyNumber, anyNumber, anyNumber, anyNumber, fc.boolean(), (ps, x0, x1, cols, rows, budget, logY) => {
        const out = bounded(`lodScatterBudget(${x0}, ${x1}, ${cols}, ${rows}, ${budget})`, () =>
          lodScatterBudget(ps, x0, x1, cols, rows, { sorted: false, logY }, budget),
        )
        expect(out.length).toBeLessThanOrEqual(ps.length)
        const set = new Set(ps)
        for (const p of out) expect(set.has(p)).toBe(true)
      }),
      fuzzParams(),
    )
  })

  it('histogram: finite values are all counted once, in bins of increasing finite edges', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (values, bins) => {
        const h = bounded(`histogram(${bins})`, () => histogram(values, bins))
        expect(h.counts.reduce((a, b) => a + b, 0)).toBe(values.length)
        expect(sortedFinite(h.edges), `edges ${h.edges.join(', ')}`).toBe(true)
        expect(h.counts.length).toBeLessThanOrEqual(bins)
      }),
      fuzzParams(),
    )
  })

  it('histogram, cdf, quantile, thinCdf, unionGrid, stackSeries: any numbers (NaN, ±Infinity) return bounded results', () => {
    fc.assert(
      fc.property(
        fc.array(anyNumber, { maxLength: 200 }),
        fc.array(anyNumber, { maxLength: 200 }),
        anyNumber,
        fc.integer({ min: 0, max: 64 }),
        (a, b, q, maxPoints) => {
          const h = bounded('histogram', () => histogram(a))
          expect(h.counts.length).toBeLessThanOrEqual(30)
          const c = bounded('cdf', () => cdf(a))
          expect(c.length).toBeLessThanOrEqual(a.length)
          bounded('quantile', () => quantile(a, q))
          const sorted = c.filter((p) => Number.isFinite(p.x))
          const thin = bounded(`thinCdf(${maxPoints})`, () => thinCdf(sorted, maxPoints))
          expect(thin.length).toBeLessThanOrEqual(Math.max(sorted.length, 0))
          const series = { t: [...a].sort((x, y) => x - y), v: a }
          const other = { t: [...b].sort((x, y) => x - y), v: b }
          const grid = bounded('unionGrid', () => unionGrid([series, other]))
          expect(grid.length).toBeLessThanOrEqual(a.length + b.length)
          const st = bounded('stackSeries', () => stackSeries({ 'memory.a': series, 'memory.b': other }, 'memory.'))
          expect(st.grid.length).toBeLessThanOrEqual(a.length + b.length)
          for (let i = 1; i < st.grid.length; i++) expect(st.grid[i]!).toBeGreaterThan(st.grid[i - 1]!)
        },
      ),
      fuzzParams(),
    )
  })
})

describe('fuzz: chart ticks (renderer/lib/ticks.ts)', () => {
  it('logTicks: any min and max give at most a few sorted powers, or the two ends', () => {
    fc.assert(
      fc.property(anyNumber, anyNumber, fc.constantFrom<2 | 10>(2, 10), (min, max, base) => {
        const out = bounded(`logTicks(${min}, ${max}, ${base})`, () => logTicks(min, max, base))
        expect(out.length).toBeLessThanOrEqual(9)
        if (out.length > 0) expect(sortedFinite(out), `ticks ${out.join(', ')}`).toBe(true)
      }),
      fuzzParams(),
    )
  })

  it('niceStep and unitStep: a finite step above zero for any finite positive range', () => {
    fc.assert(
      fc.property(anyNumber, fc.integer({ min: 1, max: 50 }), anyNumber, (range, parts, scale) => {
        const s = niceStep(range, parts)
        expect(Number.isFinite(s) && s > 0, `niceStep(${range}, ${parts}) = ${s}`).toBe(true)
        const u = unitStep(range, scale)
        if (u !== undefined) expect(Number.isFinite(u) && u > 0, `unitStep(${range}, ${scale}) = ${u}`).toBe(true)
      }),
      fuzzParams(),
    )
  })
})

describe('fuzz: unit formatters (shared/units.ts, renderer/lib/format.ts)', () => {
  const units = fc.constantFrom('bytes', 'byte_seconds', 'ns', 'fraction', 'count', '', 'x')

  it('formatQuantity: every number gives a short string without NaN, Infinity or undefined', () => {
    fc.assert(
      fc.property(units, fc.oneof(anyNumber, fc.constantFrom(null, undefined)), fc.integer({ min: 1, max: 21 }), (unit, value, digits) => {
        const s = bounded(`formatQuantity(${unit}, ${value}, ${digits})`, () => formatQuantity(unit, value, digits))
        expect(typeof s).toBe('string')
        expect(s.length).toBeGreaterThan(0)
        expect(s.length).toBeLessThanOrEqual(40)
        expect(s).not.toMatch(/NaN|Infinity|undefined/)
        if (value === null || value === undefined || !Number.isFinite(value)) expect(s).toBe('\u2014')
      }),
      fuzzParams(),
    )
  })

  it('byteUnitFor and timeUnitFor: a known unit and a finite scale for any number', () => {
    fc.assert(
      fc.property(anyNumber, (v) => {
        const b = bounded(`byteUnitFor(${v})`, () => byteUnitFor(v))
        expect(BYTE_UNITS).toContain(b.unit)
        expect(Number.isFinite(b.scale)).toBe(true)
        const t = timeUnitFor(v)
        expect(['ns', 'µs', 'ms', 's']).toContain(t.unit)
      }),
      fuzzParams(),
    )
  })

  it('formatDelta, formatRatio, formatEta: any number reads as a value or a dash, never NaN or a dangling sign', () => {
    fc.assert(
      fc.property(units, anyNumber, (unit, v) => {
        for (const s of [formatDelta(unit, v), formatRatio(v), formatEta(v)]) {
          expect(s).not.toMatch(/NaN|Infinity|undefined/)
          expect(s).not.toMatch(/^[+−-]\u2014$/)
        }
      }),
      fuzzParams(),
    )
  })
})
