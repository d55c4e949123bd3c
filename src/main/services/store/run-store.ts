/**
 * The run store: every finished run as files a person can read, diff and keep in git.
 *
 *   <workspace>/runs/<run-id>/manifest.json   scenario (text + hash), design, seed, parameters,
 *                                             versions, timings, status, tags, headline metrics
 *   <workspace>/runs/<run-id>/result.json     the full result document, time series excluded
 *   <workspace>/runs/<run-id>/series.json     the time series, one compact line per series
 *   <workspace>/experiments/<id>.json         a sweep: its parameters and the ids of its runs
 *
 * A run is written into a hidden staging folder and renamed into place only when complete, so a
 * crash never leaves a half-written run that lists. Files are validated when read; a damaged or
 * foreign entry is skipped and reported as a problem, never thrown at the caller of a listing.
 */
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { ExperimentManifest, RunId, RunManifest, type StoreProblem } from '../../../shared/runs'
import { isTemporaryName, processAlive, removeDeadTempFiles, syncDir, writeFileAtomic } from './atomic'
import { isInside, readRegularFile, SafeReadError } from '../safe-read'

/** The largest manifest read (it holds the scenario text, itself at most 1 MiB). */
const MAX_MANIFEST_BYTES = 8 << 20
/** The largest result or series file read. */
const MAX_DATA_BYTES = 256 << 20
/** Leftovers of a write (`.staging-p<pid>-…`, `.trash-p<pid>-…`, `.<file>.tmp-<pid>-…`). */
const LEFTOVER = /^\.(?:(?:staging|trash)-p(\d+)-|.*\.tmp-(\d+)-)/
/** A leftover without a process id (older versions) is removed after this long, ms. */
const LEFTOVER_WITHOUT_PID_MS = 3600_000

export interface StoredRun {
  manifest: RunManifest
  result: unknown
  series: Record<string, unknown>
}

export interface Listing<T> {
  items: T[]
  problems: StoreProblem[]
}

/** Thrown for a request the store cannot honour (unknown id, id already taken, disk error). */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'exists' | 'invalid' | 'io',
  ) {
    super(message)
    this.name = 'StoreError'
  }
}

export class RunStore {
  readonly runsDir: string
  readonly experimentsDir: string

  constructor(readonly root: string) {
    this.runsDir = join(root, 'runs')
    this.experimentsDir = join(root, 'experiments')
  }

  /** Saves a complete run; it becomes visible to listings only once every file is on disk. */
  async saveRun(run: StoredRun): Promise<void> {
    const manifest = RunManifest.parse(run.manifest)
    const target = this.runDir(manifest.id)
    const staging = join(this.runsDir, `.staging-p${process.pid}-${manifest.id}-${randomBytes(4).toString('hex')}`)
    try {
      await mkdir(staging, { recursive: true })
      await writeSynced(join(staging, 'result.json'), `${JSON.stringify(run.result, null, 1)}\n`)
      await writeSynced(join(staging, 'series.json'), seriesText(run.series))
      await writeSynced(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
      await syncDir(staging)
      if (await exists(target)) throw new StoreError(`run ${manifest.id} already exists`, 'exists')
      await rename(staging, target)
      await syncDir(this.runsDir)
    } catch (err) {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined)
      if (err instanceof StoreError) throw err
      throw new StoreError(`run ${manifest.id} not saved: cannot write in ${this.runsDir}: ${describeIoError(err)}`, 'io')
    }
  }

  /** Lists the manifests of all runs, newest first; damaged entries become problems. */
  async listRuns(): Promise<Listing<RunManifest>> {
    const items: RunManifest[] = []
    const problems: StoreProblem[] = []
    for (const name of await listNames(this.runsDir)) {
      if (isTemporaryName(name)) continue
      const path = join(this.runsDir, name, 'manifest.json')
      const read = await readJson(path, RunManifest, MAX_MANIFEST_BYTES, this.root)
      if (!read.ok) problems.push({ path, message: read.message })
      else if (read.value.id !== name) problems.push({ path, message: `manifest names run ${read.value.id} but sits in folder ${name}` })
      else items.push(read.value)
    }
    items.sort((a, b) => (a.timings.finishedAt < b.timings.finishedAt ? 1 : a.timings.finishedAt > b.timings.finishedAt ? -1 : a.id.localeCompare(b.id)))
    return { items, problems }
  }

  /** Reads one run whole (`series: false`: without its series, which are then `{}`). */
  async getRun(id: string, opts: { series?: boolean } = {}): Promise<StoredRun> {
    const dir = this.runDir(id)
    const manifest = await readJson(join(dir, 'manifest.json'), RunManifest, MAX_MANIFEST_BYTES, this.root)
    if (!manifest.ok) throw new StoreError(manifest.missing ? `no run ${id}` : manifest.message, manifest.missing ? 'not_found' : 'invalid')
    const result = await readJson(join(dir, 'result.json'), z.unknown(), MAX_DATA_BYTES, this.root)
    if (!result.ok) throw new StoreError(result.message, 'invalid')
    const series =
      opts.series === false
        ? ({ ok: true, value: {} } as const)
        : await readJson(join(dir, 'series.json'), z.record(z.string(), z.unknown()), MAX_DATA_BYTES, this.root)
    if (!series.ok) throw new StoreError(series.message, 'invalid')
    return { manifest: manifest.value, result: result.value, series: series.value }
  }

  /** Reads the series of one run (`series.json`), unchecked per series (see packSeries). */
  async getRunSeries(id: string): Promise<Record<string, unknown>> {
    const dir = this.runDir(id)
    const series = await readJson(join(dir, 'series.json'), z.record(z.string(), z.unknown()), MAX_DATA_BYTES, this.root)
    if (!series.ok) throw new StoreError(series.missing ? `no run ${id}` : series.message, series.missing ? 'not_found' : 'invalid')
    return series.value
  }

  /** Deletes a run: it disappears from listings at once (rename), then its files are removed. */
  async deleteRun(id: string): Promise<void> {
    const dir = this.runDir(id)
    let st
    try {
      st = await lstat(dir)
    } catch {
      throw new StoreError(`no run ${id}`, 'not_found')
    }
    // only a run folder of this workspace: never a link (which may lead out of it), a file, or a
    // folder reached through a runs folder that is itself a link elsewhere
    const refuse = (why: string): StoreError => new StoreError(`run ${id}: ${dir} ${why}; not deleted`, 'invalid')
    if (st.isSymbolicLink()) throw refuse('is a symbolic link, not a run folder')
    if (!st.isDirectory()) throw refuse('is not a folder, not a run folder')
    const [realDir, realRoot] = await Promise.all([realpath(dir), realpath(this.root)])
    if (!isInside(realDir, realRoot)) throw refuse(`(${realDir}) is outside the workspace ${this.root}`)
    const trash = join(this.runsDir, `.trash-p${process.pid}-${id}-${randomBytes(4).toString('hex')}`)
    await rename(dir, trash)
    await rm(trash, { recursive: true, force: true })
  }

  /** Replaces a run's tags (atomic rewrite of its manifest). */
  async tagRun(id: string, tags: string[]): Promise<RunManifest> {
    const path = join(this.runDir(id), 'manifest.json')
    const read = await readJson(path, RunManifest, MAX_MANIFEST_BYTES, this.root)
    if (!read.ok) throw new StoreError(read.missing ? `no run ${id}` : read.message, read.missing ? 'not_found' : 'invalid')
    const next = RunManifest.parse({ ...read.value, tags: [...new Set(tags.map((t) => t.trim()).filter(Boolean))] })
    try {
      await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`)
    } catch (err) {
      throw new StoreError(`tags of run ${id} not saved: cannot write in ${this.runDir(id)}: ${describeIoError(err)}`, 'io')
    }
    return next
  }

  /** Saves (or replaces) an experiment manifest. */
  async saveExperiment(experiment: ExperimentManifest): Promise<void> {
    const manifest = ExperimentManifest.parse(experiment)
    try {
      await mkdir(this.experimentsDir, { recursive: true })
      await writeFileAtomic(this.experimentPath(manifest.id), `${JSON.stringify(manifest, null, 2)}\n`)
    } catch (err) {
      throw new StoreError(`experiment ${manifest.id} not saved: cannot write in ${this.experimentsDir}: ${describeIoError(err)}`, 'io')
    }
  }

  /**
   * Removes what writes interrupted by a crash left behind: staging and trash folders of runs,
   * temporary files of atomic writes (in the runs and experiments folders and inside each run
   * folder), whose process no longer runs (or, for staging and trash folders without a process
   * id, older than an hour). Answers the paths removed; never throws.
   */
  async sweepLeftovers(now = Date.now()): Promise<string[]> {
    const removed: string[] = []
    for (const dir of [this.runsDir, this.experimentsDir]) {
      let names: string[]
      try {
        names = await readdir(dir)
      } catch {
        continue
      }
      for (const name of names) {
        if (!name.startsWith('.')) {
          // inside a run folder: a tag rewrite (`tagRun`) killed before its rename
          if (dir === this.runsDir && (await lstat(join(dir, name)).catch(() => undefined))?.isDirectory())
            removed.push(...(await removeDeadTempFiles(join(dir, name))))
          continue
        }
        const m = LEFTOVER.exec(name)
        const full = join(dir, name)
        try {
          const pidText = m?.[1] ?? m?.[2]
          let stale: boolean
          if (pidText !== undefined) stale = Number(pidText) !== process.pid && !processAlive(Number(pidText))
          else if (/^\.(staging|trash)-/.test(name)) stale = now - (await lstat(full)).mtimeMs > LEFTOVER_WITHOUT_PID_MS
          else continue
          if (!stale) continue
          await rm(full, { recursive: true, force: true })
          removed.push(full)
        } catch {
          // gone meanwhile
        }
      }
    }
    return removed
  }

  /** Lists experiments, newest first; damaged files become problems. */
  async listExperiments(): Promise<Listing<ExperimentManifest>> {
    const items: ExperimentManifest[] = []
    const problems: StoreProblem[] = []
    for (const name of await listNames(this.experimentsDir)) {
      if (isTemporaryName(name) || !name.endsWith('.json')) continue
      const path = join(this.experimentsDir, name)
      const read = await readJson(path, ExperimentManifest, MAX_MANIFEST_BYTES, this.root)
      if (read.ok) items.push(read.value)
      else problems.push({ path, message: read.message })
    }
    items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
    return { items, problems }
  }

  /** Reads one experiment manifest. */
  async getExperiment(id: string): Promise<ExperimentManifest> {
    const read = await readJson(this.experimentPath(id), ExperimentManifest, MAX_MANIFEST_BYTES, this.root)
    if (!read.ok) throw new StoreError(read.missing ? `no experiment ${id}` : read.message, read.missing ? 'not_found' : 'invalid')
    return read.value
  }

  private runDir(id: string): string {
    if (!RunId.safeParse(id).success) throw new StoreError(`not a run id: ${JSON.stringify(id).slice(0, 80)}`, 'invalid')
    return join(this.runsDir, id)
  }

  private experimentPath(id: string): string {
    if (!RunId.safeParse(id).success) throw new StoreError(`not an experiment id: ${JSON.stringify(id).slice(0, 80)}`, 'invalid')
    return join(this.experimentsDir, `${id}.json`)
  }
}

/** One series per line, so a diff of two runs shows which series changed. */
function seriesText(series: Record<string, unknown>): string {
  const keys = Object.keys(series).sort()
  if (keys.length === 0) return '{}\n'
  return `{\n${keys.map((k) => ` ${JSON.stringify(k)}: ${JSON.stringify(series[k])}`).join(',\n')}\n}\n`
}

type ReadResult<T> = { ok: true; value: T } | { ok: false; missing: boolean; message: string }

/**
 * Reads a store file: a regular file only (a FIFO or a device is refused without blocking), inside
 * the workspace once symlinks are resolved, at most `maxBytes` (see safe-read.ts), then JSON checked against `schema`.
 */
async function readJson<T>(path: string, schema: z.ZodType<T>, maxBytes: number, root: string): Promise<ReadResult<T>> {
  let text: string
  try {
    text = (await readRegularFile(path, { maxBytes, roots: [root], what: 'file' })).toString('utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = err instanceof SafeReadError ? err.message.slice(err.message.lastIndexOf(': ') + 2) : describeIoError(err)
    return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', message: `${path}: cannot read (${why})` }
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    // The parser's message quotes the text: say where instead.
    return { ok: false, missing: false, message: `${path}: not valid JSON` }
  }
  const parsed = schema.safeParse(data)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : ''
    return { ok: false, missing: false, message: `${path}: not an HMM Lab file${where}: ${issue?.message ?? 'invalid'}` }
  }
  return { ok: true, value: parsed.data }
}

async function listNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new StoreError(`cannot list ${dir}: ${describeIoError(err)}`, 'io')
  }
}

async function writeSynced(path: string, text: string): Promise<void> {
  await writeFile(path, text, { flag: 'wx' })
  const handle = await open(path, 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await readdir(path)
    return true
  } catch {
    return false
  }
}

/** Says what an I/O error means in words (disk full, read-only, permission). */
export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const meaning: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or folder',
    ENOTDIR: 'a path component is not a folder',
    EDQUOT: 'disk quota exceeded',
  }
  if (e?.code && meaning[e.code]) return `${meaning[e.code]} (${e.code})`
  // Node's message names the temporary file of the write; the code says what happened.
  return e?.code ? e.code : (e?.message ?? String(err))
}
