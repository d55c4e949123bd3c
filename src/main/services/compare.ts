/**
 * Side-by-side comparison of runs: the records' metrics (same names and units as the record,
 * never recounted from a table) with differences to the first run, series
 * aligned on one time grid, and findings split into in-all / only-in-one / in-some, like a
 * snapshot diff. Runs of different scenarios are named by their scenario and the comparison
 * says so (`mixedScenarios`): they are not seeds of one experiment. Pure over stored runs.
 */
import type { Comparison, FindingKey, RunManifest, SeriesData } from '../../shared/runs'
import { SeriesData as SeriesSchema } from '../../shared/runs'
import { mixedScenariosWarning, scenarioLabels } from '../../shared/scenario-mix'

export interface ComparableRun {
  manifest: RunManifest
  series: Record<string, unknown>
  findings: FindingKey[]
  /** The record's invalidation table: rows in all and dropped at its cap. */
  invalidationRows?: { total: number; dropped: number }
}

/** Most points per aligned series; longer grids are thinned evenly (first and last kept). */
const MAX_GRID_POINTS = 2000

/**
 * A short label naming what distinguishes a run: design, seed and swept parameters; among runs
 * of several scenarios, the design of its scenario (`D1 of “name”`).
 */
export function runLabel(m: RunManifest, scenario?: string): string {
  const params = Object.entries(m.parameters).map(([k, v]) => `${k}=${String(v)}`)
  return [scenario === undefined ? m.design : `${m.design} of “${scenario}”`, `seed ${m.seed}`, ...params].join(', ')
}

/** Compares two or more runs. */
export function compareRuns(runs: ComparableRun[]): Comparison {
  if (runs.length < 2) throw new Error('a comparison needs at least two runs')
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.manifest.metrics)))].sort()
  const metrics = metricNames.map((name) => {
    const values = runs.map((r) => r.manifest.metrics[name]?.value ?? null)
    const base = values[0] ?? null
    const unit = runs.map((r) => r.manifest.metrics[name]?.unit).find((u) => u !== undefined) ?? 'count'
    return {
      name,
      unit,
      values,
      deltas: values.map((v) => (v === null || base === null ? null : v - base)),
      ratios: values.map((v) => (v === null || base === null || base === 0 ? null : v / base)),
    }
  })
  // runs of different scenarios are never seeds of one experiment: each is named by its scenario
  const scenarios = scenarioLabels(runs.map((r) => r.manifest.scenario))
  const mixed = mixedScenariosWarning(scenarios)
  return {
    ...(mixed ? { mixedScenarios: mixed } : {}),
    runs: runs.map((r, i) => ({
      id: r.manifest.id,
      label: runLabel(r.manifest, mixed ? scenarios[i] : undefined),
      design: r.manifest.design,
      seed: r.manifest.seed,
      parameters: r.manifest.parameters,
      scenario: { name: r.manifest.scenario.name, hash: r.manifest.scenario.hash, label: scenarios[i]! },
      ...(r.invalidationRows ? { invalidationRows: r.invalidationRows } : {}),
    })),
    metrics,
    series: alignSeries(runs.map((r) => r.series)),
    findings: diffFindings(runs),
  }
}

/** Resamples each named series of every run onto the union of their sample times. */
export function alignSeries(perRun: Record<string, unknown>[]): Comparison['series'] {
  const names = [...new Set(perRun.flatMap((s) => Object.keys(s)))].sort()
  const out: Comparison['series'] = []
  for (const name of names) {
    const parsed = perRun.map((s) => {
      const r = SeriesSchema.safeParse(s[name])
      return r.success ? r.data : undefined
    })
    if (parsed.every((p) => p === undefined)) continue
    let grid = [...new Set(parsed.flatMap((p) => p?.t ?? []))].sort((a, b) => a - b)
    if (grid.length > MAX_GRID_POINTS) {
      const step = (grid.length - 1) / (MAX_GRID_POINTS - 1)
      grid = Array.from({ length: MAX_GRID_POINTS }, (_, i) => grid[Math.round(i * step)]!)
    }
    out.push({ name, t: grid, values: parsed.map((p) => (p ? sampleStep(p, grid) : grid.map(() => null))) })
  }
  return out
}

/** Values of a step series at the given times (null before its first sample). */
export function sampleStep(series: SeriesData, times: number[]): (number | null)[] {
  const result: (number | null)[] = []
  let i = -1
  for (const t of times) {
    while (i + 1 < series.t.length && series.t[i + 1]! <= t) i++
    result.push(i < 0 ? null : series.v[i]!)
  }
  return result
}

function diffFindings(runs: ComparableRun[]): Comparison['findings'] {
  const where = new Map<string, { finding: FindingKey; runs: Set<number> }>()
  runs.forEach((r, index) => {
    for (const f of r.findings) {
      const key = `${f.kind}\u0000${f.signature}`
      const entry = where.get(key) ?? { finding: f, runs: new Set<number>() }
      entry.runs.add(index)
      where.set(key, entry)
    }
  })
  const entries = [...where.values()].sort((a, b) => a.finding.kind.localeCompare(b.finding.kind) || a.finding.signature.localeCompare(b.finding.signature))
  return {
    inAll: entries.filter((e) => e.runs.size === runs.length).map((e) => e.finding),
    onlyIn: runs.map((_, i) => entries.filter((e) => e.runs.size === 1 && e.runs.has(i)).map((e) => e.finding)),
    inSome: entries
      .filter((e) => e.runs.size > 1 && e.runs.size < runs.length)
      .map((e) => ({ finding: e.finding, runIds: [...e.runs].sort((a, b) => a - b).map((i) => runs[i]!.manifest.id) })),
  }
}
