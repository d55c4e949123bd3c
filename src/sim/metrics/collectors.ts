/**
 * Metrics collectors: subscribers of the world's hooks that own the figures of the result
 * document's `metrics` and `series`. Models only emit (`World.invalidation`, `World.count`, the
 * ledger's memory samples); they never keep aggregates themselves. `runScenario` attaches the collectors right after building the world.
 */
import type { Hooks } from '../engine/hooks'
import type { CounterEvent, HookChannels, InvalidationRecord } from '../kernel/types'
import type { RunResult } from '../../shared/result'
import { MEM_TYPES, type MemoryGrowth, type MemorySample, type MemType } from '../ledger/ledger'

export type InvalidationStat = RunResult['metrics']['invalidations_by'][number]

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[i] as number
}

/** Cost samples of every invalidation, by event × device × mechanism (subscribes to `invalidation`). */
export class InvalidationCosts {
  /** Cost samples by "event|device|mechanism" key. */
  private readonly costs = new Map<string, number[]>()

  constructor(hooks: Hooks<HookChannels>) {
    hooks.on('invalidation', (r) => this.add(r))
  }

  private add(r: InvalidationRecord): void {
    const key = `${r.event}|${r.device}|${r.mechanism}`
    let arr = this.costs.get(key)
    if (!arr) {
      arr = []
      this.costs.set(key, arr)
    }
    arr.push(r.cost)
  }

  /** Aggregates sorted by key: count, total and percentiles per key, and the grand totals. */
  summary(): { by: InvalidationStat[]; count: number; total_ns: number } {
    const by: InvalidationStat[] = []
    let count = 0
    let totalNs = 0
    for (const k of [...this.costs.keys()].sort()) {
      const arr = (this.costs.get(k) as number[]).slice().sort((a, b) => a - b)
      const [event, device, mechanism] = k.split('|') as [string, string, string]
      const total = arr.reduce((a, b) => a + b, 0)
      count += arr.length
      totalNs += total
      by.push({ event, device, mechanism, count: arr.length, total_ns: total, p50_ns: percentile(arr, 0.5), p90_ns: percentile(arr, 0.9), p99_ns: percentile(arr, 0.99), max_ns: arr[arr.length - 1] ?? 0 })
    }
    return { by, count, total_ns: totalNs }
  }
}

/** Named counters (subscribes to `counter`). */
export class Counters {
  private readonly values = new Map<string, number>()

  constructor(hooks: Hooks<HookChannels>) {
    const values = this.values
    // the payload is reused by the emitter: read it now, never keep it
    hooks.on('counter', (c: CounterEvent) => {
      values.set(c.name, (values.get(c.name) ?? 0) + c.by)
    })
  }

  /** Current value of a counter (0 if never counted). */
  get(name: string): number {
    return this.values.get(name) ?? 0
  }

  /** All counters, keys sorted. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of [...this.values.keys()].sort()) out[k] = this.values.get(k) as number
    return out
  }
}

export interface MemorySeries {
  t: number[]
  byType: Record<MemType, number[]>
  leaked: number[]
}

/** Maximum points kept per series (older points are decimated deterministically). */
const SERIES_CAP = 2048

/** Memory by type and leaked bytes over time (subscribes to `memory`), at most ~SERIES_CAP points. */
export class MemorySeriesCollector {
  readonly series: MemorySeries = { t: [], byType: Object.fromEntries(MEM_TYPES.map((t) => [t, []])) as unknown as Record<MemType, number[]>, leaked: [] }
  private minSpacing = 0

  constructor(hooks: Hooks<HookChannels>) {
    // the payload is reused by the ledger: read it now, never keep it
    hooks.on('memory', (m: MemorySample) => this.push(m))
  }

  private push(m: MemorySample): void {
    const s = this.series
    const t = m.t
    const n = s.t.length
    const overwrite = n > 1 && t - (s.t[n - 2] as number) < this.minSpacing
    if (overwrite) {
      s.t[n - 1] = t
      for (let ti = 0; ti < MEM_TYPES.length; ti++) (s.byType[MEM_TYPES[ti] as MemType])[n - 1] = m.live[ti] as number
      s.leaked[n - 1] = m.leaked
      return
    }
    s.t.push(t)
    for (let ti = 0; ti < MEM_TYPES.length; ti++) s.byType[MEM_TYPES[ti] as MemType].push(m.live[ti] as number)
    s.leaked.push(m.leaked)
    if (s.t.length > SERIES_CAP) this.decimate()
  }

  private decimate(): void {
    const s = this.series
    const keep = (arr: number[]): number[] => arr.filter((_, i) => i % 2 === 1 || i === arr.length - 1)
    s.t = keep(s.t)
    for (const t of MEM_TYPES) s.byType[t] = keep(s.byType[t])
    s.leaked = keep(s.leaked)
    const span = (s.t[s.t.length - 1] as number) - (s.t[0] as number)
    this.minSpacing = Math.max(this.minSpacing * 2, Math.ceil(span / SERIES_CAP))
  }
}

/**
 * Peak live bytes by memory type (subscribes to `memory_growth`): exact, checked at every
 * allocation, so a peak that lasts zero simulated time (allocated and freed in one time stamp) counts.
 */
export class PeakBytes {
  private readonly peak: number[] = MEM_TYPES.map(() => 0)

  constructor(hooks: Hooks<HookChannels>) {
    const peak = this.peak
    // the payload is reused by the ledger: read it now, never keep it
    hooks.on('memory_growth', (g: MemoryGrowth) => {
      const v = g.live[g.type] as number
      if (v > (peak[g.type] as number)) peak[g.type] = v
    })
  }

  /** Peaks by type name. */
  byType(): Record<MemType, number> {
    return Object.fromEntries(MEM_TYPES.map((t, i) => [t, this.peak[i] ?? 0])) as Record<MemType, number>
  }
}

/** The collectors of one run. */
export interface Metrics {
  invalidations: InvalidationCosts
  counters: Counters
  memory: MemorySeriesCollector
  peak: PeakBytes
}

/** Subscribes every metrics collector to the hooks. */
export function attachMetrics(hooks: Hooks<HookChannels>): Metrics {
  return { invalidations: new InvalidationCosts(hooks), counters: new Counters(hooks), memory: new MemorySeriesCollector(hooks), peak: new PeakBytes(hooks) }
}
