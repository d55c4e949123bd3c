/**
 * Data shaping for the charts and tables of Results and Compare: pure functions from the stored
 * `RunResult` / `RunSeries` / `Comparison` shapes to the arrays the charts draw. Large arrays are
 * typed arrays or plain arrays that views keep out of Vue's deep reactivity (`shallowRef`/`markRaw`).
 */
import {
  OBJECT_TYPES,
  unitOfName,
  type Aggregates,
  type Finding,
  type InvalidationColumns as InvalidationTable,
  type Leak,
  type Metric,
} from '../../shared/record'
import type { Comparison, RunManifest, SeriesData } from '../../shared/runs'

/** A point as Chart.js reads it with `parsing: false`. */
export interface XY {
  x: number
  y: number
}

// ---------------------------------------------------------------------------------------------
// Step series

/** Sorted union of the sample times of several step series (one shared grid). */
export function unionGrid(series: readonly SeriesData[]): Float64Array {
  let total = 0
  for (const s of series) total += s.t.length
  const all = new Float64Array(total)
  let k = 0
  for (const s of series) for (let i = 0; i < s.t.length; i++) all[k++] = s.t[i]!
  all.sort()
  let n = 0
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[n - 1]) all[n++] = all[i]!
  return all.slice(0, n)
}

/** Samples a step function (each value holds until the next time; 0 before the first) on a grid. */
export function resampleStep(s: SeriesData, grid: Float64Array): Float64Array {
  const out = new Float64Array(grid.length)
  let j = -1
  for (let i = 0; i < grid.length; i++) {
    const t = grid[i]!
    while (j + 1 < s.t.length && s.t[j + 1]! <= t) j++
    out[i] = j >= 0 ? s.v[j]! : 0
  }
  return out
}

/** Orders object types as the ledger names them (OBJECT_TYPES first, others alphabetically after). */
export function orderTypes(types: readonly string[]): string[] {
  const known = OBJECT_TYPES as readonly string[]
  return [...types].sort((a, b) => {
    const ia = known.indexOf(a)
    const ib = known.indexOf(b)
    if (ia >= 0 && ib >= 0) return ia - ib
    if (ia >= 0) return -1
    if (ib >= 0) return 1
    return a.localeCompare(b)
  })
}

/** A step series as stored (number arrays) or decoded from a binary block (Float64Arrays). */
export interface SeriesLike {
  t: ArrayLike<number>
  v: ArrayLike<number>
}

/** Sample values of a band: float32 (half the memory of a million samples; 7 significant digits, plenty for a chart). */
export type BandArray = Float32Array | Float64Array

export interface StackedSeries {
  /** Object types, bottom of the stack first. */
  types: string[]
  /** Sample times (float64: nanoseconds need every digit). */
  grid: Float64Array
  /** Bytes of each type on the grid. */
  values: BandArray[]
  /** Running sums (the top edge of each band), same order as `types`. */
  tops: BandArray[]
  /** Largest total, for the axis unit. */
  max: number
}

/**
 * Stacks the series named `<prefix><type>` (e.g. `memory.pages`) on one time grid. The stack is
 * computed here rather than by Chart.js so each band can be reduced on its own (see `lodStep`).
 * One k-way merge over the sorted sample times builds the grid and every band's value on it
 * (O(samples × types), no sort), so a million-sample series stacks in tens of milliseconds.
 */
export function stackSeries(all: Readonly<Record<string, SeriesLike>>, prefix: string): StackedSeries {
  const names = Object.keys(all).filter((n) => n.startsWith(prefix))
  let types = orderTypes(names.map((n) => n.slice(prefix.length)))
  // A `<prefix>total` series is the sum of the others: stacking it too would count twice.
  if (types.length > 1) types = types.filter((t) => t !== 'total')
  const list = types.map((t) => all[prefix + t]!)
  const k = list.length
  const ts = list.map((x) => x.t)
  const vs = list.map((x) => x.v)
  let cap = 0
  for (const t of ts) cap += t.length
  const grid = new Float64Array(cap)
  const values = list.map(() => new Float32Array(cap))
  const idx = new Int32Array(k)
  const cur = new Float64Array(k)
  let n = 0
  for (;;) {
    let next = Number.POSITIVE_INFINITY
    for (let j = 0; j < k; j++) {
      const i = idx[j]!
      const tj = ts[j]!
      if (i < tj.length && tj[i]! < next) next = tj[i]!
    }
    if (next === Number.POSITIVE_INFINITY) break
    for (let j = 0; j < k; j++) {
      const tj = ts[j]!
      let i = idx[j]!
      if (i < tj.length && tj[i]! <= next) {
        const vj = vs[j]!
        while (i < tj.length && tj[i]! <= next) cur[j] = vj[i++]!
        idx[j] = i
      }
      values[j]![n] = cur[j]!
    }
    grid[n++] = next
  }
  // Views, not copies: the arrays were sized for the worst case (no shared sample times).
  const g = grid.subarray(0, n)
  const vals = values.map((v) => v.subarray(0, n))
  const tops: Float32Array[] = []
  let max = 0
  for (let j = 0; j < k; j++) {
    const top = new Float32Array(n)
    const below = j > 0 ? tops[j - 1]! : undefined
    const v = vals[j]!
    for (let i = 0; i < n; i++) {
      const y = v[i]! + (below ? below[i]! : 0)
      top[i] = y
      if (y > max) max = y
    }
    tops.push(top)
  }
  return { types, grid: g, values: vals, tops, max }
}

/** First index with grid[i] >= x (binary search). */
export function lowerBound(grid: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = grid.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (grid[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Level of detail for one stepped band between x0 and x1: samples that repeat the previous top
 * are dropped (a step holds its value), and when more than `4 × buckets` remain, each bucket
 * keeps its first, lowest, highest and last sample (min-max: peaks survive). The sample before
 * x0 and after x1 are kept so the band reaches the edges. The full arrays stay in typed arrays;
 * zoom and pan ask again for the visible range. Returns the kept indexes (transferable from a
 * worker); `lodStep` turns them into points. `pos`: where a time is drawn on a non-linear axis
 * (logarithmic, events only), so the buckets are equal shares of the width, not of time.
 */
export function lodIndexes(
  grid: Float64Array,
  tops: BandArray,
  values: BandArray,
  x0: number,
  x1: number,
  buckets = 1500,
  pos: (t: number) => number = (t) => t,
): Int32Array {
  const n = grid.length
  if (n === 0) return new Int32Array(0)
  const a = Math.max(0, lowerBound(grid, x0) - 1)
  const b = Math.min(n - 1, lowerBound(grid, x1))
  // a window ending before it starts (x1 < x0, both between samples) has nothing to draw
  if (b < a) return new Int32Array(0)
  const many = b - a + 1 > 4 * buckets
  const out = new Int32Array(many ? Math.min(b - a + 1, 4 * (buckets + 2)) : b - a + 1)
  let m = 0
  let last = -1
  const push = (i: number): void => {
    if (last >= 0 && i !== b && tops[last] === tops[i] && values[last] === values[i]) return
    if (m === out.length) return
    out[m++] = i
    last = i
  }
  if (!many) {
    for (let i = a; i <= b; i++) push(i)
    return out.subarray(0, m)
  }
  const g0 = pos(grid[a]!)
  const span = (pos(grid[b]!) - g0) / buckets || 1
  let i = a
  while (i <= b) {
    const end = g0 + (Math.floor((pos(grid[i]!) - g0) / span) + 1) * span
    const first = i
    let lo = i
    let hi = i
    let tlo = tops[i]!
    let thi = tlo
    i++
    while (i <= b && pos(grid[i]!) < end) {
      const y = tops[i]!
      if (y < tlo) {
        tlo = y
        lo = i
      }
      if (y > thi) {
        thi = y
        hi = i
      }
      i++
    }
    const lastIdx = i - 1
    // The four picks in index order, each once.
    const p1 = lo < hi ? lo : hi
    const p2 = lo < hi ? hi : lo
    push(first)
    if (p1 !== first) push(p1)
    if (p2 !== p1 && p2 !== first) push(p2)
    if (lastIdx !== p2 && lastIdx !== p1 && lastIdx !== first) push(lastIdx)
  }
  return out.subarray(0, m)
}

/** Points of a band for Chart.js from kept indexes (see `lodIndexes`). */
export function lodPoints(grid: Float64Array, tops: BandArray, values: BandArray, idx: Int32Array): { x: number; y: number; v: number }[] {
  const out = new Array<{ x: number; y: number; v: number }>(idx.length)
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!
    out[k] = { x: grid[i]!, y: tops[i]!, v: values[i]! }
  }
  return out
}

/** Level of detail for one stepped band between x0 and x1, as Chart.js points (see `lodIndexes`). */
export function lodStep(
  grid: Float64Array,
  tops: BandArray,
  values: BandArray,
  x0: number,
  x1: number,
  buckets = 1500,
  pos?: (t: number) => number,
): { x: number; y: number; v: number }[] {
  const idx = lodIndexes(grid, tops, values, x0, x1, buckets, pos)
  const pts = lodPoints(grid, tops, values, idx)
  if (pts.length === 0) return pts
  // The band's value where the window starts and ends, as points at its edges: zoomed into a step
  // that holds across the whole window, the kept samples lie outside it, and Chart.js, which fits
  // the y axis to the points inside the window, drew an empty axis filled by one colour.
  const first = idx[0]!
  if (grid[first]! < x0 && (pts.length < 2 || pts[1]!.x > x0)) pts.splice(1, 0, { x: x0, y: tops[first]!, v: values[first]! })
  const last = idx[idx.length - 1]!
  if (grid[last]! > x1 && pts.length >= 2 && pts[pts.length - 2]!.x < x1) {
    let e = lowerBound(grid, x1)
    if (grid[e]! > x1) e--
    if (e >= first) pts.splice(pts.length - 1, 0, { x: x1, y: tops[e]!, v: values[e]! })
  }
  return pts
}

/** Zips a grid and values into Chart.js points. */
export function toPoints(x: ArrayLike<number>, y: ArrayLike<number>): XY[] {
  const n = Math.min(x.length, y.length)
  const out = new Array<XY>(n)
  for (let i = 0; i < n; i++) out[i] = { x: x[i]!, y: y[i]! }
  return out
}

/** Checks a stored series cheaply (no zod pass over a million numbers). */
export function isSeriesData(value: unknown): value is SeriesData {
  const s = value as { t?: unknown; v?: unknown } | null
  return !!s && Array.isArray(s.t) && Array.isArray(s.v) && s.t.length === s.v.length
}

/** The well-formed series of a `runs.get` answer; malformed ones are named in `bad`. */
export function readSeries(raw: Record<string, unknown>): { series: Record<string, SeriesData>; bad: string[] } {
  const series: Record<string, SeriesData> = {}
  const bad: string[] = []
  for (const [k, v] of Object.entries(raw)) {
    if (isSeriesData(v)) series[k] = v
    else bad.push(k)
  }
  return { series, bad }
}

// ---------------------------------------------------------------------------------------------
// Findings and leaks

const SEVERITY_RANK: Record<Finding['severity'], number> = { error: 0, warning: 1, info: 2 }

/** Findings in reading order: errors first, then warnings, then info; earlier first within each. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.t - b.t)
}

export type LeakSortKey = 'objectType' | 'owner' | 'heldBy' | 'peakBytes' | 'bytesAtEnd' | 'byteSeconds' | 'since' | 'until'

/** Sorts leaks by a column; `until: null` (never freed) sorts as the latest. */
export function sortLeaks(leaks: readonly Leak[], key: LeakSortKey, dir: 'asc' | 'desc'): Leak[] {
  const sign = dir === 'asc' ? 1 : -1
  const val = (l: Leak): string | number => {
    const v = l[key]
    if (v === null) return Number.POSITIVE_INFINITY
    if (Array.isArray(v)) return v.join(' → ')
    return v
  }
  return [...leaks].sort((a, b) => {
    const va = val(a)
    const vb = val(b)
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb))
    return c * sign
  })
}

/** Keeps leaks whose type, owner or holder contains every word of the filter (case-insensitive). */
export function filterLeaks(leaks: readonly Leak[], filter: string): Leak[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return [...leaks]
  return leaks.filter((l) => {
    const hay = `${l.objectType} ${l.owner} ${l.heldBy.join(' ')}`.toLowerCase()
    return words.every((w) => hay.includes(w))
  })
}

export interface WaterfallBar {
  label: string
  objectType: string
  /** [since, until] in ns; `open` when never freed (until = end of run). */
  x: [number, number]
  open: boolean
  bytes: number
  byteSeconds: number
}

/** One floating bar per leak: from the owner going away to the free (or the end of the run). */
export function leakWaterfall(leaks: readonly Leak[], endTime: number): WaterfallBar[] {
  return [...leaks]
    .sort((a, b) => a.since - b.since || b.peakBytes - a.peakBytes)
    .map((l) => ({
      label: `${l.objectType} · ${l.owner}`,
      objectType: l.objectType,
      x: [l.since, l.until ?? Math.max(endTime, l.since)],
      open: l.until === null,
      bytes: l.peakBytes,
      byteSeconds: l.byteSeconds,
    }))
}

// ---------------------------------------------------------------------------------------------
// Invalidations

export type InvalidationKey = 'device' | 'mechanism' | 'event'

/** Number of rows of the columnar table. */
export function invalidationCount(table: InvalidationTable): number {
  return table.t.length
}

/** Label of one row for a grouping key ("gpu0", "iotlb_psi", "munmap"). */
export function rowLabel(table: InvalidationTable, key: InvalidationKey, i: number): string {
  const idx = table[key][i]!
  return table.dict[key][idx] ?? `#${idx}`
}

/** Splits rows into groups by one or two keys ("gpu0 · gpu_tlb"); returns row indexes per group. */
export function groupRows(table: InvalidationTable, keys: readonly InvalidationKey[]): Map<string, number[]> {
  const groups = new Map<string, number[]>()
  for (let i = 0; i < table.t.length; i++) {
    const label = keys.map((k) => rowLabel(table, k, i)).join(' · ')
    let g = groups.get(label)
    if (!g) groups.set(label, (g = []))
    g.push(i)
  }
  return new Map([...groups.entries()].sort((a, b) => a[0].localeCompare(b[0])))
}

/** Cost of each invalidation over time, one point list per group (sorted by time). */
export function costOverTime(table: InvalidationTable, keys: readonly InvalidationKey[]): { label: string; points: XY[] }[] {
  return [...groupRows(table, keys)].map(([label, rows]) => ({
    label,
    points: rows.map((i) => ({ x: table.t[i]!, y: table.costNs[i]! })).sort((a, b) => a.x - b.x),
  }))
}

/** Cost against the size of the invalidated range (bytes), for log-log axes (non-positive dropped). */
export function costVsSize(table: InvalidationTable, keys: readonly InvalidationKey[]): { label: string; points: XY[] }[] {
  return [...groupRows(table, keys)].map(([label, rows]) => ({
    label,
    points: rows.map((i) => ({ x: table.end[i]! - table.start[i]!, y: table.costNs[i]! })).filter((p) => p.x > 0 && p.y > 0),
  }))
}

export interface Histogram {
  /** Bin edges (length bins + 1), log-spaced when `log`. */
  edges: number[]
  counts: number[]
  log: boolean
}

/** A histogram of positive values; log-spaced bins when they span more than two decades. */
export function histogram(values: ArrayLike<number>, bins = 30): Histogram {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v < min) min = v
    if (v > max) max = v
  }
  if (values.length === 0) return { edges: [], counts: [], log: false }
  if (min === max) return { edges: [min, max], counts: [values.length], log: false }
  const log = min > 0 && max / min > 100
  const lo = log ? Math.log10(min) : min
  const hi = log ? Math.log10(max) : max
  const width = (hi - lo) / bins
  // values near both ends of the doubles (hi - lo overflows) or a few denormals apart (the bin
  // width underflows to 0): no bins to cut, one holds them all (they were counted nowhere)
  if (!(width > 0) || !Number.isFinite(width)) return { edges: [min, max], counts: [values.length], log: false }
  // never past the largest value: lo + i × width rounds past it (to Infinity near 1.8e308, or by a
  // whole step when the width is a few denormals)
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : Math.min(max, log ? 10 ** (lo + i * width) : lo + i * width)))
  const counts = new Array<number>(bins).fill(0)
  for (let i = 0; i < values.length; i++) {
    const v = log ? Math.log10(values[i]!) : values[i]!
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))
    counts[b]!++
  }
  return { edges, counts, log }
}

/** The empirical CDF as points (value, fraction ≤ value), one per distinct value. */
export function cdf(values: ArrayLike<number>): XY[] {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort()
  const out: XY[] = []
  const n = sorted.length
  for (let i = 0; i < n; i++) {
    if (i + 1 < n && sorted[i + 1] === sorted[i]) continue
    out.push({ x: sorted[i]!, y: (i + 1) / n })
  }
  return out
}

/** Value at quantile q (0–1) of a list (nearest rank). */
export function quantile(values: ArrayLike<number>, q: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = Float64Array.from(values as ArrayLike<number>).sort()
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[idx]
}

/**
 * Invalidations per value of a key, largest first: the record's exact aggregates (every
 * invalidation, not only the rows the table kept).
 */
export function countsBy(inv: Aggregates['invalidations'], key: InvalidationKey): { label: string; count: number }[] {
  const list = key === 'event' ? inv.byEvent : key === 'device' ? inv.byDevice : inv.byMechanism
  return list.map((s) => ({ label: s[key] ?? '', count: s.count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label))
}

/** Total cost per device, split by mechanism, from the record's exact aggregates: rows for a stacked bar chart. */
export function costMatrix(inv: Aggregates['invalidations']): { devices: string[]; mechanisms: string[]; totals: number[][]; counts: number[][] } {
  const devices = [...new Set(inv.by.map((s) => s.device ?? ''))].sort()
  const mechanisms = [...new Set(inv.by.map((s) => s.mechanism ?? ''))].sort()
  const totals = mechanisms.map(() => new Array<number>(devices.length).fill(0))
  const counts = mechanisms.map(() => new Array<number>(devices.length).fill(0))
  for (const s of inv.by) {
    const d = devices.indexOf(s.device ?? '')
    const m = mechanisms.indexOf(s.mechanism ?? '')
    totals[m]![d]! += s.totalNs
    counts[m]![d]! += s.count
  }
  return { devices, mechanisms, totals, counts }
}

// ---------------------------------------------------------------------------------------------
// Timeline

export interface TimelineLane {
  id: string
  label: string
  kind: string
}

export interface TimelinePoint extends XY {
  /** Index of the event in the trace, for the details panel. */
  i: number
  /** End time for slices. */
  x2?: number
}

/**
 * Lanes in display order (tasks, devices, IOMMUs, kernel; lanes used by events but not declared
 * appended) and one point per trace event at (t, lane index).
 */
export function timelineData(
  lanes: readonly { id: string; kind: string; label: string }[],
  events: readonly { t: number; dur?: number | undefined; lane: string }[],
): { lanes: TimelineLane[]; points: TimelinePoint[] } {
  const kindOrder = ['task', 'device', 'iommu', 'kernel']
  const ordered: TimelineLane[] = [...lanes].sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind)).map((l) => ({ ...l }))
  const index = new Map(ordered.map((l, i) => [l.id, i]))
  const points: TimelinePoint[] = []
  events.forEach((e, i) => {
    let y = index.get(e.lane)
    if (y === undefined) {
      y = ordered.length
      ordered.push({ id: e.lane, label: e.lane, kind: 'other' })
      index.set(e.lane, y)
    }
    const p: TimelinePoint = { x: e.t, y, i }
    if (e.dur !== undefined && e.dur > 0) p.x2 = e.t + e.dur
    points.push(p)
  })
  points.sort((a, b) => a.x - b.x)
  return { lanes: ordered, points }
}

// ---------------------------------------------------------------------------------------------
// Sweeps

/** Parameters that take more than one value across the runs of an experiment. */
export function sweptParameters(runs: readonly RunManifest[]): string[] {
  const values = new Map<string, Set<string>>()
  for (const r of runs)
    for (const [k, v] of Object.entries(r.parameters)) {
      let s = values.get(k)
      if (!s) values.set(k, (s = new Set()))
      s.add(String(v))
    }
  const swept = [...values.entries()].filter(([, s]) => s.size > 1).map(([k]) => k)
  if (new Set(runs.map((r) => r.seed)).size > 1) swept.push('seed')
  return swept.sort()
}

/** Metric names present in any run, sorted. */
export function metricNames(runs: readonly { metrics: Record<string, Metric> }[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort()
}

/**
 * The metric against a swept parameter, one line per design. Runs that share the design and the
 * parameter value (other parameters or seeds differ) are averaged; numeric values sort
 * numerically, others keep their first-seen order on a category axis.
 */
export function sweepLines(
  runs: readonly RunManifest[],
  param: string,
  metric: string,
): { numeric: boolean; categories: string[]; lines: { design: string; points: { x: number | string; y: number; n: number }[] }[] } {
  const valueOf = (r: RunManifest): string | number | boolean | undefined => (param === 'seed' ? r.seed : r.parameters[param])
  const present = runs.filter((r) => valueOf(r) !== undefined && r.metrics[metric] !== undefined && (r.status === 'passed' || r.status === 'expects_failed'))
  const numeric = present.every((r) => typeof valueOf(r) === 'number')
  const categories = [...new Set(present.map((r) => String(valueOf(r))))]
  const designs = [...new Set(present.map((r) => r.design))].sort()
  const lines = designs.map((design) => {
    const acc = new Map<string, { x: number | string; sum: number; n: number }>()
    for (const r of present.filter((p) => p.design === design)) {
      const v = valueOf(r)!
      const key = String(v)
      const a = acc.get(key) ?? { x: numeric ? (v as number) : key, sum: 0, n: 0 }
      a.sum += r.metrics[metric]!.value
      a.n++
      acc.set(key, a)
    }
    const points = [...acc.values()].map((a) => ({ x: a.x, y: a.sum / a.n, n: a.n }))
    if (numeric) points.sort((a, b) => (a.x as number) - (b.x as number))
    else points.sort((a, b) => categories.indexOf(String(a.x)) - categories.indexOf(String(b.x)))
    return { design, points }
  })
  return { numeric, categories, lines }
}

// ---------------------------------------------------------------------------------------------
// Compare

/** Short label of a compared run: its design, plus seed and swept parameters when they differ. */
export function compareLabel(run: Comparison['runs'][number]): string {
  const params = Object.entries(run.parameters).map(([k, v]) => `${k}=${String(v)}`)
  return [run.design, `seed ${run.seed}`, ...params].join(' · ')
}

/** Overlaid datasets of one compared series: one line per run, nulls (absent) dropped. */
export function compareSeries(comparison: Comparison, name: string): { label: string; points: XY[] }[] {
  const s = comparison.series.find((x) => x.name === name)
  if (!s) return []
  return comparison.runs.map((r, k) => {
    const vals = s.values[k] ?? []
    const points: XY[] = []
    for (let i = 0; i < s.t.length; i++) {
      const v = vals[i]
      if (v !== null && v !== undefined) points.push({ x: s.t[i]!, y: v })
    }
    return { label: `${r.label || r.design} (${r.id})`, points }
  })
}

/** The unit of a series by its name (memory and leaked series are bytes); metrics carry their unit as data. */
export function unitOf(name: string): 'bytes' | 'ns' | 'count' | 'other' {
  if (/^(memory|leaked)\./.test(name)) return 'bytes'
  const u = unitOfName(name)
  return u === 'bytes' || u === 'ns' || u === 'count' ? u : 'other'
}

// ---------------------------------------------------------------------------------------------
// Level of detail for scatters and CDFs

export interface ScatterLodOptions<P> {
  /** Points are sorted by x (binary search for the range; otherwise every point is scanned). */
  sorted: boolean
  logX?: boolean
  logY?: boolean
  /** Row of a point when rows are categories (timeline lanes); by default y spread over `rows`. */
  rowOf?: (p: P) => number
  /** Where an x is drawn on a non-linear time axis (logarithmic, events only): cells are equal shares of the width. */
  xPos?: (x: number) => number
}

/** First index whose point has x >= v (points sorted by x). */
function lowerBoundX(points: readonly { x: number }[], v: number): number {
  let lo = 0
  let hi = points.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (points[mid]!.x < v) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Level of detail for a scatter between x0 and x1: at most one point per cell of a `cols × rows`
 * grid over that range (x) and the spread of the points in it (y, or `rowOf`), the first in each
 * cell; slices (`x2`) at least one cell wide are always kept. At pixel-sized cells the picture is
 * the same as drawing every point (every occupied cell, outliers included, keeps a point), and
 * Chart.js gets at most `cols × rows` points. Ranges with few points come back whole.
 */
export function lodScatter<P extends { x: number; y: number; x2?: number }>(
  points: readonly P[],
  x0: number,
  x1: number,
  cols: number,
  rows: number,
  opts: ScatterLodOptions<P>,
): P[] {
  const a = opts.sorted ? lowerBoundX(points, x0) : 0
  let end = opts.sorted ? lowerBoundX(points, x1) : points.length
  // Include points exactly at x1 (sorted): step past equal x.
  if (opts.sorted) while (end < points.length && points[end]!.x <= x1) end++
  const inRange = (p: P): boolean => p.x >= x0 && p.x <= x1
  const fx = opts.xPos ?? (opts.logX ? (v: number) => Math.log10(v) : (v: number) => v)
  const fy = opts.logY ? (v: number) => Math.log10(v) : (v: number) => v
  const usable = (p: P): boolean => (!opts.logX || p.x > 0) && (!opts.logY || p.y > 0)
  let count = 0
  let ylo = Number.POSITIVE_INFINITY
  let yhi = Number.NEGATIVE_INFINITY
  let xlo = Number.POSITIVE_INFINITY
  let xhi = Number.NEGATIVE_INFINITY
  for (let i = a; i < end; i++) {
    const p = points[i]!
    if (!opts.sorted && !inRange(p)) continue
    count++
    if (!usable(p)) continue
    const y = fy(p.y)
    const x = fx(p.x)
    if (y < ylo) ylo = y
    if (y > yhi) yhi = y
    if (x < xlo) xlo = x
    if (x > xhi) xhi = x
  }
  const out: P[] = []
  cols = gridSize(cols)
  rows = gridSize(rows)
  if (count <= 2 * cols) {
    for (let i = a; i < end; i++) if (opts.sorted || inRange(points[i]!)) out.push(points[i]!)
    return out
  }
  // The grid spans the points actually in range (a zoom past the data keeps its resolution).
  const gx0 = Number.isFinite(x0) && (!opts.logX || x0 > 0) ? Math.max(fx(x0), xlo) : xlo
  const gx1 = Number.isFinite(x1) ? Math.min(fx(x1), xhi) : xhi
  const xw = (gx1 - gx0) / cols || 1
  const yh = (yhi - ylo) / rows || 1
  const seen = new Uint8Array(cols * rows)
  for (let i = a; i < end; i++) {
    const p = points[i]!
    if (!opts.sorted && !inRange(p)) continue
    if (!usable(p)) continue
    const c = Math.min(cols - 1, Math.max(0, Math.floor((fx(p.x) - gx0) / xw)))
    const r = Math.min(rows - 1, Math.max(0, opts.rowOf ? opts.rowOf(p) : Math.floor((fy(p.y) - ylo) / yh)))
    const cell = r * cols + c
    const wide = p.x2 !== undefined && !opts.logX && fx(p.x2) - fx(p.x) >= xw
    if (seen[cell] && !wide) continue
    seen[cell] = 1
    out.push(p)
  }
  return out
}

/**
 * Columns or rows of a level-of-detail grid: a whole number from 1 to 8192 (a view's pixels),
 * whatever the caller measured (NaN, 0, Infinity would size the grid's cell array as nothing,
 * or as more memory than exists, and Infinity never shrinks in `lodScatterBudget`).
 */
function gridSize(n: number): number {
  return n >= 1 ? Math.min(8192, Math.floor(n)) : 1
}

/**
 * Thins a CDF (points sorted by x, y rising to 1) to about `maxPoints`: a point is kept when y or
 * x (log when `logX`) has moved by at least 1/maxPoints of its range since the last kept point;
 * the first and last are always kept, so the curve's ends and every visible step survive.
 */
export function thinCdf(points: readonly XY[], maxPoints: number, logX = false): XY[] {
  // (two at least: the first and last are kept, and a single point is not drawn twice)
  if (points.length <= Math.max(2, maxPoints)) return [...points]
  const fx = logX ? (v: number) => Math.log10(Math.max(v, Number.MIN_VALUE)) : (v: number) => v
  const first = points[0]!
  const last = points[points.length - 1]!
  const dx = (fx(last.x) - fx(first.x)) / maxPoints
  const dy = (last.y - first.y) / maxPoints
  const out: XY[] = [first]
  let kx = fx(first.x)
  let ky = first.y
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!
    const x = fx(p.x)
    if (x - kx >= dx || p.y - ky >= dy) {
      out.push(p)
      kx = x
      ky = p.y
    }
  }
  out.push(last)
  return out
}

/**
 * `lodScatter` within a budget of points: when one point per cell is still more than `budget`
 * (a dense cloud), the cells grow (×1.5 per step; rows stay when they are categories) until it
 * fits. Zooming in brings the detail back.
 */
export function lodScatterBudget<P extends { x: number; y: number; x2?: number }>(
  points: readonly P[],
  x0: number,
  x1: number,
  cols: number,
  rows: number,
  opts: ScatterLodOptions<P>,
  budget: number,
): P[] {
  let c = gridSize(cols)
  let r = gridSize(rows)
  let out = lodScatter(points, x0, x1, c, r, opts)
  while (out.length > budget && c > 16) {
    c = Math.max(16, Math.floor(c / 1.5))
    if (!opts.rowOf) r = Math.max(8, Math.floor(r / 1.5))
    out = lodScatter(points, x0, x1, c, r, opts)
  }
  return out
}
