import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { runCommand } from '../../src/main/cli/commands/run'
import { RunRecord } from '../../src/shared/record'
import { parseScenario, runScenario, ScenarioError } from '../../src/sim/index'

let out = ''
let err = ''
beforeEach(() => {
  out = ''
  err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation(((s: string | Uint8Array, cb?: unknown) => {
    out += String(s)
    if (typeof cb === 'function') cb()
    return true
  }) as typeof process.stdout.write)
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
})
afterEach(() => vi.restoreAllMocks())

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cli-'))
function file(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const ok = file('ok.yaml', 'name: ok\nsteps:\n  - spawn: { task: A }\n  - exit: { task: A }\n  - expect: { leaked_bytes: 0 }\n')
const failing = file('fail.yaml', 'name: fail\nsteps:\n  - spawn: { task: A }\n  - expect: { leaked_bytes: 1 }\n')
const bad = file('bad.yaml', 'name: bad\nsteps:\n  - spawn: { task: A }\n  - exit: { tsk: A }\n')

describe('hmmlab run', () => {
  it('exits 0 when every expect passes and prints a summary per design', () => {
    expect(runCommand([ok], { design: 'D1,D4' })).toBe(0)
    expect(out).toMatch(/✓ D1 ok/)
    expect(out).toMatch(/✓ D4 ok/)
  })

  it('exits 1 when an expect fails and shows which', () => {
    expect(runCommand([failing], { design: 'D4' })).toBe(1)
    expect(out).toContain('✗ line 4')
  })

  it('exits 2 on invalid input, naming file, line and field', () => {
    expect(runCommand([bad], {})).toBe(2)
    expect(err).toContain(`${bad}:4: steps[1].exit`)
  })

  it('exits 2 on an unknown design or a bad seed', () => {
    expect(runCommand([ok], { design: 'D9' })).toBe(2)
    expect(runCommand([ok], { seed: 'x' })).toBe(2)
  })

  it('--json prints result documents that match the schema; --out writes them', () => {
    const outDir = join(dir, 'out')
    expect(runCommand([ok], { design: 'D2,D5', json: true, out: outDir })).toBe(0)
    const docs = JSON.parse(out) as unknown[]
    expect(docs.length).toBe(2)
    for (const d of docs) expect(RunRecord.safeParse(d).success).toBe(true)
    expect(readdirSync(outDir).sort()).toEqual(['ok.D2.seed1.json', 'ok.D5.seed1.json'])
    expect(JSON.parse(readFileSync(join(outDir, 'ok.D2.seed1.json'), 'utf8')).meta.design.id).toBe('D2')
  })
})

describe('runScenario on objects that did not come through the parser', () => {
  it('rejects an invalid scenario object with a ScenarioError naming the field', () => {
    expect(() => runScenario({ name: 'x', steps: [{ spawn: { task: 3 } }] } as never, { design: 'D1' })).toThrow(ScenarioError)
    expect(() => runScenario({ name: 'x', steps: [] }, { design: 'Z' as never })).toThrow(/design/)
  })

  it('accepts a parsed scenario', () => {
    const sc = parseScenario('name: x\nsteps: []\n', 'x.yaml')
    expect(runScenario(sc, { design: 'D3' }).outcome.status).toBe('passed')
  })
})

describe('the hmmlab process', () => {
  it('prints a complete --json document and schema through a pipe (no truncation at exit)', () => {
    const tsx = join('node_modules', '.bin', 'tsx')
    const r = spawnSync(tsx, ['src/main/cli/index.ts', 'run', 'scenarios/thread-2014/a-fork-after-mirror.yaml', '--json'], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    })
    expect(r.status).toBe(0)
    expect(r.stdout.length).toBeGreaterThan(65536)
    const docs = JSON.parse(r.stdout) as Array<{ meta: { design: { id: string } } }>
    expect(docs.map((d) => d.meta.design.id)).toEqual(['D1', 'D2', 'D3', 'D4', 'D5', 'D6'])
    const s = spawnSync(tsx, ['src/main/cli/index.ts', 'schema'], { encoding: 'utf8', maxBuffer: 1 << 26 })
    expect(s.status).toBe(0)
    expect(s.stdout.length).toBeGreaterThan(65536)
    expect(JSON.parse(s.stdout).type).toBe('object')
  })
})
