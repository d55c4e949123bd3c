/** Derived numbers of one run: invalidation cost statistics, leak totals, peak memory. */
import type { InvalidationTable, RunResult, RunSeries } from '../../../shared/run-result'
import type { InvalidationStat } from '../../../shared/report'

/** Nearest-rank percentile of ascending-sorted values (0 for none). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

function stat(mechanism: string, device: string, costs: number[]): InvalidationStat {
  const sorted = [...costs].sort((a, b) => a - b)
  return {
    mechanism,
    device,
    count: sorted.length,
    totalNs: sorted.reduce((s, c) => s + c, 0),
    p50Ns: percentile(sorted, 50),
    p90Ns: percentile(sorted, 90),
    p99Ns: percentile(sorted, 99),
    maxNs: sorted[sorted.length - 1] ?? 0,
  }
}

/** Cost statistics by (mechanism, device) and by mechanism alone, largest total first. */
export function invalidationStats(table: InvalidationTable): { byMechanismDevice: InvalidationStat[]; byMechanism: InvalidationStat[] } {
  const pairs = new Map<string, { mechanism: string; device: string; costs: number[] }>()
  const mechs = new Map<string, number[]>()
  const n = Math.min(table.costNs.length, table.mechanism.length, table.device.length)
  for (let i = 0; i < n; i++) {
    const mechanism = table.dict.mechanism[table.mechanism[i]!] ?? `#${table.mechanism[i]}`
    const device = table.dict.device[table.device[i]!] ?? `#${table.device[i]}`
    const cost = table.costNs[i]!
    const key = `${mechanism}\u0000${device}`
    let entry = pairs.get(key)
    if (!entry) pairs.set(key, (entry = { mechanism, device, costs: [] }))
    entry.costs.push(cost)
    let m = mechs.get(mechanism)
    if (!m) mechs.set(mechanism, (m = []))
    m.push(cost)
  }
  const order = (a: InvalidationStat, b: InvalidationStat): number => b.totalNs - a.totalNs || a.mechanism.localeCompare(b.mechanism) || a.device.localeCompare(b.device)
  return {
    byMechanismDevice: [...pairs.values()].map((e) => stat(e.mechanism, e.device, e.costs)).sort(order),
    byMechanism: [...mechs.entries()].map(([m, c]) => stat(m, '*', c)).sort(order),
  }
}

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

/** The largest total of all `memory.*` series at one time. */
export function peakMemory(series: RunSeries): number {
  const total = sumSteps(seriesWithPrefix(series, 'memory.'))
  return total.v.reduce((m, v) => Math.max(m, v), 0)
}

/** Totals of the leak table. */
export function leakTotals(result: RunResult): { bytes: number; byteSeconds: number } {
  return result.leaks.reduce((acc, l) => ({ bytes: acc.bytes + l.bytes, byteSeconds: acc.byteSeconds + l.byteSeconds }), { bytes: 0, byteSeconds: 0 })
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
    keep.add(from).add(lo).add(hi).add(to - 1)
  }
  const ids = [...keep].sort((a, b) => a - b)
  return { t: ids.map((i) => t[i]!), v: ids.map((i) => v[i]!) }
}
