/** `hmmlab run` with --sweep/--workers/--workspace/--report goes through the experiment service. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { runExperiments, wantsExperiment } from '../../src/main/cli/commands/run-experiment'
import { RunStore } from '../../src/main/services/store/run-store'

const fork = join(__dirname, '../../scenarios/thread-2014/a-fork-after-mirror.yaml')

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
})
