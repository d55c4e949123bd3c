/**
 * Issue 18 through the command line: `hmmlab run` on a deeply nested file (exit 134 before), a
 * polluting `--sweep` key, and the wall-time budget of an in-process run.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { runCommand, wallBudget } from '../../../src/main/cli/commands/run'

const CLI = join(__dirname, '../../../src/main/cli/index.ts')
const dir = mkdtempSync(join(tmpdir(), 'hmmlab-hostile-cli-'))

function hmmlab(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 120_000 })
}

describe('hmmlab run on hostile input (issue 18)', () => {
  it('1: a file of 1,000 nested [ given twice: exit 2 with the line, not an abort', () => {
    const deep = join(dir, 'deep.json')
    writeFileSync(deep, '['.repeat(1000) + ']'.repeat(1000))
    const r = hmmlab('run', deep, deep)
    expect(r.signal).toBeNull()
    expect(r.status).toBe(2)
    expect(r.stderr.match(/deep\.json:1: \(document\): nested deeper than 64 levels/g)).toHaveLength(2)
  })

  it('3: machine: /dev/zero, /etc/passwd, a link to /dev/zero and a FIFO beside the scenario: exit 2 at once, nothing quoted', () => {
    const d = join(dir, 'machine')
    mkdirSync(d)
    symlinkSync('/dev/zero', join(d, 'zero.json'))
    execFileSync('mkfifo', [join(d, 'pipe.json')])
    const files = ['/dev/zero', '/etc/passwd', './zero.json', './pipe.json'].map((ref, i) => {
      const f = join(d, `m${i}.yaml`)
      writeFileSync(f, `name: m\ndesigns: [D1]\nmachine: ${ref}\nsteps:\n  - spawn: { task: A }\n`)
      return f
    })
    // On the experiment service (--sweep), which resolves machine references; before, the CLI
    // read /dev/zero until it held 3.1 GB, and waited on the FIFO for ever.
    const r = hmmlab('run', ...files, '--sweep', 'seed=1..2', '--workspace', join(d, 'ws'))
    expect(r.signal).toBeNull()
    expect(r.status).toBe(2)
    for (const i of [0, 1, 2]) expect(r.stderr).toMatch(new RegExp(`m${i}\\.yaml: machine: cannot load "[^"]+": not inside `))
    expect(r.stderr).toMatch(/m3\.yaml: machine: cannot load "\.\/pipe\.json": machine file \S+pipe\.json: not a regular file \(a FIFO\)/)
    expect(r.stderr).not.toContain('root:')
  })

  it('2: --sweep __proto__.x=1 is refused and pollutes nothing', () => {
    const ok = join(dir, 'ok.yaml')
    writeFileSync(ok, 'name: ok\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n')
    for (const key of ['__proto__.x', 'a.constructor.prototype', 'prototype']) {
      const r = hmmlab('run', ok, '--sweep', `${key}=1`, '--workspace', join(dir, 'ws'))
      expect(r.status, key).toBe(2)
      expect(r.stderr, key).toMatch(/not a scenario field/)
    }
  })
})

describe('wall-time budget of an in-process run (issue 18 #8)', () => {
  it('the budget turns and stays exceeded after its time, on an injected clock', () => {
    let now = 1000
    const b = wallBudget(50, () => now)
    expect(b.exceeded()).toBe(false)
    now = 1050
    expect(b.exceeded()).toBe(false)
    now = 1051
    expect(b.exceeded()).toBe(true)
    now = 0
    expect(b.exceeded()).toBe(true)
    expect(b.hit).toBe(true)
  })

  it('a run far beyond its budget stops with the reason and exit 1 (one million 4096-page accesses, 1 ms budget)', () => {
    const file = join(dir, 'huge.yaml')
    writeFileSync(
      file,
      'name: huge\ndesigns: [D1]\nseeds: 10000\nsteps:\n  - spawn: { task: A }\n  - mmap: { task: A, region: r, size: 1G, prot: rw }\n  - random_access: { task: A, region: r, count: 1000000, pages: 4096, cpu_ratio: 1 }\n',
    )
    const err: string[] = []
    const printed: string[] = []
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (printed.push(String(s)), true))
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true))
    try {
      expect(runCommand([file], { timeout: '0.001' })).toBe(1)
    } finally {
      out.mockRestore()
      errSpy.mockRestore()
    }
    expect(err.join('')).toMatch(/huge\.yaml D1 seed 1: stopped: the run exceeded its wall-time budget of 0\.001 s/)
    // the record says why it stopped, and the spent budget starts none of the other 9999 seeds
    expect(printed.join('')).toContain('stopped (wall-time budget)')
    expect(printed.join('')).toMatch(/sweep D1: 1 seeds from 1:/)
  })

  it('a budget that is not a positive number is bad input', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(runCommand([join(dir, 'none.yaml')], { timeout: '-1' })).toBe(2)
      expect(runCommand([join(dir, 'none.yaml')], { timeout: 'soon' })).toBe(2)
    } finally {
      err.mockRestore()
    }
  })
})
