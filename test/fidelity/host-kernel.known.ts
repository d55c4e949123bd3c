/**
 * Declared disagreements between this machine's kernel and the simulator (issue 13): for each,
 * the kernel's number (measured by native/hostcheck/patterns.c), the simulator's number, the
 * kernel function that decides the kernel's number and the issue-13 item. The simulator is not
 * fixed here: the fidelity work fixes the model and then deletes the entry
 * (test/fidelity/host-kernel.test.ts fails while an entry no longer occurs, and on any difference
 * no entry declares). docs/fidelity.md carries the same table (the test checks it).
 *
 * Measured on 6.18.44 x86-64 (THP madvise, CONFIG_PT_RECLAIM=y, root). `when` names the host fact
 * under which the kernel's number holds; entries with `pt_reclaim: false` follow from the 6.12
 * source (zap_page_range_single never frees page tables there) and apply on such kernels; `since`
 * is the release that brought the behaviour (mprotect's write upgrade of exclusive anonymous PTEs:
 * v6.0, "mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing
 * protection"; COW of a THP by splitting the PMD: v5.8, "thp: change CoW semantics for anon-THP"),
 * so an older kernel agrees with the model there and the entry does not apply.
 */
import type { Known } from './host-kernel'

export const KNOWN: Known[] = [
  // MADV_DONTNEED: the model follows CONFIG_PT_RECLAIM (v6.13, default on x86-64: empty PTE tables
  // freed, never the PMD table); a kernel without it frees no table there
  {
    pattern: 'dontneed_half',
    task: 'self',
    phase: 'dontneed_second_half',
    metric: 'pt_bytes',
    kernel: 12288,
    sim: 8192,
    decided_by: 'zap_page_range_single (frees no page table)',
    item: '9 (page tables freed as the kernel frees them)',
    when: { pt_reclaim: false },
  },
  {
    pattern: 'dontneed_half',
    task: 'self',
    phase: 'dontneed_first_half',
    metric: 'pt_bytes',
    kernel: 12288,
    sim: 4096,
    decided_by: 'zap_page_range_single (frees no page table)',
    item: '9 (page tables freed as the kernel frees them)',
    when: { pt_reclaim: false },
  },
]
