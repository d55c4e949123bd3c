/**
 * A finished run as the store keeps it: the manifest (what lists and comparisons read: the
 * record's status, stop reason and metrics under the same names) and the record itself, its
 * series split into `series.json`. One mapping for the experiment service and the fixture
 * script (scripts/make-run-fixtures.ts), so the fixtures are what the app stores.
 */
import { createHash } from 'node:crypto'
import { seriesEntries, statusOfOutcome, type CostsProvenance, type RunRecord, type Stop } from '../../../shared/record'
import type { ParamValue, RunManifest, RunStatus } from '../../../shared/runs'
import { APP_VERSION } from '../../../shared/version'
import type { StoredRun } from '../store/run-store'

export interface ManifestContext {
  runId: string
  experimentId?: string
  design: string
  seed: number
  parameters: Record<string, ParamValue>
  scenarioName: string
  fileName: string
  text: string
  /** SHA-256 of the text (hex); computed when absent. */
  hash?: string
  machine?: string | undefined
  /** The costs the run was given; the record's own `meta.costs` wins when there is a record. */
  costs?: CostsProvenance
  queuedAt: string
  startedAt: string
  finishedAt: string
  node?: string
}

/** A run that ended without a record: the worker failed (crashed), ran past its wall-time budget, or was cancelled first. */
export interface NoRecord {
  status: 'failed' | 'timeout' | 'cancelled'
  error: string
}

/** The manifest of a run from its record (or from why it has none). */
export function manifestOf(outcome: RunRecord | NoRecord, ctx: ManifestContext): RunManifest {
  const base = {
    schema: 'hmmlab.run/2' as const,
    id: ctx.runId,
    ...(ctx.experimentId ? { experimentId: ctx.experimentId } : {}),
    scenario: {
      name: 'meta' in outcome ? outcome.meta.scenario.name : ctx.scenarioName,
      fileName: ctx.fileName,
      hash: ctx.hash ?? createHash('sha256').update(ctx.text).digest('hex'),
      text: ctx.text,
    },
    design: ctx.design,
    seed: ctx.seed,
    parameters: ctx.parameters,
    ...(ctx.machine ? { machine: ctx.machine } : {}),
    versions: { hmmlab: APP_VERSION, node: ctx.node ?? process.versions.node },
    timings: {
      queuedAt: ctx.queuedAt,
      startedAt: ctx.startedAt,
      finishedAt: ctx.finishedAt,
      wallMs: Math.max(0, Date.parse(ctx.finishedAt) - Date.parse(ctx.startedAt)),
    },
    tags: [],
  }
  if ('meta' in outcome) {
    const failed = outcome.expects.rows.filter((e) => !e.passed).length
    return {
      ...base,
      status: statusOfOutcome(outcome.outcome),
      ...(outcome.outcome.stop ? { stop: outcome.outcome.stop, error: outcome.outcome.stop.message } : {}),
      metrics: outcome.metrics,
      expects: { passed: outcome.expects.total - failed, failed },
      findings: outcome.findings.total,
      costs: outcome.meta.costs,
    }
  }
  const status: RunStatus = outcome.status === 'failed' ? 'crashed' : outcome.status === 'timeout' ? 'stopped' : 'cancelled'
  const stop: Stop | undefined =
    outcome.status === 'timeout'
      ? { reason: 'wall_time', message: outcome.error }
      : outcome.status === 'cancelled'
        ? { reason: 'user', message: outcome.error }
        : undefined
  return {
    ...base,
    status,
    ...(stop ? { stop } : {}),
    error: outcome.error,
    ...(ctx.costs ? { costs: ctx.costs } : {}),
    metrics: {},
    expects: { passed: 0, failed: 0 },
    findings: 0,
  }
}

/** The three files of a stored run. */
export function storedRunOf(outcome: RunRecord | NoRecord, ctx: ManifestContext): StoredRun {
  const manifest = manifestOf(outcome, ctx)
  if (!('meta' in outcome)) return { manifest, result: { error: outcome.error }, series: {} }
  const { series, ...result } = outcome
  return { manifest, result, series: seriesEntries(series) }
}
