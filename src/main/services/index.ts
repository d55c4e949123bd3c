/**
 * The services of one host, assembled once: the scenario library, the run store, the worker pool
 * and the experiment service over them. Events go to the host's event hub.
 */
import { join } from 'node:path'
import type { EventHub } from '../api/event-hub'
import { appRoot } from '../paths'
import { RunPool } from './experiments/pool'
import type { SpawnRunProcess } from './experiments/process-runner'
import { ExperimentService } from './experiments/service'
import { runWorkerEntry } from './experiments/worker-entry'
import { ScenarioLibrary } from './scenarios'
import { createParseWorker, type AsyncSimBinding } from './parse-worker'
import { RunStore } from './store/run-store'
import { sweepStaleTempDirs } from './probe/capture'
import { defaultWorkspace } from './store/workspace'
import { chooseCosts, defaultCalibrationPath } from './calibration/store'
import { CalibrationService } from './calibration/service'

export interface LabServices {
  readonly workspace: string
  readonly scenarios: ScenarioLibrary
  readonly store: RunStore
  readonly pool: RunPool
  readonly experiments: ExperimentService
  /** Scenario validation and planning, on a worker thread. */
  readonly sim: AsyncSimBinding
  /** Folders a scenario's `machine: <file>` may name: the workspace and the built-in library. */
  readonly machineRoots: readonly string[]
  readonly calibration: CalibrationService
  close(): Promise<void>
}

export interface LabServicesOptions {
  workspace?: string
  hub?: EventHub
  threads?: number
  /** Built-in scenarios folder (default: the project's `scenarios/`). */
  builtinScenarios?: string
  /** How run processes start (the Electron entry passes a `utilityProcess` spawner). */
  spawnRunProcess?: SpawnRunProcess
  /** Events for a host without a hub (the CLI's progress line). */
  onEvent?: (name: 'experiment.progress' | 'run.progress' | 'run.finished', payload: unknown) => void
  /** `--costs`: `default`, a calibration file, or undefined for the user's calibration when present. */
  costs?: string
  /** Where the calibration file lives (default: calibration.json in the user's data folder, or HMMLAB_CALIBRATION). */
  calibrationPath?: string
}

/** Creates the services; the pool starts threads only when the first run is queued. */
export function createLabServices(opts: LabServicesOptions = {}): LabServices {
  const workspace = opts.workspace ?? defaultWorkspace()
  const calibrationPath = opts.calibrationPath ?? defaultCalibrationPath()
  const sim = createParseWorker()
  const store = new RunStore(workspace)
  // What a crash left behind: half-written runs, temporary files, capture extractions.
  void store.sweepLeftovers()
  sweepStaleTempDirs()
  const entry = runWorkerEntry()
  const pool = new RunPool({
    workerFile: entry.file,
    ...(entry.execArgv ? { execArgv: entry.execArgv } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}),
    ...(opts.spawnRunProcess ? { spawnRunProcess: opts.spawnRunProcess } : {}),
  })
  const hub = opts.hub
  const emit = (name: 'experiment.progress' | 'run.progress' | 'run.finished', payload: never): void => {
    hub?.emit(name, payload)
    opts.onEvent?.(name, payload)
  }
  const experiments = new ExperimentService({
    pool,
    store,
    plan: sim.plan,
    // read at every start, so a calibration made meanwhile (CLI or Hardware view) is used at once
    costs: () => chooseCosts(opts.costs, process.env, calibrationPath),
    events: {
      experimentProgress: (p) => emit('experiment.progress', p as never),
      runProgress: (p) => emit('run.progress', p as never),
      runFinished: (p) => emit('run.finished', p as never),
    },
  })
  const builtin = opts.builtinScenarios ?? join(appRoot(), 'scenarios')
  const machineRoots = [workspace, builtin]
  const scenarios = new ScenarioLibrary({ builtin, workspace: join(workspace, 'scenarios') }, sim.plan, machineRoots)
  const calibration = new CalibrationService(calibrationPath, (e) => hub?.emit('calibration.progress', e))
  return {
    workspace,
    scenarios,
    store,
    pool,
    experiments,
    sim,
    machineRoots,
    calibration,
    close: async () => void (await Promise.all([pool.close(), sim.close()])),
  }
}
