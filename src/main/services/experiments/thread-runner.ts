/**
 * Runs on worker threads (piscina), one run per task. Each run can be cancelled (first
 * cooperatively through a shared flag, then by terminating its thread), has a timeout and a heap
 * limit; a thread that throws, runs out of memory, exits or hangs fails that run only, and piscina
 * replaces the thread. Outcomes keep their large arrays as typed arrays (`RawOutcome`); the pool
 * turns them back into plain arrays. Used by the pool directly (thread isolation) and inside each
 * child process of the process isolation (`process-host.ts`).
 */
import { MessageChannel } from 'node:worker_threads'
import type { Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { RunOutcome, RunProgress, RunTask, RunTaskResult, SubmitTask } from './protocol'

export interface ThreadRunnerOptions {
  workerFile: string
  threads: number
  /** Passed to every thread; always explicit so a thread never inherits the process's V8 flags. */
  execArgv: string[]
  maxHeapMb: number
  graceMs: number
}

export interface RawHandle {
  /** The outcome with typed arrays still packed. */
  readonly done: Promise<RunOutcome>
  cancel(): void
}

export interface SubmitOptions {
  timeoutMs?: number | undefined
  onProgress?: ((p: RunProgress) => void) | undefined
}

export class ThreadRunner {
  private readonly piscina: Piscina<RunTask, RunTaskResult>

  constructor(private readonly opts: ThreadRunnerOptions) {
    this.piscina = new Piscina<RunTask, RunTaskResult>({
      filename: opts.workerFile,
      minThreads: 0,
      maxThreads: opts.threads,
      idleTimeout: 30_000,
      execArgv: opts.execArgv,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb },
    })
  }

  /** Runs waiting for a free thread; they go to piscina one by one, so a time limit counts from the start of the run, not from the queue. */
  private readonly waiting: { start: () => void; drop: () => void }[] = []
  private running = 0
  private closed = false

  submit(task: SubmitTask, opts: SubmitOptions = {}): RawHandle {
    let handle: RawHandle | undefined
    let resolveDone!: (o: RunOutcome) => void
    const done = new Promise<RunOutcome>((r) => (resolveDone = r))
    const entry = {
      start: () => {
        this.running++
        handle = this.start(task, opts)
        void handle.done.then((o) => {
          this.running--
          resolveDone(o)
          this.pump()
        })
      },
      drop: () => resolveDone({ status: 'cancelled', error: 'cancelled' }),
    }
    this.waiting.push(entry)
    this.pump()
    return {
      done,
      cancel: () => {
        if (handle) return handle.cancel()
        // Still waiting: it never starts.
        const i = this.waiting.indexOf(entry)
        if (i >= 0) {
          this.waiting.splice(i, 1)
          entry.drop()
        }
      },
    }
  }

  private pump(): void {
    while (this.running < this.opts.threads && this.waiting.length > 0 && !this.closed) this.waiting.shift()!.start()
  }

  private start(task: SubmitTask, opts: SubmitOptions): RawHandle {
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
      graceTimer = setTimeout(() => hardAbort.abort(), this.opts.graceMs)
    }
    const timeout = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined

    const done = this.piscina
      .run({ ...task, progressPort: port2, cancelFlag }, { transferList: [port2], signal: hardAbort.signal })
      .then((res): RunOutcome => {
        if (stopReason === 'timeout') return { status: 'timeout', error: `the run exceeded its time limit of ${opts.timeoutMs} ms` }
        return res
      })
      .catch((err: unknown): RunOutcome => {
        if (stopReason === 'timeout') return { status: 'timeout', error: `the run exceeded its time limit of ${opts.timeoutMs} ms and was stopped` }
        if (stopReason === 'cancelled') return { status: 'cancelled', error: 'cancelled' }
        return { status: 'failed', error: describeWorkerError(err, this.opts.maxHeapMb) }
      })
      .finally(() => {
        if (timeout) clearTimeout(timeout)
        if (graceTimer) clearTimeout(graceTimer)
        port1.close()
      })
    return { done, cancel: () => stop('cancelled') }
  }

  get queued(): number {
    return this.waiting.length + this.piscina.queueSize
  }

  get threads(): readonly Worker[] {
    return this.piscina.threads
  }

  async close(): Promise<void> {
    this.closed = true
    for (const entry of this.waiting.splice(0)) entry.drop()
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
