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
    machine: {
      devices: [
        { name: 'hmm_dmirror0', kind: 'dmirror' },
        { name: 'hmm_dmirror1', kind: 'dmirror' },
      ],
    },
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
  return r.expects.rows
    .filter((e) => !e.passed)
    .map(
      (e) =>
        `${name}: ${e.what}: ${e.checks
          .filter((c) => !c.passed)
          .map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`)
          .join('; ')}`,
    )
}

describe('hmm-tests sequences with other page counts', () => {
  for (const n of SIZES) {
    const size = n * 4096
    it(`npages = ${n}`, () => {
      const failed: string[] = []
      // anon_read / anon_read_multiple: READ of resident pages → cpages n, faults 1, ceil(n/32) hmm_range_fault calls (mainline)
      failed.push(
        ...run(`anon_read n=${n}`, [
          { mmap: { task: 'self', region: 'buf', size } },
          { write_data: { task: 'self', region: 'buf', pattern: { index_plus: 7 } } },
          { device_read: { task: 'self', fd: 'fd0', region: 'buf', into: 'mirror' } },
          { expect: { label: 'READ', ret: 0, cpages: n, faults: 1, buffer: { name: 'mirror', pattern: { index_plus: 7 } } } },
          { expect: { label: 'domain.md §4.5 oracle 1: ceil(n/32) hmm_range_fault calls', counter: { name: 'hmm_range_fault', value: Math.ceil(n / 32) } } },
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
          {
            expect: {
              label: 'READ by the other device faults them back (hmm2.double_map)',
              ret: 0,
              cpages: n,
              faults: 1,
              buffer: { name: 'm1', pattern: 'index' },
            },
          },
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

describe('the newer sequences (files, hugetlb, GUP, FAIL_ALLOC, coherent memory) with other sizes', () => {
  for (const n of [1, 63, 65, 512, 513, 2048]) {
    const size = n * 4096
    it(`file_read / file_write / migrate_file_private / hmm_gup_test with npages = ${n}`, () => {
      const failed: string[] = []
      failed.push(
        ...run(`file_read n=${n}`, [
          { open_tmpfile: { task: 'self', fd: 'file', size } },
          { pwrite: { task: 'self', fd: 'file', pattern: { index_plus: 3 } } },
          { expect: { label: 'pwrite == size', ret: size } },
          { mmap: { task: 'self', region: 'buf', size, prot: 'r', shared: true, fd: 'file' } },
          { device_read: { task: 'self', fd: 'fd0', region: 'buf', into: 'mirror' } },
          { expect: { label: 'READ', ret: 0, cpages: n, faults: 1, buffer: { name: 'mirror', pattern: { index_plus: 3 } } } },
          { munmap: { task: 'self', region: 'buf' } },
          { close: { task: 'self', fd: 'file' } },
        ]),
        ...run(`file_write n=${n}`, [
          { open_tmpfile: { task: 'self', fd: 'file', size } },
          { mmap: { task: 'self', region: 'buf', size, shared: true, fd: 'file' } },
          { device_write: { task: 'self', fd: 'fd1', region: 'buf', pattern: 'neg_index' } },
          { expect: { label: 'WRITE', ret: 0, cpages: n, faults: 1, memory: { task: 'self', region: 'buf', pattern: 'neg_index' } } },
          { pread: { task: 'self', fd: 'file', into: 'back' } },
          { expect: { label: 'pread', ret: size, buffer: { name: 'back', pattern: 'neg_index' } } },
          { munmap: { task: 'self', region: 'buf' } },
          { close: { task: 'self', fd: 'file' } },
        ]),
        ...run(`migrate_file_private n=${n}`, [
          { open_tmpfile: { task: 'self', fd: 'file', size } },
          { pwrite: { task: 'self', fd: 'file', pattern: { const: 9 } } },
          { mmap: { task: 'self', region: 'buf', size, fd: 'file' } },
          { write_data: { task: 'self', region: 'buf', pattern: 'index' } },
          { migrate_to_device: { task: 'self', fd: 'fd0', region: 'buf', into: 'mirror' } },
          { expect: { label: 'MIGRATE_TO_DEV', ret: 0, cpages: n, buffer: { name: 'mirror', pattern: 'index' } } },
          { pread: { task: 'self', fd: 'file', into: 'f' } },
          { expect: { label: 'the file keeps its own contents', buffer: { name: 'f', pattern: { const: 9 } } } },
          { munmap: { task: 'self', region: 'buf' } },
          { close: { task: 'self', fd: 'file' } },
        ]),
      )
      for (const mode of [{}, { fast: true }, { pin: true, fast: true, longterm: true }, { pin: true, longterm: true }]) {
        failed.push(
          ...run(`hmm_gup_test n=${n} ${JSON.stringify(mode)}`, [
            { mmap: { task: 'self', region: 'buf', size } },
            { write_data: { task: 'self', region: 'buf', pattern: 'index' } },
            { migrate_to_device: { task: 'self', fd: 'fd0', region: 'buf' } },
            { expect: { label: 'MIGRATE_TO_DEV', ret: 0, cpages: n } },
            { gup: { task: 'self', region: 'buf', ...mode } },
            { expect: { label: 'gup', ret: 0 } },
            { snapshot: { task: 'self', fd: 'fd0', region: 'buf' } },
            {
              expect: {
                label: 'SNAPSHOT: every page back in system memory, writable',
                ret: 0,
                cpages: n,
                snapshot: { all: 0x02 },
                memory: { task: 'self', region: 'buf', pattern: 'index' },
              },
            },
          ]),
        )
      }
      expect(failed).toEqual([])
    })
  }

  for (const k of [1, 2, 3]) {
    it(`anon_write_hugetlbfs / compound with ${k} huge page(s)`, () => {
      const size = k * 2 * 1024 * 1024
      const failed = [
        ...run(`anon_write_hugetlbfs k=${k}`, [
          { nr_hugepages: k },
          { mmap: { task: 'self', region: 'buf', size, hugetlb: true } },
          { expect: { label: 'mmap', ret: 0 } },
          { device_write: { task: 'self', fd: 'fd0', region: 'buf', pattern: 'index' } },
          { expect: { label: 'WRITE', ret: 0, cpages: k * 512, faults: 1, memory: { task: 'self', region: 'buf', pattern: 'index' }, hugetlb_free: 0 } },
          { snapshot: { task: 'self', fd: 'fd1', region: 'buf' } },
          { expect: { label: 'SNAPSHOT WRITE|PMD', ret: 0, cpages: k * 512, snapshot: { all: 0x06 } } },
          { mprotect: { task: 'self', region: 'buf', prot: 'r' } },
          { snapshot: { task: 'self', fd: 'fd1', region: 'buf' } },
          { expect: { label: 'SNAPSHOT READ|PMD', ret: 0, cpages: k * 512, snapshot: { all: 0x05 } } },
          { munmap: { task: 'self', region: 'buf' } },
          { expect: { label: 'pool restored', hugetlb_free: k } },
          { mmap: { task: 'self', region: 'big', size: size + 4096, hugetlb: true } },
          { expect: { label: 'one page more than the pool: -ENOMEM', ret: -12 } },
        ]),
      ]
      expect(failed).toEqual([])
    })
  }

  it('migrate_anon_huge_err over 2 THPs: the flag fails one allocation only; coherent: MIGRATE_TO_SYS of n pages', () => {
    const failed = [
      ...run('migrate_anon_huge_err x2', [
        { mmap: { task: 'self', region: 'buf', size: '4M', huge: true } },
        { write_data: { task: 'self', region: 'buf', pattern: 'index' } },
        { dmirror_flags: { task: 'self', fd: 'fd0', fail_alloc: true } },
        { migrate_to_device: { task: 'self', fd: 'fd0', region: 'buf', into: 'mirror' } },
        { expect: { label: 'MIGRATE_TO_DEV', ret: 0, cpages: 1024, buffer: { name: 'mirror', pattern: 'index' } } },
        { snapshot: { task: 'self', fd: 'fd0', region: 'buf' } },
        { expect: { label: 'first THP as 4 KiB pages, second whole', snapshot: [...Array(512).fill(0x22), ...Array(512).fill(0x26)] } },
        { dmirror_flags: { task: 'self', fd: 'fd0', fail_alloc: true } },
        { migrate_to_system: { task: 'self', fd: 'fd0', region: 'buf' } },
        // the first batch holds the first THP's order-0 device pages: the flag fails an order-0
        // allocation, dmirror_devmem_fault_alloc_and_copy returns VM_FAULT_OOM and
        // dmirror_migrate_to_system -ENOMEM (mainline test_hmm)
        { expect: { label: 'MIGRATE_TO_SYS: -ENOMEM on an order-0 page', ret: 'ENOMEM' } },
        { expect: { label: 'the data is intact', memory: { task: 'self', region: 'buf', pattern: 'index' } } },
        { migrate_to_system: { task: 'self', fd: 'fd0', region: 'buf' } },
        { expect: { label: 'MIGRATE_TO_SYS again (the flag was one-shot)', ret: 0, cpages: 1024, memory: { task: 'self', region: 'buf', pattern: 'index' } } },
      ]),
    ]
    for (const n of [1, 65, 1024]) {
      const sc: Scenario = {
        name: `coherent n=${n}`,
        designs: ['D5'],
        machine: { devices: [{ name: 'hmm_dmirror2', kind: 'dmirror', memory: 'coherent' }] },
        steps: [
          { spawn: { task: 'self' } },
          { open: { task: 'self', device: 'hmm_dmirror2', fd: 'fd' } },
          { mmap: { task: 'self', region: 'buf', size: n * 4096 } },
          { write_data: { task: 'self', region: 'buf', pattern: 'index' } },
          { migrate_to_device: { task: 'self', fd: 'fd', region: 'buf', into: 'm' } },
          { expect: { label: 'MIGRATE_TO_DEV', ret: 0, cpages: n, buffer: { name: 'm', pattern: 'index' } } },
          { snapshot: { task: 'self', fd: 'fd', region: 'buf' } },
          { expect: { label: 'SNAPSHOT COHERENT_LOCAL|WRITE', snapshot: { all: 0x42 } } },
          { migrate_to_system: { task: 'self', fd: 'fd', region: 'buf' } },
          { expect: { label: 'MIGRATE_TO_SYS', ret: 0, cpages: n, memory: { task: 'self', region: 'buf', pattern: 'index' } } },
          { close: { task: 'self', fd: 'fd' } },
          { expect: { label: 'no findings', findings: { count: 0 } } },
        ],
      }
      const r = runScenario(sc, { design: 'D5' })
      failed.push(
        ...r.expects.rows
          .filter((e) => !e.passed)
          .map((e) => `${sc.name}: ${e.what}: ${e.checks.map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`).join('; ')}`),
      )
    }
    expect(failed).toEqual([])
  })
})
