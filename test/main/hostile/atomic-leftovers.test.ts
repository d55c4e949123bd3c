/**
 * A process killed in the middle of an atomic write (SIGKILL between writing the temporary file
 * and renaming it over the target) leaves `.NAME.tmp-PID-HEX` next to the target. The next write
 * of the same target removes such files of dead processes, and only those: the exact name of that
 * target, a regular file (never a link, which is not followed), owned by this user, whose process
 * no longer runs. The run store sweeps its own folders at start (run folders included).
 * The kill happens at a point a preload holds deterministically (hold-rename.mjs), not after a delay.
 */
import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeDeadTempFiles, removeStaleTemps, removeStaleTempsSync, writeFileAtomic } from '../../../src/main/services/store/atomic'
import { writeRegularFileSync } from '../../../src/main/services/safe-read'
import { RunStore } from '../../../src/main/services/store/run-store'

const CLI = join(__dirname, '../../../src/main/cli/index.ts')
const HOLD = join(__dirname, 'hold-rename.mjs')
const root = mkdtempSync(join(tmpdir(), 'hmmlab-atomic-leftovers-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Above Linux's PID_MAX_LIMIT (2^22): kill(pid, 0) always fails with ESRCH, so never alive. */
const DEAD = 2 ** 22 + 1
const SMAPS = '7f0000000000-7f0000002000 rw-p 00000000 00:00 0 \nRss: 8 kB\n'
/** The temporary files of an atomic write of `target` in `dir` (`.NAME.tmp-PID-HEX`). */
const temps = (dir: string, target: string): string[] => readdirSync(dir).filter((n) => n.startsWith(`.${target}.tmp-`) && /\.tmp-\d+-[0-9a-f]{8}$/.test(n))

/**
 * Runs the CLI with the preload; resolves once it holds at the rename, with the temporary file's
 * path, after killing it with SIGKILL there.
 */
function killMidWrite(args: string[]): Promise<{ temp: string; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', HOLD, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  return new Promise((resolve, reject) => {
    let temp: string | undefined
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s
      const m = /^HOLD (.+)$/m.exec(err)
      if (m && temp === undefined) {
        temp = m[1]!
        child.kill('SIGKILL')
      }
    })
    child.once('exit', (code, signal) => {
      if (temp === undefined) reject(new Error(`the CLI ended (${code ?? signal}) without reaching the rename: ${err.slice(-2000)}`))
      else resolve({ temp, signal })
    })
  })
}

function hmmlab(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 300_000 })
}

describe('an atomic output write killed with SIGKILL (issue 18, leftovers)', () => {
  it('hmmlab import -o: the old file stays whole, the temporary file stays until the next write of it removes it', async () => {
    const dir = join(root, 'import')
    mkdirSync(dir)
    const smaps = join(dir, 'smaps')
    writeFileSync(smaps, SMAPS)
    const out = join(dir, 'out.yaml')
    writeFileSync(out, 'OLD CONTENTS\n')
    const killed = await killMidWrite(['import', 'proc', '--smaps', smaps, '-o', out])
    expect(killed.signal).toBe('SIGKILL')
    // killed after the data was written to the temporary file and before the rename
    expect(temps(dir, 'out.yaml')).toEqual([killed.temp.slice(dir.length + 1)])
    expect(readFileSync(killed.temp, 'utf8')).toMatch(/^name: /m)
    expect(readFileSync(out, 'utf8')).toBe('OLD CONTENTS\n')

    // others' files in the same folder, which the next write must leave alone
    writeFileSync(join(dir, `.other.yaml.tmp-${DEAD}-0123abcd`), 'x')
    writeFileSync(join(dir, `.out.yaml.tmp-${process.pid}-0123abcd`), 'a live writer')
    const r = hmmlab('import', 'proc', '--smaps', smaps, '-o', out)
    expect(r.status, r.stderr).toBe(0)
    expect(readFileSync(out, 'utf8')).toMatch(/^name: /m)
    expect(existsSync(killed.temp)).toBe(false)
    expect(temps(dir, 'out.yaml')).toEqual([`.out.yaml.tmp-${process.pid}-0123abcd`])
    expect(existsSync(join(dir, `.other.yaml.tmp-${DEAD}-0123abcd`))).toBe(true)
  })

  it('hmmlab run --out DIR: a result file killed mid-write is cleaned by the next run writing it', async () => {
    const dir = join(root, 'run')
    mkdirSync(dir)
    const scenario = join(dir, 'tiny.yaml')
    writeFileSync(scenario, 'name: tiny\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n')
    const outDir = join(dir, 'results')
    const killed = await killMidWrite(['run', scenario, '--out', outDir])
    expect(killed.signal).toBe('SIGKILL')
    expect(temps(outDir, 'tiny.D1.seed1.json')).toHaveLength(1)
    expect(existsSync(join(outDir, 'tiny.D1.seed1.json'))).toBe(false)
    const r = hmmlab('run', scenario, '--out', outDir)
    expect(r.status, r.stderr).toBe(0)
    expect(readdirSync(outDir)).toEqual(['tiny.D1.seed1.json'])
  })
})

describe('what a write removes before it writes', () => {
  function folder(name: string): string {
    const dir = join(root, name)
    mkdirSync(dir)
    const outside = join(root, `${name}-outside`)
    writeFileSync(outside, 'OUTSIDE')
    const entries: Record<string, () => void> = {
      // removed: exactly the target's name, a dead process, a regular file
      [`.t.json.tmp-${DEAD}-0123abcd`]: () => writeFileSync(join(dir, `.t.json.tmp-${DEAD}-0123abcd`), 'stale'),
      // kept: this process, a live process (pid 1), a link, a folder, other names
      [`.t.json.tmp-${process.pid}-0123abcd`]: () => writeFileSync(join(dir, `.t.json.tmp-${process.pid}-0123abcd`), 'mine'),
      '.t.json.tmp-1-0123abcd': () => writeFileSync(join(dir, '.t.json.tmp-1-0123abcd'), 'live'),
      [`.t.json.tmp-${DEAD}-00000001`]: () => symlinkSync(outside, join(dir, `.t.json.tmp-${DEAD}-00000001`)),
      [`.t.json.tmp-${DEAD}-00000002`]: () => mkdirSync(join(dir, `.t.json.tmp-${DEAD}-00000002`)),
      [`.t.json.tmp-${DEAD}-0123abcd.bak`]: () => writeFileSync(join(dir, `.t.json.tmp-${DEAD}-0123abcd.bak`), 'x'),
      [`.t.json.tmp-${DEAD}-0123ABCD`]: () => writeFileSync(join(dir, `.t.json.tmp-${DEAD}-0123ABCD`), 'x'),
      [`t.json.tmp-${DEAD}-0123abcd`]: () => writeFileSync(join(dir, `t.json.tmp-${DEAD}-0123abcd`), 'x'),
      [`.xt.json.tmp-${DEAD}-0123abcd`]: () => writeFileSync(join(dir, `.xt.json.tmp-${DEAD}-0123abcd`), 'x'),
      [`.t.json.tmp-0-0123abcd`]: () => writeFileSync(join(dir, `.t.json.tmp-0-0123abcd`), 'x'),
    }
    for (const make of Object.values(entries)) make()
    if (process.getuid?.() === 0) {
      // another user's file (only root can make one): kept
      writeFileSync(join(dir, `.t.json.tmp-${DEAD}-0000000f`), 'theirs')
      chownSync(join(dir, `.t.json.tmp-${DEAD}-0000000f`), 65534, 65534)
    }
    return dir
  }
  const removedOnly = (dir: string, removed: string[]): void => {
    expect(removed).toEqual([join(dir, `.t.json.tmp-${DEAD}-0123abcd`)])
    expect(existsSync(removed[0]!)).toBe(false)
    expect(lstatSync(join(dir, `.t.json.tmp-${DEAD}-00000001`)).isSymbolicLink()).toBe(true)
    expect(readFileSync(join(root, `${dir.slice(root.length + 1)}-outside`), 'utf8')).toBe('OUTSIDE')
    expect(readdirSync(dir)).toHaveLength(process.getuid?.() === 0 ? 10 : 9)
  }

  it('removeStaleTempsSync and removeStaleTemps remove only dead temporary files of that target', async () => {
    const a = folder('sync')
    removedOnly(a, removeStaleTempsSync(join(a, 't.json')))
    const b = folder('async')
    removedOnly(b, await removeStaleTemps(join(b, 't.json')))
  })

  it('writeRegularFileSync (CLI outputs) and writeFileAtomic (store, scenarios, calibration) clean before writing', async () => {
    const a = folder('write-sync')
    writeRegularFileSync(join(a, 't.json'), '{}')
    expect(existsSync(join(a, `.t.json.tmp-${DEAD}-0123abcd`))).toBe(false)
    // the others and the new target
    expect(readdirSync(a)).toHaveLength(process.getuid?.() === 0 ? 11 : 10)
    const b = folder('write-async')
    await writeFileAtomic(join(b, 't.json'), '{}')
    expect(existsSync(join(b, `.t.json.tmp-${DEAD}-0123abcd`))).toBe(false)
    expect(readdirSync(b)).toHaveLength(process.getuid?.() === 0 ? 11 : 10)
  })

  it('removeDeadTempFiles takes dead temporary files of any target in a folder, nothing else', async () => {
    const dir = folder('any')
    const removed = await removeDeadTempFiles(dir)
    expect(removed.sort()).toEqual([join(dir, `.t.json.tmp-${DEAD}-0123abcd`), join(dir, `.xt.json.tmp-${DEAD}-0123abcd`)])
  })

  it('the run store sweeps temporary files inside run folders at start (a killed tag rewrite)', async () => {
    const ws = join(root, 'ws')
    mkdirSync(join(ws, 'runs', 'r1'), { recursive: true })
    writeFileSync(join(ws, 'runs', 'r1', 'manifest.json'), '{}')
    writeFileSync(join(ws, 'runs', 'r1', `.manifest.json.tmp-${DEAD}-0123abcd`), 'half')
    writeFileSync(join(ws, 'runs', 'r1', `.manifest.json.tmp-1-0123abcd`), 'live')
    symlinkSync(join(ws, 'runs', 'r1'), join(ws, 'runs', 'linked'))
    const removed = await new RunStore(ws).sweepLeftovers()
    expect(removed).toEqual([join(ws, 'runs', 'r1', `.manifest.json.tmp-${DEAD}-0123abcd`)])
    expect(readdirSync(join(ws, 'runs', 'r1')).sort()).toEqual(['.manifest.json.tmp-1-0123abcd', 'manifest.json'])
  })
})
