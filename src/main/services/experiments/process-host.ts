/**
 * A run process (process isolation, see process-pool.ts): a child Node process that runs one run
 * at a time on one worker thread of its own, through the same thread runner as the thread pool
 * (shared cancel flag, then thread termination; timeout; heap limit). Its main thread only relays
 * messages, so it answers a cancel at once however busy the run is. The process is started with
 * its own V8 flags (a single-threaded GC), which a worker thread cannot have.
 *
 * Started by `fork(file, [JSON config])` with an IPC channel using V8 serialization, so typed
 * arrays in results cross as typed arrays.
 */
import type { FromRunProcess, ToRunProcess } from './protocol'
import { ThreadRunner, type RawHandle, type ThreadRunnerOptions } from './thread-runner'
import { exitWithParent } from '../parent-death'

export type RunProcessConfig = Omit<ThreadRunnerOptions, 'threads'> & {
  /**
   * The pid of the process that started this one. Compared with `process.ppid`, it also catches a
   * parent that died before this module ran (then ppid is already the new parent's, init's).
   */
  parentPid?: number
}

/** Electron's utility process: messages through `process.parentPort` (structured clone). */
interface ParentPort {
  on(event: 'message', fn: (e: { data: unknown }) => void): void
  postMessage(msg: unknown): void
}

function main(): void {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
  if (!process.send && !parentPort) {
    console.error('process-host: must be started with an IPC channel (child_process.fork) or as a utility process')
    process.exit(2)
  }
  // Errors (the parent went away) are dropped: 'disconnect' below ends the process.
  const send = parentPort
    ? (msg: FromRunProcess): void => parentPort.postMessage(msg)
    : (msg: FromRunProcess): void => {
        if (process.connected) process.send?.(msg, undefined, {}, () => {})
      }
  const config = JSON.parse(process.argv[2] ?? '{}') as RunProcessConfig
  const runner = new ThreadRunner({ ...config, threads: 1 })
  const live = new Map<number, RawHandle>()

  const onMessage = (msg: ToRunProcess): void => {
    if (msg.type === 'cancel') {
      live.get(msg.id)?.cancel()
      return
    }
    const { id } = msg
    const handle = runner.submit(msg.task, {
      timeoutMs: msg.timeoutMs,
      onProgress: (progress) => send({ type: 'progress', id, progress }),
    })
    live.set(id, handle)
    void handle.done.then((outcome) => {
      live.delete(id)
      send({ type: 'done', id, outcome })
    })
  }
  if (parentPort) parentPort.on('message', (e) => onMessage(e.data as ToRunProcess))
  else process.on('message', onMessage)
  // The parent closed the channel (pool closed, or the parent died), or the parent is gone (a
  // utility process has no 'disconnect'; parent-death.ts): stop, at the latest a few seconds on.
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    setTimeout(() => process.exit(0), 5000).unref()
    void runner.close().finally(() => process.exit(0))
  }
  process.on('disconnect', stop)
  exitWithParent({ ...(config.parentPid !== undefined ? { parentPid: config.parentPid } : {}), onParentGone: stop })
}

main()
