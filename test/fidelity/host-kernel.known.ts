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

const DEPOSIT = 'do_huge_pmd_anonymous_page → pgtable_trans_huge_deposit'
const DEPOSIT_FORK = 'copy_huge_pmd → pgtable_trans_huge_deposit'
const THP_COW = 'do_huge_pmd_wp_page → __split_huge_pmd, then wp_page_copy (4 KiB)'
const FAULT_AROUND = 'do_read_fault → do_fault_around (fault_around_bytes = 64 KiB)'

export const KNOWN: Known[] = [
  // MADV_DONTNEED: the kernel never frees the PMD table on DONTNEED (with CONFIG_PT_RECLAIM it frees
  // empty PTE tables only); the model frees every table that becomes empty
  { pattern: 'dontneed_half', task: 'self', phase: 'dontneed_first_half', metric: 'pt_bytes', kernel: 4096, sim: 0, decided_by: 'madvise_dontneed_single_vma → zap_page_range_single_batched (reclaim_pt: PTE tables only)', item: '9 (page tables freed as the kernel frees them)', when: { pt_reclaim: true } },
  { pattern: 'dontneed_half', task: 'self', phase: 'dontneed_second_half', metric: 'pt_bytes', kernel: 12288, sim: 8192, decided_by: 'zap_page_range_single (frees no page table)', item: '9 (page tables freed as the kernel frees them)', when: { pt_reclaim: false } },
  { pattern: 'dontneed_half', task: 'self', phase: 'dontneed_first_half', metric: 'pt_bytes', kernel: 12288, sim: 0, decided_by: 'zap_page_range_single (frees no page table)', item: '9 (page tables freed as the kernel frees them)', when: { pt_reclaim: false } },


  // mprotect back to read-write: exclusive anonymous PTEs become writable at once
  { pattern: 'mprotect_ro_rw', task: 'self', phase: 'write', metric: 'minflt', kernel: 0, sim: 1024, decided_by: 'change_pte_range → can_change_pte_writable (MM_CP_TRY_CHANGE_WRITABLE)', item: '9 (mprotect RW makes exclusive anon PTEs writable)', when: { since: '6.0' } },

  // fault-around: a read fault on a file / shmem mapping maps up to 16 page-cache pages
  { pattern: 'shared_fork', task: 'child', phase: 'read', metric: 'minflt', kernel: 64, sim: 1024, decided_by: FAULT_AROUND, item: '9 (count minor faults; file read faults map around)' },
  { pattern: 'file_read', task: 'self', phase: 'read', metric: 'minflt', kernel: 64, sim: 1024, decided_by: FAULT_AROUND, item: '9 (count minor faults; file read faults map around)' },

  // THP: every PMD-mapped THP keeps a deposited PTE table (counted in VmPTE); the model counts none
  { pattern: 'thp', task: 'self', phase: 'write_one_page_first_pmd', metric: 'pt_bytes', kernel: 8192, sim: 4096, decided_by: DEPOSIT, item: '9 (each THP keeps a deposited PTE table)' },
  { pattern: 'thp', task: 'self', phase: 'write_second_pmd', metric: 'pt_bytes', kernel: 12288, sim: 4096, decided_by: DEPOSIT, item: '9 (each THP keeps a deposited PTE table)' },
  { pattern: 'thp', task: 'self', phase: 'fork', metric: 'pt_bytes', kernel: 12288, sim: 4096, decided_by: DEPOSIT, item: '9 (each THP keeps a deposited PTE table)' },
  { pattern: 'thp', task: 'child', phase: 'after_fork', metric: 'pt_bytes', kernel: 12288, sim: 4096, decided_by: DEPOSIT_FORK, item: '9 (each THP keeps a deposited PTE table)' },
  { pattern: 'thp', task: 'child', phase: 'write_one_page_second_pmd', metric: 'pt_bytes', kernel: 12288, sim: 4096, decided_by: `${THP_COW} (the split uses the deposited table)`, item: '9 (each THP keeps a deposited PTE table)' },
  { pattern: 'thp', task: 'self', phase: 'child_exit', metric: 'pt_bytes', kernel: 12288, sim: 4096, decided_by: DEPOSIT, item: '9 (each THP keeps a deposited PTE table)' },
  { pattern: 'thp', task: 'self', phase: 'write_one_page_second_pmd', metric: 'pt_bytes', kernel: 12288, sim: 4096, decided_by: DEPOSIT, item: '9 (each THP keeps a deposited PTE table)' },

  // THP COW after fork: the kernel splits the child's PMD and copies one 4 KiB page; the model
  // copies the whole 2 MiB folio
  { pattern: 'thp', task: 'child', phase: 'write_one_page_second_pmd', metric: 'thp.cow', kernel: 1, sim: 512, decided_by: THP_COW, item: '9 (THP COW after fork copies 4 KiB and splits the PMD)', when: { since: '5.8' } },
  { pattern: 'thp', task: 'child', phase: 'write_one_page_second_pmd', metric: 'thp.exclusive', kernel: 1, sim: 512, decided_by: THP_COW, item: '9 (THP COW after fork copies 4 KiB and splits the PMD)', when: { since: '5.8' } },
  { pattern: 'thp', task: 'child', phase: 'write_one_page_second_pmd', metric: 'thp.anon_huge_kb', kernel: 2048, sim: 4096, decided_by: THP_COW, item: '9 (THP COW after fork copies 4 KiB and splits the PMD)', when: { since: '5.8' } },
]
