/**
 * The experiment view's pure parts (unit-tested in test/renderer/experiment.test.ts): the unit of
 * a metric as the record gives it, the per-design (per-run) table, a design-only experiment's bars,
 * the designs a logarithmic axis cannot draw (value 0), and whether the seeds changed anything.
 * Every number is the record's own (the manifest repeats the record's metrics); nothing here
 * recomputes a total.
 */
import type { Unit } from '../../shared/record'
import type { RunManifest } from '../../shared/runs'
import { byteUnitFor, timeUnitFor } from '../../shared/units'
import { DESIGN_TABLE_METRICS, distinguishingLabels } from '../../shared/conclusion'

/** Runs that went to their end (their metrics describe the whole run). */
export function finishedRuns(runs: readonly RunManifest[]): RunManifest[] {
  return runs.filter((r) => r.status === 'passed' || r.status === 'expects_failed')
}

/** The unit the record gives a metric (the first run that has it), undefined when no run has it. */
export function metricUnit(runs: readonly RunManifest[], metric: string): Unit | undefined {
  for (const r of runs) {
    const m = r.metrics[metric]
    if (m) return m.unit
  }
  return undefined
}

/**
 * The axis unit of a metric whose largest value is `max`: its scale (values are divided by it) and
 * its words, as the axis title shows them: `MiB`, `MiB·s`, `ms`, `count`, `%` (fractions).
 */
export function axisUnit(unit: Unit | undefined, max: number): { scale: number; words: string } {
  switch (unit) {
    case 'bytes': {
      const u = byteUnitFor(max)
      return { scale: u.scale, words: u.unit }
    }
    case 'byte_seconds': {
      const u = byteUnitFor(max)
      return { scale: u.scale, words: `${u.unit}·s` }
    }
    case 'ns': {
      const u = timeUnitFor(max)
      return { scale: u.scale, words: u.unit }
    }
    case 'fraction':
      return { scale: 0.01, words: '%' }
    case 'count':
      return { scale: 1, words: 'count' }
    default:
      return { scale: 1, words: 'value' }
  }
}

/** A design-only experiment: nothing but the design (and nothing else) differs between its runs. */
export function isDesignOnly(runs: readonly RunManifest[]): boolean {
  if (runs.length === 0) return false
  const seeds = new Set(runs.map((r) => r.seed))
  const params = new Set(runs.map((r) => JSON.stringify(Object.entries(r.parameters).sort())))
  return seeds.size === 1 && params.size === 1
}

/** One bar per design: the metric of each finished run (a design-only experiment has one run per design). */
export function designBars(runs: readonly RunManifest[], metric: string): { design: string; value: number }[] {
  return finishedRuns(runs)
    .filter((r) => r.metrics[metric] !== undefined)
    .map((r) => ({ design: r.design, value: r.metrics[metric]!.value }))
    .sort((a, b) => a.design.localeCompare(b.design))
}

/** Lines whose every point is 0: a logarithmic axis cannot draw them (log 0), so the view names them. */
export function zeroLines(lines: readonly { design: string; points: readonly { y: number }[] }[]): string[] {
  return lines.filter((l) => l.points.length > 0 && l.points.every((p) => p.y === 0)).map((l) => l.design)
}

/** Every x of the lines is a whole number (seeds, CPU counts): the sweep's axis has no tick between two. */
export function integerValues(lines: readonly { points: readonly { x: number | string }[] }[]): boolean {
  return lines.every((l) => l.points.every((p) => typeof p.x === 'number' && Number.isInteger(p.x)))
}

/** Keeps the whole-number ticks of a linear axis (Chart.js's `afterBuildTicks`): no "seed 1.5". */
export function integerTicks(axis: { ticks: { value: number }[] }): void {
  axis.ticks = axis.ticks.filter((t) => Number.isInteger(t.value))
}

/** The metrics of the per-design table: the shared list, so `hmmlab run`'s comparison has the same columns. */
export { DESIGN_TABLE_METRICS }

export interface DesignRow {
  id: string
  /** The design, then the seed and the swept parameters only where they differ between runs. */
  label: string
  design: string
  status: RunManifest['status']
  stop: RunManifest['stop']
  /** The record's metrics of the table (absent: the run has no such metric, e.g. it crashed). */
  values: Partial<Record<(typeof DESIGN_TABLE_METRICS)[number]['name'], { value: number; unit: Unit }>>
  expects: { passed: number; total: number }
}

/**
 * The per-design table (what `hmmlab run` prints): one row per run, labelled by what tells it
 * apart, sorted by design then label, at most `cap` rows (`more` says how many were left out).
 */
export function designRows(runs: readonly RunManifest[], cap = 200): { rows: DesignRow[]; more: number } {
  const labels = distinguishingLabels(runs)
  const rows = runs.map((r, i): DesignRow => {
    const values: DesignRow['values'] = {}
    for (const m of DESIGN_TABLE_METRICS) if (r.metrics[m.name]) values[m.name] = r.metrics[m.name]
    return {
      id: r.id,
      label: labels[i]!,
      design: r.design,
      status: r.status,
      stop: r.stop,
      values,
      expects: { passed: r.expects.passed, total: r.expects.passed + r.expects.failed },
    }
  })
  rows.sort((a, b) => a.design.localeCompare(b.design) || a.label.localeCompare(b.label, undefined, { numeric: true }))
  return { rows: rows.slice(0, cap), more: Math.max(0, rows.length - cap) }
}

/**
 * Where the simulator draws random numbers (src/sim/engine/rng.ts is its only source): the steps
 * `random_access` and `invalidation_storm` (src/sim/scenario/steps.ts) and the broken design B2's
 * deferred release (src/sim/teardown/broken.ts). test/renderer/experiment.test.ts keeps this list
 * in step with the simulator's sources.
 */
export const RANDOM_STEPS = ['random_access', 'invalidation_storm'] as const
export const RANDOM_DESIGNS = ['B2'] as const

/** The random steps a scenario text uses (a step key at the start of a list item or a mapping key). */
export function randomStepsIn(text: string): string[] {
  return RANDOM_STEPS.filter((s) => new RegExp(`(^|[\\s{,-])${s}\\s*:`, 'm').test(text))
}

export interface SeedNote {
  /** How many seeds each design and parameter set ran (the largest). */
  seeds: number
  /** Groups (design × parameter set) that ran more than one seed. */
  groups: number
  /** Every metric of every such group was the same for every seed. */
  identical: boolean
  /** The scenario's steps and designs that draw random numbers (none: the seed cannot matter). */
  randomSources: string[]
}

/**
 * Whether the seeds changed anything: for each design and parameter set that ran two or more seeds
 * to their end, are all the record's metrics the same for every seed? Undefined when no group ran
 * two seeds. `randomSources` names what in the scenario could make seeds differ.
 */
export function seedNote(runs: readonly RunManifest[]): SeedNote | undefined {
  const groups = new Map<string, RunManifest[]>()
  for (const r of finishedRuns(runs)) {
    const key = `${r.design}\u0000${JSON.stringify(Object.entries(r.parameters).sort())}`
    const g = groups.get(key) ?? []
    g.push(r)
    groups.set(key, g)
  }
  const multi = [...groups.values()].filter((g) => new Set(g.map((r) => r.seed)).size > 1)
  if (multi.length === 0) return undefined
  const fingerprint = (r: RunManifest): string =>
    JSON.stringify(
      Object.entries(r.metrics)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, m]) => [k, m.value]),
    )
  const identical = multi.every((g) => new Set(g.map(fingerprint)).size === 1)
  const text = runs[0]?.scenario.text ?? ''
  const designs = new Set(runs.map((r) => r.design))
  const randomSources = [...randomStepsIn(text), ...RANDOM_DESIGNS.filter((d) => designs.has(d)).map((d) => `design ${d}`)]
  return { seeds: Math.max(...multi.map((g) => new Set(g.map((r) => r.seed)).size)), groups: multi.length, identical, randomSources }
}
