/**
 * Oracles from tools/testing/selftests/mm/hmm-tests.c (domain.md §4.4 / §4.5), run against the
 * model through small scenarios. N = 1024 pages of 4 KiB.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, type RunRecord } from '../../src/sim/index'

function run(steps: string, design: 'D5' | 'D4' = 'D5'): RunRecord {
  const y = `name: t
machine:
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
    - { name: hmm_dmirror1, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror0, fd: fd0 }
  - mirror: { task: self, fd: fd0 }
${steps
  .trim()
  .split('\n')
  .map((l) => '  ' + l.trim())
  .join('\n')}
`
  return runScenario(parseScenario(y, 't.yaml'), { design })
}

const last = (r: RunRecord, op: string) => [...r.steps.rows].reverse().find((s) => s.op === op)!

describe('hmm-tests oracles', () => {
  it('anon_read: READ of N untouched-but-mapped pages → cpages = N, faults = 1, 32 hmm_range_fault calls (mainline: pfns[32])', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 4M }
      - device_read: { task: self, fd: fd0, region: b }`)
    expect(last(r, 'device_read')).toMatchObject({ ret: 0, cpages: 1024, faults: 1 })
    expect(r.aggregates.counters.hmm_range_fault).toBe(32)
  })

  it('anon_read_prot: PROT_NONE → -EFAULT', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 4M }
      - write_data: { task: self, region: b, pattern: index }
      - mprotect: { task: self, region: b, prot: none }
      - device_read: { task: self, fd: fd0, region: b, into: m }`)
    expect(last(r, 'device_read').ret).toBe(-14)
  })

  it('anon_write_prot: READ 1 page of a PROT_READ mapping, WRITE → -EPERM, after mprotect RW WRITE works', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 4M, prot: r }
      - device_read: { task: self, fd: fd0, region: b, size: 4K }
      - expect: { ret: 0, cpages: 1, faults: 1 }
      - device_write: { task: self, fd: fd0, region: b, pattern: index }
      - expect: { ret: -EPERM }
      - expect: { memory: { task: self, region: b, pattern: zero } }
      - mprotect: { task: self, region: b, prot: rw }
      - device_write: { task: self, fd: fd0, region: b, pattern: index }
      - expect: { ret: 0, cpages: 1024, faults: 1 }
      - expect: { memory: { task: self, region: b, pattern: index } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('migrate_shared: MAP_SHARED pages are not migrated → -ENOENT', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 4M, shared: true }
      - migrate_to_device: { task: self, fd: fd0, region: b }`)
    expect(last(r, 'migrate_to_device').ret).toBe(-2)
  })

  it('migrate_fault: migrate, CPU reads half, migrate again → cpages = N both times, data intact', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 4M }
      - write_data: { task: self, region: b, pattern: index }
      - migrate_to_device: { task: self, fd: fd0, region: b }
      - expect: { ret: 0, cpages: 1024 }
      - touch: { task: self, region: b, size: 2M }
      - migrate_to_device: { task: self, fd: fd0, region: b }
      - expect: { ret: 0, cpages: 1024, memory: { task: self, region: b, pattern: index } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('double_map oracle: a page on device 0 is invisible to device 1 MIGRATE_TO_DEV, but device 1 READ faults it back', () => {
    const r = run(`
      - open: { task: self, device: hmm_dmirror1, fd: fd1 }
      - mirror: { task: self, fd: fd1 }
      - mmap: { task: self, region: b, size: 24K }
      - write_data: { task: self, region: b, pattern: index }
      - migrate_to_device: { task: self, fd: fd0, region: b }
      - expect: { ret: 0, cpages: 6 }
      - migrate_to_device: { task: self, fd: fd1, region: b }
      - expect: { ret: -ENOENT }
      - device_read: { task: self, fd: fd1, region: b, into: m }
      - expect: { ret: 0, cpages: 6, faults: 1, buffer: { name: m, pattern: index } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('exclusive_mprotect: EXCLUSIVE, then mprotect READ, then WRITE → -EPERM', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 4M }
      - write_data: { task: self, region: b, pattern: index }
      - exclusive: { task: self, fd: fd0, region: b }
      - expect: { ret: 0, cpages: 1024 }
      - mprotect: { task: self, region: b, prot: r }
      - device_write: { task: self, fd: fd0, region: b }
      - expect: { ret: -EPERM }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('exclusive_cow: EXCLUSIVE then fork: the fork invalidation drops the atomic entries; both write independently', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 64K }
      - write_data: { task: self, region: b, pattern: index }
      - exclusive: { task: self, fd: fd0, region: b }
      - fork: { task: self, child: child }
      - check_exclusive: { task: self, fd: fd0, region: b }
      - expect: { ret: 0 }
      - write_data: { task: child, region: b, pattern: { index_plus: 1 } }
      - write_data: { task: self, region: b, pattern: { index_plus: 2 } }
      - expect: { memory: { task: child, region: b, pattern: { index_plus: 1 } } }
      - expect: { memory: { task: self, region: b, pattern: { index_plus: 2 } } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('a CPU write during EXCLUSIVE waits for the folio lock, then takes its page back from the device', () => {
    // fd1's device maps the range first, so each page's EXCLUSIVE invalidation zaps a device entry
    // and sleeps: the thread's write to page 0 lands while the ioctl converts the later pages and
    // still holds page 0 locked (make_device_exclusive_range → dmirror_atomic_map → unlock)
    const r = run(`
      - open: { task: self, device: hmm_dmirror1, fd: fd1 }
      - mmap: { task: self, region: b, size: 64K }
      - write_data: { task: self, region: b, pattern: index }
      - device_read: { task: self, fd: fd1, region: b }
      - thread: { task: self, child: t }
      - background: { steps: [{ sleep: 1us }, { write_data: { task: t, region: b, size: 4K, pattern: { index_plus: 7 } } }] }
      - exclusive: { task: self, fd: fd0, region: b }
      - sleep: 1ms
      - check_exclusive: { task: self, fd: fd0, region: b, size: 4K }
      - expect: { label: "the CPU took page 0 back: no ATOMIC entry left on it", ret: 0 }
      - check_exclusive: { task: self, fd: fd0, region: b, offset: 4K }
      - expect: { label: "the other pages stay device-exclusive", ret: -EPERM }
      - expect: { memory: { task: self, region: b, size: 4K, pattern: { index_plus: 7 } } }
      - expect: { findings: { count: 0 } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
    const cpuWrite = last(r, 'write_data')
    const ioctl = last(r, 'exclusive')
    // the race happened: the thread's write began while the ioctl ran
    expect(cpuWrite.t0).toBeGreaterThan(ioctl.t0)
    expect(cpuWrite.t0).toBeLessThan(ioctl.t1)
  })

  it('EXCLUSIVE of shared memory → -EBUSY: folio_make_device_exclusive takes anonymous folios only', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 64K, shared: true }
      - write_data: { task: self, region: b, pattern: index }
      - exclusive: { task: self, fd: fd0, region: b }
      - expect: { ret: -EBUSY }
      - check_exclusive: { task: self, fd: fd0, region: b }
      - expect: { ret: 0 }
      - expect: { memory: { task: self, region: b, pattern: index } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
    expect(r.aggregates.counters['invalidate.EXCLUSIVE'] ?? 0).toBe(0)
  })

  it('teardown: after the owner exits the device page table is empty (RELEASE then UNMAP)', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 1M }
      - device_read: { task: self, fd: fd0, region: b }
      - exit: { task: self }
      - expect: { device_pages: { device: hmm_dmirror0, task: self, count: 0 } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
    expect(r.aggregates.counters['invalidate.RELEASE']).toBe(1)
    expect(r.aggregates.counters['invalidate.UNMAP']).toBe(1)
  })
})

describe('snapshot bytes the fidelity replay found diverging (docs/fidelity.md gaps 1 and 3)', () => {
  it('mixedmap: mmap of the dmirror file inserts read-only driver pages → SNAPSHOT 0x01; a CPU write COWs it', () => {
    const r = run(`
      - mmap: { task: self, region: m, size: 8K, fd: fd0 }
      - snapshot: { task: self, fd: fd0, region: m }
      - expect: { ret: 0, cpages: 2, snapshot: [0x01, 0x01] }
      - write_data: { task: self, region: m, size: 4K, pattern: { const: 7 } }
      - snapshot: { task: self, fd: fd0, region: m }
      - expect: { snapshot: [0x02, 0x01] }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('the huge zero page reports READ|PMD (0x05), the 4 KiB zero page ZERO|READ (0x11)', () => {
    const r = run(`
      - mmap: { task: self, region: h, size: 2M, huge: true, prot: r }
      - touch: { task: self, region: h }
      - snapshot: { task: self, fd: fd0, region: h }
      - expect: { ret: 0, cpages: 512, snapshot: { all: 0x05 } }
      - mmap: { task: self, region: s, size: 8K }
      - touch: { task: self, region: s }
      - snapshot: { task: self, fd: fd0, region: s }
      - expect: { snapshot: [0x11, 0x11] }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })
})

describe('device-private THP (docs/fidelity.md gap 2)', () => {
  it('a PMD-mapped THP migrates as one device-private folio: SNAPSHOT 0x26, data intact, back as a THP on CPU fault', () => {
    const r = run(`
      - mmap: { task: self, region: h, size: 2M, huge: true }
      - write_data: { task: self, region: h, pattern: index }
      - migrate_to_device: { task: self, fd: fd0, region: h }
      - expect: { ret: 0, cpages: 512, counter: { name: migrate_to_device.thp, value: 1 } }
      - snapshot: { task: self, fd: fd0, region: h }
      - expect: { ret: 0, cpages: 512, snapshot: { all: 0x26 } }
      - expect: { live: { type: vram, owner: self, bytes: 2097152 } }
      - touch: { task: self, region: h, size: 4K }
      - snapshot: { task: self, fd: fd0, region: h }
      - expect: { snapshot: { all: 0x06 }, memory: { task: self, region: h, pattern: index } }
      - expect: { live: { type: vram, owner: self, bytes: 0 } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })
})

describe('HMM_DMIRROR_FLAGS, into for MIGRATE_TO_DEV / EXCLUSIVE, if_ret, buffer slices', () => {
  it('FAIL_ALLOC: THP migration falls back to 4 KiB pages both ways; data intact', () => {
    const r = run(`
      - mmap: { task: self, region: h, size: 2M, huge: true }
      - write_data: { task: self, region: h, pattern: index }
      - dmirror_flags: { task: self, fd: fd0, fail_alloc: true }
      - expect: { ret: 0 }
      - migrate_to_device: { task: self, fd: fd0, region: h, into: m }
      - expect: { ret: 0, cpages: 512, counter: { name: migrate_to_device.thp, value: 0 }, buffer: { name: m, pattern: index } }
      - snapshot: { task: self, fd: fd0, region: h }
      - expect: { snapshot: { all: 0x22 } }
      - mmap: { task: self, region: g, size: 2M, huge: true }
      - write_data: { task: self, region: g, pattern: neg_index }
      - dmirror_flags: { task: self, fd: fd0, fail_alloc: false }
      - migrate_to_device: { task: self, fd: fd0, region: g }
      - expect: { ret: 0, cpages: 512, counter: { name: migrate_to_device.thp, value: 1 } }
      - dmirror_flags: { task: self, fd: fd0, fail_alloc: true }
      - migrate_to_system: { task: self, fd: fd0, region: g }
      - expect: { ret: 0, cpages: 512 }
      - snapshot: { task: self, fd: fd0, region: g }
      - expect: { snapshot: { all: 0x02 }, memory: { task: self, region: g, pattern: neg_index } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
  })

  it('EXCLUSIVE into a buffer; buffer slices; if_ret skips checks after a failed ioctl', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 64K }
      - write_data: { task: self, region: b, pattern: { index_plus: 10 } }
      - exclusive: { task: self, fd: fd0, region: b, offset: 8K, into: x }
      - expect: { ret: 0, cpages: 14, buffer: { name: x, offset: 4K, size: 8K, pattern: { index_plus: 10 } } }
      - mprotect: { task: self, region: b, prot: none }
      - device_read: { task: self, fd: fd0, region: b, into: y }
      - expect: { ret: -EFAULT }
      - expect: { if_ret: 0, buffer: { name: y, pattern: zero } }`)
    expect(r.expects.rows.filter((e) => !e.passed)).toEqual([])
    expect(r.expects.rows.length).toBe(2)
  })

  it('READ and WRITE through an inherited fd after the mm died fail at once with -EFAULT (6.12 dmirror_fault)', () => {
    // dmirror_read: dmirror_do_read finds no entry (-ENOENT); dmirror_fault: `if (!mmget_not_zero(mm))
    // return -EFAULT;`; dmirror_read breaks out of its loop with it, cmd->faults not incremented
    const r = run(`
      - mmap: { task: self, region: b, size: 64K }
      - write_data: { task: self, region: b, pattern: index }
      - fork: { task: self, child: c }
      - exit: { task: self }
      - device_read: { task: c, fd: fd0, region: b }
      - device_write: { task: c, fd: fd0, region: b }
      - exit: { task: c }`)
    expect(last(r, 'device_read')).toMatchObject({ ret: -14, cpages: 0, faults: 0 })
    expect(last(r, 'device_write')).toMatchObject({ ret: -14, cpages: 0, faults: 0 })
    // no fault was attempted on the dead mm, nothing loops, and the child goes on to exit
    expect(r.aggregates.counters.hmm_range_fault ?? 0).toBe(0)
    expect(r.findings.rows.filter((f) => f.kind === 'livelock' || f.kind === 'warn')).toEqual([])
    expect(r.steps.rows.filter((s) => s.op === 'exit')).toHaveLength(2)
    // the child's close removed the notifier: the parent's mm_struct is freed, nothing is left
    expect(r.aggregates.leaked.endBytes).toBe(0)
  })

  it('SNAPSHOT retries (mmu_interval_read_begin) and gives up with -EBUSY after HMM_RANGE_DEFAULT_TIMEOUT', () => {
    const snap = (timeout: string) => {
      const y = `name: t
costs: { hmm_timeout: ${timeout}, hmm_range_fault_page: 500 }
machine:
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror0, fd: fd0 }
  - mmap: { task: self, region: b, size: 128K }
  - write_data: { task: self, region: b, pattern: index }
  - invalidation_storm: { task: self, region: b, count: 2000, pages: 16, interval: 2us, background: true, event: clear }
  - sleep: 20us
  - snapshot: { task: self, fd: fd0, region: b }
`
      return runScenario(parseScenario(y, 't.yaml'), { design: 'D5' })
    }
    // a CLEAR every ~10 µs for ~20 ms, each walk of the region (one 32-page SNAPSHOT chunk,
    // dmirror_snapshot's pfns[32]) 16 µs: every attempt collides;
    // against a 200 µs timeout dmirror_range_snapshot's time_after() ends it
    const short = snap('200000')
    expect(last(short, 'snapshot')).toMatchObject({ ret: -16, cpages: 0 })
    expect(short.aggregates.counters['dmirror_snapshot.timeout']).toBe(1)
    expect(short.aggregates.counters['hmm_range_fault.ebusy']).toBeGreaterThan(1)
    // the kernel's 1000 ms outlasts the storm: the snapshot completes
    const long = snap('1000000000')
    expect(last(long, 'snapshot')).toMatchObject({ ret: 0, cpages: 32 })
    expect(long.aggregates.counters['dmirror_snapshot.timeout']).toBeUndefined()
  })
})

describe('test_hmm (mainline) DEVICE_COHERENT memory: one chunk, carved for the allocation that built it', () => {
  const coherent = (steps: string): RunRecord =>
    runScenario(
      parseScenario(
        `name: coherent-chunk
machine:
  devices:
    - { name: hmm_dmirror2, kind: dmirror, memory: coherent }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror2, fd: fd }
  - mmap: { task: self, region: buf, size: 4M }
  - madvise: { task: self, region: buf, size: 2M, advice: hugepage }
  - write_data: { task: self, region: buf, size: 2M, pattern: index }
${steps
  .trim()
  .split('\n')
  .map((l) => '  ' + l.trim())
  .join('\n')}
`,
        'c.yaml',
      ),
      { design: 'D5' },
    )

  it('the chunk built at load holds single pages: a THP goes to the device as 512 order-0 pages', () => {
    // dmirror_device_init → dmirror_allocate_chunk(mdevice, NULL, false); a second chunk of the
    // same SPM range is refused by memremap_pages, so dmirror_devmem_alloc_page(dmirror, true) fails
    const r = coherent(`
- migrate_to_device: { task: self, fd: fd, region: buf, size: 2M }
- expect: { ret: 0, cpages: 512 }
- snapshot: { task: self, fd: fd, region: buf, size: 2M }
- expect: { label: "DEV_COHERENT_LOCAL | WRITE, no PMD", ret: 0, snapshot: { all: 0x42 } }`)
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['migrate_to_device.thp']).toBeUndefined()
  })

  it('after HMM_DMIRROR_RELEASE a THP allocation rebuilds the chunk as folios: one coherent THP, then no order-0 page', () => {
    const r = coherent(`
- mmap: { task: self, region: small, size: 4K }
- write_data: { task: self, region: small, size: 4K, pattern: index }
- migrate_to_device: { task: self, fd: fd, region: small }
- expect: { ret: 0, cpages: 1 }
- release_device_memory: { task: self, fd: fd }
- expect: { ret: 0 }
- migrate_to_device: { task: self, fd: fd, region: buf, size: 2M }
- expect: { label: "one coherent THP folio", ret: 0, cpages: 512 }
- snapshot: { task: self, fd: fd, region: buf, size: 2M }
- expect: { label: "DEV_COHERENT_LOCAL | WRITE | PMD", ret: 0, snapshot: { all: 0x46 } }
- expect: { label: "the CPU reads it in place", memory: { task: self, region: buf, size: 2M, pattern: index }, pagemap: { task: self, region: buf, size: 2M, present: true } }
- write_data: { task: self, region: buf, offset: 2M, size: 4K, pattern: index }
- migrate_to_device: { task: self, fd: fd, region: buf, offset: 2M, size: 4K }
- expect: { label: "no order-0 page is left: the page stays, dmirror_do_read -ENOENT", ret: -ENOENT, cpages: 0 }
- dmirror_flags: { task: self, fd: fd, fail_alloc: true }
- migrate_to_system: { task: self, fd: fd, region: buf, size: 2M }
- expect: { label: "FAIL_ALLOC on the order-9 folio: 512 order-0 pages instead", ret: 0, cpages: 512, memory: { task: self, region: buf, size: 2M, pattern: index } }`)
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['migrate_to_device.thp']).toBe(1)
  })

  it('FAIL_ALLOC on an order-0 page of MIGRATE_TO_SYS: -ENOMEM, the batch stays on the device', () => {
    // dmirror_devmem_fault_alloc_and_copy returns VM_FAULT_OOM; dmirror_migrate_to_system calls
    // migrate_vma_finalize and returns -ENOMEM (the model used to leave one page and return 0)
    const r = coherent(`
- migrate_to_device: { task: self, fd: fd, region: buf, size: 2M }
- expect: { ret: 0, cpages: 512 }
- dmirror_flags: { task: self, fd: fd, fail_alloc: true }
- migrate_to_system: { task: self, fd: fd, region: buf, size: 2M }
- expect: { ret: -ENOMEM }
- migrate_to_system: { task: self, fd: fd, region: buf, size: 2M }
- expect: { label: "the flag was one-shot", ret: 0, cpages: 512 }`)
    expect(r.outcome.status).toBe('passed')
  })
})
