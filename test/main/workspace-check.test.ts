/**
 * A workspace runs cannot be saved in is refused when a host starts (`hmmlab serve`,
 * `hmmlab run --workspace`, the desktop app through `checkWorkspace`), with the path and why,
 * never advertised and then failed on every request.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/main/cli/index'
import { checkWorkspace, WorkspaceError } from '../../src/main/services/store/workspace'

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-wscheck-'))
const file = join(dir, 'afile')
writeFileSync(file, 'not a folder\n')
const fifo = join(dir, 'pipe')
execFileSync('mkfifo', [fifo])
const dangling = join(dir, 'dangling')
symlinkSync(join(dir, 'nowhere'), dangling)
const folder = join(dir, 'ws')
mkdirSync(folder)
const linked = join(dir, 'linked')
symlinkSync(folder, linked)

afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

async function cli(...args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = ''
  let out = ''
  process.exitCode = undefined
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
  const code = await main(['node', 'hmmlab', ...args])
  vi.restoreAllMocks()
  return { code, err, out }
}

describe('checkWorkspace', () => {
  it('takes a folder, a link to one, and a missing folder under a writable one (made on the first save)', () => {
    expect(checkWorkspace(folder)).toBe(folder)
    expect(checkWorkspace(linked)).toBe(linked)
    expect(checkWorkspace(join(folder, 'new', 'deeper'))).toBe(join(folder, 'new', 'deeper'))
    // nothing is made by the check
    expect(readdirSync(folder)).toEqual([])
  })

  it('refuses a regular file, a FIFO, a link to nothing and a path through a file, naming the path and why', () => {
    const cases: [string, RegExp][] = [
      [file, /^workspace .*\/afile is a regular file, not a folder/],
      [fifo, /^workspace .*\/pipe is a FIFO, not a folder/],
      [dangling, /^workspace .*\/dangling is a symbolic link to nothing/],
      [join(file, 'runs'), /^workspace .*\/afile\/runs cannot be made: .*\/afile is a regular file, not a folder/],
      [join(dangling, 'runs'), /cannot be made: .*\/dangling is a symbolic link to nothing/],
    ]
    for (const [path, why] of cases) {
      expect(() => checkWorkspace(path), path).toThrow(WorkspaceError)
      expect(() => checkWorkspace(path), path).toThrow(why)
    }
  })
})

describe('a host refuses a bad workspace at start (exit 2)', () => {
  it('hmmlab serve --workspace FILE says why and never listens', async () => {
    const r = await cli('serve', '--port', '0', '--workspace', file)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^hmmlab serve: workspace .*\/afile is a regular file, not a folder/)
    expect(r.out).not.toContain('listening')
  })

  it('hmmlab serve with $HMMLAB_WORKSPACE a FIFO says the same', async () => {
    vi.stubEnv('HMMLAB_WORKSPACE', fifo)
    try {
      const r = await cli('serve', '--port', '0')
      expect(r.code).toBe(2)
      expect(r.err).toMatch(/^hmmlab serve: workspace .*\/pipe is a FIFO, not a folder/)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('hmmlab run --workspace FILE is refused before any run', async () => {
    const r = await cli('run', join(__dirname, '..', '..', 'scenarios', 'thread-2014', 'a-fork-after-mirror.yaml'), '--workspace', file)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/hmmlab run: workspace .*\/afile is a regular file, not a folder/)
    expect(r.out + r.err).not.toMatch(/experiment \S+ not saved|runs \d/)
  })
})
