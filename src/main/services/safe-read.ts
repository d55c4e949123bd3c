/**
 * Reading a file on a user's behalf (a scenario's `machine:` file, a stored run's manifest): the
 * path must lead, symlinks resolved, into one of the allowed roots; only a regular file is read,
 * opened with O_NONBLOCK (a FIFO never blocks the open) and O_NOFOLLOW, and at most `maxBytes` of
 * it. Everything is asynchronous, so the work happens on libuv's threads, never blocking the main
 * thread. Errors name the path and the reason, never the file's contents.
 */
import { constants } from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { resolve, sep } from 'node:path'

/** A refused or failed read; `code` is an errno code or one of ours. */
export class SafeReadError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'OUTSIDE' | 'NOT_REGULAR' | 'TOO_LARGE' | string,
  ) {
    super(message)
    this.name = 'SafeReadError'
  }
}

/** True when `path` is `root` or inside it (both already resolved). */
export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

/**
 * Resolves `path` (symlinks included) and checks that it lies inside one of `roots`; answers the
 * real path. `what` names the file in errors ("machine file", "manifest").
 */
export async function confinedPath(path: string, roots: readonly string[], what = 'file'): Promise<string> {
  let real: string
  try {
    real = await realpath(resolve(path))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw new SafeReadError(code === 'ENOENT' || code === 'ENOTDIR' ? `${what} ${path}: no such file` : `${what} ${path}: cannot open (${code})`, code === 'ENOTDIR' ? 'ENOENT' : code)
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(resolve(r)).catch(() => resolve(r))))
  if (!realRoots.some((root) => isInside(real, root))) throw new SafeReadError(`${what} ${path}: outside the allowed folders (${roots.join(', ')})`, 'OUTSIDE')
  return real
}

/**
 * Reads a regular file of at most `maxBytes` without blocking on FIFOs or devices. With `roots`,
 * the file must lie inside one of them once symlinks are resolved; without, the last component
 * must not be a symlink.
 */
export async function readRegularFile(path: string, opts: { maxBytes: number; roots?: readonly string[]; what?: string }): Promise<Buffer> {
  const what = opts.what ?? 'file'
  const target = opts.roots ? await confinedPath(path, opts.roots, what) : path
  let handle
  try {
    handle = await open(target, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    if (code === 'ELOOP') throw new SafeReadError(`${what} ${path}: is a symbolic link`, 'NOT_REGULAR')
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SafeReadError(`${what} ${path}: no such file`, 'ENOENT')
    throw new SafeReadError(`${what} ${path}: cannot open (${code})`, code)
  }
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new SafeReadError(`${what} ${path}: not a regular file`, 'NOT_REGULAR')
    if (st.size > opts.maxBytes) throw new SafeReadError(`${what} ${path}: ${st.size} bytes, over the limit of ${opts.maxBytes}`, 'TOO_LARGE')
    // The size can change under us: read at most one byte past the limit to notice.
    const buf = Buffer.alloc(Math.min(opts.maxBytes + 1, Math.max(st.size + 1, 1)))
    let total = 0
    for (;;) {
      if (total === buf.length) {
        if (total > opts.maxBytes) throw new SafeReadError(`${what} ${path}: over the limit of ${opts.maxBytes} bytes`, 'TOO_LARGE')
        break
      }
      const { bytesRead } = await handle.read(buf, total, buf.length - total, null)
      if (bytesRead === 0) break
      total += bytesRead
    }
    if (total > opts.maxBytes) throw new SafeReadError(`${what} ${path}: over the limit of ${opts.maxBytes} bytes`, 'TOO_LARGE')
    return buf.subarray(0, total)
  } catch (err) {
    if (err instanceof SafeReadError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw new SafeReadError(`${what} ${path}: cannot read (${code})`, code)
  } finally {
    await handle.close().catch(() => undefined)
  }
}
