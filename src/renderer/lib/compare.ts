/**
 * What the Compare view decides about metrics and runs: which way is better for a metric (so a
 * change is coloured as an improvement or a regression only when that is known), which metrics are
 * the key ones (shown first), which rows differ, which stored runs match a search, which
 * series the chart opens on, and which scenario each run comes from when they are not all one.
 */
import type { Comparison } from '../../shared/runs'
import { orderTypes } from './shape'

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

/** The series the Compare chart opens on, and why, in words for the hint beside its picker. */
export interface SeriesChoice {
  name: string
  why: string
}

/** Largest difference between two runs' values at one sample time (null: absent, counts as differing). */
function spreadOf(values: readonly (readonly (number | null)[])[]): number {
  let most = 0
  const n = Math.max(0, ...values.map((v) => v.length))
  for (let i = 0; i < n; i++) {
    let lo = Infinity
    let hi = -Infinity
    let missing = false
    let present = false
    for (const run of values) {
      const v = run[i]
      if (v === null || v === undefined) missing = true
      else {
        present = true
        if (v < lo) lo = v
        if (v > hi) hi = v
      }
    }
    if (missing && present) most = Math.max(most, Math.max(Math.abs(lo), Math.abs(hi)))
    else if (present) most = Math.max(most, hi - lo)
  }
  return most
}

/**
 * The series the Compare chart opens on. The key series come first: memory held for owners that
 * are gone (`leaked.<type>`), then live memory (`memory.<type>`), object types in the record's
 * order. The chart opens on the first of these two families in which a series differs between the
 * runs, on the series that differs most in it (the largest gap between two runs at one time; a
 * series one run lacks differs by its values); ties go to the record's order. When no series
 * differs, it opens on the headline: the live memory series that holds the most bytes.
 */
export function openingSeries(c: Pick<Comparison, 'series' | 'runs'>): SeriesChoice | undefined {
  if (c.series.length === 0) return undefined
  const byName = new Map(c.series.map((s) => [s.name, s]))
  const family = (prefix: string): string[] =>
    orderTypes(c.series.filter((s) => s.name.startsWith(prefix)).map((s) => s.name.slice(prefix.length))).map((t) => prefix + t)
  const words: Record<string, string> = { 'leaked.': 'memory held for owners that are gone', 'memory.': 'live memory' }
  for (const prefix of ['leaked.', 'memory.']) {
    let best: string | undefined
    let most = 0
    for (const name of family(prefix)) {
      const d = spreadOf(byName.get(name)!.values)
      if (d > most) {
        most = d
        best = name
      }
    }
    if (best) {
      const first = prefix === 'leaked.' ? '' : 'no series of memory held for gone owners differs; '
      return { name: best, why: `${first}of ${words[prefix]}, the series that differs most between these ${c.runs.length} runs` }
    }
  }
  let head: string | undefined
  let peak = -1
  for (const name of family('memory.')) {
    let top = 0
    for (const run of byName.get(name)!.values) for (const v of run) if (v !== null && v > top) top = v
    if (top > peak) {
      peak = top
      head = name
    }
  }
  if (head) return { name: head, why: `no series differs between these ${c.runs.length} runs; this is the live memory series that holds the most bytes` }
  return { name: c.series[0]!.name, why: `no series differs between these ${c.runs.length} runs` }
}

/**
 * The scenario of each compared run, for its heading, when the runs come from several scenarios
 * (`mixedScenarios`); undefined for every run when they share one (the heading stays short).
 */
export function runScenarios(c: Pick<Comparison, 'runs' | 'mixedScenarios'>): (string | undefined)[] {
  return c.runs.map((r) => (c.mixedScenarios ? (r.scenario?.label ?? r.scenario?.name ?? 'a scenario not named') : undefined))
}

/** A compared run in a sentence: `D1 (id)`, or `D1 of “scenario” (id)` among runs of several scenarios. */
export function runInWords(c: Pick<Comparison, 'runs' | 'mixedScenarios'>, i: number): string {
  const r = c.runs[i]
  if (!r) return `run ${i + 1}`
  const scenario = runScenarios(c)[i]
  return `${r.design}${scenario === undefined ? '' : ` of “${scenario}”`} (${r.id})`
}
