/**
 * Chart helpers of the reports: series by name prefix, the sum of step series for a chart, and
 * thinning. No total of a run is computed here: counts, costs, percentiles, peaks and leak
 * totals are the record's aggregates (src/shared/record.ts).
 */
import type { RunSeries } from '../../../shared/runs'

/** The series whose names start with `prefix` (e.g. `memory.`), by the rest of the name. */
export function seriesWithPrefix(series: RunSeries, prefix: string): { name: string; t: number[]; v: number[] }[] {
  return Object.keys(series)
    .filter((k) => k.startsWith(prefix))
    .sort()
    .map((k) => ({ name: k.slice(prefix.length), t: series[k]!.t, v: series[k]!.v }))
}

/**
 * The sum of several step series on the union of their times (each value holds until the next
 * sample; 0 before a series' first sample).
 */
export function sumSteps(list: { t: number[]; v: number[] }[]): { t: number[]; v: number[] } {
  const times = [...new Set(list.flatMap((s) => s.t))].sort((a, b) => a - b)
  const idx = list.map(() => -1)
  const out: number[] = []
  for (const t of times) {
    let sum = 0
    list.forEach((s, k) => {
      let i = idx[k]!
      while (i + 1 < s.t.length && s.t[i + 1]! <= t) i++
      idx[k] = i
      if (i >= 0) sum += s.v[i]!
    })
    out.push(sum)
  }
  return { t: times, v: out }
}

/**
 * Thins a step series to at most `max` points for a chart: keeps only value changes, then, if
 * still too many, the first/min/max/last of each bucket, so peaks survive.
 */
export function thinSteps(s: { t: number[]; v: number[] }, max: number): { t: number[]; v: number[] } {
  const t: number[] = []
  const v: number[] = []
  for (let i = 0; i < s.t.length; i++) {
    if (i > 0 && i < s.t.length - 1 && s.v[i] === v[v.length - 1]) continue
    t.push(s.t[i]!)
    v.push(s.v[i]!)
  }
  if (t.length <= max) return { t, v }
  const buckets = Math.max(1, Math.floor(max / 4))
  const size = t.length / buckets
  const keep = new Set<number>([0, t.length - 1])
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size)
    const to = Math.min(t.length, Math.floor((b + 1) * size))
    let lo = from
    let hi = from
    for (let i = from; i < to; i++) {
      if (v[i]! < v[lo]!) lo = i
      if (v[i]! > v[hi]!) hi = i
    }
    keep
      .add(from)
      .add(lo)
      .add(hi)
      .add(to - 1)
  }
  const ids = [...keep].sort((a, b) => a - b)
  return { t: ids.map((i) => t[i]!), v: ids.map((i) => v[i]!) }
}

/**
 * Several step series stacked on the union of their times, thinned together so every band keeps
 * the same times: `values[k]` is series k's own value, `tops[k]` the top of its band (the sum of
 * series 0..k). Thinning keeps the times where any series changes, then, if still more than
 * `max`, the first/last and the times of the lowest and highest total of each bucket.
 */
export function stackSteps(list: { t: number[]; v: number[] }[], max: number): { t: number[]; values: number[][]; tops: number[][] } {
  const times = [...new Set(list.flatMap((s) => s.t))].sort((a, b) => a - b)
  const idx = list.map(() => -1)
  const all = list.map(() => [] as number[])
  for (const t of times) {
    list.forEach((s, k) => {
      let i = idx[k]!
      while (i + 1 < s.t.length && s.t[i + 1]! <= t) i++
      idx[k] = i
      all[k]!.push(i >= 0 ? s.v[i]! : 0)
    })
  }
  // times where some series changes (and the first and last)
  let keep: number[] = []
  for (let i = 0; i < times.length; i++) if (i === 0 || i === times.length - 1 || all.some((v) => v[i] !== v[i - 1])) keep.push(i)
  if (keep.length > max) {
    const total = keep.map((i) => all.reduce((sum, v) => sum + v[i]!, 0))
    const buckets = Math.max(1, Math.floor(max / 4))
    const size = keep.length / buckets
    const pick = new Set<number>([0, keep.length - 1])
    for (let b = 0; b < buckets; b++) {
      const from = Math.floor(b * size)
      const to = Math.min(keep.length, Math.floor((b + 1) * size))
      let lo = from
      let hi = from
      for (let j = from; j < to; j++) {
        if (total[j]! < total[lo]!) lo = j
        if (total[j]! > total[hi]!) hi = j
      }
      pick
        .add(from)
        .add(lo)
        .add(hi)
        .add(to - 1)
    }
    keep = [...pick].sort((a, b) => a - b).map((j) => keep[j]!)
  }
  const values = all.map((v) => keep.map((i) => v[i]!))
  const tops: number[][] = []
  values.forEach((v, k) => tops.push(v.map((x, j) => x + (k > 0 ? tops[k - 1]![j]! : 0))))
  return { t: keep.map((i) => times[i]!), values, tops }
}
