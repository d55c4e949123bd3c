/**
 * The scenario library: the built-in `scenarios/` folder and the workspace's own `scenarios/`,
 * grouped by folder. Ids name the source and the relative path; resolving an id never leaves its
 * folder. Files that do not parse are listed with their error instead of being hidden.
 */
import { mkdir, readdir, realpath, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { ScenarioEntry } from '../../shared/contracts'
import { writeFileAtomic } from './store/atomic'
import type { PlanScenario } from './experiments/service'
import { resolveMachineRef } from './machine-ref'
import { checkOutputPath, isInside, readRegularFile, SafeReadError } from './safe-read'
import { SCENARIO_FILE_MAX_BYTES } from '../../shared/text-limits'

const SCENARIO_FILE = /\.(ya?ml|json)$/

export class ScenarioLibrary {
  /** Entries of files already parsed, by path, valid while the file's mtime and size are unchanged. */
  private readonly cache = new Map<string, { key: string; entry: ScenarioEntry }>()

  constructor(
    private readonly dirs: { builtin: string; workspace: string },
    private readonly plan: PlanScenario,
    /** Folders a scenario's `machine: <file>` may name. */
    private readonly machineRoots: readonly string[] = [dirs.workspace, dirs.builtin],
  ) {}

  /** Every scenario file of both sources, grouped by folder, sorted. */
  async list(): Promise<ScenarioEntry[]> {
    const out: ScenarioEntry[] = []
    for (const source of ['builtin', 'workspace'] as const) {
      const root = this.dirs[source]
      for (const path of await walk(root)) {
        const rel = relative(root, path).split(sep).join('/')
        const id = `${source}:${rel}`
        if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*\.(ya?ml|json)$/.test(rel)) continue
        const group = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : ''
        const fileName = rel.slice(rel.lastIndexOf('/') + 1)
        const info = await stat(path).catch(() => undefined)
        const key = info ? `${info.mtimeMs}:${info.size}` : ''
        const cached = this.cache.get(path)
        if (cached && key && cached.key === key) {
          out.push(cached.entry)
          continue
        }
        let text: string
        try {
          text = await readScenarioFile(path, root)
        } catch (err) {
          out.push({ id, source, group, fileName, name: fileName, description: '', error: `cannot read: ${(err as Error).message}` })
          continue
        }
        let entry: ScenarioEntry
        // A scenario that names its machine (`machine: probed` or a file) depends on more than its text: not cached.
        let cacheable = true
        try {
          const machine = await resolveMachineRef(text, rel, path, this.machineRoots)
          cacheable = machine === undefined
          const p = await this.plan(text, rel, machine?.spec)
          entry = { id, source, group, fileName, name: p.name, description: p.description ?? '' }
        } catch (err) {
          entry = { id, source, group, fileName, name: fileName, description: '', error: (err as Error).message }
        }
        if (cacheable && key) this.cache.set(path, { key, entry })
        out.push(entry)
      }
    }
    return out
  }

  /** Reads one scenario by id. */
  async get(id: string): Promise<{ id: string; fileName: string; text: string }> {
    const path = this.resolveId(id)
    let text: string
    try {
      text = await readScenarioFile(path, this.dirs[id.startsWith('builtin:') ? 'builtin' : 'workspace'])
    } catch (err) {
      // outside its folder through a link, not a regular file, too large: say so (the message names the path)
      if (err instanceof SafeReadError && err.code !== 'ENOENT') throw new Error(err.message, { cause: err })
      throw new Error(`no scenario ${id}`, { cause: err })
    }
    return { id, fileName: id.slice(id.indexOf(':') + 1), text }
  }

  /** Saves text as a workspace scenario (atomic); drafts that do not validate are kept too. */
  async save(fileName: string, text: string): Promise<string> {
    const rel = fileName.replace(/\\/g, '/').replace(/^\/+/, '')
    const id = `workspace:${rel}`
    const path = this.resolveId(id)
    const root = resolve(this.dirs.workspace)
    await mkdir(root, { recursive: true })
    const realRoot = await realpath(root)
    // A folder on the way that is a link out of the scenarios folder is refused before anything
    // is created through it; checked again once the folders exist (one may have been swapped).
    const confine = async (): Promise<void> => {
      let dir = dirname(path)
      for (;;) {
        const real = await realpath(dir).catch(() => undefined)
        if (real !== undefined) {
          if (!isInside(real, realRoot)) throw new Error(`scenario ${path}: ${dir} leads to ${real}, outside the workspace scenarios folder; not saved`)
          return
        }
        dir = dirname(dir)
      }
    }
    await confine()
    await mkdir(dirname(path), { recursive: true })
    await confine()
    // a folder, a FIFO, a device or a link at the name is refused, never replaced
    checkOutputPath(path, 'scenario')
    await writeFileAtomic(path, text)
    return id
  }

  /** Resolves an id to a path inside its source folder, or throws. */
  resolveId(id: string): string {
    const m = /^(builtin|workspace):([A-Za-z0-9][A-Za-z0-9._/-]*)$/.exec(id)
    if (!m || !SCENARIO_FILE.test(m[2]!) || m[2]!.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new Error(`not a scenario id: ${JSON.stringify(id).slice(0, 120)} (expected builtin:<path>.yaml or workspace:<path>.yaml)`)
    }
    const root = resolve(this.dirs[m[1] as 'builtin' | 'workspace'])
    const path = resolve(root, m[2]!)
    if (!path.startsWith(root + sep)) throw new Error(`scenario id leaves its folder: ${id}`)
    return path
  }
}

/**
 * A scenario file of the library: inside its folder once symlinks are resolved, a regular file
 * (a FIFO or a device is refused, never waited on), at most SCENARIO_FILE_MAX_BYTES.
 */
async function readScenarioFile(path: string, root: string): Promise<string> {
  return (await readRegularFile(path, { maxBytes: SCENARIO_FILE_MAX_BYTES, roots: [root], what: 'scenario' })).toString('utf8')
}

async function walk(dir: string, depth = 0): Promise<string[]> {
  if (depth > 8) return []
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return []
  }
  const out: string[] = []
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(path, depth + 1)))
    else if (e.isFile() && SCENARIO_FILE.test(e.name)) out.push(path)
  }
  return out
}
