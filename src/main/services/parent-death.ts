/**
 * A child process must not outlive its parent: a parent killed with SIGKILL runs no cleanup, so
 * each child checks for itself.
 *
 * - A Node child (a run process, the Electron main process started by `npm start`) calls
 *   `exitWithParent()`: it notes its parent's pid and checks `process.ppid` every half second;
 *   once the parent is gone the kernel has given the child a new parent (init or a subreaper),
 *   so the pid differs, and the child ends. An IPC 'disconnect' is faster where there is a
 *   channel; this check also covers children without one (Electron's utility processes, which
 *   talk over `process.parentPort`, and a process started with `stdio: 'inherit'`).
 * - A native child (the calibration benchmark, QEMU, make) cannot run our code: on Linux it is
 *   started through util-linux's `setpriv --pdeathsig KILL`, which asks the kernel to send it
 *   SIGKILL when the thread that started it dies (prctl PR_SET_PDEATHSIG, kept across execve);
 *   `withParentDeathSignal` rewrites the command so. Without setpriv the command runs as is.
 */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** How often a Node child looks for its parent. */
export const PARENT_CHECK_MS = 500

/**
 * Ends this process (by `onParentGone`, default `process.exit(1)`) once its parent has died.
 * `parentPid` defaults to `process.ppid` now; a parent that starts us through a wrapper gives
 * its own pid (`npm start` passes HMMLAB_PARENT_PID to Electron). The timer does not keep the
 * process alive. Returns a function that stops the check.
 */
export function exitWithParent(opts: { parentPid?: number; onParentGone?: () => void; intervalMs?: number } = {}): () => void {
  const parentPid = opts.parentPid ?? process.ppid
  // Windows never updates ppid; a process started by init (pid 1) has no parent to outlive
  if (process.platform === 'win32' || !Number.isInteger(parentPid) || parentPid <= 1) return () => {}
  const gone = opts.onParentGone ?? (() => process.exit(1))
  const parentAlive = (): boolean => process.ppid === parentPid
  if (!parentAlive()) {
    gone()
    return () => {}
  }
  const timer = setInterval(() => {
    if (parentAlive()) return
    clearInterval(timer)
    gone()
  }, opts.intervalMs ?? PARENT_CHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/** The executable `cmd` names: itself when it has a slash, else the first on PATH; null if none. */
function executable(cmd: string, env: NodeJS.ProcessEnv): string | null {
  const candidates = cmd.includes('/') ? [cmd] : (env.PATH ?? '/usr/bin:/bin').split(delimiter).map((dir) => join(dir, cmd))
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return null
}

let setprivPath: string | null | undefined

/** util-linux's setpriv on PATH, if any (looked up once). */
function setpriv(env: NodeJS.ProcessEnv): string | null {
  if (setprivPath === undefined) setprivPath = executable('setpriv', env)
  return setprivPath
}

/**
 * The command and arguments that start `cmd args` so that the kernel kills it (SIGKILL) when
 * this process dies: `setpriv --pdeathsig KILL -- cmd args` on Linux where setpriv exists,
 * else (or when `cmd` is not an executable) `cmd args` unchanged. Call `spawn` from the main thread: the signal follows the death of
 * the thread that forked.
 */
export function withParentDeathSignal(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): [string, string[]] {
  const wrapper = process.platform === 'linux' ? setpriv(env) : null
  // a command that cannot run is left unwrapped, so spawn reports it (ENOENT naming it) rather
  // than setpriv's exit status 127
  return wrapper && executable(cmd, env) !== null ? [wrapper, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, [...args]]
}
