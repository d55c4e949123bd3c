/**
 * The experiment service: a scenario plus a sweep becomes runs on the worker pool; progress is
 * reported (throttled), runs can be cancelled one by one or all together, and every finished run
 * is saved in the run store. The app, the browser host and the CLI all use this one service.
 */
import type { CostsUsed } from '../../../shared/calibration'
import { createHash, randomBytes } from 'node:crypto'
import type { z } from 'zod'
import type { ExperimentProgress as ExperimentProgressSchema } from '../../../shared/contracts'
import type { ExperimentManifest, ParamValue, RunManifest, RunStatus } from '../../../shared/runs'
import { expandSweep, type SweepSpec } from '../../../shared/sweep'
import { planRuns, summarizeSweep, type SweepExpectInput } from '../../../shared/plan'
import { RECORD_SCHEMA, RunRecord, type Stop } from '../../../shared/record'
import { storedRunOf } from './stored-run'
import type { RunStore } from '../store/run-store'
import type { RunHandle, RunPool } from './pool'
import type { RunProgress } from './protocol'
import type { ProbeMachine } from '../../../shared/probe-machine'

/** What the service needs to know about a scenario before running it. */
export interface ScenarioPlan {
  name: string
  description?: string
  /** Designs the scenario names; each becomes a run unless the sweep sets `design`. */
  designs: string[]
  seed: number
  /** Consecutive seeds per design and parameter set (`seeds:`, default 1). */
  seeds?: number
  /** The scenario's `sweep_expect`: checked on the sweep summary once every run finished. */
  sweepExpect?: readonly SweepExpectInput[]
  /** Every design the simulator accepts; a run naming another is refused before anything runs. */
  knownDesigns?: readonly string[]
  /** Throws if a set of swept parameters does not make a valid scenario. */
  checkParameters?: (parameters: Record<string, ParamValue>, machine?: ProbeMachine) => void | Promise<void>
}

/** Validates a scenario (with its machine replaced, if given) and returns its plan; throws with file/line/field on bad input. */
export type PlanScenario = (text: string, fileName: string, machine?: ProbeMachine) => ScenarioPlan | Promise<ScenarioPlan>

export interface ExperimentEvents {
  experimentProgress(p: ExperimentProgress): void
  runProgress(p: { experimentId: string; runId: string } & RunProgress): void
  runFinished(p: {
    experimentId: string
    runId: string
    status: RunStatus
    stop?: Stop
    error?: string
    notSaved?: string
    simTimeNs?: number
    stepsDone?: number
    stepsTotal?: number
  }): void
}

/** Runs done / total, failures, running and ETA of one experiment (the `experiment.progress` payload). */
export type ExperimentProgress = z.infer<typeof ExperimentProgressSchema>

export interface StartRequest {
  scenarioText: string
  fileName: string
  sweep?: SweepSpec
  name?: string
  /** Overrides the scenario's designs (e.g. `--design D1,D4`) when the sweep does not set `design`. */
  designs?: string[]
  /** Overrides the scenario's seed when the sweep does not set `seed`. */
  seed?: number
  /** A probed machine that replaces the scenario's `machine:` ("simulate this machine"; src/shared/simulate-machine.ts), with where it came from. */
  machine?: { spec: ProbeMachine; origin: string }
  timeoutMs?: number
  /** The costs to run with (default: the service's `costs()`, else the model's defaults). */
  costs?: CostSelection
}

/** A base cost table for the runs (undefined: the model's defaults) and the record of its origin. */
export interface CostSelection {
  table: Record<string, number> | undefined
  used: CostsUsed
}

export interface StartedExperiment {
  experimentId: string
  runIds: string[]
  /** Resolves when every run has finished and been saved; never rejects. */
  done: Promise<ExperimentSummary>
}

export interface ExperimentSummary {
  experimentId: string
  runs: RunManifest[]
  /** The experiment as saved at the end (its sweep summary and status). */
  experiment: ExperimentManifest
  /** Runs whose result could not be saved (disk full, read-only workspace…), with the reason. */
  unsaved: { runId: string; error: string }[]
}

interface LiveRun {
  experimentId: string
  handle: RunHandle
}

export class ExperimentService {
  private readonly live = new Map<string, LiveRun>()
  private readonly experiments = new Map<string, { runIds: string[]; progress: ExperimentProgress }>()

  constructor(
    private readonly deps: {
      pool: RunPool
      store: RunStore
      plan: PlanScenario
      events?: Partial<ExperimentEvents>
      /** Minimum time between progress events of one run / one experiment, ms. */
      progressIntervalMs?: number
      defaultTimeoutMs?: number
      /** The costs of runs that do not choose (the user's calibration when present); may throw a clear error. */
      costs?: () => CostSelection
    },
  ) {}

  /** Plans and starts an experiment; invalid scenarios or sweeps throw before anything runs. */
  async start(req: StartRequest): Promise<StartedExperiment> {
    const plan = await this.deps.plan(req.scenarioText, req.fileName, req.machine?.spec)
    const costs: CostSelection = req.costs ?? this.deps.costs?.() ?? { table: undefined, used: { source: 'default' } }
    const sets = expandSweep(req.sweep ?? {})
    const hash = createHash('sha256').update(req.scenarioText).digest('hex')
    const queuedAt = new Date().toISOString()
    const experimentId = `${stamp(queuedAt)}-${slug(req.name ?? plan.name)}-${randomBytes(2).toString('hex')}`
    const planned = planRuns({ sets, designs: req.designs ?? plan.designs, seed: req.seed ?? plan.seed, seeds: plan.seeds ?? 1 })
    const runs: { runId: string; design: string; seed: number; parameters: Record<string, ParamValue> }[] = []
    const checked = new Set<string>()
    for (const p of planned) {
      if (plan.knownDesigns && !plan.knownDesigns.includes(p.design))
        throw new Error(`unknown design ${JSON.stringify(p.design)} (the simulator knows ${plan.knownDesigns.join(', ')})`)
      const key = JSON.stringify(p.parameters)
      if (!checked.has(key)) {
        await plan.checkParameters?.(p.parameters, req.machine?.spec)
        checked.add(key)
      }
      runs.push({ runId: `${experimentId}.${String(runs.length + 1).padStart(3, '0')}-${slug(p.design)}-s${p.seed}`, ...p })
    }
    const sweepAxes: Record<string, ParamValue[]> = {}
    for (const r of runs) {
      for (const [k, v] of Object.entries({ design: r.design, seed: r.seed, ...r.parameters })) {
        const list = (sweepAxes[k] ??= [])
        if (!list.includes(v)) list.push(v)
      }
    }
    const experiment: ExperimentManifest = {
      schema: 'hmmlab.experiment/1',
      id: experimentId,
      name: req.name ?? plan.name,
      createdAt: queuedAt,
      scenario: { name: plan.name, fileName: req.fileName, hash },
      sweep: sweepAxes,
      runIds: runs.map((r) => r.runId),
      ...((plan.seeds ?? 1) > 1 ? { seeds: plan.seeds } : {}),
    }
    await this.deps.store.saveExperiment(experiment)

    const progress: ExperimentProgress = { experimentId, total: runs.length, done: 0, failed: 0, cancelled: 0, running: 0, etaMs: null, finished: false }
    this.experiments.set(experimentId, { runIds: experiment.runIds, progress })
    const started = Date.now()
    const emitExperiment = throttle(() => this.deps.events?.experimentProgress?.({ ...progress }), this.deps.progressIntervalMs ?? 250)
    const unsaved: ExperimentSummary['unsaved'] = []
    const findingKinds = new Map<string, string[]>()

    const finished = runs.map(async (r) => {
      const startedAt = new Date().toISOString()
      const emitRun = throttle((p: RunProgress) => this.deps.events?.runProgress?.({ experimentId, runId: r.runId, ...p }), this.deps.progressIntervalMs ?? 250)
      const handle = this.deps.pool.submit(
        {
          runId: r.runId,
          scenarioText: req.scenarioText,
          fileName: req.fileName,
          design: r.design,
          seed: r.seed,
          parameters: r.parameters,
          ...(req.machine ? { machine: req.machine.spec, machineOrigin: req.machine.origin } : {}),
          ...(costs.table ? { costs: costs.table } : {}),
          costsUsed: costs.used,
        },
        {
          timeoutMs: req.timeoutMs ?? this.deps.defaultTimeoutMs ?? 10 * 60_000,
          onProgress: emitRun,
        },
      )
      this.live.set(r.runId, { experimentId, handle })
      const outcome = await handle.done
      this.live.delete(r.runId)
      const finishedAt = new Date().toISOString()
      const record = outcome.status === 'record' ? RunRecord.safeParse(outcome.record) : undefined
      const failure: { status: 'failed' | 'timeout' | 'cancelled'; error: string } | undefined =
        outcome.status === 'record'
          ? record?.success
            ? undefined
            : {
                status: 'failed',
                error: `the simulator's record does not match ${RECORD_SCHEMA}: ${record?.error.issues[0]?.path.join('.')}: ${record?.error.issues[0]?.message}`,
              }
          : outcome
      const stored = storedRunOf(record?.success ? record.data : failure!, {
        runId: r.runId,
        experimentId,
        design: r.design,
        seed: r.seed,
        parameters: r.parameters,
        scenarioName: plan.name,
        fileName: req.fileName,
        text: req.scenarioText,
        hash,
        machine: req.machine?.origin,
        costs: costs.used,
        queuedAt,
        startedAt,
        finishedAt,
      })
      const manifest = stored.manifest
      findingKinds.set(r.runId, record?.success ? [...new Set(record.data.findings.rows.map((f) => f.kind))] : [])
      let notSaved: string | undefined
      try {
        await this.deps.store.saveRun(stored)
      } catch (err) {
        notSaved = err instanceof Error ? err.message : String(err)
        unsaved.push({ runId: r.runId, error: notSaved })
      }
      progress.done++
      if (manifest.status === 'cancelled') progress.cancelled++
      else if (manifest.status !== 'passed') progress.failed++
      progress.running = Math.min(this.live.size, this.deps.pool.threads)
      const elapsed = Date.now() - started
      progress.etaMs = progress.done < progress.total ? Math.round((elapsed / progress.done) * (progress.total - progress.done)) : 0
      this.deps.events?.runFinished?.({
        experimentId,
        runId: r.runId,
        status: manifest.status,
        ...(manifest.stop ? { stop: manifest.stop } : {}),
        ...(manifest.error ? { error: manifest.error } : {}),
        ...(notSaved ? { notSaved } : {}),
        // the record's own end: a run that finished before its first progress event still shows its steps and time
        ...(record?.success
          ? { simTimeNs: record.data.outcome.simulatedNs, stepsDone: record.data.outcome.stepsDone, stepsTotal: record.data.outcome.stepsTotal }
          : {}),
      })
      emitExperiment()
      return manifest
    })
    progress.running = Math.min(runs.length, this.deps.pool.threads)
    emitExperiment()

    const done = Promise.all(finished).then(async (manifests) => {
      // the sweep summary: fractions of seeds per design and parameter set, sweep_expect checked
      const summary = summarizeSweep(
        manifests.map((m) => ({ design: m.design, seed: m.seed, parameters: m.parameters, status: m.status, findingKinds: findingKinds.get(m.id) ?? [] })),
        plan.sweepExpect ?? [],
      )
      const allFinished = manifests.every((m) => m.status === 'passed' || m.status === 'expects_failed')
      const status: ExperimentManifest['status'] = !allFinished
        ? 'incomplete'
        : summary.passed && manifests.every((m) => m.status === 'passed')
          ? 'passed'
          : 'failed'
      const final: ExperimentManifest = { ...experiment, summary, status }
      try {
        await this.deps.store.saveExperiment(final)
      } catch (err) {
        unsaved.push({ runId: experimentId, error: `the experiment's summary: ${err instanceof Error ? err.message : String(err)}` })
      }
      progress.finished = true
      progress.running = 0
      progress.status = status
      this.deps.events?.experimentProgress?.({ ...progress })
      return { experimentId, runs: manifests, unsaved, experiment: final }
    })
    return { experimentId, runIds: experiment.runIds, done }
  }

  /** Cancels one run (queued or running); false if it is not running. */
  cancelRun(runId: string): boolean {
    const live = this.live.get(runId)
    live?.handle.cancel()
    return live !== undefined
  }

  /** Cancels every unfinished run of an experiment; returns how many were asked to stop. */
  cancelExperiment(experimentId: string): number {
    let n = 0
    for (const live of this.live.values()) {
      if (live.experimentId === experimentId) {
        live.handle.cancel()
        n++
      }
    }
    return n
  }

  /** Progress of the experiments started by this service instance. */
  activeExperiments(): ExperimentProgress[] {
    return [...this.experiments.values()].map((e) => ({ ...e.progress }))
  }
}

/** Calls `fn` at most once per interval, always with the latest arguments (trailing call kept). */
export function throttle<A extends unknown[]>(fn: (...args: A) => void, intervalMs: number): (...args: A) => void {
  let last = 0
  let pending: A | undefined
  let timer: NodeJS.Timeout | undefined
  return (...args: A) => {
    const now = Date.now()
    if (now - last >= intervalMs) {
      last = now
      fn(...args)
      return
    }
    pending = args
    timer ??= setTimeout(
      () => {
        timer = undefined
        last = Date.now()
        if (pending) fn(...pending)
        pending = undefined
      },
      intervalMs - (now - last),
    )
  }
}

function stamp(iso: string): string {
  return iso.replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24)
      .replace(/-+$/, '') || 'run'
  )
}
