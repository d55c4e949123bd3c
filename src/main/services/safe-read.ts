/**
 * Reading a file on a user's behalf (a scenario's `machine:` file, a stored run's manifest): the
 * path must lead, symlinks resolved, into one of the allowed roots; only a regular file is read,
 * opened with O_NONBLOCK (a FIFO never blocks the open) and O_NOFOLLOW, and at most `maxBytes` of
 * it. Everything is asynchronous, so the work happens on libuv's threads, never blocking the main
 * thread. Errors name the path and the reason, never the file's contents.
 */
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
  Stats,
  writeFileSync,
} from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { removeStaleTempsSync, temporaryPathFor } from './store/atomic'

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
    throw fileError(path, what, err, 'open')
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(resolve(r)).catch(() => resolve(r))))
  if (!realRoots.some((root) => isInside(real, root))) throw new SafeReadError(`${what} ${path}: outside the allowed folders (${roots.join(', ')})`, 'OUTSIDE')
  return real
}

/** The errno code of a failed call (EIO when it has none). */
const errnoOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'EIO'

/** What an errno code means for the user, for the codes a user can act on. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  EFBIG: 'larger than the file size limit (ulimit -f)',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
}

/** What a file that is not a regular file is, in words. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  return st.isSymbolicLink() ? 'a symbolic link' : 'an unknown kind of file'
}

/** ` (to TARGET)` for a symbolic link, or nothing (a loop further up the path has no target to name). */
function linkTarget(path: string): string {
  try {
    return ` (to ${readlinkSync(path)})`
  } catch {
    return ''
  }
}

/**
 * The one error of this module: every read, check and write on a user's behalf, synchronous or
 * not, says the same thing for the same cause. `cause` is what failed (an errno error, or the
 * Stats of a file that is not a regular one); `step` what was being done: opening or reading a
 * file, checking an output path, creating the temporary file of an output in its folder, or
 * writing it. Output errors end with "not written". Never quotes a file's contents.
 */
function fileError(path: string, what: string, cause: unknown, step: 'open' | 'read' | 'output' | 'folder' | 'write'): SafeReadError {
  if (cause instanceof SafeReadError) return cause
  const out = step === 'output' || step === 'folder' || step === 'write' ? '; not written' : ''
  const say = (text: string, code: string): SafeReadError => new SafeReadError(`${what} ${path}: ${text}${out}`, code)
  if (cause instanceof Stats) {
    if (cause.isSymbolicLink()) return say(`is a symbolic link${linkTarget(path)}; give the path of the file itself`, 'NOT_REGULAR')
    if (cause.isDirectory()) return say('is a folder, not a file', 'NOT_REGULAR')
    return say(`${out ? 'exists and is ' : ''}not a regular file (${kindOf(cause)})`, 'NOT_REGULAR')
  }
  const code = errnoOf(cause)
  const reason = REASONS[code]
  const dir = dirname(resolve(path))
  // checking an output, a part of the path that is not a folder; reading, it means no such file
  if (step === 'output' && code === 'ENOTDIR') return say('a part of the path is not a folder', 'ENOENT')
  switch (step === 'folder' || step === 'write' ? `${step} ${code}` : code) {
    case 'ELOOP':
      return say(`is a symbolic link${linkTarget(path)}; give the path of the file itself`, 'NOT_REGULAR')
    case 'ENOTDIR':
    case 'ENOENT':
      return say('no such file', 'ENOENT')
    case 'ENXIO':
      return say('not a regular file (a FIFO or socket with nobody at the other end)', 'NOT_REGULAR')
    case 'EISDIR':
      return say('is a folder, not a file', 'NOT_REGULAR')
    case 'folder ENOENT':
    case 'folder ENOTDIR':
      return say(`the folder ${dir} ${linkTarget(dir) ? 'is a symbolic link to nothing' : 'does not exist'}`, 'ENOENT')
  }
  if (step === 'folder' && reason) return say(`cannot create a file in the folder ${dir}: ${reason} (${code})`, code)
  if (step === 'write') return new SafeReadError(`${what} ${path}: not written: ${reason ?? 'write failed'} (${code})`, code)
  return say(`cannot ${step === 'output' ? 'check' : step} (${code})`, code)
}

/** Checks the Stats of an opened file: a regular file of at most `maxBytes`, or an error. */
function checkRegular(path: string, what: string, st: Stats, maxBytes: number): void {
  if (!st.isFile()) throw fileError(path, what, st, 'read')
  if (st.size > maxBytes) throw new SafeReadError(`${what} ${path}: ${st.size} bytes, over the limit of ${maxBytes}`, 'TOO_LARGE')
}

/**
 * The read loop of both readers, as a generator: it yields each read to make (buffer, offset,
 * length) and takes the bytes read. The size can change under us, so it reads at most one byte
 * past the limit to notice; returns the contents, or throws TOO_LARGE.
 */
function* boundedReads(path: string, what: string, size: number, maxBytes: number): Generator<[Buffer, number, number], Buffer, number> {
  const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(size + 1, 1)))
  let total = 0
  while (total < buf.length) {
    const n = yield [buf, total, buf.length - total]
    if (n === 0) break
    total += n
  }
  if (total > maxBytes) throw new SafeReadError(`${what} ${path}: over the limit of ${maxBytes} bytes`, 'TOO_LARGE')
  return buf.subarray(0, total)
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/**
 * Reads a regular file of at most `maxBytes` without blocking on FIFOs or devices. With `roots`,
 * the file must lie inside one of them once symlinks are resolved; without, the last component
 * must not be a symlink.
 */
export async function readRegularFile(path: string, opts: { maxBytes: number; roots?: readonly string[]; what?: string }): Promise<Buffer> {
  const what = opts.what ?? 'file'
  const target = opts.roots ? await confinedPath(path, opts.roots, what) : path
  const handle = await open(target, READ_FLAGS).catch((err: unknown) => {
    throw fileError(path, what, err, 'open')
  })
  try {
    const st = await handle.stat()
    checkRegular(path, what, st, opts.maxBytes)
    const reads = boundedReads(path, what, st.size, opts.maxBytes)
    for (let r = reads.next(); ;) {
      if (r.done) return r.value
      r = reads.next((await handle.read(...r.value, null)).bytesRead)
    }
  } catch (err) {
    throw fileError(path, what, err, 'read')
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/**
 * `readRegularFile` for synchronous callers that read one small file a user named (a `--costs`
 * calibration, a scenario on the command line): the same checks (no symlink as the last
 * component, O_NONBLOCK, a regular file only, at most `maxBytes`) and the same errors, without
 * roots. On the main thread it costs one bounded read of a regular file, never a wait on a FIFO
 * or a device.
 */
export function readRegularFileSync(path: string, opts: { maxBytes: number; what?: string }): Buffer {
  const what = opts.what ?? 'file'
  let fd: number
  try {
    fd = openSync(path, READ_FLAGS)
  } catch (err) {
    throw fileError(path, what, err, 'open')
  }
  try {
    const st = fstatSync(fd)
    checkRegular(path, what, st, opts.maxBytes)
    const reads = boundedReads(path, what, st.size, opts.maxBytes)
    for (let r = reads.next(); ;) {
      if (r.done) return r.value
      r = reads.next(readSync(fd, ...r.value, null))
    }
  } catch (err) {
    throw fileError(path, what, err, 'read')
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
    if (errnoOf(err) === 'ENOENT') return
    throw fileError(path, what, err, 'output')
  }
  if (!st.isFile()) throw fileError(path, what, st, 'output')
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
    throw new SafeReadError(`${what} ${dir}: cannot create it: ${REASONS[code] ?? code} (${code})`, code)
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
    throw new SafeReadError(`${where} is not writable: ${REASONS[code] ?? code} (${code})`, code)
  }
}

/**
 * Writes a file a user named (`-o FILE`, `--report FILE`, `--out DIR`'s results) so that it is
 * never half-written: an existing target must be a regular file (a FIFO, a device, a folder or a
 * symlink is refused, never followed or waited on); the data goes to a new temporary file in the
 * same folder (O_EXCL, O_NOFOLLOW), is flushed to disk and renamed over the target, which is
 * checked again just before. On any failure (a full disk, a file size limit, an unwritable
 * folder) the temporary file is removed, the target is left as it was, and the error names the
 * path, why, and says it was not written. A process killed mid-write cannot remove its temporary
 * file; the next write of the same target does (`removeStaleTempsSync`).
 */
export function writeRegularFileSync(path: string, data: string | Uint8Array, what = 'output file'): void {
  checkOutputPath(path, what)
  const dir = dirname(resolve(path))
  // what an earlier write of this target left when its process was killed mid-write
  removeStaleTempsSync(resolve(path))
  const temp = temporaryPathFor(resolve(path))
  let fd: number
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644)
  } catch (err) {
    throw fileError(path, what, err, 'folder')
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
    throw fileError(path, what, err, 'write')
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
