/**
 * Other cases of the same kernel tests, built in code: the hmm-tests.c sequences with other page
 * counts (the kernel's N is 1024 with 4 KiB pages, 256 with 16 KiB, 64 with 64 KiB; odd counts
 * exercise the 64-page hmm_range_fault chunking) and with two devices. The model must give the
 * kernel's results for all of them without anything fitted to the shipped files.
 */
import { describe, expect, it } from 'vitest'
import { runScenario, type Scenario } from '../../src/sim/index'

const SIZES = [1, 2, 63, 64, 65, 100, 256, 511, 512, 513, 1000, 2048]

function run(name: string, steps: Scenario['steps']): string[] {
  const sc: Scenario = {
    name,
    designs: ['D5'],
    machine: { devices: [{ name: 'hmm_dmirror0', kind: 'dmirror' }, { name: 'hmm_dmirror1', kind: 'dmirror' }] },
    steps: [
      { spawn: { task: 'self' } },
      { open: { task: 'self', device: 'hmm_dmirror0', fd: 'fd0' } },
      { open: { task: 'self', device: 'hmm_dmirror1', fd: 'fd1' } },
      ...steps,
      { close: { task: 'self', fd: 'fd0' } },
      { close: { task: 'self', fd: 'fd1' } },
      { expect: { label: 'close() == 0, no findings', ret: 0, findings: { count: 0 } } },
    ],
  }
  const r = runScenario(sc, { design: 'D5' })
  return r.expects.filter((e) => !e.pass).map((e) => `${name}: ${e.label}: ${e.details.filter((d) => d.includes('✗')).join('; ')}`)
}

describe('hmm-tests sequences with other page counts', () => {
  for (const n of SIZES) {
    const size = n * 4096
    it(`npages = ${n}`, () => {
      const failed: string[] = []
      // anon_read / anon_read_multiple: READ of resident pages → cpages n, faults 1, ceil(n/64) hmm_range_fault calls
      failed.push(
        ...run(`anon_read n=${n}`, [
          { mmap: { task: 'self', region: 'buf', size } },
          { write_data: { task: 'self', region: 'buf', pattern: { index_plus: 7 } } },
          { device_read: { task: 'self', fd: 'fd0', region: 'buf', into: 'mirror' } },
          { expect: { label: 'READ', ret: 0, cpages: n, faults: 1, buffer: { name: 'mirror', pattern: { index_plus: 7 } } } },
          { expect: { label: 'domain.md §4.5 oracle 1: ceil(n/64) hmm_range_fault calls', counter: { name: 'hmm_range_fault', value: Math.ceil(n / 64) } } },
          { device_read: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'READ again: everything mapped, no fault round', ret: 0, cpages: n, faults: 0 } },
        ]),
      )
      // anon_write_prot
      failed.push(
        ...run(`anon_write_prot n=${n}`, [
          { mmap: { task: 'self', region: 'buf', size, prot: 'r' } },
          { device_read: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'READ of zero pages', ret: 0, cpages: n, faults: 1 } },
          { device_write: { task: 'self', fd: 'fd0', region: 'buf', pattern: 'index' } },
          { expect: { label: 'WRITE to PROT_READ', ret: -1, memory: { task: 'self', region: 'buf', pattern: 'zero' } } },
          { mprotect: { task: 'self', region: 'buf', prot: 'rw' } },
          { device_write: { task: 'self', fd: 'fd0', region: 'buf', pattern: 'index' } },
          { expect: { label: 'WRITE', ret: 0, cpages: n, faults: 1, memory: { task: 'self', region: 'buf', pattern: 'index' } } },
          { snapshot: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'SNAPSHOT: PROT_WRITE', ret: 0, cpages: n, snapshot: { all: 0x02 } } },
        ]),
      )
      // migrate, snapshot local / remote, double_map, migrate_multiple (coherent-style MIGRATE_TO_SYS), exclusive
      failed.push(
        ...run(`migrate n=${n}`, [
          { mmap: { task: 'self', region: 'buf', size } },
          { write_data: { task: 'self', region: 'buf', pattern: 'index' } },
          { migrate_to_device: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'MIGRATE_TO_DEV', ret: 0, cpages: n, memory: { task: 'self', region: 'buf', pattern: 'index' } } },
          { snapshot: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'SNAPSHOT by the owner: DEV_PRIVATE_LOCAL|WRITE', ret: 0, cpages: n, snapshot: { all: 0x22 } } },
          { snapshot: { task: 'self', fd: 'fd1', region: 'buf' } },
          { expect: { label: 'SNAPSHOT by the other device: NONE (hmm2.snapshot m[6])', ret: 0, cpages: n, snapshot: { all: 0x00 } } },
          { migrate_to_device: { task: 'self', fd: 'fd1', region: 'buf' } },
          { expect: { label: 'MIGRATE_TO_DEV of pages on the other device: -ENOENT (hmm2.migrate_mixed)', ret: -2 } },
          { device_read: { task: 'self', fd: 'fd1', region: 'buf', into: 'm1' } },
          { expect: { label: 'READ by the other device faults them back (hmm2.double_map)', ret: 0, cpages: n, faults: 1, buffer: { name: 'm1', pattern: 'index' } } },
          { migrate_to_device: { task: 'self', fd: 'fd1', region: 'buf' } },
          { expect: { label: 'now device 1 can migrate them', ret: 0, cpages: n } },
          { migrate_to_system: { task: 'self', fd: 'fd1', region: 'buf' } },
          { expect: { label: 'MIGRATE_TO_SYS', ret: 0, cpages: n, memory: { task: 'self', region: 'buf', pattern: 'index' } } },
          { exclusive: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'EXCLUSIVE', ret: 0, cpages: n } },
          { check_exclusive: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'CHECK_EXCLUSIVE with atomic entries', ret: -1 } },
          { write_data: { task: 'self', region: 'buf', pattern: { index_plus: 1 } } },
          { check_exclusive: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { label: 'CHECK_EXCLUSIVE after CPU writes', ret: 0, memory: { task: 'self', region: 'buf', pattern: { index_plus: 1 } } } },
        ]),
      )
      // anon_write_child: the child's own fd; parent unchanged
      failed.push(
        ...run(`anon_write_child n=${n}`, [
          { mmap: { task: 'self', region: 'buf', size } },
          { write_data: { task: 'self', region: 'buf', pattern: 'index' } },
          { migrate_to_device: { task: 'self', fd: 'fd0', region: 'buf' } },
          { expect: { ret: 0, cpages: n } },
          { fork: { task: 'self', child: 'child' } },
          { open: { task: 'child', device: 'hmm_dmirror0', fd: 'cfd' } },
          { device_write: { task: 'child', fd: 'cfd', region: 'buf', pattern: 'neg_index' } },
          { expect: { label: 'child WRITE', ret: 0, cpages: n, faults: 1, memory: { task: 'child', region: 'buf', pattern: 'neg_index' } } },
          { close: { task: 'child', fd: 'cfd' } },
          { exit: { task: 'child' } },
          { touch: { task: 'self', region: 'buf' } },
          { expect: { label: 'parent unchanged', memory: { task: 'self', region: 'buf', pattern: 'index' } } },
        ]),
      )
      expect(failed).toEqual([])
    })
  }
})
