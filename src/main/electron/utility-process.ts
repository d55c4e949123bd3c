/**
 * Run processes under Electron: `utilityProcess.fork` instead of `child_process.fork`. A forked
 * Electron binary runs scripts as Node only with ELECTRON_RUN_AS_NODE, which the packaged app's
 * RunAsNode fuse turns off (electron-builder.yml); a utility process is Electron's own way to run
 * a Node child. Messages are structured clones, so typed arrays in results stay typed arrays.
 */
import { utilityProcess } from 'electron'
import type { FromRunProcess } from '../services/experiments/protocol'
import type { SpawnRunProcess } from '../services/experiments/process-runner'

/** Starts a run process as an Electron utility process (see process-host.ts, `process.parentPort`). */
export const utilityRunProcess: SpawnRunProcess = (file, args, execArgv) => {
  const child = utilityProcess.fork(file, args, { execArgv, stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'HMM Lab run' })
  let exited = false
  let exitCode: number | null = null
  child.on('exit', (code) => {
    exited = true
    exitCode = code
  })
  return {
    get pid() {
      return child.pid
    },
    get exited() {
      return exited
    },
    get exitCode() {
      return exitCode
    },
    signalCode: null,
    stderr: child.stderr,
    send(msg, onError) {
      try {
        child.postMessage(msg)
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)))
      }
    },
    onMessage: (fn) => void child.on('message', (msg: unknown) => fn(msg as FromRunProcess)),
    onExit: (fn) => void child.on('exit', () => fn()),
    // A V8 fatal error (e.g. out of memory) in the child: its exit follows and ends the run.
    onError: (fn) =>
      void child.on('error', (type: string, location: string) => fn(new Error(`${type} at ${location}: out of memory or another fatal V8 error`))),
    kill: () => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL')
          return
        } catch {
          // already gone
        }
      }
      child.kill()
    },
    // A utility process never holds the main process's event loop: Electron ends it with the app.
    setRef: () => undefined,
  }
}
