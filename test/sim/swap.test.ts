import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'
import type { World } from '../../src/sim/world'

/** Runs `steps` (under D5, dmirror0) with `machine`; returns the result and the world. */
function run(steps: string, machine = '') {
  let world: World | null = null
  const r = runScenario(parseScenario(`name: swap\ndesigns: [D5]\n${machine}\nsteps:\n${steps}`, 'swap.yaml'), {
    design: 'D5',
    hooks: { world: (w) => (world = w) },
  })
  return { r, w: world as unknown as World }
}

const passed = (r: ReturnType<typeof run>['r']) => {
  const bad = r.expects.rows.filter((e) => !e.passed).map((e) => `${e.what}: ${e.checks.map((c) => `${c.what} ${c.expected} ${c.actual}`).join(' | ')}`)
  expect(bad).toEqual([])
  expect(r.outcome.status).toBe('passed')
}

const base = `
  - spawn: { task: A }
  - mmap: { task: A, region: buf, size: 1M }
  - write_data: { task: A, region: buf, pattern: index }
  - open: { task: A, device: dmirror0, fd: f }
  - mirror: { task: A, fd: f }
  - device_read: { task: A, fd: f, region: buf }`

describe('swap, MADV_PAGEOUT and reclaim (mm/vmscan.c, mm/rmap.c, mm/swapfile.c)', () => {
  it('without swap (the default) MADV_PAGEOUT reclaims no anonymous page: no invalidation, the mirror and the data stay', () => {
    const { r } = run(`${base}
  - madvise: { task: A, region: buf, advice: pageout }
  - expect: { ret: 0 }
  - expect: { counter: { name: invalidate.CLEAR, value: 0 } }
  - expect: { counter: { name: pgactivate, value: 256 } }
  - expect: { device_pages: { task: A, device: dmirror0, count: 256 } }
  - expect: { pagemap: { task: A, region: buf, present: true, swap: false } }
  - expect: { memory: { task: A, region: buf, pattern: index } }`)
    passed(r)
  })

  it('with swap, each page becomes a swap entry under its own CLEAR; SNAPSHOT reports it non-present, a faulting device read brings it back (major faults)', () => {
    const { r, w } = run(
      `${base}
  - madvise: { task: A, region: buf, advice: pageout }
  - expect: { counter: { name: pswpout, value: 256 } }
  - expect: { counter: { name: invalidate.CLEAR, value: 256 } }
  - expect: { device_pages: { task: A, device: dmirror0, count: 0 } }
  - expect: { pagemap: { task: A, region: buf, present: false, swap: true } }
  - snapshot: { task: A, fd: f, region: buf, size: 16K }
  - expect: { snapshot: { all: 0 } }
  - expect: { counter: { name: pswpin, value: 0 } }
  - device_read: { task: A, fd: f, region: buf }
  - expect: { ret: 0 }
  - expect: { counter: { name: pswpin, value: 256 } }
  - expect: { counter: { name: pgmajfault, value: 256 } }
  - expect: { memory: { task: A, region: buf, pattern: index } }
  - expect: { pagemap: { task: A, region: buf, present: true, swap: false } }`,
      'machine: { swap: 64M }',
    )
    passed(r)
    expect(w.swap?.inuse).toBe(0)
    expect(w.mms[0]!.maj_flt).toBe(256)
  })

  it('swap entries survive fork (swap_duplicate) and exit (free_swap_and_cache): data intact in the child, every slot freed', () => {
    const { r, w } = run(
      `${base}
  - madvise: { task: A, region: buf, advice: pageout }
  - fork: { task: A, child: B }
  - exit: { task: A }
  - expect: { memory: { task: B, region: buf, pattern: index } }
  - touch: { task: B, region: buf, size: 8K, write: true }
  - expect: { memory: { task: B, region: buf, size: 8K, pattern: index } }
  - exit: { task: B }
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`,
      'machine: { swap: 64M }',
    )
    passed(r)
    expect(w.swap?.inuse).toBe(0)
  })

  it('MADV_FREE keeps the data until reclaim; reclaim drops the clean lazyfree pages, keeps the rewritten ones, swaps nothing without swap', () => {
    const { r } = run(`
  - spawn: { task: A }
  - mmap: { task: A, region: buf, size: 1M }
  - write_data: { task: A, region: buf, pattern: { index_plus: 1 } }
  - madvise: { task: A, region: buf, advice: free, size: 512K }
  - expect: { memory: { task: A, region: buf, pattern: { index_plus: 1 } } }
  - write_data: { task: A, region: buf, offset: 256K, size: 64K, pattern: { const: 7 } }
  - reclaim: { task: A, region: buf }
  - expect: { counter: { name: pglazyfreed, value: 112 } }
  - expect: { counter: { name: lazyfree.redirtied, value: 16 } }
  - expect: { label: "one CLEAR for MADV_FREE, one per lazyfree page unmapped", counter: { name: invalidate.CLEAR, value: 129 } }
  - expect: { memory: { task: A, region: buf, size: 256K, pattern: zero } }
  - expect: { memory: { task: A, region: buf, offset: 256K, size: 64K, pattern: { const: 7 } } }
  - expect: { memory: { task: A, region: buf, offset: 320K, size: 192K, pattern: zero } }
  - expect: { memory: { task: A, region: buf, offset: 512K, size: 512K, pattern: { index_plus: 1 } } }
  - reclaim: { task: A, region: buf }
  - expect: { label: "the redirtied pages are swap-backed again: kept without swap", counter: { name: pglazyfreed, value: 112 } }
  - expect: { memory: { task: A, region: buf, offset: 256K, size: 64K, pattern: { const: 7 } } }`)
    passed(r)
  })

  it('MADV_FREE of a swapped page drops its slot: the next touch reads zeros', () => {
    const { r, w } = run(
      `${base}
  - madvise: { task: A, region: buf, advice: pageout }
  - madvise: { task: A, region: buf, advice: free, size: 64K }
  - expect: { memory: { task: A, region: buf, size: 64K, pattern: zero } }
  - expect: { memory: { task: A, region: buf, offset: 64K, pattern: index } }`,
      'machine: { swap: 64M }',
    )
    passed(r)
    expect(w.swap?.inuse).toBe(240)
  })

  it('a THP goes to swap whole when 512 slots are free, else is split and swapped page by page (THP_SWPOUT_FALLBACK); without swap it is split and kept', () => {
    const thp = `
  - spawn: { task: A }
  - mmap: { task: A, region: thp, size: 4M, huge: true }
  - write_data: { task: A, region: thp, pattern: index }
  - madvise: { task: A, region: thp, advice: pageout }`
    const a = run(
      `${thp}
  - expect: { counter: { name: thp_swpout, value: 1 } }
  - expect: { counter: { name: thp_swpout_fallback, value: 1 } }
  - expect: { counter: { name: pswpout, value: 768 } }
  - expect: { memory: { task: A, region: thp, pattern: index } }
  - touch: { task: A, region: thp, write: true }
  - expect: { counter: { name: pswpin, value: 768 } }
  - expect: { memory: { task: A, region: thp, pattern: index } }`,
      'machine: { swap: 3M }',
    )
    passed(a.r)
    const b = run(`${thp}
  - expect: { counter: { name: thp_swpout_fallback, value: 2 } }
  - expect: { label: "split: __split_huge_pmd and try_to_migrate_one per THP", counter: { name: invalidate.CLEAR, value: 4 } }
  - expect: { label: "the all-zero subpage (page 0 holds index 0) is mapped to the shared zero page", counter: { name: thp_split_zero_remap, value: 1 } }
  - expect: { pagemap: { task: A, region: thp, present: true, swap: false } }
  - expect: { memory: { task: A, region: thp, pattern: index } }`)
    passed(b.r)
  })

  it('pinned, COW-shared, zero-page and device-private pages are not paged out', () => {
    const { r } = run(
      `${base}
  - gup: { task: A, region: buf, size: 64K, pin: true, hold: p }
  - mmap: { task: A, region: z, size: 64K }
  - touch: { task: A, region: z }
  - migrate_to_device: { task: A, fd: f, region: buf, offset: 64K, size: 64K }
  - fork: { task: A, child: B }
  - madvise: { task: A, region: buf, advice: pageout }
  - madvise: { task: A, region: z, advice: pageout }
  - expect: { counter: { name: pswpout, value: 0 } }
  - exit: { task: B }
  - madvise: { task: A, region: buf, advice: pageout }
  - expect: { label: "once B is gone: all but the pinned and the device pages", counter: { name: pswpout, value: 224 } }
  - expect: { memory: { task: A, region: buf, size: 64K, pattern: index } }
  - unpin: { pins: p }`,
      'machine: { swap: 64M }',
    )
    passed(r)
  })

  it('hugetlb: MADV_PAGEOUT is -EINVAL (can_madv_lru_vma), MADV_FREE too (not anonymous)', () => {
    const { r } = run(`
  - spawn: { task: A }
  - nr_hugepages: 1
  - mmap: { task: A, region: h, size: 2M, hugetlb: true }
  - madvise: { task: A, region: h, advice: pageout }
  - expect: { ret: -22 }
  - madvise: { task: A, region: h, advice: free }
  - expect: { ret: -22 }`)
    passed(r)
  })
})
