/**
 * lib/test_hmm.c dmirror_migrate_to_system: under mmap_read_lock, 64 pages at a time, each chunk
 * must lie in a VMA with VM_READ (vma_lookup); a hole or a PROT_NONE VMA returns -EINVAL.
 * Issue 13 item 6; confirmed on a real 6.12 kernel with test_hmm.
 */
import { describe, expect, it } from 'vitest'
import { runScenario, type Scenario } from '../../src/sim/index'

function run(tail: Scenario['steps']): number[] {
  const sc: Scenario = {
    name: 'migrate_to_sys checks',
    seed: 1,
    designs: ['D5'],
    machine: { devices: [{ name: 'hmm_dmirror0', kind: 'dmirror' }] },
    steps: [
      { spawn: { task: 'self' } },
      { open: { task: 'self', device: 'hmm_dmirror0', fd: 'fd' } },
      { mmap: { task: 'self', region: 'buf', size: '256K' } },
      { write_data: { task: 'self', region: 'buf', pattern: { index_plus: 0 } } },
      { migrate_to_device: { task: 'self', fd: 'fd', region: 'buf' } },
      ...tail,
    ],
  }
  const r = runScenario(sc, { design: 'D5' })
  return r.steps.rows.filter((s) => s.op === 'migrate_to_system').map((s) => s.ret as number)
}

describe('HMM_DMIRROR_MIGRATE_TO_SYS checks the VMAs', () => {
  it('a range in a readable VMA migrates back: 0', () => {
    expect(run([{ migrate_to_system: { task: 'self', fd: 'fd', region: 'buf' } }])).toEqual([0])
  })
  it('a PROT_NONE VMA: -EINVAL (VM_READ)', () => {
    expect(run([{ mprotect: { task: 'self', region: 'buf', prot: 'none' } }, { migrate_to_system: { task: 'self', fd: 'fd', region: 'buf' } }])).toEqual([-22])
  })
  it('an unmapped range: -EINVAL (vma_lookup)', () => {
    expect(
      run([{ munmap: { task: 'self', region: 'buf', offset: '128K', size: '128K' } }, { migrate_to_system: { task: 'self', fd: 'fd', region: 'buf' } }]),
    ).toEqual([-22])
  })
})
