/**
 * The worker pool of the experiment service: one run per task, as many at once as the machine has
 * cores by default. Each run can be cancelled (first cooperatively through a shared flag, then by
 * terminating its thread), has a timeout and a heap limit; a run that throws, runs out of memory,
 * exits or hangs fails alone, and the pool replaces what it lost.
 *
 * Two isolations (docs/architecture.md, "Experiments"):
 * - `process` (the default when more than one run goes at once): each run goes to a run process
 *   (`process-runner.ts`), started with a single-threaded V8 GC so each run's GC stays on its own
 *   core, which confines a V8 out-of-memory abort or a `kill -9` to that run; measured as fast as
 *   threads at 2 workers (1.87× vs 1.90× the 1-thread time, within the machine's noise);
 * - `thread`: piscina worker threads in this process (`thread-runner.ts`); the default for one
 *   run at a time, where V8's background threads may use the idle cores.
 */
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { ProcessRunner, type RunProcessChild, type SpawnRunProcess } from './process-runner'
import type { RunOutcome, RunProgress, SubmitTask } from './protocol'
import { unpackArrays } from './protocol'
import { ThreadRunner, type RawHandle } from './thread-runner'
import { runProcessHostEntry } from './worker-entry'

export type { RunOutcome } from './protocol'
export { describeWorkerError } from './thread-runner'

export type Isolation = 'thread' | 'process'

/** V8 flags of a run process: its GC does not take a second core from the other runs. */
export const RUN_PROCESS_FLAGS: readonly string[] = ['--single-threaded-gc']

export interface PoolOptions {
  /** The worker module (a built .js file, or a .ts file with `execArgv: ['--import', 'tsx']`). */
  workerFile: string
  /** Runs at once (threads, or run processes). */
  threads?: number
  /** Flags of the worker threads (e.g. `--import tsx`). */
  execArgv?: string[]
  /** Heap limit per run, MiB. */
  maxHeapMb?: number
  /**
   * Time between the cooperative cancel and terminating the thread, ms (default 2000). A run that
   * sees its flag stops at once and keeps its partial record; termination is for one that does not,
   * and a loaded host must not turn every cancel into a run with no record.
   */
  cancelGraceMs?: number
  /** Default: `process` when more than one run goes at once, else `thread`. */
  isolation?: Isolation
  /** Node/V8 flags of each run process (default `RUN_PROCESS_FLAGS`, plus `--import tsx` from sources). */
  processFlags?: string[]
  /** The run process entry (default: found next to the worker, see worker-entry.ts). */
  processHostFile?: string
  /** How run processes start: `child_process.fork` by default, `utilityProcess` under Electron. */
  spawnRunProcess?: SpawnRunProcess
}

export interface RunHandle {
  readonly done: Promise<RunOutcome>
  /** Asks the run to stop; terminates its thread if it has not stopped after the grace period. */
  cancel(): void
}

export class RunPool {
  private readonly runner: ThreadRunner | ProcessRunner
  readonly threads: number
  readonly maxHeapMb: number
  readonly isolation: Isolation

  constructor(opts: PoolOptions) {
    this.threads = Math.max(1, opts.threads ?? availableParallelism())
    this.maxHeapMb = opts.maxHeapMb ?? 2048
    const graceMs = opts.cancelGraceMs ?? 2000
    this.isolation = opts.isolation ?? (this.threads > 1 ? 'process' : 'thread')
    const execArgv = opts.execArgv ?? []
    if (this.isolation === 'thread') {
      this.runner = new ThreadRunner({ workerFile: opts.workerFile, threads: this.threads, execArgv, maxHeapMb: this.maxHeapMb, graceMs })
    } else {
      const host = runProcessHostEntry(opts.workerFile.endsWith('.ts'))
      this.runner = new ProcessRunner({
        hostFile: opts.processHostFile ?? host.file,
        processFlags: [...(host.execArgv ?? []), ...(opts.processFlags ?? RUN_PROCESS_FLAGS)],
        processes: this.threads,
        config: { workerFile: opts.workerFile, execArgv, maxHeapMb: this.maxHeapMb, graceMs },
        ...(opts.spawnRunProcess ? { spawn: opts.spawnRunProcess } : {}),
      })
    }
  }

  /** Queues one run. */
  submit(task: SubmitTask, opts: { timeoutMs?: number; onProgress?: (p: RunProgress) => void } = {}): RunHandle {
    const raw: RawHandle = this.runner.submit(task, opts)
    return { done: raw.done.then((o) => unpackArrays(o)), cancel: () => raw.cancel() }
  }

  /** Runs still queued (not yet on a thread or in a run process). */
  get queued(): number {
    return this.runner.queued
  }

  /** The pool's live worker threads (thread isolation; diagnostics and fault tests). */
  get workerThreads(): readonly Worker[] {
    return this.runner instanceof ThreadRunner ? this.runner.threads : []
  }

  /** The pool's live run processes (process isolation; diagnostics and fault tests). */
  get runProcesses(): readonly RunProcessChild[] {
    return this.runner instanceof ProcessRunner ? this.runner.processes : []
  }

  /** Stops every thread and run process. */
  async close(): Promise<void> {
    await this.runner.close()
  }
}
