/** `hmmlab run`'s summary names the steps whose call failed unexpectedly, with their line and errno. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { runCommand } from '../../src/main/cli/commands/run'
import { runExperiments } from '../../src/main/cli/commands/run-experiment'
import { failedStepLines } from '../../src/main/cli/record-text'

describe('failed steps in the run summary', () => {
  it('a failed mmap is printed with its line and -ENOMEM, not only in --json', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hmmlab-summary-')), 'big-mmap.yaml')
    writeFileSync(file, 'name: big-mmap\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n  - mmap: { task: A, region: big, size: 200T, prot: rw }\n')
    let out = ''
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(runCommand([file], {})).toBe(0)
    } finally {
      o.mockRestore()
      e.mockRestore()
    }
    expect(out).toContain('    ✗ line 5: mmap returned -ENOMEM (no expect asked for it)\n')
  })

  it('through the experiment service too: under every seed that has it, from its stored record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-summary-'))
    const file = join(dir, 'big-mmap.yaml')
    writeFileSync(file, 'name: big-mmap\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n  - mmap: { task: A, region: big, size: 200T, prot: rw }\n')
    let out = ''
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(await runExperiments([file], { design: 'D1,D4', sweep: ['seed=1..2'], workers: '1', workspace: join(dir, 'ws') })).toBe(0)
    } finally {
      o.mockRestore()
      e.mockRestore()
    }
    // two designs × two seeds: the failed mmap is named under each run, whatever its place in the sweep
    expect(out.split('      ✗ line 5: mmap returned -ENOMEM (no expect asked for it)\n').length - 1).toBe(4)
    for (const run of ['D1 seed 1', 'D4 seed 1', 'D1 seed 2', 'D4 seed 2']) expect(out).toMatch(new RegExp(`${run} .*\\n      ✗ line 5: mmap returned -ENOMEM`))
  })

  it('an errno an expect asked for is no failure: no ✗ under any seed, in process or on the service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-summary-'))
    const file = join(dir, 'expected-errno.yaml')
    writeFileSync(
      file,
      'name: expected-errno\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n  - mmap: { task: A, region: big, size: 200T, prot: rw }\n  - expect: { ret: -ENOMEM }\n  - mmap: { task: A, region: big2, size: 200T, prot: rw }\n',
    )
    let out = ''
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(runCommand([file], {})).toBe(0)
      expect(await runExperiments([file], { design: 'D1,D4', sweep: ['seed=1..3'], workers: '1', workspace: join(dir, 'ws') })).toBe(0)
    } finally {
      o.mockRestore()
      e.mockRestore()
    }
    expect(out).not.toContain('line 5')
    // the unexpected one (line 7) is named under every run: once in process, six times on the service
    expect(out.split('✗ line 7: mmap returned -ENOMEM (no expect asked for it)\n').length - 1).toBe(7)
  })

  it('lists five, counts the rest, and leaves out steps that succeeded', () => {
    const rows = Array.from({ length: 8 }, (_, i) => ({ op: 'touch', line: 10 + i, t1: i, ret: i % 4 === 0 ? 0 : -22 }))
    expect(failedStepLines({ rows }, { rows: [] })).toEqual([
      '    ✗ line 11: touch returned -EINVAL (no expect asked for it)',
      '    ✗ line 12: touch returned -EINVAL (no expect asked for it)',
      '    ✗ line 13: touch returned -EINVAL (no expect asked for it)',
      '    ✗ line 15: touch returned -EINVAL (no expect asked for it)',
      '    ✗ line 16: touch returned -EINVAL (no expect asked for it)',
      '    … 1 more failed steps',
    ])
    expect(failedStepLines({ rows: [{ op: 'mmap', line: 3, t1: 0, ret: null }] }, { rows: [] })).toEqual([])
  })

  it('leaves out a step whose errno the expect right after it asked for, and only that one', () => {
    const rows = [
      { op: 'device_read', line: 65, t1: 100, ret: -9 },
      { op: 'device_read', line: 70, t1: 200, ret: -9 },
      { op: 'device_read', line: 75, t1: 300, ret: -5 },
    ]
    const ret = (actual: string, passed: boolean): { what: string; actual: string; passed: boolean } => ({ what: 'ret', actual, passed })
    const expects = {
      rows: [
        { t: 100, checks: [ret('-EBADF', true)] }, // asked for exactly this errno: not a failure
        { t: 200, checks: [ret('-EBADF', false)] }, // a ret check that failed does not make it expected
        { t: 300, checks: [ret('-EBADF', true), { what: 'cpages', actual: '-EIO', passed: true }] }, // another errno, another check
      ],
    }
    expect(failedStepLines({ rows }, expects)).toEqual([
      '    ✗ line 70: device_read returned -EBADF (no expect asked for it)',
      '    ✗ line 75: device_read returned -EIO (no expect asked for it)',
    ])
  })
})
