/**
 * The worker pool of the experiment service (piscina): one run per task, as many threads as the
 * machine has cores by default. Each run can be cancelled (first cooperatively through a shared
 * flag, then by terminating its thread), has a timeout and a heap limit; a thread that throws,
 * runs out of memory, exits or hangs fails that run only, and piscina replaces the thread.
 */
import { availableParallelism } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { RunStatus } from '../../../shared/runs'
import type { RunProgress, RunTask, RunTaskResult } from './protocol'
import { unpackArrays } from './protocol'

export interface PoolOptions {
  /** The worker module (a built .js file, or a .ts file with `execArgv: ['--import', 'tsx']`). */
  workerFile: string
  threads?: number
  execArgv?: string[]
  /** Heap limit per run thread, MiB. */
  maxHeapMb?: number
  /** Time between the cooperative cancel and terminating the thread, ms. */
  cancelGraceMs?: number
}

export type RunOutcome =
  | ({ status: 'ok' | 'expect_failed' | 'cancelled' } & Omit<RunTaskResult, 'status'>)
  | { status: Extract<RunStatus, 'failed' | 'timeout' | 'cancelled'>; error: string }

export interface RunHandle {
  readonly done: Promise<RunOutcome>
  /** Asks the run to stop; terminates its thread if it has not stopped after the grace period. */
  cancel(): void
}

type SubmitTask = Omit<RunTask, 'progressPort' | 'cancelFlag'>

export class RunPool {
  private readonly piscina: Piscina<RunTask, RunTaskResult>
  private readonly graceMs: number
  readonly threads: number
  readonly maxHeapMb: number

  constructor(opts: PoolOptions) {
    this.threads = Math.max(1, opts.threads ?? availableParallelism())
    this.maxHeapMb = opts.maxHeapMb ?? 2048
    this.graceMs = opts.cancelGraceMs ?? 300
    this.piscina = new Piscina<RunTask, RunTaskResult>({
      filename: opts.workerFile,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: 30_000,
      ...(opts.execArgv ? { execArgv: opts.execArgv } : {}),
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
    })
  }

  /** Queues one run. */
  submit(task: SubmitTask, opts: { timeoutMs?: number; onProgress?: (p: RunProgress) => void } = {}): RunHandle {
    const { port1, port2 } = new MessageChannel()
    const cancelFlag = new SharedArrayBuffer(4)
    const flag = new Int32Array(cancelFlag)
    const hardAbort = new AbortController()
    let stopReason: 'cancelled' | 'timeout' | undefined
    let graceTimer: NodeJS.Timeout | undefined
    port1.on('message', (p: RunProgress) => opts.onProgress?.(p))

    const stop = (reason: 'cancelled' | 'timeout'): void => {
      if (stopReason) return
      stopReason = reason
      Atomics.store(flag, 0, 1)
      graceTimer = setTimeout(() => hardAbort.abort(), this.graceMs)
    }
    const timeout = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined

    const done = this.piscina
      .run({ ...task, progressPort: port2, cancelFlag }, { transferList: [port2], signal: hardAbort.signal })
      .then((res): RunOutcome => {
        if (stopReason === 'timeout') return { status: 'timeout', error: `the run exceeded its time limit of ${opts.timeoutMs} ms` }
        const { status, ...rest } = unpackArrays(res)
        return { status, ...rest }
      })
      .catch((err: unknown): RunOutcome => {
        if (stopReason === 'timeout') return { status: 'timeout', error: `the run exceeded its time limit of ${opts.timeoutMs} ms and was stopped` }
        if (stopReason === 'cancelled') return { status: 'cancelled', error: 'cancelled' }
        return { status: 'failed', error: describeWorkerError(err, this.maxHeapMb) }
      })
      .finally(() => {
        if (timeout) clearTimeout(timeout)
        if (graceTimer) clearTimeout(graceTimer)
        port1.close()
      })
    return { done, cancel: () => stop('cancelled') }
  }

  /** Runs still queued (not yet on a thread). */
  get queued(): number {
    return this.piscina.queueSize
  }

  /** The pool's live threads (diagnostics, and fault tests that kill one from outside). */
  get workerThreads(): readonly import('node:worker_threads').Worker[] {
    return this.piscina.threads
  }

  /** Stops every thread. */
  async close(): Promise<void> {
    await this.piscina.close({ force: true })
  }
}

/** Explains a failed worker in words: out of memory, exited, or the error it threw. */
export function describeWorkerError(err: unknown, maxHeapMb: number): string {
  const e = err as { code?: string; message?: string; name?: string }
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') return `the run ran out of memory (limit ${maxHeapMb} MiB per run) and was stopped`
  if (/exited with code|worker exited/i.test(e?.message ?? '')) return `the run's worker thread died: ${e.message}`
  if (e?.name === 'AbortError') return 'the run was stopped'
  return e?.message ? `the run failed: ${e.message}` : `the run failed: ${String(err)}`
}
