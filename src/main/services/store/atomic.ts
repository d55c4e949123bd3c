/**
 * Crash-safe file writes: data goes to a temporary file in the same folder, is flushed to disk,
 * then renamed over the target. A reader sees the old file or the new one, never half of it.
 *
 * A process killed between creating the temporary file and the rename (SIGKILL, a power cut)
 * leaves `.NAME.tmp-PID-HEX` next to the target. The next write of the same target removes the
 * temporary files of that target whose process no longer runs (`removeStaleTemps`); the run
 * store also sweeps its folders at start (`RunStore.sweepLeftovers`).
 */
import { randomBytes } from 'node:crypto'
import { lstatSync, readdirSync, unlinkSync } from 'node:fs'
import { lstat, open, readdir, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Marks temporary files so listings can ignore them. */
export const TEMP_MARK = '.tmp-'

/** True for a name that only a write in progress (or one interrupted by a crash) leaves behind. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') || name.includes(TEMP_MARK)
}

/** A new temporary path for an atomic write of `path`: `.NAME.tmp-PID-HEX` in the same folder. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** The process id in `name` when it is exactly a temporary file of the file `target` (a base name). */
export function temporaryFileOwner(name: string, target: string): number | undefined {
  const prefix = `.${target}${TEMP_MARK}`
  if (!name.startsWith(prefix)) return undefined
  const m = /^([1-9]\d{0,9})-[0-9a-f]{8}$/.exec(name.slice(prefix.length))
  return m ? Number(m[1]) : undefined
}

/** True while a process with this id exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * True when a temporary file of a dead writer may be removed: its process id is not ours and no
 * longer runs, and it is a regular file (never a link, which is neither followed nor removed)
 * owned by this user.
 */
function removable(pid: number, st: { isFile(): boolean; uid: number }): boolean {
  if (pid === process.pid || processAlive(pid)) return false
  if (!st.isFile()) return false
  return typeof process.getuid !== 'function' || st.uid === process.getuid()
}

/**
 * Removes the temporary files a killed write of `path` left: names exactly `.NAME.tmp-PID-HEX`
 * (NAME the target's own name) whose process no longer runs, regular files only. Answers the
 * paths removed; never throws (a folder it cannot read leaves everything as it was).
 */
export function removeStaleTempsSync(path: string): string[] {
  const dir = dirname(path)
  const target = basename(path)
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const pid = temporaryFileOwner(name, target)
    if (pid === undefined) continue
    const full = join(dir, name)
    try {
      if (!removable(pid, lstatSync(full))) continue
      unlinkSync(full)
      removed.push(full)
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed
}

/**
 * Removes every temporary file of an atomic write in `dir` (whatever its target) whose process no
 * longer runs: names exactly `.NAME.tmp-PID-HEX`, regular files only. For a sweep at start.
 */
export function removeDeadTempFiles(dir: string): Promise<string[]> {
  return removeDeadTemps(dir, (name) => {
    const m = /^\.(.+)\.tmp-\d+-[0-9a-f]{8}$/.exec(name)
    return m ? temporaryFileOwner(name, m[1]!) : undefined
  })
}

/** `removeStaleTempsSync`, asynchronous. */
export function removeStaleTemps(path: string): Promise<string[]> {
  const target = basename(path)
  return removeDeadTemps(dirname(path), (name) => temporaryFileOwner(name, target))
}

/** Removes the files of `dir` that `ownerOf` names a writer for, when that writer is dead (`removable`). */
async function removeDeadTemps(dir: string, ownerOf: (name: string) => number | undefined): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const pid = ownerOf(name)
    if (pid === undefined) continue
    const full = join(dir, name)
    try {
      if (!removable(pid, await lstat(full))) continue
      await unlink(full)
      removed.push(full)
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed
}

/**
 * Writes `data` to `path` atomically (temp file + fsync + rename, then fsync of the folder).
 * Temporary files of this target left by a killed writer are removed first.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await removeStaleTemps(path)
  const temp = temporaryPathFor(path)
  const handle = await open(temp, 'wx', 0o644)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => undefined)
    await rm(temp, { force: true })
    throw err
  }
  await handle.close()
  try {
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  await syncDir(dirname(path))
}

/** Flushes a folder's entries (renames) to disk where the platform allows it. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Not supported everywhere (e.g. Windows); the rename itself is still atomic.
  }
}
