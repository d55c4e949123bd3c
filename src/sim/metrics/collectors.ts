/**
 * Metrics collectors: subscribers of the world's hooks that own the figures of the result
 * document's `metrics` and `series`. Models only emit (`World.invalidation`, `World.count`, the
 * ledger's memory samples); they never keep aggregates themselves. `runScenario` attaches the collectors right after building the world.
 */
import type { Hooks } from '../engine/hooks'
import type { CounterEvent, HookChannels, InvalidationRecord } from '../kernel/types'
import type { Aggregates, InvalidationStat } from '../../shared/record'
import { MEM_TYPES, type MemoryGrowth, type MemorySample, type MemType } from '../ledger/ledger'

export type { InvalidationStat }

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

  /**
   * Exact aggregates over every invalidation (never over the capped table): by event × device ×
   * mechanism, by each of the three alone, and the totals; each with nearest-rank percentiles.
   */
  summary(): Aggregates['invalidations'] {
    const by: InvalidationStat[] = []
    const groups = { event: new Map<string, number[][]>(), device: new Map<string, number[][]>(), mechanism: new Map<string, number[][]>() }
    let count = 0
    let totalNs = 0
    for (const k of [...this.costs.keys()].sort()) {
      const arr = this.costs.get(k) as number[]
      const [event, device, mechanism] = k.split('|') as [string, string, string]
      const s = stat(arr)
      count += s.count
      totalNs += s.totalNs
      by.push({ event, device, mechanism, ...s })
      for (const [g, key] of [
        ['event', event],
        ['device', device],
        ['mechanism', mechanism],
      ] as const) {
        const list = groups[g].get(key)
        if (list) list.push(arr)
        else groups[g].set(key, [arr])
      }
    }
    const of = (g: 'event' | 'device' | 'mechanism'): InvalidationStat[] =>
      [...groups[g].keys()].sort().map((key) => ({ [g]: key, ...stat((groups[g].get(key) as number[][]).flat()) }))
    return { count, totalNs, by, byEvent: of('event'), byDevice: of('device'), byMechanism: of('mechanism') }
  }
}

function stat(costs: readonly number[]): Omit<InvalidationStat, 'event' | 'device' | 'mechanism'> {
  const arr = costs.slice().sort((a, b) => a - b)
  let total = 0
  for (const c of arr) total += c
  return {
    count: arr.length,
    totalNs: total,
    p50Ns: percentile(arr, 0.5),
    p90Ns: percentile(arr, 0.9),
    p99Ns: percentile(arr, 0.99),
    maxNs: arr[arr.length - 1] ?? 0,
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
  leakedByType: Record<MemType, number[]>
}

/** Maximum points kept per series (older points are decimated deterministically). */
const SERIES_CAP = 2048

/** Memory by type and leaked bytes over time (subscribes to `memory`), at most ~SERIES_CAP points. */
export class MemorySeriesCollector {
  readonly series: MemorySeries = {
    t: [],
    byType: Object.fromEntries(MEM_TYPES.map((t) => [t, []])) as unknown as Record<MemType, number[]>,
    leaked: [],
    leakedByType: Object.fromEntries(MEM_TYPES.map((t) => [t, []])) as unknown as Record<MemType, number[]>,
  }
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
      for (let ti = 0; ti < MEM_TYPES.length; ti++) {
        s.byType[MEM_TYPES[ti] as MemType][n - 1] = m.live[ti] as number
        s.leakedByType[MEM_TYPES[ti] as MemType][n - 1] = m.leakedByType[ti] as number
      }
      s.leaked[n - 1] = m.leaked
      return
    }
    s.t.push(t)
    for (let ti = 0; ti < MEM_TYPES.length; ti++) {
      s.byType[MEM_TYPES[ti] as MemType].push(m.live[ti] as number)
      s.leakedByType[MEM_TYPES[ti] as MemType].push(m.leakedByType[ti] as number)
    }
    s.leaked.push(m.leaked)
    if (s.t.length > SERIES_CAP) this.decimate()
  }

  private decimate(): void {
    const s = this.series
    const keep = (arr: number[]): number[] => arr.filter((_, i) => i % 2 === 1 || i === arr.length - 1)
    s.t = keep(s.t)
    for (const t of MEM_TYPES) {
      s.byType[t] = keep(s.byType[t])
      s.leakedByType[t] = keep(s.leakedByType[t])
    }
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
  /** Peak of all types together (an allocation is the only moment the total can rise). */
  total = 0

  constructor(hooks: Hooks<HookChannels>) {
    const peak = this.peak
    // the payload is reused by the ledger: read it now, never keep it
    hooks.on('memory_growth', (g: MemoryGrowth) => {
      const v = g.live[g.type] as number
      if (v > (peak[g.type] as number)) peak[g.type] = v
      let sum = 0
      for (let i = 0; i < g.live.length; i++) sum += g.live[i] as number
      if (sum > this.total) this.total = sum
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
