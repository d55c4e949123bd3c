/**
 * Captures: a `.tar.gz` holding exactly the files the probe read (bytes as read, symlinks as
 * symlinks, device nodes and read errors in `/.hmmlab-capture.json`), and reading one back as a
 * sysroot.
 *
 * Safety on capture: only paths under the probe's own prefixes are written (a guard against ever
 * archiving anything else), and secret-looking `key=value` tokens of `/proc/cmdline` are redacted.
 * Safety on read-back: entries are extracted into a fresh temporary directory; absolute paths and
 * `..` are refused, only files, directories and symlinks are accepted, sizes are bounded, and the
 * directory sysroot never follows a symlink out of its root (see sysroot.ts / context.ts).
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as tar from 'tar'
import type { ProbeContext } from './context'
import { DirectoryFs, DMESG_PATH, MANIFEST_PATH, type CaptureManifest } from './sysroot'

/** Prefixes the probe reads; nothing else is ever put into a capture. */
const ALLOWED = [
  /^\/sys\//,
  /^\/dev\//,
  /^\/proc\/(cmdline|cpuinfo|config\.gz|sys\/kernel\/osrelease)$/,
  /^\/proc\/driver\/nvidia(\/|$)/,
  /^\/boot\/config-[^/]+$/,
  /^\/(usr\/)?lib\/modules\/[^/]+\/(build\/\.config|config)$/,
]
/** Whether `p` may go into a capture. */
export const isCapturable = (p: string): boolean => ALLOWED.some((r) => r.test(p)) || isAncestorOfAllowed(p)

function isAncestorOfAllowed(p: string): boolean {
  // Directories leading to allowed files (`/proc`, `/proc/sys/kernel`, `/lib/modules/x/build`).
  return (
    [
      '/sys',
      '/dev',
      '/proc',
      '/proc/sys',
      '/proc/sys/kernel',
      '/proc/driver',
      '/boot',
      '/lib',
      '/lib/modules',
      '/usr',
      '/usr/lib',
      '/usr/lib/modules',
    ].includes(p) || /^\/(usr\/)?lib\/modules\/[^/]+(\/build)?$/.test(p)
  )
}

const SECRETISH = /(pass(word|wd)?|secret|token|key|auth|cred|cookie)/i

/** Replaces values of secret-looking `name=value` tokens of a command line. */
export function redactCmdline(text: string): { text: string; changed: boolean } {
  let changed = false
  const out = text.replace(/(^|\s)([^\s=]+)=("[^"]*"|\S+)/g, (all, pre: string, key: string) => {
    if (!SECRETISH.test(key)) return all
    changed = true
    return `${pre}${key}=<redacted>`
  })
  return { text: out, changed }
}

export interface CaptureSummary {
  file: string
  files: number
  symlinks: number
  directories: number
  devices: number
  errors: number
  redacted: string[]
  skipped: string[]
}

/** Writes what `ctx` recorded into a `.tar.gz`. */
export async function writeCapture(ctx: ProbeContext, file: string, meta: { release: string | null; now?: Date }): Promise<CaptureSummary> {
  sweepStaleTempDirs()
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `hmmlab-capture-${process.pid}-`))
  const manifest: CaptureManifest = {
    format: 'hmmlab.capture',
    version: 1,
    capturedAt: (meta.now ?? new Date()).toISOString(),
    release: meta.release,
    devices: {},
    errors: {},
    redacted: [],
  }
  const summary: CaptureSummary = { file, files: 0, symlinks: 0, directories: 0, devices: 0, errors: 0, redacted: [], skipped: [] }
  try {
    const host = (p: string) => path.join(stage, p)
    const entries = [...ctx.recorded.entries()].sort(([a], [b]) => a.localeCompare(b))
    for (const [p, r] of entries) {
      if (!isCapturable(p)) {
        summary.skipped.push(p)
        continue
      }
      if (r.kind === 'dir') {
        fs.mkdirSync(host(p), { recursive: true })
        summary.directories++
      }
    }
    for (const [p, r] of entries) {
      if (!isCapturable(p)) continue
      if (r.kind === 'file') {
        let data = r.data
        if (p === '/proc/cmdline') {
          const red = redactCmdline(data.toString('utf8'))
          if (red.changed) {
            data = Buffer.from(red.text)
            manifest.redacted?.push(p)
            summary.redacted.push(p)
          }
        }
        fs.mkdirSync(path.dirname(host(p)), { recursive: true })
        fs.writeFileSync(host(p), data)
        summary.files++
      } else if (r.kind === 'link') {
        fs.mkdirSync(path.dirname(host(p)), { recursive: true })
        fs.symlinkSync(r.target, host(p))
        summary.symlinks++
      } else if (r.kind === 'device') {
        manifest.devices[p] = {
          type: r.stat.type === 'block' ? 'b' : 'c',
          mode: '0' + r.stat.mode.toString(8),
          rdev: r.stat.rdev ?? '0:0',
          accessible: r.accessible,
        }
        summary.devices++
      } else if (r.kind === 'error') {
        manifest.errors[p] = r.code
        summary.errors++
      }
    }
    fs.writeFileSync(host(MANIFEST_PATH), JSON.stringify(manifest, null, 2) + '\n')
    if (ctx.bootLogLines !== null) fs.writeFileSync(host(DMESG_PATH), ctx.bootLogLines.map((l) => l + '\n').join(''))
    const top = fs.readdirSync(stage)
    await tar.c({ gzip: true, file, cwd: stage, portable: true, follow: false }, top)
    return summary
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
}

export interface ArchiveSysroot {
  fs: DirectoryFs
  dir: string
  dispose(): void
}

const MAX_ENTRIES = 200_000
const MAX_BYTES = 512 << 20

/** Temporary folders of this module: `hmmlab-sysroot-<pid>-…` (extractions), `hmmlab-capture-<pid>-…` (captures). */
const TEMP_DIR = /^hmmlab-(sysroot|capture)-(?:(\d+)-)?[A-Za-z0-9]+$/
/** A folder without a process id (older versions) is stale after this long, ms. */
const STALE_WITHOUT_PID_MS = 24 * 3600_000
let swept = false

/** True while a process with this id exists (EPERM: it exists but belongs to another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes extraction and capture folders left in the temporary folder by a process that died
 * (a crash, `kill -9`): their process id no longer runs. Once per process unless `force`.
 * Answers the folders removed.
 */
export function sweepStaleTempDirs(opts: { dir?: string; force?: boolean; now?: number } = {}): string[] {
  if (swept && !opts.force) return []
  swept = true
  const dir = opts.dir ?? os.tmpdir()
  const removed: string[] = []
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const m = TEMP_DIR.exec(name)
    if (!m) continue
    const full = path.join(dir, name)
    try {
      const st = fs.lstatSync(full)
      if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) continue
      const pid = m[2] ? Number(m[2]) : undefined
      const stale = pid !== undefined ? pid !== process.pid && !processAlive(pid) : (opts.now ?? Date.now()) - st.mtimeMs > STALE_WITHOUT_PID_MS
      if (!stale) continue
      fs.rmSync(full, { recursive: true, force: true })
      removed.push(full)
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed
}

/** Thrown when a capture cannot be read; the message names the file and why. */
export class CaptureError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CaptureError'
  }
}

/**
 * Extracts a capture safely into a temporary directory and opens it as a sysroot. Any failure
 * (a damaged archive, a limit passed, a full disk) rejects with a CaptureError and removes the
 * directory; nothing is thrown from inside the extraction's callbacks.
 */
export async function openArchiveSysroot(file: string, limits: { maxEntries?: number; maxBytes?: number } = {}): Promise<ArchiveSysroot> {
  sweepStaleTempDirs()
  const maxEntries = limits.maxEntries ?? MAX_ENTRIES
  const maxBytes = limits.maxBytes ?? MAX_BYTES
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hmmlab-sysroot-${process.pid}-`))
  let entries = 0
  let bytes = 0
  const refused: string[] = []
  let stream: fs.ReadStream | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false
      const fail = (err: unknown): void => {
        if (failed) return
        failed = true
        reject(err instanceof Error ? err : new Error(String(err)))
      }
      const unpack = new tar.Unpack({
        cwd: dir,
        strict: false,
        preservePaths: false,
        preserveOwner: false,
        chmod: false,
        filter: (p, entry) => {
          if (failed) return false
          const e = entry as { type?: string; size?: number }
          const type = e.type ?? ''
          const norm = path.posix.normalize(p)
          if (norm.startsWith('/') || norm === '..' || norm.startsWith('../') || norm.split('/').includes('..')) {
            refused.push(p)
            return false
          }
          if (!['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink'].includes(type)) {
            refused.push(p)
            return false
          }
          entries++
          bytes += e.size ?? 0
          if (entries > maxEntries || bytes > maxBytes) {
            // Stop reading at once; the rejection is handled below, never thrown into tar.
            fail(new Error(`capture too large (over ${maxEntries} entries or ${Math.floor(maxBytes / 2 ** 20)} MiB unpacked)`))
            unpack.abort(new Error('capture too large'))
            return false
          }
          return true
        },
      })
      unpack.on('error', fail)
      unpack.on('close', () => (failed ? undefined : resolve()))
      stream = fs.createReadStream(file)
      stream.on('error', fail)
      stream.pipe(unpack)
    })
  } catch (err) {
    stream?.destroy()
    // Let writes already under way fail or finish before the folder goes.
    await new Promise((r) => setImmediate(r))
    fs.rmSync(dir, { recursive: true, force: true })
    const e = err as NodeJS.ErrnoException
    throw new CaptureError(`cannot read capture ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err })
  }
  try {
    return {
      fs: new DirectoryFs(dir),
      dir,
      dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
