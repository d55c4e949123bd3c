/** `hmmlab run` with --sweep/--workers/--workspace/--report goes through the experiment service. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { runExperiments, wantsExperiment } from '../../src/main/cli/commands/run-experiment'
import { runCommand } from '../../src/main/cli/commands/run'
import { RunStore } from '../../src/main/services/store/run-store'

const fork = join(__dirname, '../../scenarios/thread-2014/a-fork-after-mirror.yaml')

/** Runs `fn` with stdout and stderr captured. */
async function captured<T>(fn: () => T | Promise<T>): Promise<{ value: T; out: string; err: string }> {
  let out = ''
  let err = ''
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
  try {
    return { value: await fn(), out, err }
  } finally {
    o.mockRestore()
    e.mockRestore()
  }
}

function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  return fn().finally(() => {
    out.mockRestore()
    err.mockRestore()
  })
}

describe('hmmlab run through the experiment service', () => {
  it('only when a sweep, workers, a workspace or a report is asked for', () => {
    expect(wantsExperiment({})).toBe(false)
    expect(wantsExperiment({ sweep: ['seed=1,2'] })).toBe(true)
    expect(wantsExperiment({ workspace: '/tmp/x' })).toBe(true)
  })

  it('sweeps seeds under two designs on two workers, saves every run and writes a report', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    const report = join(workspace, 'sweep.html')
    const code = await quietly(() => runExperiments([fork], { sweep: ['seed=1..2'], design: 'D1,D4', workers: '2', workspace, report }))
    expect(code).toBe(0)
    const runs = (await new RunStore(workspace).listRuns()).items
    expect(runs.map((r) => `${r.design}/${r.seed}`).sort()).toEqual(['D1/1', 'D1/2', 'D4/1', 'D4/2'])
    expect(existsSync(report)).toBe(true)
    expect(readFileSync(report, 'utf8')).toMatch(/^<!doctype html>/i)
  })

  it("with a swept machine parameter, a failed expect is printed with its line in the user's file", async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    const file = join(workspace, 'fork-failing.yaml')
    const text = readFileSync(fork, 'utf8').replace('  - expect: { ret: 0 }\n', '  - expect: { ret: 1 }\n')
    writeFileSync(file, text)
    const line = text.split('\n').indexOf('  - expect: { ret: 1 }') + 1
    let out = ''
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(await runExperiments([file], { workspace, design: 'D3', sweep: ['machine.devices.0.ats=false'], workers: '1' })).toBe(1)
    } finally {
      spy.mockRestore()
      err.mockRestore()
    }
    expect(out).toMatch(/✗ D3 seed 1 machine\.devices\.0\.ats=false {2}expects failed/)
    expect(out).toContain(`      ✗ line ${line}: ret = 1\n          ret: expected 1, got 0\n`)
  })

  it('exit 1 when an expect fails, 2 on bad input', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    const failing = join(workspace, 'failing.yaml')
    writeFileSync(failing, 'name: failing\ndesigns: [D4]\nsteps:\n  - spawn: { task: A }\n  - expect: { mm: { task: A, mm_users: 2 } }\n')
    expect(await quietly(() => runExperiments([failing], { workspace }))).toBe(1)
    expect(await quietly(() => runExperiments([fork], { workspace, sweep: ['seed'] }))).toBe(2)
    expect(await quietly(() => runExperiments([fork], { workspace, workers: 'many' }))).toBe(2)
    expect(await quietly(() => runExperiments([join(workspace, 'missing.yaml')], { workspace }))).toBe(2)
    expect(await quietly(() => runExperiments([fork], { workspace, sweep: ['design=D9'] }))).toBe(2)
  })

  it('--design with no design in it is refused (exit 2) on both paths, never an empty experiment', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    for (const design of [',', ' , ']) {
      const service = await captured(() => runExperiments([fork], { workspace, design }))
      expect(service.value).toBe(2)
      expect(service.err).toContain(`--design ${JSON.stringify(design)} names no design; give one or more of D1, D2`)
      const inProcess = await captured(() => runCommand([fork], { design }))
      expect(inProcess.value).toBe(2)
      expect(inProcess.err).toContain(`--design ${JSON.stringify(design)} names no design`)
    }
    expect(await new RunStore(workspace).listExperiments().then((l) => l.items.length)).toBe(0)
  })

  it('--json through the experiment service prints run records, as in process', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    const r = await captured(() => runExperiments([fork], { sweep: ['seed=1..2'], design: 'D1,D4', workers: '1', workspace, json: true }))
    expect(r.value).toBe(0)
    const docs = JSON.parse(r.out) as { schema: string; meta: { design: { id: string }; seed: number }; series: { t: number[] } }[]
    // the first seed of each design (both passed), each a whole record with its series
    expect(docs.map((d) => `${d.schema} ${d.meta.design.id}/${d.meta.seed}`)).toEqual(['hmmlab.run-record/1 D1/1', 'hmmlab.run-record/1 D4/1'])
    for (const d of docs) expect(d.series.t.length).toBeGreaterThan(0)
    expect(r.err).toMatch(/experiment \S+, 4 runs, saved in /)
  })

  it('--seed names its real limit on both paths', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    for (const seed of ['4294967296', '-1', 'x']) {
      const service = await captured(() => runExperiments([fork], { workspace, seed }))
      expect(service.value).toBe(2)
      expect(service.err).toContain(`--seed expects an integer 0..4294967295, got "${seed}"`)
      const inProcess = await captured(() => runCommand([fork], { seed }))
      expect(inProcess.err).toContain(`--seed expects an integer 0..4294967295, got "${seed}"`)
    }
  })

  it('--json prints nothing on stdout when no file could run', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-clirun-'))
    const bad = join(workspace, 'bad.yaml')
    writeFileSync(bad, 'name: bad\nsteps:\n  - spawn: {}\n')
    const r = await captured(() => runCommand([bad], { json: true }))
    expect(r.value).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toContain('bad.yaml')
  })
})
