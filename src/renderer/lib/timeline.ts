/**
 * The Timeline's pure parts (unit-tested in test/renderer/timeline.test.ts): the record's
 * `timeline` and `refcounts` as lanes, slices, flows and step series; the x axis (linear,
 * logarithmic, or "events only": equal spacing per event) as a map between time and a unit
 * interval, and the one a run opens on (`chooseAxis`); the one time window all views share (zoom, pan, select); level of detail for slices
 * (never more boxes than pixels per lane); and the searchable, filterable event log.
 *
 * Read-only projections of the record: nothing here recomputes a total.
 */
import type { Marker, Refcounts, StoredRecord, Timeline } from '../../shared/record'
import { csvField } from './chart-export'
import { formatNs } from './format'

// ---------------------------------------------------------------------------------------------
// The record → lanes, slices, flows, refcount series

export interface TimelineModel {
  lanes: Timeline['lanes']
  /** Slices per lane: indices into the record's slice columns, in start order. */
  byLane: number[][]
  t0: Float64Array
  t1: Float64Array
  lane: Int32Array
  name: string[]
  cat: string[]
  step: Int32Array
  detail: string[]
  flows: { from: number; to: number }[]
  /** Distinct slice categories, in first-seen order. */
  cats: string[]
  /** The run's end (simulated ns). */
  end: number
  slicesDropped: number
  flowsDropped: number
}

/** The record's timeline as arrays (an empty model for records made before timelines). */
export function timelineModel(r: Pick<StoredRecord, 'timeline' | 'outcome'>): TimelineModel {
  const tl = r.timeline
  const end = r.outcome.simulatedNs
  if (!tl)
    return {
      lanes: [],
      byLane: [],
      t0: new Float64Array(0),
      t1: new Float64Array(0),
      lane: new Int32Array(0),
      name: [],
      cat: [],
      step: new Int32Array(0),
      detail: [],
      flows: [],
      cats: [],
      end,
      slicesDropped: 0,
      flowsDropped: 0,
    }
  const s = tl.slices
  const n = Math.min(s.t0.length, s.t1.length, s.lane.length, s.name.length, s.cat.length)
  const byLane: number[][] = tl.lanes.map(() => [])
  const t0 = new Float64Array(n)
  const t1 = new Float64Array(n)
  const lane = new Int32Array(n)
  const step = new Int32Array(n)
  const name: string[] = new Array<string>(n)
  const cat: string[] = new Array<string>(n)
  const detail: string[] = new Array<string>(n)
  const cats: string[] = []
  for (let i = 0; i < n; i++) {
    t0[i] = s.t0[i]!
    t1[i] = Math.max(s.t0[i]!, s.t1[i]!)
    lane[i] = s.lane[i]!
    step[i] = s.step[i] ?? -1
    name[i] = s.dict.name[s.name[i]!] ?? '?'
    const c = s.dict.cat[s.cat[i]!] ?? '?'
    cat[i] = c
    if (!cats.includes(c)) cats.push(c)
    detail[i] = s.detail[i] ?? ''
    byLane[s.lane[i]!]?.push(i)
  }
  const flows: { from: number; to: number }[] = []
  for (let k = 0; k < Math.min(tl.flows.from.length, tl.flows.to.length); k++) {
    const a = tl.flows.from[k]!
    const b = tl.flows.to[k]!
    if (a < n && b < n) flows.push({ from: a, to: b })
  }
  return { lanes: tl.lanes, byLane, t0, t1, lane, name, cat, step, detail, flows, cats, end, slicesDropped: tl.slicesDropped, flowsDropped: tl.flowsDropped }
}

export interface RefcountSeries {
  label: string
  object: string
  counter: string
  /** Times and values of every kept change, in time order (a step: holds until the next). */
  t: number[]
  v: number[]
  /** Row indices into the record's refcount columns. */
  rows: number[]
  peak: number
  final: number
  changes: number
  dropped: number
}

/** The record's refcount tracks as step series, one per (object, counter). */
export function refcountSeries(rc: Refcounts | undefined): RefcountSeries[] {
  if (!rc) return []
  const out: RefcountSeries[] = rc.tracks.map((t) => ({
    label: `${t.object} · ${t.counter}`,
    object: t.object,
    counter: t.counter,
    t: [],
    v: [],
    rows: [],
    peak: t.peak,
    final: t.final,
    changes: t.changes,
    dropped: t.dropped,
  }))
  const n = Math.min(rc.rows.t.length, rc.rows.track.length, rc.rows.value.length)
  for (let i = 0; i < n; i++) {
    const s = out[rc.rows.track[i]!]
    if (!s) continue
    s.t.push(rc.rows.t[i]!)
    s.v.push(rc.rows.value[i]!)
    s.rows.push(i)
  }
  return out
}

/** The value of a step series at time t (before its first change: undefined). */
export function valueAt(s: Pick<RefcountSeries, 't' | 'v'>, t: number): number | undefined {
  let lo = 0
  let hi = s.t.length - 1
  let at = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (s.t[mid]! <= t) {
      at = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return at < 0 ? undefined : s.v[at]
}

// ---------------------------------------------------------------------------------------------
// The x axis: time ↔ u in [0, 1] over the whole run

export type AxisMode = 'linear' | 'log' | 'events'
export const AXIS_MODES: { id: AxisMode; label: string }[] = [
  { id: 'linear', label: 'linear' },
  { id: 'log', label: 'logarithmic' },
  { id: 'events', label: 'events only' },
]

export interface Axis {
  mode: AxisMode
  /** The run's end (ns): the axis spans [0, end]. */
  end: number
  /** Events only: the distinct times that share the width equally (0 and `end` included). */
  knots?: readonly number[]
  /** Time → position over the whole run, 0..1 (monotone, never decreasing). */
  u(t: number): number
  /** Position → time (the inverse of `u`). */
  t(u: number): number
}

/**
 * The axis over [0, end]. `log`: u = log(1 + t) / log(1 + end) (ns), so the first microsecond
 * gets as much room as the next millisecond. `events`: the distinct event times share the width
 * equally (an event's rank), times between two events interpolated.
 */
export function makeAxis(mode: AxisMode, end: number, eventTimes: ArrayLike<number> = []): Axis {
  const span = Math.max(1, end)
  if (mode === 'log') {
    const L = Math.log1p(span)
    // expm1(log1p(x)) can round past x (3418000000000.002 for a 3418 s run): t stays within the run
    return { mode, end: span, u: (t) => Math.log1p(Math.max(0, Math.min(span, t))) / L, t: (u) => Math.min(span, Math.expm1(Math.max(0, Math.min(1, u)) * L)) }
  }
  if (mode === 'events') {
    const ts = distinctTimes(eventTimes, span)
    const last = ts.length - 1
    return {
      mode,
      end: span,
      knots: ts,
      u(t) {
        if (t <= ts[0]!) return 0
        if (t >= ts[last]!) return 1
        let lo = 0
        let hi = last
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1
          if (ts[mid]! <= t) lo = mid
          else hi = mid
        }
        const a = ts[lo]!
        const b = ts[hi]!
        return (lo + (t - a) / (b - a)) / last
      },
      t(u) {
        const r = Math.max(0, Math.min(1, u)) * last
        const i = Math.min(last - 1, Math.floor(r))
        const a = ts[i]!
        const b = ts[i + 1]!
        return a + (r - i) * (b - a)
      },
    }
  }
  return { mode: 'linear', end: span, u: (t) => Math.max(0, Math.min(1, t / span)), t: (u) => Math.max(0, Math.min(1, u)) * span }
}

/**
 * Tick times for a window [t0, t1] drawn `width` pixels wide on a non-linear axis, at least `gap`
 * pixels apart (labels never overlap): the window's ends, then on "events only" the event times
 * themselves (a tick and its grid line where something happens), on log the powers of ten (then 5×
 * and 2× where there is room, 0 when shown); where fewer than three fit (a window between two
 * event times, or within one decade, where the axis is nearly linear), round times are added.
 * Sorted, each within the window.
 */
export function timeTickValues(axis: Axis, t0: number, t1: number, width: number, gap = 64): number[] {
  const u0 = axis.u(t0)
  const du = Math.max(1e-12, axis.u(t1) - u0)
  const px = (t: number): number => ((axis.u(t) - u0) / du) * width
  const kept: number[] = []
  const fits = (t: number): boolean => {
    if (!(t >= t0 && t <= t1)) return false
    const x = px(t)
    return kept.every((k) => Math.abs(px(k) - x) >= gap)
  }
  const offer = (t: number): void => {
    if (fits(t)) kept.push(t)
  }
  if (axis.mode === 'events') {
    offer(t0)
    offer(t1)
    for (const t of axis.knots ?? []) if (t >= t0 && t <= t1) offer(t)
  } else if (axis.mode === 'log') {
    offer(t0)
    offer(t1)
    // 10^308 is the largest power of ten a double holds: an infinite t1 must not mean endless decades
    const top = Math.min(308, Math.floor(Math.log10(Math.max(1, t1))))
    for (const m of [1, 5, 2]) for (let k = 0; k <= top; k++) offer(m * 10 ** k)
  }
  if (kept.length < 3) {
    for (const t of multiplesIn(t0, t1, roundStep(t1 - t0, Math.max(2, Math.floor(width / (gap * 1.5)))))) offer(t)
  }
  return kept.sort((a, b) => a - b)
}

/** Sorted distinct times with 0 and `end` included (at least two). */
export function distinctTimes(times: ArrayLike<number>, end: number): number[] {
  const all = Array.from(times).filter((t) => Number.isFinite(t) && t >= 0 && t <= end)
  all.push(0, end)
  all.sort((a, b) => a - b)
  const out: number[] = []
  for (const t of all) if (out.length === 0 || t !== out[out.length - 1]) out.push(t)
  if (out.length === 1) out.push(out[0]! + 1)
  return out
}

/** Every time the lifetimes views mark: slice starts and ends, refcount changes and markers. */
export function eventTimes(m: Pick<TimelineModel, 't0' | 't1'>, rc: Refcounts | undefined, markers: readonly Pick<Marker, 't'>[]): number[] {
  return withPointTimes([...m.t0, ...m.t1], rc, markers)
}

/** Adds to `out` the times of refcount changes and markers (points, not slices); returns `out`. */
function withPointTimes(out: number[], rc: Refcounts | undefined, markers: readonly Pick<Marker, 't'>[]): number[] {
  if (rc) for (const t of rc.rows.t) out.push(t)
  for (const mk of markers) out.push(mk.t)
  return out
}

/**
 * The times the "events only" axis spaces equally: `eventTimes`, but a slice repeated back to back
 * on its lane (same category and name: the 512 hmm_range_fault faults of one device_read) counts
 * once, from the first one's start to the last one's end, so a burst of the same event does not
 * push every other event into a corner of the width. The slices themselves are all drawn.
 */
export function axisTimes(
  m: Pick<TimelineModel, 't0' | 't1' | 'byLane' | 'cat' | 'name'>,
  rc: Refcounts | undefined,
  markers: readonly Pick<Marker, 't'>[],
): number[] {
  const out: number[] = []
  for (const list of m.byLane) {
    let prev = ''
    let runEnd = -1
    for (const i of list) {
      const key = `${m.cat[i]}\0${m.name[i]}`
      if (key === prev) {
        runEnd = Math.max(runEnd, m.t1[i]!)
        continue
      }
      if (runEnd >= 0) out.push(runEnd)
      runEnd = -1
      prev = key
      out.push(m.t0[i]!, m.t1[i]!)
    }
    if (runEnd >= 0) out.push(runEnd)
  }
  return withPointTimes(out, rc, markers)
}

/**
 * The share of the run one quiet stretch (no event at all) may take before the lifetimes views
 * open on "events only": past it, a linear axis leaves most of its width empty and squeezes every
 * event into what is left.
 */
export const QUIET_SHARE = 0.5

/** The axis a run opens on, and why, in words for the control's hint. */
export interface AxisChoice {
  mode: AxisMode
  /** Why, in a sentence without the mode's name ("nothing happens from 120.5 ms to 10.12 s …"). */
  why: string
  /** The longest stretch without an event (ns), and its share of the run (0..1). */
  quiet: { t0: number; t1: number; share: number }
}

/**
 * The axis a run opens on, from its event times alone (the record's, as `eventTimes` lists them;
 * the run's start and end count as times). The rule: when the longest stretch between two
 * consecutive event times is more than QUIET_SHARE (half) of the run, open on "events only" (the
 * 2014 fork run: its events sit in the first 121 ms and at 10.1 s of a 10.2 s run, so a linear
 * axis shows two slivers); otherwise linear, where durations are to scale. A run with fewer than
 * three distinct event times stays linear (there is nothing to spread). `kept`: the record's
 * slices kept and made, when it dropped some (its caps keep the first ones), so the hint says
 * the quiet stretch may be events the record did not keep. `slices`: false for times that are not
 * the lifetimes views' (Compare's sample times), whose hint then says nothing of repeated slices.
 */
export function chooseAxis(
  times: ArrayLike<number>,
  end: number,
  kept?: { slices: number; total: number },
  /** False where the times are not the lifetimes views' (Compare: sample times), so no repeated slice counts once. */
  slices = true,
): AxisChoice {
  const span = Math.max(1, end)
  const ts = distinctTimes(times, span)
  let quiet = { t0: 0, t1: span, share: 1 }
  let best = -1
  for (let i = 1; i < ts.length; i++) {
    const gap = ts[i]! - ts[i - 1]!
    if (gap > best) {
      best = gap
      quiet = { t0: ts[i - 1]!, t1: ts[i]!, share: gap / span }
    }
  }
  const inside = new Set(Array.from(times).filter((t) => Number.isFinite(t) && t >= 0 && t <= span)).size
  if (inside < 3) return { mode: 'linear', why: 'the run has too few event times to spread', quiet }
  const pct = `${Math.round(quiet.share * 100)}%`
  const cut = kept && kept.total > kept.slices
  if (quiet.share > QUIET_SHARE) {
    const what = cut
      ? `no kept event from ${formatNs(quiet.t0)} to ${formatNs(quiet.t1)} (${pct} of the run; the record keeps the first ${kept.slices} of ${kept.total} slices)`
      : `nothing happens from ${formatNs(quiet.t0)} to ${formatNs(quiet.t1)} (${pct} of the run)`
    return {
      mode: 'events',
      why: `${what}, so each event time gets an equal share of the width${slices ? ' (a slice repeated back to back counts once)' : ''}; durations are not to scale`,
      quiet,
    }
  }
  return { mode: 'linear', why: `the events spread over the run (the longest stretch without one is ${pct} of it), so durations are to scale`, quiet }
}

// ---------------------------------------------------------------------------------------------
// The shared time window (what every chart, the timeline and the log show) and the selection

/** A window in time (ns), t0 < t1. */
export interface TimeWindow {
  t0: number
  t1: number
}

/** The smallest window (in u) zooming may reach: a millionth of the axis. */
const MIN_SPAN_U = 1e-6

function clampU(u0: number, u1: number): [number, number] {
  // a zoom factor, pan fraction or anchor that overflows (a wheel delta of 1e308) shows the whole run, not a NaN window
  if (!Number.isFinite(u0) || !Number.isFinite(u1)) return [0, 1]
  let span = Math.max(MIN_SPAN_U, Math.min(1, u1 - u0))
  let a = u0
  if (a < 0) a = 0
  if (a + span > 1) a = 1 - span
  if (span > 1) span = 1
  return [Math.max(0, a), Math.min(1, a + span)]
}

/** Zooms the window by `factor` (< 1 zooms in) around `at` (0..1 across the window), on the axis. */
export function zoomWindow(axis: Axis, w: TimeWindow, factor: number, at = 0.5): TimeWindow {
  const u0 = axis.u(w.t0)
  const u1 = axis.u(w.t1)
  const k = at >= 0 && at <= 1 ? at : at > 1 ? 1 : 0
  const c = u0 + (u1 - u0) * k
  const span = (u1 - u0) * factor
  const [a, b] = clampU(c - span * k, c - span * k + span)
  return { t0: axis.t(a), t1: axis.t(b) }
}

/** Pans the window by `fraction` of its width (negative: towards the start), on the axis. */
export function panWindow(axis: Axis, w: TimeWindow, fraction: number): TimeWindow {
  const u0 = axis.u(w.t0)
  const u1 = axis.u(w.t1)
  const d = (u1 - u0) * fraction
  const [a, b] = clampU(u0 + d, u1 + d)
  return { t0: axis.t(a), t1: axis.t(b) }
}

/** The window between two x positions (pixels) of a view `width` wide that shows `w`. */
export function windowFromPixels(axis: Axis, w: TimeWindow, x0: number, x1: number, width: number): TimeWindow {
  const a = Math.min(x0, x1)
  const b = Math.max(x0, x1)
  // both inside the view (two positions left of it are an empty window at its start, not a
  // reversed one); written so that a position that is not a number (NaN) stands for the view's edge
  const lo = (a >= 0 ? Math.min(a, width) : 0) / Math.max(1, width)
  const hi = (b >= 0 ? Math.min(b, width) : b < 0 ? 0 : width) / Math.max(1, width)
  const u0 = axis.u(w.t0)
  const u1 = axis.u(w.t1)
  return { t0: axis.t(u0 + (u1 - u0) * lo), t1: axis.t(u0 + (u1 - u0) * hi) }
}

/** x (pixels) of time t in a view `width` wide that shows window `w`. */
export function xOf(axis: Axis, w: TimeWindow, t: number, width: number): number {
  const u0 = axis.u(w.t0)
  const u1 = axis.u(w.t1)
  return ((axis.u(t) - u0) / Math.max(1e-12, u1 - u0)) * width
}

/** True when two windows differ by more than a thousandth of the larger one's width. */
export function windowsDiffer(a: TimeWindow | null | undefined, b: TimeWindow | null | undefined): boolean {
  if (!a || !b) return a !== b
  const tol = Math.max(a.t1 - a.t0, b.t1 - b.t0) * 1e-3
  return Math.abs(a.t0 - b.t0) > tol || Math.abs(a.t1 - b.t1) > tol
}

// ---------------------------------------------------------------------------------------------
// Level of detail

/** A box to draw: one slice, or several too narrow to tell apart merged into one (`count` > 1). */
export interface Box {
  x0: number
  x1: number
  /** The slice drawn (the longest of a merged run). */
  index: number
  count: number
}

/**
 * The boxes of one lane in a view `width` pixels wide showing `w`: slices outside are skipped,
 * slices under a pixel wide that touch the previous box are merged into it, so a lane never has
 * more boxes than about `width` whatever its number of slices.
 */
export function laneBoxes(m: Pick<TimelineModel, 't0' | 't1'>, indices: readonly number[], axis: Axis, w: TimeWindow, width: number): Box[] {
  const out: Box[] = []
  const u0 = axis.u(w.t0)
  const k = width / Math.max(1e-12, axis.u(w.t1) - u0)
  for (const i of indices) {
    const a = m.t0[i]!
    const b = m.t1[i]!
    if (b < w.t0 || a > w.t1) continue
    const x0 = (axis.u(a) - u0) * k
    const x1 = (axis.u(b) - u0) * k
    const last = out[out.length - 1]
    if (last && x1 - x0 < 1 && x0 <= last.x1 + 1) {
      if (x1 > last.x1) last.x1 = x1
      last.count++
      if (b - a > m.t1[last.index]! - m.t0[last.index]!) last.index = i
      continue
    }
    out.push({ x0, x1, index: i, count: 1 })
  }
  return out
}

/** Points of a step series in the view (a value holds until the next change), at most ~2 per pixel. */
export function stepPoints(s: Pick<RefcountSeries, 't' | 'v'>, axis: Axis, w: TimeWindow, width: number): { x: number; v: number }[] {
  const out: { x: number; v: number }[] = []
  const first = valueAt(s, w.t0)
  if (first !== undefined) out.push({ x: 0, v: first })
  let lastPx = -Infinity
  for (let i = 0; i < s.t.length; i++) {
    const t = s.t[i]!
    if (t <= w.t0) continue
    if (t > w.t1) break
    const x = xOf(axis, w, t, width)
    // several changes in one pixel: keep the first and the value after the last
    if (x - lastPx < 0.5 && out.length > 0) out[out.length - 1]!.v = s.v[i]!
    else out.push({ x, v: s.v[i]! })
    lastPx = x
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// The event log

export interface LogEvent {
  t: number
  /** 'slice', 'refcount' or 'marker'. */
  kind: 'slice' | 'refcount' | 'marker'
  /** Category used by the filter: a slice category, "refcount" or "marker". */
  cat: string
  where: string
  text: string
  /** Slice index (kind slice), refcount row (kind refcount), marker index. */
  ref: number
}

/** Every slice start, refcount change and marker, in time order (stable). */
export function logEvents(m: TimelineModel, rc: Refcounts | undefined, markers: readonly Marker[]): LogEvent[] {
  const out: LogEvent[] = []
  for (let i = 0; i < m.t0.length; i++) {
    const dur = m.t1[i]! - m.t0[i]!
    out.push({
      t: m.t0[i]!,
      kind: 'slice',
      cat: m.cat[i]!,
      where: m.lanes[m.lane[i]!]?.label ?? '?',
      text: `${m.name[i]}${dur > 0 ? ` (${formatNs(dur)})` : ''}: ${m.detail[i]}`,
      ref: i,
    })
  }
  if (rc) {
    const n = Math.min(rc.rows.t.length, rc.rows.track.length, rc.rows.value.length)
    for (let i = 0; i < n; i++) {
      const tr = rc.tracks[rc.rows.track[i]!]
      if (!tr) continue
      const fn = rc.rows.dict.fn[rc.rows.fn[i]!] ?? '?'
      const line = rc.rows.line[i] ?? 0
      out.push({
        t: rc.rows.t[i]!,
        kind: 'refcount',
        cat: 'refcount',
        where: tr.object,
        text: `${tr.counter} → ${rc.rows.value[i]} by ${fn}${line ? ` (line ${line})` : ''}`,
        ref: i,
      })
    }
  }
  markers.forEach((mk, i) => out.push({ t: mk.t, kind: 'marker', cat: 'marker', where: mk.kind, text: mk.label, ref: i }))
  const order = out.map((_, i) => i)
  order.sort((a, b) => out[a]!.t - out[b]!.t || a - b)
  return order.map((i) => out[i]!)
}

/** The log entries matching a search (every word, case-insensitive), the categories shown and the window. */
export function filterLog(events: readonly LogEvent[], query: string, hidden: ReadonlySet<string>, w: TimeWindow | null): LogEvent[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean)
  return events.filter((e) => {
    if (hidden.has(e.cat)) return false
    if (w && (e.t < w.t0 || e.t > w.t1)) return false
    if (words.length === 0) return true
    const hay = `${e.where} ${e.text} ${e.cat}`.toLowerCase()
    return words.every((x) => hay.includes(x))
  })
}

/** The 1, 2, 2.5 or 5 × 10^k step nearest to cutting `span` into `n` parts. */
/**
 * The distinct multiples of `step` within [t0, t1], at most `max` of them. Deep in a long run a
 * window can be narrower than floating point can step through at its distance from 0 (a 2 ps
 * window at 3418 s): `k * step` then stops changing as k grows, and the multiples are cut short
 * instead of looping for ever.
 */
export function multiplesIn(t0: number, t1: number, step: number, max = 256): number[] {
  const out: number[] = []
  if (!(step > 0) || !Number.isFinite(step)) return out
  const first = Math.ceil(t0 / step - 1e-9) || 0
  // no first multiple to count from when t0 / step is past the doubles (t0 infinite, step tiny)
  if (!Number.isFinite(first)) return out
  for (let k = first, i = 0; i <= max && k * step <= t1 + step * 1e-9; k++, i++) {
    const t = k * step
    if (!Number.isFinite(t)) break // past 1.8e308
    if (out.length === 0 || t > out[out.length - 1]!) out.push(t)
  }
  return out
}

function roundStep(span: number, n: number): number {
  const raw = span / Math.max(1, n)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const f = raw / mag
  let best = 1
  for (const c of [1, 2, 2.5, 5, 10]) if (Math.abs(f - c) < Math.abs(f - best)) best = c
  return best * mag
}

/**
 * Time ticks for a view, about `n` of them, with their times: on a linear axis at round times
 * (0, 2 s, 4 s …), on the others spread evenly on the axis.
 */
export function axisTicks(axis: Axis, w: TimeWindow, width: number, parts = Math.max(2, Math.floor(width / 110))): { x: number; t: number }[] {
  // an infinite or absurd width or count (a canvas measured as Infinity) must not mean endless ticks
  const n = parts >= 1 ? Math.min(1000, Math.floor(parts)) : 2
  if (axis.mode === 'linear' && w.t1 > w.t0) {
    // round times (0, 2 s, 4 s …), not the window cut into n equal parts (0, 1.46 s, 2.92 s …)
    const ticks = multiplesIn(w.t0, w.t1, roundStep(w.t1 - w.t0, n)).map((t) => ({ x: xOf(axis, w, t, width), t }))
    if (ticks.length >= 2) return ticks
  }
  const u0 = axis.u(w.t0)
  const u1 = axis.u(w.t1)
  const out: { x: number; t: number }[] = []
  for (let i = 0; i <= n; i++) {
    const u = u0 + ((u1 - u0) * i) / n
    out.push({ x: (width * i) / n, t: axis.t(u) })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Export of a track view as CSV

/** One row of a track view, as the track canvas draws it: a lane of slices or a refcount's step line. */
export type TrackRowData =
  { label: string; kind: 'slices'; indices: readonly number[] } | { label: string; kind: 'steps'; series: Pick<RefcountSeries, 'counter' | 't' | 'v'> }

/**
 * What a track view shows in the window `w`, as CSV (times in ns): every slice that overlaps the
 * window (its lane, name, category, start, end, step, detail; hidden categories left out), and for
 * each refcount track the value holding at the window's start and every change inside it. The
 * same rows a person reads off the canvas, one per line, in track order.
 */
export function tracksCsv(rows: readonly TrackRowData[], model: TimelineModel | undefined, w: TimeWindow, hidden?: ReadonlySet<string>): string {
  const out: string[] = [['track', 'kind', 'name', 'category', 'start (ns)', 'end (ns)', 'value', 'step', 'detail'].map(csvField).join(',')]
  for (const row of rows) {
    if (row.kind === 'slices') {
      if (!model) continue
      for (const i of row.indices) {
        const cat = model.cat[i]!
        if (hidden?.has(cat)) continue
        const a = model.t0[i]!
        const b = model.t1[i]!
        if (b < w.t0 || a > w.t1) continue
        const step = model.step[i]!
        out.push([row.label, 'slice', model.name[i]!, cat, a, b, '', step >= 0 ? step : '', model.detail[i]!].map(csvField).join(','))
      }
    } else {
      const s = row.series
      const before = valueAt(s, w.t0)
      if (before !== undefined && !s.t.includes(w.t0))
        out.push([row.label, 'refcount', s.counter, 'refcount', w.t0, '', before, '', 'value at the window start'].map(csvField).join(','))
      for (let k = 0; k < s.t.length; k++) {
        const t = s.t[k]!
        if (t < w.t0 || t > w.t1) continue
        out.push([row.label, 'refcount', s.counter, 'refcount', t, '', s.v[k]!, '', ''].map(csvField).join(','))
      }
    }
  }
  return out.join('\r\n') + '\r\n'
}
