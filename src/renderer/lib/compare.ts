/**
 * What the Compare view decides about metrics and runs: which way is better for a metric (so a
 * change is coloured as an improvement or a regression only when that is known), which metrics are
 * the key ones (shown first), which rows differ, and which stored runs match a search.
 */

/** Lower is better (leaks, costs, findings), higher is better (hits), or neither is known. */
export type Direction = 'lower' | 'higher' | 'neutral'

/**
 * The direction of a metric, from its record name. Counters (`counter.…`) and time/event totals describe
 * what happened, not how good it was: neutral.
 */
export function metricDirection(name: string): Direction {
  const n = name.toLowerCase()
  if (n.startsWith('counter.') || n === 'simulated_ns' || n === 'events') return 'neutral'
  if (/(^|_)hits?(_|$)/.test(n)) return 'higher'
  if (/leak|leaked|findings|use_after_free|invalidation|cost|miss|flush|qi_wait|srcu_callbacks_pending|expects_failed|^peak_|^final_/.test(n)) return 'lower'
  return 'neutral'
}

/** The class of a change against the baseline: better, worse, changed (direction unknown) or same. */
export function deltaClass(name: string, delta: number | null | undefined): 'better' | 'worse' | 'changed' | 'same' {
  if (delta === null || delta === undefined || delta === 0 || Number.isNaN(delta)) return 'same'
  const dir = metricDirection(name)
  if (dir === 'neutral') return 'changed'
  return (dir === 'lower') === delta < 0 ? 'better' : 'worse'
}

/** Metrics a kernel engineer reads first, in this order; the rest follow in their own order. */
export const KEY_METRICS = [
  'leak_byte_seconds',
  'leaked_bytes_end',
  'leaked_bytes_peak',
  'findings',
  'expects_failed',
  'invalidation_count',
  'invalidation_cost_ns',
] as const

/** Key metrics first, then the others as they came. */
export function orderMetrics<T extends { name: string }>(rows: readonly T[]): T[] {
  const rank = (name: string): number => {
    const i = (KEY_METRICS as readonly string[]).indexOf(name)
    return i < 0 ? KEY_METRICS.length : i
  }
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r.name) - rank(b.r.name) || a.i - b.i)
    .map((x) => x.r)
}

/** True when the row's values are not all equal (a missing value counts as different). */
export function differs(row: { values: readonly (number | null)[] }): boolean {
  const [first, ...rest] = row.values
  return rest.some((v) => v !== first)
}

/** Runs matching every word of a search over id, scenario, design and seed. */
export function filterRuns<T extends { id: string; scenario: { name: string }; design: string; seed: number }>(runs: readonly T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return [...runs]
  return runs.filter((r) => {
    const hay = `${r.id} ${r.scenario.name} ${r.design} seed ${r.seed} s${r.seed}`.toLowerCase()
    return words.every((w) => hay.includes(w))
  })
}
