/** The Timeline's projections: record → lanes/slices/flows/refcount series, the axes, the shared window, LOD, the log. */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'
import { readFileSync } from 'node:fs'
import {
  axisTicks,
  axisTimes,
  chooseAxis,
  distinctTimes,
  eventTimes,
  filterLog,
  laneBoxes,
  logEvents,
  makeAxis,
  multiplesIn,
  panWindow,
  QUIET_SHARE,
  refcountSeries,
  stepPoints,
  timeTickValues,
  timelineModel,
  tracksCsv,
  valueAt,
  windowFromPixels,
  windowsDiffer,
  xOf,
  zoomWindow,
  type TimelineModel,
} from '../../src/renderer/lib/timeline'
import { formatUnit } from '../../src/shared/units'

const FORK = 'scenarios/thread-2014/a-fork-after-mirror.yaml'
const record = runScenario(parseScenario(readFileSync(FORK, 'utf8'), FORK), { design: 'D1' })

describe('record → timeline model', () => {
  it('keeps every slice on its lane, in start order, with names and categories from the dictionaries', () => {
    const m = timelineModel(record)
    const tl = record.timeline!
    expect(m.t0.length).toBe(tl.slices.t0.length)
    expect(m.lanes).toBe(tl.lanes)
    expect(m.byLane.flat().length).toBe(m.t0.length)
    for (const [li, list] of m.byLane.entries()) {
      for (let k = 0; k < list.length; k++) {
        expect(m.lane[list[k]!]).toBe(li)
        if (k > 0) expect(m.t0[list[k]!]!).toBeGreaterThanOrEqual(m.t0[list[k - 1]!]!)
      }
    }
    const i = m.name.indexOf('fork')
    expect(m.cat[i]).toBe('step')
    expect(m.lanes[m.lane[i]!]!.id).toBe('task:A')
    expect(m.flows.length).toBe(tl.flows.from.length)
    expect(m.cats).toEqual(expect.arrayContaining(['step', 'invalidate', 'device_tlb', 'iommu']))
  })

  it('a record made before timelines gives an empty model, not an error', () => {
    const m = timelineModel({ outcome: record.outcome })
    expect(m.lanes).toEqual([])
    expect(m.t0.length).toBe(0)
    expect(refcountSeries(undefined)).toEqual([])
  })

  it('refcount series are the record rows per track; the value at a time is the last change before it', () => {
    const s = refcountSeries(record.refcounts)
    const users = s.find((x) => x.object === 'mm of A' && x.counter === 'mm_users')!
    expect(users.v).toEqual([1, 2, 3, 2, 1, 2, 1, 0])
    expect(users.final).toBe(0)
    expect(valueAt(users, users.t[0]! - 1)).toBeUndefined()
    expect(valueAt(users, users.t[1]!)).toBe(2)
    expect(valueAt(users, (users.t[1]! + users.t[2]!) / 2)).toBe(2)
    expect(valueAt(users, record.outcome.simulatedNs)).toBe(0)
  })
})

describe('axes', () => {
  it('linear maps the run onto 0..1 and back', () => {
    const a = makeAxis('linear', 1000)
    expect(a.u(250)).toBe(0.25)
    expect(a.t(0.25)).toBe(250)
  })

  it('logarithmic gives the first microsecond of a 10 s run a visible share and inverts', () => {
    const a = makeAxis('log', 10e9)
    expect(a.u(1000)).toBeGreaterThan(0.25)
    expect(makeAxis('linear', 10e9).u(1000)).toBeLessThan(1e-6)
    for (const t of [0, 1, 999, 1e6, 5e9, 10e9]) expect(a.t(a.u(t))).toBeCloseTo(t, -Math.log10(Math.max(1, t)) + 6)
  })

  it('events only spaces distinct event times equally and interpolates between them', () => {
    const a = makeAxis('events', 1000, [10, 10, 20, 900])
    // 0, 10, 20, 900, 1000 → five ranks
    expect(distinctTimes([10, 10, 20, 900], 1000)).toEqual([0, 10, 20, 900, 1000])
    expect(a.u(10)).toBeCloseTo(0.25)
    expect(a.u(20)).toBeCloseTo(0.5)
    expect(a.u(460)).toBeCloseTo(0.625)
    expect(a.t(0.75)).toBeCloseTo(900)
    expect(a.t(a.u(15))).toBeCloseTo(15)
  })
})

describe('tick times of the charts on a non-linear axis', () => {
  const end = 10.232e9
  it('events only: the event times themselves, never closer than the gap', () => {
    const times = [300, 600, 900, 1200, 16.4e6, 16.5e6, 18.8e6, 20.5e6, 120.5e6, 10.12e9, 10.13e9]
    const a = makeAxis('events', end, times)
    const px = (t: number): number => a.u(t) * 1000
    const ticks = timeTickValues(a, 0, end, 1000, 70)
    expect(ticks[0]).toBe(0)
    for (const t of ticks) expect(a.knots).toContain(t)
    for (let i = 1; i < ticks.length; i++) expect(px(ticks[i]!) - px(ticks[i - 1]!)).toBeGreaterThanOrEqual(70)
    // the first 121 ms and the last 0.1 s both get ticks: the width is spread, not two slivers
    expect(ticks.filter((t) => t < 121e6).length).toBeGreaterThanOrEqual(4)
    expect(ticks.some((t) => t >= 10.12e9)).toBe(true)
  })

  it('log: 0 and powers of ten inside the window, round times when zoomed within a decade', () => {
    const a = makeAxis('log', end)
    const ticks = timeTickValues(a, 0, end, 1000, 70)
    expect(ticks[0]).toBe(0)
    expect(ticks).toContain(1e3)
    expect(ticks).toContain(1e9)
    const zoomed = timeTickValues(a, 2e6, 3e6, 800, 70)
    expect(zoomed.length).toBeGreaterThanOrEqual(3)
    for (const t of zoomed) expect(t >= 2e6 && t <= 3e6).toBe(true)
  })

  it('events only zoomed between two event times: round times in the window', () => {
    const a = makeAxis('events', end, [1e6, 9e9])
    const ticks = timeTickValues(a, 2e9, 4e9, 800, 70)
    expect(ticks.length).toBeGreaterThanOrEqual(3)
    for (const t of ticks) expect(t >= 2e9 && t <= 4e9).toBe(true)
  })
})

describe('round times deep in a long run', () => {
  // A window 2 ps wide at 3418 s (events only, zoomed in between two close events): floating point
  // cannot step through multiples of so small a step that far from 0. The tick loop used to spin
  // for ever on it, freezing the page.
  const [t0, t1] = [3418684433740.813, 3418684433740.815]
  it('timeTickValues ends and keeps its ticks inside the window', () => {
    const a = makeAxis('events', 2 * 3418684433740.811, [3418684433740.811, 3418684433740.815])
    const ticks = timeTickValues(a, t0, t1, 800, 70)
    expect(ticks.length).toBeGreaterThanOrEqual(1)
    for (const t of ticks) expect(t >= t0 && t <= t1).toBe(true)
  })
  it('multiplesIn gives distinct multiples, at most the cap, and none for a step that is not a number', () => {
    const m = multiplesIn(t0, t1, 0.0005)
    expect(m.length).toBeLessThanOrEqual(257)
    for (let i = 1; i < m.length; i++) expect(m[i]!).toBeGreaterThan(m[i - 1]!)
    expect(multiplesIn(0, 10, 2)).toEqual([0, 2, 4, 6, 8, 10])
    expect(multiplesIn(0, 1e9, 1, 10)).toHaveLength(11)
    expect(multiplesIn(0, 10, 0)).toEqual([])
    expect(multiplesIn(0, 10, Number.NaN)).toEqual([])
  })
})

describe('the axis a run opens on', () => {
  it('says nothing of repeated slices for times that are not slices (Compare)', () => {
    const times = [0, 1, 2, 3, 100]
    expect(chooseAxis(times, 100).why).toContain('a slice repeated back to back counts once')
    const c = chooseAxis(times, 100, undefined, false)
    expect(c.mode).toBe('events')
    expect(c.why).not.toContain('slice')
  })

  it('the 2014 fork run (events in its first 121 ms and at 10.1 s) opens on events only, and says why', () => {
    const m = timelineModel(record)
    const c = chooseAxis(eventTimes(m, record.refcounts, record.markers.rows), record.outcome.simulatedNs)
    expect(c.mode).toBe('events')
    expect(c.quiet.share).toBeGreaterThan(0.95)
    expect(c.why).toMatch(/^nothing happens from 120\.5 ms to 10\.12 s \(98% of the run\), so each event time gets an equal share/)
  })

  it('events spread over the run open linear; one quiet stretch over half the run opens events only', () => {
    const even = Array.from({ length: 50 }, (_, i) => i * 20)
    expect(chooseAxis(even, 1000).mode).toBe('linear')
    expect(chooseAxis(even, 1000).why).toMatch(/longest stretch without one is 2% of it/)
    // the threshold: a quiet stretch of exactly half stays linear, a little more does not
    expect(QUIET_SHARE).toBe(0.5)
    expect(chooseAxis([100, 200, 300, 800], 1000).mode).toBe('linear')
    expect(chooseAxis([100, 200, 300, 801], 1000).mode).toBe('events')
    // the run's end counts: a 10 s run whose events all sit in its first millisecond
    expect(chooseAxis([1, 2, 3, 1e6], 10e9).mode).toBe('events')
  })

  it('too few event times stay linear; a record that dropped slices says the quiet may be the cap', () => {
    expect(chooseAxis([], 1000).mode).toBe('linear')
    expect(chooseAxis([5, 5, 5, 7], 1000).why).toBe('the run has too few event times to spread')
    const c = chooseAxis([1, 2, 3, 4, 1000], 1000, { slices: 4, total: 9 })
    expect(c.mode).toBe('events')
    expect(c.why).toMatch(/^no kept event from 4 ns to 1 µs \(100% of the run; the record keeps the first 4 of 9 slices\)/)
  })

  it('on events only a burst of the same slice counts once: the fork run’s 512 faults leave room for the fork and its invalidations', () => {
    const m = timelineModel(record)
    const all = eventTimes(m, record.refcounts, record.markers.rows)
    const axisT = axisTimes(m, record.refcounts, record.markers.rows)
    const faults = m.name.filter((x) => x === 'fault').length
    expect(faults).toBeGreaterThan(500)
    expect(distinctTimes(axisT, record.outcome.simulatedNs).length).toBeLessThan(50)
    const end = record.outcome.simulatedNs
    const fork = m.name.indexOf('fork')
    const zap = m.name.indexOf('device_pt_zap')
    // every time spaced equally: the faults take the width, the fork is pushed past 90% of it
    expect(makeAxis('events', end, all).u(m.t0[fork]!)).toBeGreaterThan(0.9)
    // repeats counted once: the fork and its device invalidation sit in the middle
    const a = makeAxis('events', end, axisT)
    expect(a.u(m.t0[fork]!)).toBeGreaterThan(0.2)
    expect(a.u(m.t0[fork]!)).toBeLessThan(0.5)
    expect(a.u(m.t0[zap]!)).toBeLessThan(0.6)
    // the burst keeps its own stretch of the width, in time order
    const first = m.name.indexOf('fault', m.name.indexOf('device_read'))
    const last = m.name.lastIndexOf('fault')
    expect(a.u(m.t1[last]!)).toBeGreaterThan(a.u(m.t0[first]!))
  })

  it('event times are the slice starts and ends, refcount changes and markers', () => {
    const m = timelineModel(record)
    const ts = eventTimes(m, record.refcounts, record.markers.rows)
    expect(ts.length).toBe(2 * m.t0.length + record.refcounts!.rows.t.length + record.markers.rows.length)
  })
})

describe('the shared window', () => {
  const axis = makeAxis('linear', 1000)
  it('zooms around a point and never leaves the run', () => {
    const w = zoomWindow(axis, { t0: 0, t1: 1000 }, 0.5, 0.5)
    expect(w).toEqual({ t0: 250, t1: 750 })
    const edge = zoomWindow(axis, { t0: 0, t1: 1000 }, 0.5, 0)
    expect(edge.t0).toBe(0)
    expect(edge.t1).toBe(500)
    const out = zoomWindow(axis, w, 10)
    expect(out).toEqual({ t0: 0, t1: 1000 })
  })

  it('pans by a fraction of the window and stops at the ends', () => {
    const near = (w: { t0: number; t1: number }, t0: number, t1: number): void => {
      expect(w.t0).toBeCloseTo(t0, 6)
      expect(w.t1).toBeCloseTo(t1, 6)
    }
    near(panWindow(axis, { t0: 200, t1: 400 }, 0.5), 300, 500)
    near(panWindow(axis, { t0: 100, t1: 300 }, -1), 0, 200)
    near(panWindow(axis, { t0: 800, t1: 1000 }, 1), 800, 1000)
  })

  it('a dragged range of pixels is a window in time, on any axis', () => {
    expect(windowFromPixels(axis, { t0: 0, t1: 1000 }, 300, 100, 1000)).toEqual({ t0: 100, t1: 300 })
    const log = makeAxis('log', 1e9)
    const w = windowFromPixels(log, { t0: 0, t1: 1e9 }, 0, 500, 1000)
    expect(w.t1).toBeCloseTo(Math.sqrt(1e9 + 1) - 1, 0)
    expect(xOf(log, { t0: 0, t1: 1e9 }, w.t1, 1000)).toBeCloseTo(500)
  })

  it('windows that differ by less than a thousandth are the same (no ping-pong between views)', () => {
    expect(windowsDiffer({ t0: 0, t1: 1000 }, { t0: 0.5, t1: 1000 })).toBe(false)
    expect(windowsDiffer({ t0: 0, t1: 1000 }, { t0: 5, t1: 1000 })).toBe(true)
    expect(windowsDiffer(null, null)).toBe(false)
  })

  it('ticks are spread over the view', () => {
    const t = axisTicks(axis, { t0: 0, t1: 1000 }, 440, 4)
    expect(t.map((x) => x.t)).toEqual([0, 250, 500, 750, 1000])
    expect(t[4]!.x).toBe(440)
    // a linear axis ticks at round times: a 10.23 s run at 0, 2, 4, 6, 8, 10 s
    const run = makeAxis('linear', 10.23e9)
    const r = axisTicks(run, { t0: 0, t1: 10.23e9 }, 1000, 6)
    expect(r.map((x) => x.t / 1e9)).toEqual([0, 2, 4, 6, 8, 10])
    expect(r[5]!.x).toBeCloseTo((1000 * 10) / 10.23)
    // a window inside the run starts at its first round time
    expect(axisTicks(run, { t0: 1.3e9, t1: 2.1e9 }, 1000, 4).map((x) => Math.round(x.t / 1e6))).toEqual([1400, 1600, 1800, 2000])
  })
})

describe('level of detail', () => {
  it('10,000 slices of one lane become at most about one box per pixel, and zooming in gives them back', () => {
    const n = 10000
    const m = { t0: new Float64Array(n), t1: new Float64Array(n) } as Pick<TimelineModel, 't0' | 't1'>
    for (let i = 0; i < n; i++) {
      m.t0[i] = i * 100
      m.t1[i] = i * 100 + 50
    }
    const idx = [...Array(n).keys()]
    const axis = makeAxis('linear', n * 100)
    const all = laneBoxes(m, idx, axis, { t0: 0, t1: n * 100 }, 800)
    expect(all.length).toBeLessThanOrEqual(800)
    expect(all.reduce((s, b) => s + b.count, 0)).toBe(n)
    const zoomed = laneBoxes(m, idx, axis, { t0: 0, t1: 1000 }, 800)
    expect(zoomed.map((b) => b.count)).toEqual(Array(11).fill(1))
    expect(zoomed[1]!.x0).toBeCloseTo(80)
  })

  it('step points keep the value at the window start and the last value of each pixel', () => {
    const s = { t: [0, 10, 11, 12, 500], v: [1, 2, 3, 2, 0] }
    const axis = makeAxis('linear', 1000)
    const pts = stepPoints(s, axis, { t0: 5, t1: 1000 }, 10)
    expect(pts[0]).toEqual({ x: 0, v: 1 })
    expect(pts[pts.length - 1]!.v).toBe(0)
    expect(pts.length).toBeLessThan(s.t.length + 1)
  })
})

describe('the event log', () => {
  const m = timelineModel(record)
  const log = logEvents(m, record.refcounts, record.markers.rows)
  it('holds every slice, refcount change and marker in time order', () => {
    expect(log.length).toBe(m.t0.length + record.refcounts!.rows.t.length + record.markers.rows.length)
    for (let i = 1; i < log.length; i++) expect(log[i]!.t).toBeGreaterThanOrEqual(log[i - 1]!.t)
  })
  it('filters by every word of the search, by category and by the window', () => {
    const got = filterLog(log, 'mm_users mmget', new Set(), null)
    expect(got.length).toBeGreaterThan(0)
    for (const e of got) expect(e.text).toMatch(/mm_users.*mmget/)
    const noRefs = filterLog(log, '', new Set(['refcount']), null)
    expect(noRefs.some((e) => e.kind === 'refcount')).toBe(false)
    const w = { t0: 18_000_000, t1: 19_000_000 }
    for (const e of filterLog(log, '', new Set(), w)) expect(e.t >= w.t0 && e.t <= w.t1).toBe(true)
  })
  it("gives a slice's duration in the lab's one formatter, never raw nanoseconds", () => {
    const i = m.t0.findIndex((t0, k) => m.t1[k]! - t0 >= 1000)
    expect(i).toBeGreaterThanOrEqual(0)
    const slice = log.find((e) => e.kind === 'slice' && e.ref === i)!
    expect(slice.text).toBe(`${m.name[i]} (${formatUnit('ns', m.t1[i]! - m.t0[i]!)}): ${m.detail[i]}`)
    for (const e of log) if (e.kind === 'slice') expect(e.text).not.toMatch(/\(\d{4,} ns\)/)
  })
})

describe('export of a track view', () => {
  const m = timelineModel(record)
  const rc = refcountSeries(record.refcounts)
  const lanes = m.lanes.map((l, i) => ({ label: l.label, kind: 'slices' as const, indices: m.byLane[i]! }))
  const steps = rc.map((s) => ({ label: s.label, kind: 'steps' as const, series: s }))
  const parse = (csv: string): string[][] =>
    csv
      .trim()
      .split('\r\n')
      .map((l) => l.split(','))
  it('the whole run: every slice once with its lane, times and step, every refcount change', () => {
    const rows = parse(tracksCsv([...lanes, ...steps], m, { t0: 0, t1: m.end }))
    expect(rows[0]).toEqual(['track', 'kind', 'name', 'category', 'start (ns)', 'end (ns)', 'value', 'step', 'detail'])
    const slices = rows.filter((r) => r[1] === 'slice')
    expect(slices.length).toBe(m.t0.length)
    const fork = m.name.indexOf('fork')
    const row = slices.find((r) => r[2] === 'fork')!
    expect(row[0]).toBe(m.lanes[m.lane[fork]!]!.label)
    expect(Number(row[4])).toBe(m.t0[fork])
    expect(Number(row[5])).toBe(m.t1[fork])
    const changes = rows.filter((r) => r[1] === 'refcount')
    expect(changes.length).toBe(rc.reduce((a, s) => a + s.t.length, 0))
  })
  it('a window: only the slices that overlap it, the value each refcount holds at its start, hidden categories left out', () => {
    const fork = m.name.indexOf('fork')
    const w = { t0: m.t0[fork]!, t1: m.t0[fork]! + 1 }
    const rows = parse(tracksCsv([...lanes, ...steps], m, w))
    for (const r of rows.slice(1).filter((x) => x[1] === 'slice')) {
      expect(Number(r[5])).toBeGreaterThanOrEqual(w.t0)
      expect(Number(r[4])).toBeLessThanOrEqual(w.t1)
    }
    const mmUsers = rc.find((s) => s.label === 'mm of A · mm_users')!
    const first = rows.find((r) => r[0] === mmUsers.label)!
    expect(Number(first[6])).toBe(valueAt(mmUsers, w.t0))
    const hidden = new Set([m.cat[fork]!])
    const without = parse(tracksCsv(lanes, m, w, hidden))
    expect(without.some((r) => r[3] === m.cat[fork])).toBe(false)
  })
})
