/** `hmmlab run`'s summary names the steps whose call failed, with their line and errno. */
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
    expect(out).toContain('    ✗ line 5: mmap returned -ENOMEM\n')
  })

  it('through the experiment service too: once per design, from the stored record', async () => {
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
    // two designs × two seeds: the failed mmap is named under the first run of each design, not under every seed
    expect(out.split('      ✗ line 5: mmap returned -ENOMEM\n').length - 1).toBe(2)
  })

  it('lists five, counts the rest, and leaves out steps that succeeded', () => {
    const rows = Array.from({ length: 8 }, (_, i) => ({ op: 'touch', line: 10 + i, ret: i % 4 === 0 ? 0 : -22 }))
    expect(failedStepLines({ rows })).toEqual([
      '    ✗ line 11: touch returned -EINVAL',
      '    ✗ line 12: touch returned -EINVAL',
      '    ✗ line 13: touch returned -EINVAL',
      '    ✗ line 15: touch returned -EINVAL',
      '    ✗ line 16: touch returned -EINVAL',
      '    … 1 more failed steps',
    ])
    expect(failedStepLines({ rows: [{ op: 'mmap', line: 3, ret: null }] })).toEqual([])
  })
})
