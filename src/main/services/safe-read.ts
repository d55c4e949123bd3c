/**
 * Reading a file on a user's behalf (a scenario's `machine:` file, a stored run's manifest): the
 * path must lead, symlinks resolved, into one of the allowed roots; only a regular file is read,
 * opened with O_NONBLOCK (a FIFO never blocks the open) and O_NOFOLLOW, and at most `maxBytes` of
 * it. Everything is asynchronous, so the work happens on libuv's threads, never blocking the main
 * thread. Errors name the path and the reason, never the file's contents.
 */
import { randomBytes } from 'node:crypto'
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { TEMP_MARK } from './store/atomic'

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

/** What a write error means for the user, for the errno codes a user can act on. */
const WRITE_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  EFBIG: 'larger than the file size limit (ulimit -f)',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
}

/** The error for a failed write of `path` (`what` names it), with the folder when that is at fault. */
function writeError(path: string, what: string, err: unknown, step: 'folder' | 'data'): SafeReadError {
  if (err instanceof SafeReadError) return err
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
  const dir = dirname(resolve(path))
  const reason = WRITE_REASONS[code]
  if (step === 'folder' && (code === 'ENOENT' || code === 'ENOTDIR')) {
    let link = false
    try {
      link = lstatSync(dir).isSymbolicLink()
    } catch {
      // the folder does not exist at all
    }
    return new SafeReadError(`${what} ${path}: the folder ${dir} ${link ? 'is a symbolic link to nothing' : 'does not exist'}; not written`, 'ENOENT')
  }
  if (step === 'folder' && reason)
    return new SafeReadError(`${what} ${path}: cannot create a file in the folder ${dir}: ${reason} (${code}); not written`, code)
  return new SafeReadError(`${what} ${path}: not written: ${reason ?? 'write failed'} (${code})`, code)
}

/**
 * Checks, before any work, that an output file can go to `path`: `checkOutputPath`, and its
 * folder exists, is a folder and is writable (`access`, which root passes; the write itself
 * still reports a folder it cannot create a file in).
 */
export function checkOutputTarget(path: string, what = 'output file'): void {
  checkOutputPath(path, what)
  checkOutputFolder(dirname(resolve(path)), what, path)
}

/**
 * Makes the folder `dir` for output files (`--out DIR`) if needed and checks it is a folder
 * (a link to a folder is followed) that this process may write in.
 */
export function prepareOutputFolder(dir: string, what = 'output folder'): void {
  try {
    mkdirSync(dir, { recursive: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    // a file in the way, a link to nothing, a parent that is not a folder: said as such
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'ENOENT') checkOutputFolder(resolve(dir), what, dir)
    throw new SafeReadError(`${what} ${dir}: cannot create it: ${WRITE_REASONS[code] ?? code} (${code})`, code)
  }
  checkOutputFolder(resolve(dir), what, dir)
}

function checkOutputFolder(dir: string, what: string, named: string): void {
  const where = named === dir ? `${what} ${dir}` : `${what} ${named}: the folder ${dir}`
  let st
  try {
    st = statSync(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      let link = false
      try {
        link = lstatSync(dir).isSymbolicLink()
      } catch {
        // missing altogether
      }
      throw new SafeReadError(`${where} ${link ? 'is a symbolic link to nothing' : 'does not exist'}`, 'ENOENT')
    }
    throw new SafeReadError(`${where}: cannot check (${code})`, code)
  }
  if (!st.isDirectory()) throw new SafeReadError(`${where} is not a folder`, 'NOT_REGULAR')
  try {
    accessSync(dir, constants.W_OK | constants.X_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EACCES'
    throw new SafeReadError(`${where} is not writable: ${WRITE_REASONS[code] ?? code} (${code})`, code)
  }
}

/**
 * Writes a file a user named (`-o FILE`, `--report FILE`, `--out DIR`'s results) so that it is
 * never half-written: an existing target must be a regular file (a FIFO, a device, a folder or a
 * symlink is refused, never followed or waited on); the data goes to a new temporary file in the
 * same folder (O_EXCL, O_NOFOLLOW), is flushed to disk and renamed over the target, which is
 * checked again just before. On any failure (a full disk, a file size limit, an unwritable
 * folder) the temporary file is removed, the target is left as it was, and the error names the
 * path, why, and says it was not written.
 */
export function writeRegularFileSync(path: string, data: string | Uint8Array, what = 'output file'): void {
  checkOutputPath(path, what)
  const dir = dirname(resolve(path))
  const temp = join(dir, `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`)
  let fd: number
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644)
  } catch (err) {
    throw writeError(path, what, err, 'folder')
  }
  try {
    try {
      writeFileSync(fd, data)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    // the target may have changed since the first check: never rename over a device or a link
    checkOutputPath(path, what)
    renameSync(temp, path)
  } catch (err) {
    rmSync(temp, { force: true })
    throw writeError(path, what, err, 'data')
  }
  try {
    const dfd = openSync(dir, constants.O_RDONLY)
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // a folder that cannot be synced (not everywhere): the rename itself is atomic
  }
}
