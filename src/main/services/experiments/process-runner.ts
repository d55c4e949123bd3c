/**
 * Runs in child processes (process isolation): up to N run processes (`process-host.ts`), each
 * running one run at a time on a worker thread of its own, reused from run to run and stopped
 * after a while idle. A run process gets its own V8 flags (`processFlags`, e.g. a single-threaded
 * GC, which a worker thread cannot have) and its own address space, so a V8 out-of-memory abort
 * of one huge run ends that process, not the app.
 *
 * Cancel: the parent tells the run process, which sets the run's shared flag, then terminates the
 * run's thread after the grace period (as the thread runner does); if the process itself does not
 * answer, the parent kills it. The time limit counts from the moment a process takes the run.
 */
import { fork } from 'node:child_process'
import type { RunProcessConfig } from './process-host'
import type { FromRunProcess, RunOutcome, SubmitTask, ToRunProcess } from './protocol'
import type { RawHandle, SubmitOptions } from './thread-runner'

/**
 * A run process as the runner sees it. Under Node (CLI, browser host) it is a `child_process.fork`
 * child; under Electron the Electron entry supplies a spawner over `utilityProcess.fork`, so the
 * packaged app needs no ELECTRON_RUN_AS_NODE (that fuse is off).
 */
export interface RunProcessChild {
  readonly pid: number | undefined
  /** Set once the process has ended. */
  readonly exited: boolean
  /** Exit code and signal once ended (a utility process has no signal: null). */
  readonly exitCode: number | null
  readonly signalCode: NodeJS.Signals | null
  readonly stderr: NodeJS.ReadableStream | null
  send(msg: ToRunProcess, onError: (err: Error) => void): void
  onMessage(fn: (msg: FromRunProcess) => void): void
  onExit(fn: () => void): void
  onError(fn: (err: Error) => void): void
  /** Ends the process at once (SIGKILL). */
  kill(): void
  /** Whether the process keeps the host's event loop alive (an idle one does not). */
  setRef(on: boolean): void
}

/** Starts a run process: the entry file, its argument (the JSON config) and its Node/V8 flags. */
export type SpawnRunProcess = (file: string, args: string[], execArgv: string[]) => RunProcessChild

/** The Node way: `child_process.fork` with an IPC channel using V8 serialization. */
export const forkRunProcess: SpawnRunProcess = (file, args, execArgv) => {
  const proc = fork(file, args, { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  return {
    get pid() {
      return proc.pid
    },
    get exited() {
      return proc.exitCode !== null || proc.signalCode !== null
    },
    get exitCode() {
      return proc.exitCode
    },
    get signalCode() {
      return proc.signalCode
    },
    stderr: proc.stderr,
    send(msg, onError) {
      if (!proc.connected) return
      proc.send(msg, (err) => {
        if (err) onError(err)
      })
    },
    onMessage: (fn) => void proc.on('message', fn),
    onExit: (fn) => void proc.on('exit', () => fn()),
    onError: (fn) => void proc.on('error', fn),
    kill: () => void proc.kill('SIGKILL'),
    setRef(on) {
      const handles = [proc, proc.channel, proc.stderr] as ({ ref(): void; unref(): void } | null | undefined)[]
      for (const h of handles) {
        if (on) h?.ref()
        else h?.unref()
      }
    },
  }
}

export interface ProcessRunnerOptions {
  /** The run process entry (`out/main/run-process.js`, or `process-host.ts` with `--import tsx` in `processFlags`). */
  hostFile: string
  /** Node and V8 flags of every run process. */
  processFlags: string[]
  processes: number
  /** What each run process passes to its thread runner (worker file, thread flags, heap limit, grace). */
  config: RunProcessConfig
  /** A run process idle this long is stopped, ms. */
  idleMs?: number
  /** How run processes start (default `forkRunProcess`; `utilityProcess` under Electron). */
  spawn?: SpawnRunProcess
}

interface Job {
  id: number
  task: SubmitTask
  opts: SubmitOptions
  resolve: (o: RunOutcome) => void
  settled: boolean
  child?: Child
  stopReason?: 'cancelled' | 'timeout'
  timers: NodeJS.Timeout[]
}

interface Child {
  proc: RunProcessChild
  job?: Job
  idleTimer?: NodeJS.Timeout
  /** The end of what the process wrote on stderr (a V8 fatal error says why it died). */
  stderrTail: string
  gone: boolean
}

/** How much longer than the grace period a run process may take to answer a stop before it is killed, ms. */
const KILL_AFTER_GRACE_MS = 500

export class ProcessRunner {
  private readonly queue: Job[] = []
  private readonly children = new Set<Child>()
  private nextId = 1
  private closed = false

  constructor(private readonly opts: ProcessRunnerOptions) {}

  submit(task: SubmitTask, opts: SubmitOptions = {}): RawHandle {
    let job!: Job
    const done = new Promise<RunOutcome>((resolve) => {
      job = { id: this.nextId++, task, opts, resolve, settled: false, timers: [] }
    })
    if (this.closed) this.settle(job, { status: 'failed', error: 'the run pool is closed' })
    else {
      this.queue.push(job)
      this.dispatch()
    }
    return { done, cancel: () => this.stop(job, 'cancelled') }
  }

  get queued(): number {
    return this.queue.length
  }

  /** The live run processes (diagnostics, and fault tests that kill one from outside). */
  get processes(): readonly RunProcessChild[] {
    return [...this.children].filter((c) => !c.gone).map((c) => c.proc)
  }

  async close(): Promise<void> {
    this.closed = true
    for (const job of this.queue.splice(0)) this.settle(job, { status: 'cancelled', error: 'the run pool was closed' })
    const exits: Promise<void>[] = []
    for (const c of this.children) {
      if (c.job) this.settle(c.job, { status: 'cancelled', error: 'the run pool was closed' })
      if (c.gone) continue
      exits.push(new Promise((resolve) => c.proc.onExit(() => resolve())))
      // An idle process is unref'd; without this the loop could end before its exit is seen.
      c.proc.setRef(true)
      c.proc.kill()
    }
    await Promise.all(exits)
  }

  private stop(job: Job, reason: 'cancelled' | 'timeout'): void {
    if (job.settled || job.stopReason) return
    const child = job.child
    if (!child) {
      // Still queued: it never starts.
      this.queue.splice(this.queue.indexOf(job), 1)
      this.settle(job, { status: 'cancelled', error: 'cancelled' })
      return
    }
    job.stopReason = reason
    if (reason === 'cancelled') this.send(child, { type: 'cancel', id: job.id })
    // The run process stops the run itself (flag, then thread termination after the grace
    // period); if it does not answer in time, it is killed and the run ends here.
    job.timers.push(setTimeout(() => this.kill(child), this.opts.config.graceMs + KILL_AFTER_GRACE_MS))
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const child = [...this.children].find((c) => !c.job && !c.gone) ?? (this.children.size < this.opts.processes ? this.spawn() : undefined)
      if (!child) return
      const job = this.queue.shift()!
      job.child = child
      child.job = job
      if (child.idleTimer) clearTimeout(child.idleTimer)
      this.setRef(child, true)
      const timeoutMs = job.opts.timeoutMs
      if (timeoutMs) {
        // The run process applies the limit (flag, then thread termination); this is the backstop.
        job.timers.push(setTimeout(() => this.stop(job, 'timeout'), timeoutMs))
      }
      this.send(child, { type: 'run', id: job.id, task: job.task, ...(timeoutMs ? { timeoutMs } : {}) })
    }
  }

  private spawn(): Child {
    const proc = (this.opts.spawn ?? forkRunProcess)(
      this.opts.hostFile,
      [JSON.stringify({ ...this.opts.config, parentPid: process.pid })],
      this.opts.processFlags,
    )
    const child: Child = { proc, stderrTail: '', gone: false }
    this.children.add(child)
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (s: string) => {
      child.stderrTail = (child.stderrTail + s).slice(-4000)
    })
    proc.onMessage((msg: FromRunProcess) => {
      const job = child.job
      if (!job || msg.id !== job.id) return
      if (msg.type === 'progress') {
        if (!job.stopReason) job.opts.onProgress?.(msg.progress)
        return
      }
      child.job = undefined
      this.settle(job, job.stopReason === 'timeout' && msg.outcome.status !== 'timeout' ? timeoutOutcome(job, true) : msg.outcome)
      this.idle(child)
      this.dispatch()
    })
    const gone = (err?: Error): void => {
      if (child.gone) return
      child.gone = true
      if (child.idleTimer) clearTimeout(child.idleTimer)
      this.children.delete(child)
      const job = child.job
      child.job = undefined
      if (job) {
        const code = proc.exitCode
        const signal = proc.signalCode
        this.settle(
          job,
          job.stopReason === 'timeout'
            ? timeoutOutcome(job, true)
            : job.stopReason === 'cancelled'
              ? { status: 'cancelled', error: 'cancelled' }
              : { status: 'failed', error: describeProcessExit(code, signal, child.stderrTail, this.opts.config.maxHeapMb, err) },
        )
      }
      this.dispatch()
    }
    proc.onExit(() => gone())
    proc.onError((err) => {
      // A process that could not start, or a failed send: treat it as gone.
      if (!child.gone) proc.kill()
      gone(err)
    })
    return child
  }

  private idle(child: Child): void {
    if (child.gone) return
    this.setRef(child, false)
    const idleMs = this.opts.idleMs ?? 30_000
    child.idleTimer = setTimeout(() => {
      if (!child.job && !child.gone) child.proc.kill()
    }, idleMs)
    child.idleTimer.unref()
  }

  /** An idle run process does not keep the app (or the CLI) alive. */
  private setRef(child: Child, on: boolean): void {
    child.proc.setRef(on)
  }

  private send(child: Child, msg: ToRunProcess): void {
    if (child.gone) return
    child.proc.send(msg, () => {
      if (!child.gone) child.proc.kill()
    })
  }

  private kill(child: Child): void {
    if (!child.gone) child.proc.kill()
  }

  private settle(job: Job, outcome: RunOutcome): void {
    if (job.settled) return
    job.settled = true
    for (const t of job.timers) clearTimeout(t)
    job.resolve(outcome)
  }
}

function timeoutOutcome(job: Job, stopped: boolean): RunOutcome {
  return { status: 'timeout', error: `the run exceeded its time limit of ${job.opts.timeoutMs} ms${stopped ? ' and was stopped' : ''}` }
}

/** Explains a run process that ended during a run: out of memory, a signal, or an exit code. */
export function describeProcessExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, maxHeapMb: number, err?: Error): string {
  if (/heap out of memory|allocation failed|out of memory/i.test(stderrTail))
    return `the run ran out of memory and its process was stopped (limit ${maxHeapMb} MiB per run)`
  if (err) return `the run's process failed: ${err.message}`
  const how = signal ? `killed by ${signal}` : `exited with code ${code ?? '?'}`
  const last = stderrTail.trim().split('\n').at(-1)?.trim()
  return `the run's process died (${how})${last ? `: ${last.slice(0, 300)}` : ''}`
}
