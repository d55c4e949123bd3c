/**
 * Issue 13, items 3, 8 and 9: the simulator raises the invalidations the kernel raises (which,
 * in what order, over which range, how many), keeps VMAs as the kernel keeps them (merged, with an
 * anon_vma once written) and follows the kernel's CPU side (THP COW, deposited page tables,
 * mprotect's write upgrade, when page tables are freed, fault-around).
 *
 * Each case is a small scenario run under D5 (an interval notifier over the whole address space
 * per open file, as lib/test_hmm.c does), so every `__mmu_notifier_invalidate_range_start` call is
 * seen through the `notifierRange` hook. Ranges are written relative to the scenario's regions
 * ("buf[2,4)" = pages 2..3 of region buf); [0, ULONG_MAX) is "whole". The kernel function that
 * decides each expectation is named beside it; the real-kernel traces behind them are in
 * docs/fidelity.md ("Invalidations: what the kernel raises").
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, type NotifierRangeCall } from '../../src/sim/index'
import type { RunRecord } from '../../src/shared/record'

const PAGE = 4096
/** Pages from [0, ULONG_MAX) on count as "whole" (the model's address space ends at 2^32 pages). */
const WHOLE_FROM = 0x100000000

interface Seen {
  step: number
  op: string
  text: string
}

function describeRange(r: NotifierRangeCall): string {
  const owner = r.owner >= 0 ? ` owner=${r.owner}` : ''
  if (r.start <= 0 && r.end >= WHOLE_FROM) return `${r.event} whole${owner}`
  const regs = [...r.mm.regions.entries()].filter(([, g]) => g.start < r.end && r.start < g.start + g.pages)
  if (regs.length === 0) return `${r.event} (outside)[${r.start},${r.end})${owner}`
  // the region containing the start (else the first one overlapped), offsets relative to it
  const [name, g] = regs.find(([, g]) => g.start <= r.start && r.start < g.start + g.pages) ?? (regs[0] as [string, { start: number; pages: number }])
  return `${r.event} ${name}[${r.start - g.start},${r.end - g.start})${owner}`
}

interface Run {
  result: RunRecord
  /** Invalidations per step index. */
  seen: Seen[]
  /** The invalidations of the n-th step with operation `op` (0-based), in order. */
  of(op: string, n?: number): string[]
  /** Expects that failed, with their details. */
  failed(): string[]
}

const HEADER = `
name: events
seed: 1
designs: [D5]
machine:
  devices: [ { name: dmirror0, kind: dmirror } ]
steps:
  - spawn: { task: A }
  - open: { task: A, device: dmirror0, fd: f }
`

/**
 * Runs `steps` (YAML list items, indented by two spaces) after spawn A + open dmirror0 as f
 * (`header` replaces that prologue); records the invalidations of `task`'s mm ('*': every mm).
 */
function run(steps: string, task = 'A', header = HEADER): Run {
  const sc = parseScenario(header + steps, 'events.yaml')
  const seen: Seen[] = []
  const began: Array<{ index: number; op: string }> = []
  let cur = { index: -1, op: '' }
  const result = runScenario(sc, {
    design: 'D5',
    hooks: {
      step: (s) => {
        cur = { index: s.index, op: s.op }
        began.push(cur)
      },
      notifierRange: (r) => {
        if (r.mm.label !== `mm of ${task}` && task !== '*') return
        seen.push({ step: cur.index, op: cur.op, text: describeRange(r) })
      },
    },
  })
  const stepsOf = (op: string): number[] => began.filter((s) => s.op === op).map((s) => s.index)
  return {
    result,
    seen,
    of(op, n = 0) {
      const idx = stepsOf(op)[n]
      if (idx === undefined) throw new Error(`no step ${op} #${n}: steps ${began.map((s) => s.op).join(', ')}`)
      return seen.filter((s) => s.step === idx).map((s) => s.text)
    },
    failed() {
      return result.expects.rows
        .filter((e) => !e.passed)
        .map(
          (e) =>
            `line ${e.line}: ${e.checks
              .filter((c) => !c.passed)
              .map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`)
              .join('; ')}`,
        )
    },
  }
}

const times = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i))

describe('item 3: which invalidations fire, and how many', () => {
  it('COW break after fork: one CLEAR per page (wp_page_copy)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 32K }
  - write_data: { task: A, region: buf, pattern: index }
  - fork: { task: A, child: B }
  - write_data: { task: A, region: buf, pattern: neg_index }
`)
    expect(r.of('fork')).toEqual(['PROTECTION_PAGE buf[0,8)'])
    expect(r.of('write_data', 1)).toEqual(times(8, (i) => `CLEAR buf[${i},${i + 1})`))
  })

  it('COW from the zero page: one CLEAR per page, from the CPU and inside hmm_range_fault', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - touch: { task: A, region: buf }
  - touch: { task: A, region: buf, write: true }
  - mmap: { task: A, region: dev, size: 16K }
  - touch: { task: A, region: dev }
  - device_write: { task: A, fd: f, region: dev, pattern: index }
  - expect: { ret: 0, cpages: 4 }
`)
    expect(r.of('touch', 1)).toEqual(times(4, (i) => `CLEAR buf[${i},${i + 1})`))
    expect(r.of('device_write').filter((s) => s.startsWith('CLEAR'))).toEqual(times(4, (i) => `CLEAR dev[${i},${i + 1})`))
    expect(r.failed()).toEqual([])
  })

  it('make_device_exclusive: one EXCLUSIVE per page; the CPU taking a page back raises EXCLUSIVE, not CLEAR', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - exclusive: { task: A, fd: f, region: buf }
  - expect: { ret: 0, cpages: 4 }
  - touch: { task: A, region: buf }
`)
    // page_make_device_exclusive_one (owner NULL in lib/test_hmm.c dmirror_exclusive)
    expect(r.of('exclusive')).toEqual(times(4, (i) => `EXCLUSIVE buf[${i},${i + 1})`))
    // do_swap_page → remove_device_exclusive_entry
    expect(r.of('touch')).toEqual(times(4, (i) => `EXCLUSIVE buf[${i},${i + 1})`))
    expect(r.failed()).toEqual([])
  })

  it('MADV_DONTNEED: one CLEAR per VMA it spans, also where no PTE is present (zap_page_range_single)', () => {
    const r = run(`
  - mmap: { task: A, region: empty, size: 32K }
  - madvise: { task: A, region: empty, advice: dontneed }
  - mmap: { task: A, region: buf, size: 32K }
  - write_data: { task: A, region: buf, pattern: index }
  - mprotect: { task: A, region: buf, offset: 8K, size: 8K, prot: r }
  - madvise: { task: A, region: buf, advice: dontneed }
`)
    expect(r.of('madvise', 0)).toEqual(['CLEAR empty[0,8)'])
    expect(r.of('madvise', 1)).toEqual(['CLEAR buf[0,2)', 'CLEAR buf[2,4)', 'CLEAR buf[4,8)'])
  })

  it('fork: PROTECTION_PAGE only for a COW VMA with an anon_vma (copy_page_range, vma_needs_copy)', () => {
    const r = run(`
  - mmap: { task: A, region: untouched, size: 16K }
  - mmap: { task: A, region: readonly, size: 16K }
  - touch: { task: A, region: readonly }
  - device_read: { task: A, fd: f, region: readonly }
  - expect: { ret: 0, cpages: 4, device_pages: { device: dmirror0, task: A, count: 4 } }
  - mmap: { task: A, region: dropped, size: 16K }
  - write_data: { task: A, region: dropped, pattern: index }
  - madvise: { task: A, region: dropped, advice: dontneed }
  - mmap: { task: A, region: shm, size: 16K, shared: true }
  - write_data: { task: A, region: shm, pattern: index }
  - mmap: { task: A, region: written, size: 16K }
  - write_data: { task: A, region: written, pattern: index }
  - fork: { task: A, child: B }
  - expect: { label: "the read-faulted VMA keeps its mirror", device_pages: { device: dmirror0, task: A, count: 4 }, findings: { count: 0 } }
`)
    // untouched and read-faulted (zero page): no anon_vma; shared: not a COW mapping
    expect(r.of('fork')).toEqual(['PROTECTION_PAGE dropped[0,4)', 'PROTECTION_PAGE written[0,4)'])
    expect(r.failed()).toEqual([])
  })

  it('fork of a private hugetlb VMA raises CLEAR (copy_hugetlb_page_range)', () => {
    const r = run(`
  - nr_hugepages: 2
  - mmap: { task: A, region: h, size: 2M, hugetlb: true }
  - touch: { task: A, region: h, write: true }
  - fork: { task: A, child: B }
`)
    expect(r.of('fork')).toEqual(['CLEAR h[0,512)'])
  })

  it('munmap of a hole raises nothing; munmap of a VMA without pages raises UNMAP (do_vmi_munmap)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 32K }
  - munmap: { task: A, region: buf }
  - munmap: { task: A, region: buf }
`)
    expect(r.of('munmap', 0)).toEqual(['UNMAP buf[0,8)'])
    expect(r.of('munmap', 1)).toEqual([])
  })

  it('mprotect to the same protection raises nothing; a change raises PROTECTION_VMA (mprotect_fixup)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 32K }
  - write_data: { task: A, region: buf, pattern: index }
  - mprotect: { task: A, region: buf, prot: rw }
  - mprotect: { task: A, region: buf, prot: r }
`)
    expect(r.of('mprotect', 0)).toEqual([])
    expect(r.of('mprotect', 1)).toEqual(['PROTECTION_VMA buf[0,8)'])
  })

  it('clear_refs: SOFT_DIRTY over [0, ULONG_MAX) whatever range is named, and every present PTE write-protected (clear_refs_write)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 32K }
  - mmap: { task: A, region: other, size: 32K }
  - write_data: { task: A, region: buf, pattern: index }
  - write_data: { task: A, region: other, pattern: index }
  - device_read: { task: A, fd: f, region: other }
  - clear_refs: { task: A, region: buf, size: 4K }
  - expect: { label: "the mirror of the other region is invalidated too", device_pages: { device: dmirror0, task: A, count: 0 } }
  - snapshot: { task: A, fd: f, region: other }
  - expect: { ret: 0, snapshot: { all: 1 } }
`)
    expect(r.of('clear_refs')).toEqual(['SOFT_DIRTY whole'])
    expect(r.failed()).toEqual([])
  })

  it('mremap(FIXED): UNMAP of the target, then UNMAP of the old range twice (mremap_to, move_page_tables, do_vmi_munmap)', () => {
    const r = run(`
  - mmap: { task: A, region: src, size: 32K, at: 8G }
  - write_data: { task: A, region: src, pattern: index }
  - mmap: { task: A, region: dst, size: 32K, at: 9G }
  - mremap: { task: A, region: src, at: 9G, to_region: moved }
  - mmap: { task: A, region: src2, size: 32K, at: 10G }
  - write_data: { task: A, region: src2, pattern: index }
  - mremap: { task: A, region: src2, at: 11G, to_region: moved2 }
`)
    expect(r.of('mremap', 0)).toEqual(['UNMAP dst[0,8)', 'UNMAP src[0,8)', 'UNMAP src[0,8)'])
    // nothing mapped at the target: no UNMAP there
    expect(r.of('mremap', 1)).toEqual(['UNMAP src2[0,8)', 'UNMAP src2[0,8)'])
  })

  it('HMM_DMIRROR_RELEASE eviction: one CLEAR per page, owner NULL (dmirror_device_evict_chunk)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - migrate_to_device: { task: A, fd: f, region: buf }
  - expect: { ret: 0, cpages: 4 }
  - release_device_memory: { task: A, fd: f }
`)
    // migrate_device_range walks the device pfns upward; test_hmm's LIFO free list gave the last
    // page migrated the lowest pfn: the highest page first (traced on 6.12: 1023, 1022, ...)
    expect(r.of('release_device_memory')).toEqual(times(4, (i) => `CLEAR buf[${3 - i},${4 - i})`))
    expect(r.failed()).toEqual([])
  })

  it('a CPU fault on a device-private page shared since fork brings it back for every mapper (try_to_migrate)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - migrate_to_device: { task: A, fd: f, region: buf }
  - fork: { task: A, child: B }
  - touch: { task: B, region: buf }
  - write_data: { task: B, region: buf, pattern: neg_index }
  - touch: { task: A, region: buf }
  - expect: { memory: { task: A, region: buf, pattern: index } }
  - expect: { memory: { task: B, region: buf, pattern: neg_index } }
  - expect: { device_pages: { device: dmirror0, task: A, count: 0 } }
`)
    // the child's read: its own MIGRATE is not raised (B has no notifier: mm_has_notifiers), the
    // parent's mapping of the same folio goes under a CLEAR (try_to_migrate_one), per page
    expect(r.of('touch', 0)).toEqual(times(4, (i) => `CLEAR buf[${i},${i + 1})`))
    // the pages are shared read-only in RAM: the child's write is a COW break, one CLEAR per page
    // (B has no notifier, so nothing is raised; the copies are counted)
    expect(r.of('write_data', 1)).toEqual([])
    expect(r.result.aggregates.counters.cow_break).toBe(4)
    // and the parent's read needs nothing: its pages are in RAM already
    expect(r.of('touch', 1)).toEqual([])
    expect(r.failed()).toEqual([])
  })

  it('closing a dmirror file evicts the device memory too (dmirror_fops_release → dmirror_device_evict_chunk)', () => {
    const r = run(`
  - open: { task: A, device: dmirror0, fd: g }
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - migrate_to_device: { task: A, fd: g, region: buf }
  - expect: { ret: 0, cpages: 4 }
  - close: { task: A, fd: g }
  - expect: { memory: { task: A, region: buf, pattern: index } }
  - expect: { device_pages: { device: dmirror0, task: A, count: 0 } }
`)
    // after g's interval notifier is gone; f's mirror still receives the CLEARs
    expect(r.of('close')).toEqual(times(4, (i) => `CLEAR buf[${3 - i},${4 - i})`))
    expect(r.failed()).toEqual([])
  })

  it('splitting a VMA inside a PMD-mapped 2 MiB block: CLEAR over the 2 MiB before the UNMAP (__split_huge_pmd)', () => {
    const r = run(`
  - mmap: { task: A, region: h, size: 4M, huge: true }
  - write_data: { task: A, region: h, pattern: index }
  - munmap: { task: A, region: h, offset: 1M, size: 1M }
`)
    expect(r.of('munmap')).toEqual(['CLEAR h[0,512)', 'UNMAP h[256,512)'])
  })

  it('mremap of a PMD-mapped THP to an address at another offset in its 2 MiB: the PMD split CLEAR inside the UNMAP (move_page_tables → split_huge_pmd)', () => {
    const r = run(`
  - mmap: { task: A, region: h, size: 2M, at: 8G, huge: true }
  - write_data: { task: A, region: h, pattern: index }
  - mremap: { task: A, region: h, at: ${9 * 2 ** 30 + 512 * 1024}, to_region: moved }
  - expect: { memory: { task: A, region: moved, pattern: index } }
  - mmap: { task: A, region: k, size: 2M, at: 10G, huge: true }
  - write_data: { task: A, region: k, pattern: index }
  - mremap: { task: A, region: k, at: ${11 * 2 ** 30 + 512 * 1024}, to_region: kept, dontunmap: true }
  - mmap: { task: A, region: aligned, size: 2M, at: 12G, huge: true }
  - write_data: { task: A, region: aligned, pattern: index }
  - mremap: { task: A, region: aligned, at: 13G, to_region: moved2 }
`)
    // get_extent: the old block ends at a PMD boundary the new address does not share, so the leaf
    // cannot move whole (extent < HPAGE_PMD_SIZE) and __split_huge_pmd raises CLEAR over its 2 MiB
    // inside move_page_tables' UNMAP; the old range's munmap follows (not with DONTUNMAP). Traced on
    // 6.12.118 (migrate_remap_fault, the rounds that mremap a THP before migrating it).
    expect(r.of('mremap', 0)).toEqual(['UNMAP h[0,512)', 'CLEAR h[0,512)', 'UNMAP h[0,512)'])
    expect(r.of('mremap', 1)).toEqual(['UNMAP k[0,512)', 'CLEAR k[0,512)'])
    // both ends PMD-aligned: move_pgt_entry(HPAGE_PMD) moves the leaf, nothing is split
    expect(r.of('mremap', 2)).toEqual(['UNMAP aligned[0,512)', 'UNMAP aligned[0,512)'])
    expect(r.failed()).toEqual([])
  })

  it('DONTNEED of part of a THP: CLEAR of the range, then the nested CLEAR of the PMD split (zap_pmd_range → __split_huge_pmd)', () => {
    const r = run(`
  - mmap: { task: A, region: h, size: 4M, huge: true }
  - write_data: { task: A, region: h, pattern: index }
  - madvise: { task: A, region: h, offset: 1M, size: 1M, advice: dontneed }
  - expect: { memory: { task: A, region: h, size: 1M, pattern: index } }
`)
    expect(r.of('madvise')).toEqual(['CLEAR h[256,512)', 'CLEAR h[0,512)'])
    expect(r.failed()).toEqual([])
  })

  it('exit: RELEASE [0, ULONG_MAX), then UNMAP [0, ULONG_MAX) (exit_mmap)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - exit: { task: A }
`)
    expect(r.of('exit')).toEqual(['RELEASE whole', 'UNMAP whole'])
  })
})

describe('item 8: VMAs merge and carry an anon_vma', () => {
  it('a read-only region merged with a written neighbour is write-protected and its mirror emptied at fork (vma_merge_new_range, vma_needs_copy)', () => {
    const r = run(`
  - mmap: { task: A, region: lo, size: 16K, at: 8G }
  - mmap: { task: A, region: hi, size: 16K, at: 8388624K }
  - write_data: { task: A, region: lo, pattern: index }
  - touch: { task: A, region: hi }
  - device_read: { task: A, fd: f, region: hi }
  - expect: { ret: 0, cpages: 4, device_pages: { device: dmirror0, task: A, count: 4 } }
  - fork: { task: A, child: B }
  - expect: { label: "one VMA, one PROTECTION_PAGE over both regions", counter: { name: invalidate.PROTECTION_PAGE, value: 1 } }
  - expect: { label: "the read-only region's mirror is emptied", device_pages: { device: dmirror0, task: A, count: 0 } }
`)
    expect(r.of('fork')).toEqual(['PROTECTION_PAGE lo[0,8)'])
    expect(r.failed()).toEqual([])
  })

  it('VMAs with different protections do not merge; mprotect back merges them again (vma_modify_flags)', () => {
    const r = run(`
  - mmap: { task: A, region: lo, size: 16K, at: 8G, prot: r }
  - mmap: { task: A, region: hi, size: 16K, at: 8388624K }
  - madvise: { task: A, region: lo, size: 32K, advice: dontneed }
  - mprotect: { task: A, region: lo, prot: rw }
  - madvise: { task: A, region: lo, size: 32K, advice: dontneed }
`)
    expect(r.of('madvise', 0)).toEqual(['CLEAR lo[0,4)', 'CLEAR hi[0,4)'])
    expect(r.of('madvise', 1)).toEqual(['CLEAR lo[0,8)'])
  })

  it('a split by mprotect merges back when the protection is restored', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 32K }
  - mprotect: { task: A, region: buf, offset: 8K, size: 8K, prot: r }
  - madvise: { task: A, region: buf, advice: dontneed }
  - mprotect: { task: A, region: buf, offset: 8K, size: 8K, prot: rw }
  - madvise: { task: A, region: buf, advice: dontneed }
`)
    expect(r.of('madvise', 0)).toEqual(['CLEAR buf[0,2)', 'CLEAR buf[2,4)', 'CLEAR buf[4,8)'])
    expect(r.of('madvise', 1)).toEqual(['CLEAR buf[0,8)'])
  })

  it('the anon_vma comes with the first write or COW fault, not with a read of the zero page (do_anonymous_page, wp_page_copy)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - touch: { task: A, region: buf }
  - fork: { task: A, child: B }
  - touch: { task: A, region: buf, offset: 4K, size: 4K, write: true }
  - fork: { task: A, child: C }
`)
    expect(r.of('fork', 0)).toEqual([])
    expect(r.of('fork', 1)).toEqual(['PROTECTION_PAGE buf[0,4)'])
  })
})

describe('item 9: the CPU side', () => {
  it('a COW write to a THP after fork splits the PMD and copies 4 KiB (do_huge_pmd_wp_page → __split_huge_pmd, wp_page_copy)', () => {
    const r = run(
      `
  - mmap: { task: A, region: h, size: 2M, huge: true }
  - write_data: { task: A, region: h, pattern: index }
  - fork: { task: A, child: B }
  - open: { task: B, device: dmirror0, fd: g }
  - write_data: { task: B, region: h, offset: 4K, size: 4K, pattern: { const: 7 } }
  - expect: { label: "the child's copy is one 4 KiB page", live: { type: pages, owner: B, bytes: ${PAGE} } }
  - expect: { memory: { task: B, region: h, offset: 0, size: 4K, pattern: index } }
  - expect: { memory: { task: B, region: h, offset: 8K, size: 8K, pattern: { index_plus: 0 } } }
  - expect: { memory: { task: A, region: h, pattern: index } }
`,
      'B',
    )
    expect(r.of('write_data', 1)).toEqual(['CLEAR h[0,512)', 'CLEAR h[1,2)'])
    expect(r.failed()).toEqual([])
  })

  it('a write to the huge zero page splits it and copies 4 KiB (do_huge_pmd_wp_page fallback)', () => {
    const r = run(`
  - mmap: { task: A, region: h, size: 2M, huge: true }
  - touch: { task: A, region: h }
  - touch: { task: A, region: h, offset: 8K, size: 4K, write: true }
  - expect: { live: { type: pages, owner: A, bytes: ${PAGE} } }
`)
    expect(r.of('touch', 1)).toEqual(['CLEAR h[0,512)', 'CLEAR h[2,3)'])
    expect(r.failed()).toEqual([])
  })

  it('each PMD-mapped THP keeps a deposited PTE table (pgtable_trans_huge_deposit)', () => {
    // pgd + one PMD table + one deposited PTE table per THP
    const r = run(`
  - mmap: { task: A, region: h, size: 4M, huge: true, at: 8G }
  - touch: { task: A, region: h, size: 4K, write: true }
  - expect: { live: { type: cpu_pagetable, owner: A, bytes: ${3 * PAGE} } }
  - touch: { task: A, region: h, offset: 2M, size: 4K }
  - expect: { label: "the huge zero page deposits one too", live: { type: cpu_pagetable, owner: A, bytes: ${4 * PAGE} } }
  - fork: { task: A, child: B }
  - expect: { label: "copy_huge_pmd deposits in the child", live: { type: cpu_pagetable, owner: B, bytes: ${4 * PAGE} } }
  - munmap: { task: A, region: h, size: 2M }
  - expect: { live: { type: cpu_pagetable, owner: A, bytes: ${3 * PAGE} } }
`)
    expect(r.failed()).toEqual([])
  })

  it('mprotect back to read-write makes exclusive anonymous PTEs writable (change_pte_range → can_change_pte_writable)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - mmap: { task: A, region: zero, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - touch: { task: A, region: zero }
  - mprotect: { task: A, region: buf, prot: r }
  - mprotect: { task: A, region: buf, prot: rw }
  - snapshot: { task: A, fd: f, region: buf }
  - expect: { ret: 0, snapshot: { all: 2 } }
  - mprotect: { task: A, region: zero, prot: r }
  - mprotect: { task: A, region: zero, prot: rw }
  - snapshot: { task: A, fd: f, region: zero }
  - expect: { label: "the zero page stays read-only", ret: 0, snapshot: { all: 17 } }
`)
    expect(r.failed()).toEqual([])
  })

  it('page tables are freed as the kernel frees them: DONTNEED keeps the PMD table, munmap frees what no VMA covers (free_pgtables)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 4M, at: 8G }
  - write_data: { task: A, region: buf, pattern: index }
  - expect: { live: { type: cpu_pagetable, owner: A, bytes: ${4 * PAGE} } }
  - madvise: { task: A, region: buf, offset: 2M, size: 1M, advice: dontneed }
  - expect: { label: "a PTE table partly zapped stays", live: { type: cpu_pagetable, owner: A, bytes: ${4 * PAGE} } }
  - madvise: { task: A, region: buf, advice: dontneed }
  - expect: { label: "empty PTE tables freed (PT_RECLAIM), the PMD table kept", live: { type: cpu_pagetable, owner: A, bytes: ${2 * PAGE} } }
  - write_data: { task: A, region: buf, pattern: index }
  - munmap: { task: A, region: buf, size: 2M }
  - expect: { live: { type: cpu_pagetable, owner: A, bytes: ${3 * PAGE} } }
  - munmap: { task: A, region: buf, offset: 2M, size: 2M }
  - expect: { label: "nothing left in the PMD table's 1 GiB", live: { type: cpu_pagetable, owner: A, bytes: ${PAGE} } }
`)
    expect(r.failed()).toEqual([])
  })

  it('a read fault on a file mapping maps the cached pages around it (do_fault_around, 64 KiB)', () => {
    const r = run(`
  - open_tmpfile: { task: A, fd: file, size: 256K }
  - pwrite: { task: A, fd: file, pattern: index }
  - mmap: { task: A, region: buf, size: 256K, fd: file, shared: true, prot: r }
  - touch: { task: A, region: buf, offset: 20K, size: 4K }
  - expect: { pagemap: { task: A, region: buf, size: 64K, present: true } }
  - expect: { pagemap: { task: A, region: buf, offset: 64K, size: 192K, present: false } }
`)
    expect(r.failed()).toEqual([])
  })
})

describe('device memory faults: the order the kernel raises them in', () => {
  it('a CPU write to device-private pages shared since fork: MIGRATE, then CLEAR from the rmap walk, then the COW CLEAR (hmm_cow_in_device)', () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - migrate_to_device: { task: A, fd: f, region: buf }
  - expect: { ret: 0, cpages: 4 }
  - fork: { task: A, child: B }
  - write_data: { task: A, region: buf, pattern: neg_index }
  - expect: { memory: { task: A, region: buf, pattern: neg_index } }
  - expect: { memory: { task: B, region: buf, pattern: index } }
`)
    // do_swap_page → dmirror_devmem_fault → migrate_vma_setup: MIGRATE of the page (owner = the
    // device); migrate_vma_collect_pmd has already made A's entry a migration entry, and
    // migrate_device_unmap → try_to_migrate walks the anon_vma from A's VMA (the parent's, first in
    // the tree): try_to_migrate_one raises CLEAR before it finds nothing there, then converts B's;
    // the write then faults again and wp_page_copy copies the page (CLEAR). Traced on 6.12.118:
    // MIGRATE, CLEAR, CLEAR per page.
    expect(r.of('write_data', 1)).toEqual(
      Array.from({ length: 4 }, (_, i) => [`MIGRATE buf[${i},${i + 1}) owner=0`, `CLEAR buf[${i},${i + 1})`, `CLEAR buf[${i},${i + 1})`]).flat(),
    )
    expect(r.failed()).toEqual([])
  })

  it('a device write over COW pages and device-private pages: every page of the span faulted once, the copies of the migrated ones on the next pass (hmm_vma_fault)', () => {
    const r = run(
      `
  - mmap: { task: A, region: buf, size: 32K }
  - write_data: { task: A, region: buf, pattern: index }
  - migrate_to_device: { task: A, fd: f, region: buf }
  - expect: { ret: 0, cpages: 8 }
  - touch: { task: A, region: buf, size: 16K }
  - fork: { task: A, child: B }
  - open: { task: B, device: dmirror0, fd: g }
  - device_write: { task: B, fd: g, region: buf, pattern: neg_index }
  - expect: { ret: 0, cpages: 8 }
  - expect: { memory: { task: B, region: buf, pattern: neg_index } }
  - expect: { memory: { task: A, region: buf, pattern: index } }
`,
      'B',
    )
    // hmm_vma_handle_pte meets page 0 (shared with A: no write) and hmm_vma_fault calls
    // handle_mm_fault once on every page to the end of the PMD range: pages 0-3 are copied
    // (wp_page_copy), pages 4-7 come back from the device (migrate_to_ram; B's VMA is visited after
    // A's by try_to_migrate, so B gets no CLEAR of its own) and do_swap_page ends there. The walk
    // restarts (-EBUSY) and faults pages 4-7 again: now the COW copies. Traced on 6.12.118
    // (data-cow-and-migration line 32).
    expect(r.of('device_write')).toEqual([
      ...times(4, (i) => `CLEAR buf[${i},${i + 1})`),
      ...times(4, (i) => `MIGRATE buf[${i + 4},${i + 5}) owner=0`),
      ...times(4, (i) => `CLEAR buf[${i + 4},${i + 5})`),
    ])
    expect(r.failed()).toEqual([])
  })

  it("the device's own private pages after the first page that needs a fault go back to RAM too (handle_mm_fault does not know who asked)", () => {
    const r = run(`
  - mmap: { task: A, region: buf, size: 32K }
  - write_data: { task: A, region: buf, offset: 4K, size: 28K, pattern: index }
  - migrate_to_device: { task: A, fd: f, region: buf, offset: 4K, size: 28K }
  - expect: { ret: 0, cpages: 7 }
  - device_read: { task: A, fd: f, region: buf }
  - expect: { ret: 0, cpages: 8 }
`)
    // page 0 is empty: hmm_vma_fault(page 0, end of the PMD range) faults every page from there,
    // and do_swap_page sends each device-private page to migrate_to_ram, the reader's own included
    expect(r.of('device_read')).toEqual(times(7, (i) => `MIGRATE buf[${i + 1},${i + 2}) owner=0`))
    expect(r.failed()).toEqual([])
  })

  it('FOLL_LONGTERM on a DEVICE_COHERENT page: CLEAR with no owner, not MIGRATE (migrate_device_coherent_folio)', () => {
    const r = run(
      `
  - mmap: { task: A, region: buf, size: 16K }
  - write_data: { task: A, region: buf, pattern: index }
  - migrate_to_device: { task: A, fd: f, region: buf }
  - expect: { ret: 0, cpages: 4 }
  - gup: { task: A, region: buf, offset: 8K, size: 4K, pin: true, longterm: true }
  - expect: { ret: 0 }
  - snapshot: { task: A, fd: f, region: buf }
  - expect: { ret: 0, snapshot: [0x42, 0x42, 0x02, 0x42] }
`,
      'A',
      HEADER.replace('{ name: dmirror0, kind: dmirror }', '{ name: dmirror0, kind: dmirror, memory: coherent }'),
    )
    // check_and_migrate_movable_folios → migrate_device_coherent_folio has no VMA and no range: it
    // calls migrate_device_unmap directly, whose try_to_migrate_one raises CLEAR (owner NULL).
    // Traced on 6.12.118 (hmm_gup_test, coherent variant).
    expect(r.of('gup')).toEqual(['CLEAR buf[2,3)'])
    expect(r.failed()).toEqual([])
  })
})
