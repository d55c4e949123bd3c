/**
 * Live progress of experiments and runs, folded from the host's events. Pure reducers so the
 * store stays thin and the folding is tested without a host.
 */
import type { EventPayload } from '../../shared/contracts'
import { isFinished, statusWords, type RunStatus, type Stop } from '../../shared/record'
import type { ExperimentManifest, RunManifest } from '../../shared/runs'

/** A live run: queued, running, or ended with the status the store keeps. */
export type RunPhase = 'queued' | 'running' | RunStatus

export interface LiveRun {
  runId: string
  experimentId: string
  phase: RunPhase
  simTimeNs: number
  stepsDone: number
  stepsTotal: number
  error?: string
  /** Why a stopped or cancelled run stopped. */
  stop?: Stop
  /** Wall-clock ms (performance.now or Date.now) of the first and latest progress, for the ETA. */
  startedAt?: number
  updatedAt?: number
}

/** An experiment as the Runs view follows it: the host's progress plus its name and runs. */
export type LiveExperiment = EventPayload<'experiment.progress'> & { name: string; runIds: string[] }

/**
 * A run's name inside its experiment's card: its id without the experiment's id (which the card
 * shows), so the part that differs (plan index, design, seed) is what a narrow column keeps.
 */
export function runLabel(run: Pick<LiveRun, 'runId' | 'experimentId'>): string {
  const prefix = `${run.experimentId}.`
  return run.runId.startsWith(prefix) && run.runId.length > prefix.length ? run.runId.slice(prefix.length) : run.runId
}

/** Whether a run ever reported where it was: false for a run cancelled (or crashed) before it started. */
export function hasStarted(run: Pick<LiveRun, 'phase' | 'stepsTotal' | 'simTimeNs'>): boolean {
  return run.phase === 'running' || run.stepsTotal > 0 || run.simTimeNs > 0
}

/**
 * The design and seed of a run from its id, as the experiment service names runs
 * (`<experiment>.<plan index>-<design>-s<seed>`, the design slugged in lower case), for the live
 * table's Design and Seed columns; undefined for an id of another shape.
 */
export function runParts(run: Pick<LiveRun, 'runId' | 'experimentId'>): { index: number; design: string; seed: number } | undefined {
  const m = /^(\d+)-([a-z0-9][a-z0-9-]*)-s(-?\d+)$/.exec(runLabel(run))
  if (!m) return undefined
  return { index: Number(m[1]), design: m[2]!.toUpperCase(), seed: Number(m[3]) }
}

/** Whether a run is still going. */
export function isActive(phase: RunPhase): boolean {
  return phase === 'queued' || phase === 'running'
}

/** A new experiment as `experiments.start` answered it: every run queued. */
export function startedExperiment(experimentId: string, runIds: string[], name: string): { experiment: LiveExperiment; runs: LiveRun[] } {
  return {
    experiment: {
      experimentId,
      name,
      total: runIds.length,
      done: 0,
      failed: 0,
      cancelled: 0,
      running: 0,
      etaMs: null,
      finished: runIds.length === 0,
      runIds: [...runIds],
    },
    runs: runIds.map((runId) => ({ runId, experimentId, phase: 'queued', simTimeNs: 0, stepsDone: 0, stepsTotal: 0 })),
  }
}

/**
 * Folds `experiment.progress` into an experiment (created if the page learns of it first here).
 * `stored` is the experiment's manifest as `experiments.list` gives it: an experiment started
 * elsewhere (another page, the API, `hmmlab run --workers` on this workspace) takes its name and
 * runs from there; until the list is read it is named by its id.
 */
export function applyExperimentProgress(
  prev: LiveExperiment | undefined,
  p: EventPayload<'experiment.progress'>,
  stored?: Pick<ExperimentManifest, 'name' | 'runIds'>,
): LiveExperiment {
  const named = prev !== undefined && prev.name !== p.experimentId
  return {
    experimentId: p.experimentId,
    name: named ? prev.name : (stored?.name ?? prev?.name ?? p.experimentId),
    runIds: prev?.runIds.length ? prev.runIds : [...(stored?.runIds ?? [])],
    total: p.total,
    done: p.done,
    failed: p.failed,
    cancelled: p.cancelled,
    running: p.running,
    etaMs: p.etaMs,
    finished: p.finished,
    ...(p.status ? { status: p.status } : {}),
  }
}

/** A stored run as the live table shows it: its stored status, its record's simulated end. */
export function liveRunOfStored(m: Pick<RunManifest, 'id' | 'experimentId' | 'status' | 'stop' | 'error' | 'metrics'>, experimentId: string): LiveRun {
  return {
    runId: m.id,
    experimentId: m.experimentId ?? experimentId,
    phase: m.status,
    simTimeNs: m.metrics.simulated_ns?.value ?? 0,
    stepsDone: 0,
    stepsTotal: 0,
    ...(m.stop ? { stop: m.stop } : {}),
    ...(m.error ? { error: m.error } : {}),
  }
}

/**
 * The live rows an experiment's runs need after the stored lists were read: a run this page has
 * no event for is queued, or, once stored, in its stored status; a row whose run finished while
 * its `run.finished` event was missed takes the stored status. Rows that need no change are left
 * out (the caller keeps them).
 */
export function listedRuns(
  exp: Pick<LiveExperiment, 'experimentId' | 'runIds'>,
  live: ReadonlyMap<string, LiveRun>,
  stored: ReadonlyMap<string, Pick<RunManifest, 'id' | 'experimentId' | 'status' | 'stop' | 'error' | 'metrics'>>,
): LiveRun[] {
  const out: LiveRun[] = []
  for (const runId of exp.runIds) {
    const prev = live.get(runId)
    const m = stored.get(runId)
    if (m && (!prev || isActive(prev.phase))) {
      const next = liveRunOfStored(m, exp.experimentId)
      // the progress it showed is kept: the stored manifest has no step counts
      out.push(
        prev
          ? {
              ...prev,
              phase: next.phase,
              simTimeNs: next.simTimeNs || prev.simTimeNs,
              ...(m.stop ? { stop: m.stop } : {}),
              ...(m.error ? { error: m.error } : {}),
            }
          : next,
      )
    } else if (!prev) out.push({ runId, experimentId: exp.experimentId, phase: 'queued', simTimeNs: 0, stepsDone: 0, stepsTotal: 0 })
  }
  return out
}

/** Folds `run.progress` into a run; a finished run is never moved back to running. */
export function applyRunProgress(prev: LiveRun | undefined, p: EventPayload<'run.progress'>, now: number): LiveRun {
  if (prev && !isActive(prev.phase)) return prev
  return {
    runId: p.runId,
    experimentId: p.experimentId,
    phase: 'running',
    simTimeNs: p.simTimeNs,
    stepsDone: p.stepsDone,
    stepsTotal: p.stepsTotal,
    startedAt: prev?.startedAt ?? now,
    updatedAt: now,
  }
}

/** Folds `run.finished`: the final status and, for a failure, its error. */
export function applyRunFinished(prev: LiveRun | undefined, p: EventPayload<'run.finished'>, now: number): LiveRun {
  const base: LiveRun = prev ?? { runId: p.runId, experimentId: p.experimentId, phase: 'queued', simTimeNs: 0, stepsDone: 0, stepsTotal: 0 }
  const next: LiveRun = { ...base, phase: p.status, updatedAt: now }
  // The record's own end wins over the last (throttled) progress event, which a short run may never send.
  if (p.simTimeNs !== undefined) next.simTimeNs = p.simTimeNs
  if (p.stepsTotal !== undefined) next.stepsTotal = p.stepsTotal
  if (p.stepsDone !== undefined) next.stepsDone = p.stepsDone
  else if (isFinished(p.status) && next.stepsTotal > 0) next.stepsDone = next.stepsTotal
  if (p.error !== undefined) next.error = p.error
  if (p.stop !== undefined) next.stop = p.stop
  return next
}

/** Fraction (0–1) of a run's steps done: a run that went to its end counts as 1; a stopped, cancelled or crashed one keeps the steps it did. */
export function runFraction(run: LiveRun): number {
  if (run.phase !== 'queued' && run.phase !== 'running' && isFinished(run.phase)) return 1
  return run.stepsTotal > 0 ? Math.min(1, run.stepsDone / run.stepsTotal) : 0
}

/** True when the run has a record to show (it ran, even if it stopped early); false for crashed and cancelled runs. */
export function hasResults(phase: RunPhase): boolean {
  return phase === 'passed' || phase === 'expects_failed' || phase === 'stopped'
}

/**
 * True when a stored run has a record to open in Results. A run cancelled while it ran keeps the
 * simulator's partial record (a stop for `user`), and its manifest carries that record's metrics;
 * one cancelled in the queue (or killed before it answered) is stored without a record, metrics empty.
 */
export function storedHasResults(m: Pick<RunManifest, 'status' | 'metrics'>): boolean {
  return hasResults(m.status) || (m.status === 'cancelled' && Object.keys(m.metrics).length > 0)
}

/** A run's phase or stored status in words (the words of the CLI and the reports), with its stop reason. */
export function phaseWords(phase: RunPhase, stop?: Stop): string {
  return phase === 'queued' || phase === 'running' ? phase : statusWords(phase, stop)
}

/** ETA of one run from its step rate so far (ms), or null when there is no rate yet. */
export function runEtaMs(run: LiveRun): number | null {
  if (!isActive(run.phase) || run.startedAt === undefined || run.updatedAt === undefined) return null
  const f = runFraction(run)
  const elapsed = run.updatedAt - run.startedAt
  if (f <= 0 || elapsed <= 0) return null
  return (elapsed * (1 - f)) / f
}
