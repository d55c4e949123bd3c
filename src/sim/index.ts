/**
 * Public API of the HMM Lab simulator. Pure TypeScript: no Node, Electron or Vue imports, no
 * wall-clock time, no unseeded randomness. Runs in a worker, in tests and in the CLI.
 */
import { DESIGN_TABLE, DESIGN_IDS, type DesignId } from './teardown'
import { runScenario, type RunOptions, type RunProgress } from './run'
import { parseScenario, ScenarioError, type LoadedScenario } from './scenario/parse'
import { scenarioJsonSchema, type Scenario } from '../shared/scenario'
import type { RunResult } from '../shared/result'
import { COST_DEFAULTS, COST_NAMES } from './cost/model'

export { parseScenario, ScenarioError, runScenario, scenarioJsonSchema, COST_DEFAULTS, COST_NAMES }
export type { LoadedScenario, RunOptions, RunProgress, Scenario, RunResult, DesignId }
export type { Finding, InvalidationRecord, Marker, StepBegin, StepView, RunStepBegin, NotifierRangeCall, IntervalInvalidateCall } from './world'

export interface DesignInfo {
  id: DesignId
  title: string
  summary: string
  /** False for the broken variants B1/B2. */
  correct: boolean
}

/** Every teardown design with its description (D1–D6, then the broken B1, B2). */
export const DESIGNS: readonly DesignInfo[] = DESIGN_IDS.map((id) => {
  const d = DESIGN_TABLE[id]
  return { id, title: d.title, summary: d.summary, correct: d.correct }
})

/** Designs a scenario runs under when it names none: the six correct ones. */
export const DEFAULT_DESIGNS: readonly DesignId[] = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6']

/** Designs of a scenario (its `designs`, else D1–D6). */
export function scenarioDesigns(sc: Scenario): DesignId[] {
  return sc.designs ? [...sc.designs] : [...DEFAULT_DESIGNS]
}

export interface SweepResult {
  format: 'hmmlab-sweep/1'
  scenario: string
  design: DesignId
  seeds: number[]
  /** Seeds with at least one finding of each kind. */
  hits: Record<string, number>
  /** hits / seeds. */
  fractions: Record<string, number>
  /** Seeds whose own expects failed. */
  failedSeeds: number[]
  expects: Array<{ finding: string; fraction: number; pass: boolean; detail: string }>
}

/**
 * Runs `count` consecutive seeds from `first` and reports, per finding kind, how many seeds hit it
 * (e.g. the fraction of seeds where B2's deferred job loses the race), checking `sweep_expect`.
 */
export function runSweep(sc: Scenario, design: DesignId, first: number, count: number, opts: Omit<RunOptions, 'design' | 'seed'> = {}): { sweep: SweepResult; firstResult: RunResult } {
  const hits: Record<string, number> = {}
  const seeds: number[] = []
  const failedSeeds: number[] = []
  let firstResult: RunResult | null = null
  for (let i = 0; i < count; i++) {
    // A stopped sweep (cancel, wall-time budget) starts no further seed; the first always runs.
    if (i > 0 && opts.shouldStop?.()) break
    const seed = (first + i) >>> 0
    const r = runScenario(sc, { ...opts, design, seed })
    if (!firstResult) firstResult = r
    seeds.push(seed)
    if (r.status === 'failed') failedSeeds.push(seed)
    const kinds = new Set(r.findings.map((f) => f.kind))
    for (const k of kinds) hits[k] = (hits[k] ?? 0) + 1
  }
  const fractions: Record<string, number> = {}
  for (const k of Object.keys(hits).sort()) fractions[k] = (hits[k] as number) / seeds.length
  const expects: SweepResult['expects'] = []
  for (const e of sc.sweep_expect ?? []) {
    if (e.design !== undefined && !(Array.isArray(e.design) ? e.design : [e.design]).includes(design)) continue
    const f = fractions[e.finding] ?? 0
    const c = e.fraction
    const ok =
      typeof c === 'number'
        ? f === c
        : (c.eq === undefined || f === c.eq) && (c.ne === undefined || f !== c.ne) && (c.gt === undefined || f > c.gt) && (c.ge === undefined || f >= c.ge) && (c.lt === undefined || f < c.lt) && (c.le === undefined || f <= c.le)
    expects.push({ finding: e.finding, fraction: f, pass: ok, detail: `fraction of seeds with ${e.finding}: ${f.toFixed(3)} (expected ${JSON.stringify(c)})` })
  }
  return { sweep: { format: 'hmmlab-sweep/1', scenario: sc.name, design, seeds, hits, fractions, failedSeeds, expects }, firstResult: firstResult as RunResult }
}

/** One row of a per-design comparison of runs of the same scenario. */
export interface ComparisonRow {
  design: DesignId
  title: string
  /** Peak of bytes held for exited owners. */
  leakedPeak: number
  leakedAtEnd: number
  leakByteSeconds: number
  /** Longest interval any (owner, type) stayed leaked, ns. */
  longestLeakNs: number
  invalidationCount: number
  invalidationCostNs: number
  findings: number
  expectsPassed: number
  expects: number
  status: RunResult['status']
}

/** Per-design summary of results of one scenario (what stays alive, for how long, at what cost). */
export function compareRuns(results: readonly RunResult[]): ComparisonRow[] {
  return results.map((r) => ({
    design: r.design.id,
    title: r.design.title,
    leakedPeak: r.metrics.leaked_bytes_peak,
    leakedAtEnd: r.metrics.leaked_bytes_end,
    leakByteSeconds: r.metrics.leak_byte_seconds,
    longestLeakNs: r.leaks.reduce((m, l) => Math.max(m, l.since === null ? 0 : (l.until ?? r.simulated_ns) - l.since), 0),
    invalidationCount: r.metrics.invalidation_count,
    invalidationCostNs: r.metrics.invalidation_cost_ns,
    findings: r.findings.length,
    expectsPassed: r.expects.filter((e) => e.pass).length,
    expects: r.expects.length,
    status: r.status,
  }))
}
