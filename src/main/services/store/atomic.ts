/**
 * Crash-safe file writes: data goes to a temporary file in the same folder, is flushed to disk,
 * then renamed over the target. A reader sees the old file or the new one, never half of it.
 */
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Marks temporary files so listings can ignore them. */
export const TEMP_MARK = '.tmp-'

/** True for a name that only a write in progress (or one interrupted by a crash) leaves behind. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') || name.includes(TEMP_MARK)
}

/** Writes `data` to `path` atomically (temp file + fsync + rename, then fsync of the folder). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`)
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
