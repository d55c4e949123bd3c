/**
 * Metrics collectors: subscribers of the world's hooks that own the figures of the result
 * document's `metrics`. Models only emit (`World.invalidation`, `World.count`); they never keep
 * aggregates themselves. `runScenario` attaches the collectors right after building the world.
 */
import type { Hooks } from '../engine/hooks'
import type { CounterEvent, HookChannels, InvalidationRecord } from '../world'
import type { RunResult } from '../../shared/result'

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

/** The collectors of one run. */
export interface Metrics {
  invalidations: InvalidationCosts
  counters: Counters
}

/** Subscribes every metrics collector to the hooks. */
export function attachMetrics(hooks: Hooks<HookChannels>): Metrics {
  return { invalidations: new InvalidationCosts(hooks), counters: new Counters(hooks) }
}
