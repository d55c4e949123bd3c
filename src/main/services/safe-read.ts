/**
 * Reading a file on a user's behalf (a scenario's `machine:` file, a stored run's manifest): the
 * path must lead, symlinks resolved, into one of the allowed roots; only a regular file is read,
 * opened with O_NONBLOCK (a FIFO never blocks the open) and O_NOFOLLOW, and at most `maxBytes` of
 * it. Everything is asynchronous, so the work happens on libuv's threads, never blocking the main
 * thread. Errors name the path and the reason, never the file's contents.
 */
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readlinkSync, readSync, writeFileSync } from 'node:fs'
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
    throw new SafeReadError(
      code === 'ENOENT' || code === 'ENOTDIR' ? `${what} ${path}: no such file` : `${what} ${path}: cannot open (${code})`,
      code === 'ENOTDIR' ? 'ENOENT' : code,
    )
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
    throw openError(path, what, err)
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

/** The synchronous twin's messages for an open that failed (shared by reads and writes). */
function openError(path: string, what: string, err: unknown): SafeReadError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
  if (code === 'ELOOP') {
    let to = ''
    try {
      to = ` (to ${readlinkSync(path)})`
    } catch {
      // not a link after all (a loop further up the path): no target to name
    }
    return new SafeReadError(`${what} ${path}: is a symbolic link${to}; give the path of the file itself`, 'NOT_REGULAR')
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') return new SafeReadError(`${what} ${path}: no such file`, 'ENOENT')
  if (code === 'ENXIO') return new SafeReadError(`${what} ${path}: not a regular file (a FIFO or socket with nobody at the other end)`, 'NOT_REGULAR')
  if (code === 'EISDIR') return new SafeReadError(`${what} ${path}: is a folder, not a file`, 'NOT_REGULAR')
  return new SafeReadError(`${what} ${path}: cannot open (${code})`, code)
}

/**
 * `readRegularFile` for synchronous callers that read one small file a user named (a `--costs`
 * calibration, a scenario on the command line): the same checks (no symlink as the last
 * component, O_NONBLOCK, a regular file only, at most `maxBytes`), without roots. On the main
 * thread it costs one bounded read of a regular file, never a wait on a FIFO or a device.
 */
export function readRegularFileSync(path: string, opts: { maxBytes: number; what?: string }): Buffer {
  const what = opts.what ?? 'file'
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
  } catch (err) {
    throw openError(path, what, err)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new SafeReadError(`${what} ${path}: not a regular file`, 'NOT_REGULAR')
    if (st.size > opts.maxBytes) throw new SafeReadError(`${what} ${path}: ${st.size} bytes, over the limit of ${opts.maxBytes}`, 'TOO_LARGE')
    const buf = Buffer.alloc(Math.min(opts.maxBytes + 1, Math.max(st.size + 1, 1)))
    let total = 0
    while (total < buf.length) {
      const n = readSync(fd, buf, total, buf.length - total, null)
      if (n === 0) break
      total += n
    }
    if (total > opts.maxBytes) throw new SafeReadError(`${what} ${path}: over the limit of ${opts.maxBytes} bytes`, 'TOO_LARGE')
    return buf.subarray(0, total)
  } catch (err) {
    if (err instanceof SafeReadError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw new SafeReadError(`${what} ${path}: cannot read (${code})`, code)
  } finally {
    closeSync(fd)
  }
}

/**
 * Checks a path a user named for output before anything is written there: it must not exist yet,
 * or be a regular file. A FIFO would block the write, a symlink would send it elsewhere, and an
 * atomic write (a rename over the path) would replace a device node or a link.
 */
export function checkOutputPath(path: string, what = 'output file'): void {
  let st
  try {
    st = lstatSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    if (code === 'ENOTDIR') throw new SafeReadError(`${what} ${path}: a part of the path is not a folder`, 'ENOENT')
    throw new SafeReadError(`${what} ${path}: cannot check (${code ?? 'EIO'})`, code ?? 'EIO')
  }
  if (st.isSymbolicLink()) throw openError(path, what, Object.assign(new Error('link'), { code: 'ELOOP' }))
  if (st.isDirectory()) throw new SafeReadError(`${what} ${path}: is a folder, not a file`, 'NOT_REGULAR')
  if (!st.isFile()) throw new SafeReadError(`${what} ${path}: exists and is not a regular file (a FIFO, socket or device); not written`, 'NOT_REGULAR')
}

/**
 * Writes a file a user named (`-o FILE`, `--report FILE`): opened without following a symlink
 * and without blocking (a FIFO without a reader fails at once), written only if it is a regular
 * file. Errors name the path and say it was not written.
 */
export function writeRegularFileSync(path: string, data: string | Uint8Array, what = 'output file'): void {
  checkOutputPath(path, what)
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW, 0o644)
  } catch (err) {
    throw openError(path, what, err)
  }
  try {
    if (!fstatSync(fd).isFile()) throw new SafeReadError(`${what} ${path}: exists and is not a regular file; not written`, 'NOT_REGULAR')
    ftruncateSync(fd, 0)
    writeFileSync(fd, data)
  } catch (err) {
    if (err instanceof SafeReadError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw new SafeReadError(`${what} ${path}: not written (${code})`, code)
  } finally {
    closeSync(fd)
  }
}
