/**
 * The one planner of runs: a scenario's designs, `seed` / `seeds` and a sweep become the list of
 * runs, and the finished runs become the sweep summary (the fraction of seeds with each finding
 * per design and parameter set, and every `sweep_expect` checked). The in-process CLI
 * (`hmmlab run FILE`) and the experiment service (`--workers N`, the app) both use it, so a
 * scenario runs the same seeds and passes or fails the same way wherever it is started.
 *
 * Pure and shared (zod only).
 */
import { z } from 'zod'
import { ParamValue } from './record'
import { isSeed, MAX_SEED, type CmpT } from './scenario'

type Param = z.infer<typeof ParamValue>

export interface PlanInput {
  /** The sweep expanded to parameter sets (`design` and `seed` may be among the keys). */
  sets: Array<Record<string, Param>>
  /** Designs when a set does not name one (the command line's, else the scenario's). */
  designs: readonly string[]
  /** First seed when a set does not name one (the command line's, else the scenario's `seed`, else 1). */
  seed: number
  /** Consecutive seeds from `seed` (the scenario's `seeds`, default 1). */
  seeds: number
}

export interface PlannedRun {
  design: string
  seed: number
  /** Swept scenario parameters (path → value), design and seed excluded. */
  parameters: Record<string, Param>
}

/** Every run of a plan: set × design × seed, in that order. Throws on a seed outside 0..2^32-1. */
export function planRuns(input: PlanInput): PlannedRun[] {
  const runs: PlannedRun[] = []
  const sets = input.sets.length ? input.sets : [{}]
  for (const set of sets) {
    const { design, seed, ...parameters } = set
    const designs = design !== undefined ? [String(design)] : [...input.designs]
    const seeds = seed !== undefined ? [Number(seed)] : Array.from({ length: Math.max(1, input.seeds) }, (_, i) => input.seed + i)
    for (const s of seeds) {
      // the value as given (a swept "abc" is named, not the NaN it makes)
      if (!isSeed(s)) throw new Error(`seed ${JSON.stringify(seed !== undefined ? seed : s)} is not an integer 0..${MAX_SEED}`)
    }
    for (const d of designs) for (const s of seeds) runs.push({ design: d, seed: s, parameters })
  }
  return runs
}

export const SweepGroup = z.object({
  design: z.string(),
  parameters: z.record(z.string(), ParamValue),
  seeds: z.array(z.number().int()),
  /** Finding kind → seeds with at least one such finding. */
  hits: z.record(z.string(), z.number().int()),
  /** hits / finished seeds. */
  fractions: z.record(z.string(), z.number()),
  /** Seeds whose own expects failed. */
  failedSeeds: z.array(z.number().int()),
  /** Seeds that did not run to their end (stopped, cancelled, crashed): left out of the fractions. */
  unfinishedSeeds: z.array(z.number().int()),
})
export type SweepGroup = z.infer<typeof SweepGroup>

export const SweepCheck = z.object({
  design: z.string(),
  parameters: z.record(z.string(), ParamValue),
  finding: z.string(),
  fraction: z.number(),
  /** The condition as written, in words ("≥ 0.1 and < 0.9"). */
  expected: z.string(),
  passed: z.boolean(),
  /** One sentence: "B2: fraction of 64 seeds with use_after_free: 0.250 (expected ≥ 0.1)". */
  what: z.string(),
})
export type SweepCheck = z.infer<typeof SweepCheck>

export const SweepSummary = z.object({
  groups: z.array(SweepGroup),
  checks: z.array(SweepCheck),
  /** Every sweep_expect held and no seed failed its own expects. */
  passed: z.boolean(),
})
export type SweepSummary = z.infer<typeof SweepSummary>

export interface FinishedRun {
  design: string
  seed: number
  parameters: Record<string, Param>
  /** The stored status (`passed`, `expects_failed`, `stopped`, `cancelled`, `crashed`). */
  status: string
  /** Kinds of the run's findings. */
  findingKinds: readonly string[]
}

export interface SweepExpectInput {
  design?: string | string[] | undefined
  finding: string
  fraction: CmpT
}

/** Words for a comparison: `= 0`, `≥ 0.1 and < 0.9`. */
export function cmpWords(c: CmpT): string {
  if (typeof c === 'number') return `= ${c}`
  return Object.entries(c)
    .map(([k, v]) => `${{ eq: '=', ne: '≠', gt: '>', ge: '≥', lt: '<', le: '≤' }[k] ?? k} ${v}`)
    .join(' and ')
}

export function cmpHolds(v: number, c: CmpT): boolean {
  if (typeof c === 'number') return v === c
  return (
    (c.eq === undefined || v === c.eq) &&
    (c.ne === undefined || v !== c.ne) &&
    (c.gt === undefined || v > c.gt) &&
    (c.ge === undefined || v >= c.ge) &&
    (c.lt === undefined || v < c.lt) &&
    (c.le === undefined || v <= c.le)
  )
}

/**
 * The sweep summary of finished runs: runs are grouped by design and parameter set (the seeds of
 * one group are what `seeds:` asks for), and every `sweep_expect` that names the group's design
 * (or none) is checked against the group's fraction.
 */
export function summarizeSweep(runs: readonly FinishedRun[], sweepExpect: readonly SweepExpectInput[]): SweepSummary {
  const groups = new Map<string, SweepGroup>()
  for (const r of runs) {
    const key = `${r.design}\u0000${JSON.stringify(Object.entries(r.parameters).sort(([a], [b]) => a.localeCompare(b)))}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { design: r.design, parameters: r.parameters, seeds: [], hits: {}, fractions: {}, failedSeeds: [], unfinishedSeeds: [] }))
    g.seeds.push(r.seed)
    if (r.status === 'expects_failed') g.failedSeeds.push(r.seed)
    if (r.status !== 'passed' && r.status !== 'expects_failed') {
      g.unfinishedSeeds.push(r.seed)
      continue
    }
    for (const k of new Set(r.findingKinds)) g.hits[k] = (g.hits[k] ?? 0) + 1
  }
  const checks: SweepCheck[] = []
  for (const g of groups.values()) {
    const finished = g.seeds.length - g.unfinishedSeeds.length
    for (const k of Object.keys(g.hits).sort()) g.fractions[k] = finished > 0 ? (g.hits[k] as number) / finished : 0
    for (const e of sweepExpect) {
      if (e.design !== undefined && !(Array.isArray(e.design) ? e.design : [e.design]).includes(g.design)) continue
      const f = g.fractions[e.finding] ?? 0
      const expected = cmpWords(e.fraction)
      // a fraction over seeds that did not all finish is not the fraction asked for
      const passed = g.unfinishedSeeds.length === 0 && cmpHolds(f, e.fraction)
      const params = Object.entries(g.parameters).map(([k, v]) => `${k}=${String(v)}`)
      const who = [g.design, ...params].join(' ')
      const partial = g.unfinishedSeeds.length ? `; ${g.unfinishedSeeds.length} seeds did not finish` : ''
      checks.push({
        design: g.design,
        parameters: g.parameters,
        finding: e.finding,
        fraction: f,
        expected,
        passed,
        what: `${who}: fraction of ${finished} seeds with ${e.finding}: ${f.toFixed(3)} (expected ${expected}${partial})`,
      })
    }
  }
  const list = [...groups.values()]
  return { groups: list, checks, passed: checks.every((c) => c.passed) && list.every((g) => g.failedSeeds.length === 0) }
}
