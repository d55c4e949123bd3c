/**
 * Sysroots: where the probe reads `/sys`, `/dev` and `/proc` from. The live machine (`/`), a
 * directory holding a captured or hand-built tree, or (through `capture.ts`) an extracted archive.
 *
 * The layer offers primitives on *physical* paths only (no symlink following); `ProbeContext`
 * resolves symlinks itself, component by component, so that a directory sysroot can never be
 * escaped through a symlink (absolute targets are re-rooted, `..` stops at the root) and so that
 * every symlink crossed can be recorded for a capture.
 *
 * Nothing here writes: files are opened read-only, `/dev` nodes are checked with access(2) and
 * never opened (opening `/dev/kfd` would create a KFD process for the caller).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'other'

export interface EntryStat {
  type: EntryType
  /** Permission bits (mode & 0o7777). */
  mode: number
  /** `major:minor` for device nodes. */
  rdev: string | null
}

/** An error carrying an errno-style code (`ENOENT`, `EACCES`, `EPERM`, `EINVAL`, `ELOOP`, ...). */
export class SysrootError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    message?: string,
  ) {
    super(message ?? `${code}: ${path}`)
    this.name = 'SysrootError'
  }
}

/** Device node as stored in a capture manifest (device nodes cannot be archived). */
export interface ManifestDevice {
  type: 'c' | 'b'
  mode: string
  rdev: string
  accessible: boolean | null
}

/** `/.hmmlab-capture.json` in a captured sysroot. */
export interface CaptureManifest {
  format: 'hmmlab.capture'
  version: 1
  capturedAt?: string
  release?: string | null
  /** Device nodes by absolute path (`/dev/kfd`). */
  devices: Record<string, ManifestDevice>
  /** Read errors met while capturing, by physical path; replayed when reading back. */
  errors: Record<string, string>
  /** Files whose content was altered on capture (e.g. a redacted `/proc/cmdline`). */
  redacted?: string[]
}

export const MANIFEST_PATH = '/.hmmlab-capture.json'

/** Primitive, non-following operations on a sysroot. Paths are absolute POSIX paths. */
export interface SysrootFs {
  readonly kind: 'live' | 'directory'
  /** Host directory that `/` maps to. */
  readonly root: string
  lstat(p: string): EntryStat
  readlink(p: string): string
  /** Reads at most `maxBytes` (default 1 MiB) of a regular file (or sysfs/procfs file). */
  readFile(p: string, maxBytes?: number): Buffer
  readdir(p: string): string[]
  /** Whether this process may open the node read/write (access(2)); null when unknowable. */
  canReadWrite(p: string): boolean | null
  /**
   * The kernel log: live `/dev/kmsg` (non-blocking, read-only), or the IOMMU lines kept in a
   * capture (`/.hmmlab-dmesg.txt`). Throws a SysrootError (ENOENT, EPERM, …) when unavailable.
   */
  readKernelLog?(): string
}

export const DMESG_PATH = '/.hmmlab-dmesg.txt'
const KMSG_MAX = 16 << 20

const DEFAULT_MAX = 1 << 20
/** The largest capture manifest read (a real one lists a few hundred paths). */
const MANIFEST_MAX = 4 << 20

function toSysrootError(err: unknown, p: string): SysrootError {
  if (err instanceof SysrootError) return err
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'EIO'
  return new SysrootError(code, p, err instanceof Error ? err.message : String(err))
}

function statToEntry(st: fs.Stats): EntryStat {
  let type: EntryType = 'other'
  if (st.isSymbolicLink()) type = 'symlink'
  else if (st.isDirectory()) type = 'dir'
  else if (st.isFile()) type = 'file'
  else if (st.isCharacterDevice()) type = 'char'
  else if (st.isBlockDevice()) type = 'block'
  const rdev = type === 'char' || type === 'block' ? `${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}` : null
  return { type, mode: st.mode & 0o7777, rdev }
}

/**
 * Reads at most `maxBytes` of a regular file. O_NONBLOCK: opening a FIFO (or a device) never
 * waits for a writer, and anything but a regular file is refused before a byte is read.
 */
function readBounded(hostPath: string, maxBytes: number, noFollow: boolean): Buffer {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (noFollow ? fs.constants.O_NOFOLLOW : 0)
  const fd = fs.openSync(hostPath, flags)
  try {
    if (!fs.fstatSync(fd).isFile()) throw new SysrootError('EINVAL', hostPath, 'not a regular file')
    const chunks: Buffer[] = []
    let total = 0
    const buf = Buffer.alloc(Math.min(65536, maxBytes))
    for (;;) {
      const want = Math.min(buf.length, maxBytes - total)
      if (want <= 0) break
      const n = fs.readSync(fd, buf, 0, want, null)
      if (n <= 0) break
      chunks.push(Buffer.from(buf.subarray(0, n)))
      total += n
    }
    return Buffer.concat(chunks)
  } finally {
    fs.closeSync(fd)
  }
}

/** The running machine. */
export class LiveFs implements SysrootFs {
  readonly kind = 'live' as const
  readonly root = '/'
  lstat(p: string): EntryStat {
    try {
      return statToEntry(fs.lstatSync(p))
    } catch (err) {
      throw toSysrootError(err, p)
    }
  }
  readlink(p: string): string {
    try {
      return fs.readlinkSync(p)
    } catch (err) {
      throw toSysrootError(err, p)
    }
  }
  readFile(p: string, maxBytes = DEFAULT_MAX): Buffer {
    try {
      return readBounded(p, maxBytes, false)
    } catch (err) {
      throw toSysrootError(err, p)
    }
  }
  readdir(p: string): string[] {
    try {
      return fs.readdirSync(p).sort()
    } catch (err) {
      throw toSysrootError(err, p)
    }
  }
  canReadWrite(p: string): boolean | null {
    try {
      fs.accessSync(p, fs.constants.R_OK | fs.constants.W_OK)
      return true
    } catch {
      return false
    }
  }
  readKernelLog(): string {
    let fd: number
    try {
      fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
    } catch (err) {
      throw toSysrootError(err, '/dev/kmsg')
    }
    try {
      const buf = Buffer.alloc(16384)
      const parts: string[] = []
      let total = 0
      for (;;) {
        let n: number
        try {
          n = fs.readSync(fd, buf, 0, buf.length, null)
        } catch (err) {
          const code = (err as { code?: string }).code
          if (code === 'EAGAIN') break // end of the ring buffer
          if (code === 'EPIPE') continue // records overwritten while reading: skip ahead
          throw toSysrootError(err, '/dev/kmsg')
        }
        if (n <= 0) break
        parts.push(buf.toString('utf8', 0, n))
        total += n
        if (total > KMSG_MAX) break
      }
      return parts.join('')
    } finally {
      fs.closeSync(fd)
    }
  }
}

/**
 * A directory standing for `/`. Reads never follow symlinks on the host (`O_NOFOLLOW`; the
 * context resolves links inside the root), and a capture manifest, if present, supplies device
 * nodes and replays recorded read errors.
 */
export class DirectoryFs implements SysrootFs {
  readonly kind = 'directory' as const
  readonly root: string
  readonly manifest: CaptureManifest | null

  constructor(root: string) {
    this.root = path.resolve(root)
    this.manifest = DirectoryFs.loadManifest(this.root)
  }

  private static loadManifest(root: string): CaptureManifest | null {
    try {
      // Never through a symlink (it could point out of the sysroot), a regular file, bounded.
      const raw = readBounded(path.join(root, MANIFEST_PATH), MANIFEST_MAX, true).toString('utf8')
      const parsed: unknown = JSON.parse(raw)
      if (typeof parsed !== 'object' || parsed === null) return null
      const m = parsed as Partial<CaptureManifest>
      if (m.format !== 'hmmlab.capture') return null
      return {
        format: 'hmmlab.capture',
        version: 1,
        capturedAt: typeof m.capturedAt === 'string' ? m.capturedAt : undefined,
        release: typeof m.release === 'string' ? m.release : null,
        devices: typeof m.devices === 'object' && m.devices !== null ? m.devices : {},
        errors: typeof m.errors === 'object' && m.errors !== null ? m.errors : {},
        redacted: Array.isArray(m.redacted) ? m.redacted.filter((x): x is string => typeof x === 'string') : [],
      }
    } catch {
      return null
    }
  }

  /** Host path for a sysroot path; refuses anything that would leave the root. */
  host(p: string): string {
    const norm = path.posix.normalize('/' + p).replace(/\/+$/, '') || '/'
    const joined = path.join(this.root, norm)
    if (joined !== this.root && !joined.startsWith(this.root + path.sep)) throw new SysrootError('EACCES', p, 'outside sysroot')
    return joined
  }

  private replayError(p: string): void {
    const code = this.manifest?.errors[p]
    if (code) throw new SysrootError(code, p, `${code} (recorded in capture)`)
  }

  lstat(p: string): EntryStat {
    this.replayError(p)
    const dev = this.manifest?.devices[p]
    if (dev) {
      const mode = Number.parseInt(dev.mode, 8)
      return { type: dev.type === 'c' ? 'char' : 'block', mode: Number.isFinite(mode) ? mode : 0, rdev: dev.rdev }
    }
    try {
      return statToEntry(fs.lstatSync(this.host(p)))
    } catch (err) {
      // Parent directories of manifest-only device nodes (/dev, /dev/dri) exist implicitly.
      if (this.manifestChildren(p).length > 0) return { type: 'dir', mode: 0o755, rdev: null }
      throw toSysrootError(err, p)
    }
  }
  private manifestChildren(dir: string): string[] {
    const prefix = dir === '/' ? '/' : dir + '/'
    const out = new Set<string>()
    for (const d of Object.keys(this.manifest?.devices ?? {})) if (d.startsWith(prefix)) out.add(d.slice(prefix.length).split('/')[0] as string)
    return [...out]
  }
  readlink(p: string): string {
    this.replayError(p)
    try {
      return fs.readlinkSync(this.host(p))
    } catch (err) {
      throw toSysrootError(err, p)
    }
  }
  readFile(p: string, maxBytes = DEFAULT_MAX): Buffer {
    this.replayError(p)
    try {
      return readBounded(this.host(p), maxBytes, true)
    } catch (err) {
      throw toSysrootError(err, p)
    }
  }
  readdir(p: string): string[] {
    this.replayError(p)
    const fromManifest = this.manifestChildren(p)
    try {
      const names = fs.readdirSync(this.host(p))
      const all = [...new Set([...names, ...fromManifest])].sort()
      return p === '/' ? all.filter((n) => n !== path.basename(MANIFEST_PATH) && n !== path.basename(DMESG_PATH)) : all
    } catch (err) {
      if (fromManifest.length > 0) return fromManifest.sort()
      throw toSysrootError(err, p)
    }
  }
  canReadWrite(p: string): boolean | null {
    const dev = this.manifest?.devices[p]
    return dev ? dev.accessible : null
  }
  readKernelLog(): string {
    try {
      return readBounded(this.host(DMESG_PATH), KMSG_MAX, true).toString('utf8')
    } catch (err) {
      throw toSysrootError(err, DMESG_PATH)
    }
  }
}

/**
 * Wraps a sysroot and makes chosen paths fail with a chosen code. Tests use it to get EACCES and
 * EPERM even when they run as root (root ignores file modes).
 */
export class FaultInjectingFs implements SysrootFs {
  readonly kind: 'live' | 'directory'
  readonly root: string
  constructor(
    private readonly inner: SysrootFs,
    private readonly faults: (p: string) => string | null,
  ) {
    this.kind = inner.kind
    this.root = inner.root
  }
  private check(p: string): void {
    const code = this.faults(p)
    if (code) throw new SysrootError(code, p, `${code} (injected)`)
  }
  lstat(p: string): EntryStat {
    return this.inner.lstat(p)
  }
  readlink(p: string): string {
    return this.inner.readlink(p)
  }
  readFile(p: string, maxBytes?: number): Buffer {
    this.check(p)
    return this.inner.readFile(p, maxBytes)
  }
  readdir(p: string): string[] {
    this.check(p)
    return this.inner.readdir(p)
  }
  canReadWrite(p: string): boolean | null {
    return this.faults(p) ? false : this.inner.canReadWrite(p)
  }
  readKernelLog(): string {
    const code = this.faults('/dev/kmsg')
    if (code) throw new SysrootError(code, '/dev/kmsg', `${code} (injected)`)
    if (!this.inner.readKernelLog) throw new SysrootError('ENOENT', '/dev/kmsg')
    return this.inner.readKernelLog()
  }
}

/** Opens a sysroot: `/` (or undefined) is the live machine, anything else a directory. */
export function openSysroot(root?: string): SysrootFs {
  if (root === undefined || path.resolve(root) === '/') return new LiveFs()
  const st = fs.statSync(root)
  if (!st.isDirectory()) throw new SysrootError('ENOTDIR', root, `sysroot ${root} is not a directory`)
  return new DirectoryFs(root)
}
