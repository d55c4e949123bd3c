/**
 * Public API of the HMM Lab simulator. Pure TypeScript: no Node, Electron or Vue imports, no
 * wall-clock time, no unseeded randomness. Runs in a worker, in tests and in the CLI.
 */
import { DESIGN_TABLE, DESIGN_IDS, type DesignId } from './teardown'
import { runScenario, type RunOptions, type RunProgress } from './run'
import { parseScenario, ScenarioError, type LoadedScenario } from './scenario/parse'
import { scenarioJsonSchema, type Scenario } from '../shared/scenario'
import type { RunRecord } from '../shared/record'
import { COST_DEFAULTS, COST_NAMES } from './cost/model'

export { parseScenario, ScenarioError, runScenario, scenarioJsonSchema, COST_DEFAULTS, COST_NAMES }
export type { LoadedScenario, RunOptions, RunProgress, Scenario, RunRecord, DesignId }
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
const DEFAULT_DESIGNS: readonly DesignId[] = DESIGN_IDS.filter((id) => DESIGN_TABLE[id].correct)

/** Designs of a scenario (its `designs`, else D1–D6). */
export function scenarioDesigns(sc: Scenario): DesignId[] {
  return sc.designs ? [...sc.designs] : [...DEFAULT_DESIGNS]
}

/** One row of a per-design comparison of runs of the same scenario (the CLI's table). */
export interface ComparisonRow {
  design: DesignId
  title: string
  /** Peak of bytes held for exited owners. */
  leakedPeak: number
  leakedAtEnd: number
  leakByteSeconds: number
  /** Longest interval any (owner, type) stayed leaked, ns (up to the end of the run for one never freed). */
  longestLeakNs: number
  /** The longest leak was still held at the end of the run: it lasted at least longestLeakNs. */
  longestLeakOpen: boolean
  invalidationCount: number
  invalidationCostNs: number
  findings: number
  expectsPassed: number
  expects: number
  status: RunRecord['outcome']['status']
}

/** The longest (owner, type) leak of a record, and whether it was still held at the end (the longer one wins a tie). */
function longestLeak(r: RunRecord): { longestLeakNs: number; longestLeakOpen: boolean } {
  let longestLeakNs = 0
  let longestLeakOpen = false
  for (const l of r.leaks.rows) {
    const ns = (l.until ?? r.outcome.simulatedNs) - l.since
    if (ns > longestLeakNs || (ns === longestLeakNs && l.until === null && ns > 0)) {
      longestLeakNs = ns
      longestLeakOpen = l.until === null
    }
  }
  return { longestLeakNs, longestLeakOpen }
}

/** Per-design summary of records of one scenario (what stays alive, for how long, at what cost): read from the aggregates. */
export function compareRuns(records: readonly RunRecord[]): ComparisonRow[] {
  return records.map((r) => ({
    design: r.meta.design.id,
    title: r.meta.design.title,
    leakedPeak: r.aggregates.leaked.peakBytes,
    leakedAtEnd: r.aggregates.leaked.endBytes,
    leakByteSeconds: r.aggregates.leaked.byteSeconds,
    ...longestLeak(r),
    invalidationCount: r.aggregates.invalidations.count,
    invalidationCostNs: r.aggregates.invalidations.totalNs,
    findings: r.findings.total,
    expectsPassed: r.expects.rows.filter((e) => e.passed).length,
    expects: r.expects.total,
    status: r.outcome.status,
  }))
}
