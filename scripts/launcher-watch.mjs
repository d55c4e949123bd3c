/**
 * `npm start` shows npm's pid, and that is the pid a user kills; but npm runs this script as its
 * grandchild (npm → `sh -c` → node) or its child (when the shell execs node), does not reliably
 * pass SIGTERM on, and cannot pass SIGKILL on at all. So the process `npm start` runs watches the
 * chain of parents up to npm and stops itself (SIGTERM to itself: the server's own clean stop)
 * once any link breaks: a process whose parent dies is given a new parent (init or a subreaper),
 * so its parent pid changes. Only when npm started us (`npm_lifecycle_event` is `start`): `node
 * scripts/start.mjs &` from a script that then ends keeps running, as any server would.
 */
import { readFileSync } from 'node:fs'

/** How often the chain is looked at. */
export const LAUNCHER_CHECK_MS = 500

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox'])

/** The parent pid of `pid` from /proc (Linux), or undefined when it cannot be read. */
function ppidOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after "(comm)": state ppid ...
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}

function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/**
 * Calls `onGone` (default: SIGTERM to this process) once npm, the process that started us, is
 * gone. Returns the pids watched (this process's parent, and npm's when a shell sits between),
 * empty when not started by `npm start` or already orphaned. The timer does not keep the process alive.
 */
export function stopWithLauncher({ env = process.env, onGone, intervalMs = LAUNCHER_CHECK_MS } = {}) {
  if (env.npm_lifecycle_event !== 'start' || process.platform === 'win32') return []
  const parent = process.ppid
  if (!(parent > 1)) return []
  // [child, its parent at start]: the first link through process.ppid, which every platform keeps
  // current; the shell's link through /proc (Linux)
  const links = [[process.pid, parent]]
  if (SHELLS.has(commOf(parent))) {
    const npm = ppidOf(parent)
    if (npm !== undefined && npm > 1) links.push([parent, npm])
  }
  const gone = onGone ?? (() => process.kill(process.pid, 'SIGTERM'))
  const broken = () => links.some(([child, p]) => (child === process.pid ? process.ppid : ppidOf(child)) !== p)
  const timer = setInterval(() => {
    if (!broken()) return
    clearInterval(timer)
    gone()
  }, intervalMs)
  timer.unref()
  return links.map(([, p]) => p)
}
