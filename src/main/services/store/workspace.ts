/** Where the workspace lives by default (the user's data folder, per platform), and whether a host can use it. */
import { accessSync, constants, lstatSync, statSync, type Stats } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/** `$XDG_DATA_HOME/hmm-lab` on Linux, the platform's application-data folder elsewhere. */
export function defaultWorkspace(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HMMLAB_WORKSPACE) return env.HMMLAB_WORKSPACE
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'HMM Lab')
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'HMM Lab')
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'hmm-lab')
}

/** A workspace path no run can be saved in: the message names the path and why. */
export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WorkspaceError'
  }
}

/** What a path that is not a folder is, in words. */
function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  return 'not a folder'
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new WorkspaceError(`workspace ${path}: cannot check it (${code ?? (err as Error).message})`)
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false // nothing there at all
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Checks, before a host starts on it (`hmmlab serve`, `hmmlab run --workspace`, the desktop
 * app), that runs can be saved in the workspace `dir`: an existing path must be a folder (a link
 * to one is followed) this process may write in; a missing one is made on the first save, so its
 * nearest existing parent must be a writable folder. Throws a WorkspaceError naming the path and
 * why (a regular file, a FIFO, a link to nothing, a file in its path, no write permission);
 * without this a host would start, advertise the path, and fail every request later.
 */
export function checkWorkspace(dir: string): string {
  const path = resolve(dir)
  const st = statOrUndefined(path)
  if (st) {
    if (!st.isDirectory()) throw new WorkspaceError(`workspace ${path} is ${kindOf(st)}, not a folder; give a folder (it is made if missing)`)
    if (!writable(path)) throw new WorkspaceError(`workspace ${path} is a folder this user cannot write in (permission denied or read-only)`)
    return path
  }
  if (isLink(path)) throw new WorkspaceError(`workspace ${path} is a symbolic link to nothing`)
  // missing: the first save makes it and its missing parents, under the nearest existing one
  let parent = dirname(path)
  for (;;) {
    const up = statOrUndefined(parent)
    if (up) {
      if (!up.isDirectory()) throw new WorkspaceError(`workspace ${path} cannot be made: ${parent} is ${kindOf(up)}, not a folder`)
      if (!writable(parent)) throw new WorkspaceError(`workspace ${path} does not exist and cannot be made: ${parent} is not writable by this user`)
      return path
    }
    if (isLink(parent)) throw new WorkspaceError(`workspace ${path} cannot be made: ${parent} is a symbolic link to nothing`)
    const next = dirname(parent)
    if (next === parent) throw new WorkspaceError(`workspace ${path} cannot be made: no part of its path exists`)
    parent = next
  }
}
