/**
 * ProbeContext: every read the probe makes goes through here. It resolves symlinks inside the
 * sysroot, turns read errors into findings that name the file, and records exactly what was read
 * (file bytes, symlink targets, directory listings, errors) so that a capture can copy precisely
 * those files and nothing else.
 */
import * as path from 'node:path'
import type { Finding, FindingSeverity, DevNode } from '../../../shared/probe'
import { SysrootError, type EntryStat, type SysrootFs } from './sysroot'

export type Recorded =
  | { kind: 'file'; data: Buffer }
  | { kind: 'link'; target: string }
  | { kind: 'dir' }
  | { kind: 'device'; stat: EntryStat; accessible: boolean | null }
  | { kind: 'error'; code: string }

export type ReadResult<T> = { ok: true; value: T; real: string } | { ok: false; code: string; real: string }

const MAX_LINK_HOPS = 40

/**
 * The longest sysfs text attribute read: one 4 KiB page (PAGE_SIZE on x86-64, the machines the lab
 * models; sysfs_kf_seq_show never returns more than PAGE_SIZE - 1 bytes).
 */
export const SYSFS_ATTR_MAX = 4096

function errCode(err: unknown): string {
  if (err instanceof SysrootError) return err.code
  if (typeof err === 'object' && err !== null && 'code' in err) return String((err as { code: unknown }).code)
  return 'EIO'
}

export class ProbeContext {
  readonly findings: Finding[] = []
  /** Physical path → what was read there. */
  readonly recorded = new Map<string, Recorded>()
  private readonly dirCache = new Map<string, string>()
  /** IOMMU lines of the kernel log, when one was read (written to a capture as /.hmmlab-dmesg.txt). */
  bootLogLines: string[] | null = null

  constructor(readonly fs: SysrootFs) {}

  // ------------------------------------------------------------------ findings

  add(severity: FindingSeverity, code: string, subject: string, message: string, file?: string): void {
    const f: Finding = { severity, code, subject, message }
    if (file !== undefined) f.file = file
    // The same fact reached twice (e.g. a unit seen through two links) is reported once.
    if (this.findings.some((g) => g.code === f.code && g.subject === f.subject && g.file === f.file && g.message === f.message)) return
    this.findings.push(f)
  }
  error(code: string, subject: string, message: string, file?: string): void {
    this.add('error', code, subject, message, file)
  }
  warn(code: string, subject: string, message: string, file?: string): void {
    this.add('warning', code, subject, message, file)
  }
  info(code: string, subject: string, message: string, file?: string): void {
    this.add('info', code, subject, message, file)
  }
  /** A value in `file` could not be understood. */
  malformed(file: string, subject: string, why: string): void {
    this.error('file.malformed', subject, `${file}: ${why}`, file)
  }

  // ------------------------------------------------------------------ resolution

  /**
   * Resolves `p` to a physical path inside the sysroot, following every symlink (absolute targets
   * are taken relative to the sysroot root, `..` stops at the root). With `followLast` false the
   * last component is not followed (used to read a link itself).
   */
  resolve(p: string, followLast = true): string {
    const norm = path.posix.normalize(p.startsWith('/') ? p : '/' + p).replace(/(.)\/+$/, '$1')
    if (norm === '/') return '/'
    const realParent = this.resolveDir(path.posix.dirname(norm))
    return this.walk(realParent, [path.posix.basename(norm)], followLast, p)
  }

  private resolveDir(d: string): string {
    if (d === '/') return '/'
    const cached = this.dirCache.get(d)
    if (cached !== undefined) return cached
    const real = this.resolve(d, true)
    this.dirCache.set(d, real)
    return real
  }

  private walk(start: string, comps: string[], followLast: boolean, original: string): string {
    let cur = start
    let hops = 0
    const queue = [...comps]
    while (queue.length > 0) {
      const comp = queue.shift() as string
      if (comp === '.' || comp === '') continue
      if (comp === '..') {
        cur = path.posix.dirname(cur)
        continue
      }
      const next = cur === '/' ? `/${comp}` : `${cur}/${comp}`
      if (queue.length === 0 && !followLast) return next
      let st: EntryStat
      try {
        st = this.fs.lstat(next)
      } catch (err) {
        // A missing component ends the walk. Never hand an unresolved remainder to the host: its
        // components could be symlinks the host would follow out of the sysroot.
        throw new SysrootError(errCode(err), next)
      }
      if (st.type === 'symlink') {
        if (++hops > MAX_LINK_HOPS) throw new SysrootError('ELOOP', original, `too many symlinks resolving ${original}`)
        const target = this.fs.readlink(next)
        this.recorded.set(next, { kind: 'link', target })
        if (target.startsWith('/')) cur = '/'
        queue.unshift(...target.split('/').filter((s) => s.length > 0))
        continue
      }
      cur = next
    }
    return cur
  }

  private record(real: string, r: Recorded): void {
    // Never downgrade a successful read to an error for the same path.
    const prev = this.recorded.get(real)
    if (prev && prev.kind !== 'error' && r.kind === 'error') return
    this.recorded.set(real, r)
  }

  // ------------------------------------------------------------------ reads

  /** Reads raw bytes. Never throws. */
  readBytes(p: string, maxBytes?: number): ReadResult<Buffer> {
    let real = p
    try {
      real = this.resolve(p)
      const data = this.fs.readFile(real, maxBytes)
      this.record(real, { kind: 'file', data })
      return { ok: true, value: data, real }
    } catch (err) {
      const code = errCode(err)
      if (code !== 'ENOENT') this.record(real, { kind: 'error', code })
      return { ok: false, code, real }
    }
  }

  /**
   * Reads a text file. Never throws; ENOENT gives `{ok:false, code:'ENOENT'}` silently.
   *
   * Under /sys a text attribute is what one `->show()` wrote into one page: sysfs_kf_seq_show
   * (fs/sysfs/file.c) hands it a PAGE_SIZE buffer and cuts a longer count to PAGE_SIZE - 1, and
   * the text has no NUL bytes. A longer file or one with NULs (a damaged or forged capture) is cut
   * at SYSFS_ATTR_MAX bytes and its NULs removed, each with an error finding naming the file, so
   * that no report carries megabytes of junk from one attribute.
   */
  read(p: string, subject: string = p): ReadResult<string> {
    const sysfs = p.startsWith('/sys/')
    const r = this.readBytes(p, sysfs ? SYSFS_ATTR_MAX + 1 : undefined)
    if (!r.ok) return r
    if (!sysfs) return { ok: true, value: r.value.toString('utf8'), real: r.real }
    let data = r.value
    if (data.length > SYSFS_ATTR_MAX) {
      data = data.subarray(0, SYSFS_ATTR_MAX)
      this.recorded.set(r.real, { kind: 'file', data })
      this.error(
        'file.oversize',
        subject,
        `${p}: longer than ${SYSFS_ATTR_MAX} bytes, more than a sysfs attribute holds (one page: sysfs_kf_seq_show); read cut at ${SYSFS_ATTR_MAX} bytes`,
        p,
      )
    }
    let nuls = 0
    for (const b of data) if (b === 0) nuls++
    let value = data.toString('utf8')
    if (nuls > 0) {
      value = value.replace(/\0/g, '')
      this.error('file.nul', subject, `${p}: ${nuls} NUL byte(s) in a text attribute (a sysfs ->show() writes none): removed`, p)
    }
    return { ok: true, value, real: r.real }
  }

  /**
   * Reads a text file and returns it, or null. A missing file is silent; any other failure
   * (EACCES, EPERM, EIO, ...) becomes an error finding naming the file, unless `quiet`.
   */
  text(p: string, subject: string, opts: { quiet?: boolean } = {}): string | null {
    const r = this.read(p, subject)
    if (r.ok) return r.value
    if (r.code !== 'ENOENT' && !opts.quiet) this.unreadable(p, subject, r.code)
    return null
  }

  unreadable(p: string, subject: string, code: string): void {
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? `permission denied (${code}); run as root or give read access`
        : code === 'ELOOP'
          ? 'symlink loop'
          : `read failed (${code})`
    this.error('file.unreadable', subject, `${p}: ${why}`, p)
  }

  /** Lists a directory (sorted); null if absent. Errors other than ENOENT become findings. */
  list(p: string, subject: string): string[] | null {
    let real = p
    try {
      real = this.resolve(p)
      const names = this.fs.readdir(real)
      this.record(real, { kind: 'dir' })
      // Keep the shape of what was listed (subdirectories, symlink targets) so that a capture
      // lists the same entries back, even those the probe then skipped or found malformed.
      for (const n of names) {
        const child = real === '/' ? `/${n}` : `${real}/${n}`
        if (this.recorded.has(child)) continue
        try {
          const st = this.fs.lstat(child)
          if (st.type === 'dir') this.recorded.set(child, { kind: 'dir' })
          else if (st.type === 'symlink') this.recorded.set(child, { kind: 'link', target: this.fs.readlink(child) })
        } catch {
          // listed but gone: nothing to keep
        }
      }
      return names
    } catch (err) {
      const code = errCode(err)
      if (code === 'ENOENT') return null
      if (code === 'ENOTDIR') {
        this.malformed(p, subject, 'expected a directory')
        return null
      }
      this.record(real, { kind: 'error', code })
      this.unreadable(p, subject, code)
      return null
    }
  }

  /** Target of the symlink at `p` (not followed), or null. */
  link(p: string): string | null {
    try {
      const real = this.resolve(p, false)
      const st = this.fs.lstat(real)
      if (st.type !== 'symlink') return null
      const target = this.fs.readlink(real)
      this.record(real, { kind: 'link', target })
      return target
    } catch {
      return null
    }
  }

  /** Basename of a symlink's target (`driver` → `amdgpu`, `iommu_group` → `12`). */
  linkName(p: string): string | null {
    const t = this.link(p)
    return t === null ? null : path.posix.basename(t)
  }

  exists(p: string): boolean {
    try {
      const real = this.resolve(p)
      this.fs.lstat(real)
      return true
    } catch {
      return false
    }
  }

  /** Looks at a `/dev` node without opening it. */
  dev(p: string): DevNode {
    try {
      const real = this.resolve(p)
      const st = this.fs.lstat(real)
      const type = st.type === 'char' ? 'c' : st.type === 'block' ? 'b' : st.type === 'file' ? 'file' : 'other'
      const accessible = this.fs.canReadWrite(real)
      if (st.type === 'char' || st.type === 'block') this.record(real, { kind: 'device', stat: st, accessible })
      return { path: p, present: true, type, mode: '0' + st.mode.toString(8).padStart(3, '0'), rdev: st.rdev, accessible }
    } catch {
      return { path: p, present: false, type: null, mode: null, rdev: null, accessible: null }
    }
  }

  /** Every error code met, by path (for the report's `files` section). */
  fileErrors(): { path: string; code: string }[] {
    const out: { path: string; code: string }[] = []
    for (const [p, r] of this.recorded) if (r.kind === 'error') out.push({ path: p, code: r.code })
    return out.sort((a, b) => a.path.localeCompare(b.path))
  }

  filesRead(): number {
    let n = 0
    for (const r of this.recorded.values()) if (r.kind === 'file') n++
    return n
  }
}
