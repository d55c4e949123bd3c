/**
 * mmap(2) and munmap(2) (mm/mmap.c, mm/vma.c): do_mmap placing a new VMA (2 MiB aligned when large
 * or huge, or MAP_FIXED at a given address, replacing what was there), do_vmi_munmap with its
 * UNMAP invalidation.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EEXIST, EINVAL, ENOMEM, EPERM } from './errno'
import { ShmemObj, SIZEOF, Vma, type File, type MmStruct } from './objects'
import { PTE_FILE, PTE_PRESENT } from './pagetable'
import { removeVma } from './mm'
import { getFile } from './files'
import { HPAGE_PMD_NR, PAGE_SIZE } from './page'
import { insertVma, hugetlbReserved, hugetlbAlignCheck } from './vma'
import { zapRange, invalidated } from './memory'
import { splitVma, vmaMerge } from './vma_modify'
import { mmapReadUnlock, mmapWriteDowngrade, mmapWriteLock, mmapWriteUnlock } from './mmap_lock'
import { ptTablesCost } from '../cost/model'

export interface MmapArgs {
  pages: number
  prot: number
  shared: boolean
  huge: boolean
  file: File | null
  /** MAP_FIXED address (a page number), or null: the next free area. */
  at: number | null
  /** With `at`: MAP_FIXED_NOREPLACE (-EEXIST on an overlap) instead of MAP_FIXED (replace). */
  noreplace?: boolean
  /** MAP_HUGETLB (private, default 2 MiB huge page size). */
  hugetlb?: boolean
  /** A regular (tmpfs) file's page cache: MAP_SHARED maps its pages, MAP_PRIVATE COW-copies them. */
  pagecache?: ShmemObj | null
}

/** Pages of the model's address space: page numbers below 2^32, 16 TiB (x86-64's TASK_SIZE is 128 TiB). */
export const MODEL_PAGES = 0x100000000

/**
 * mmap (do_mmap → __get_unmapped_area → mmap_region): places a new VMA (2 MiB aligned when large
 * or huge), or with `at` exactly there (MAP_FIXED), unmapping what it overlaps first. Returns the
 * start page or an errno; a failed call leaves the mm as it was.
 */
export function* doMmap(w: Kernel, mm: MmStruct, a: MmapArgs, path: CallPath): Proc<number> {
  const p = [...path, 'do_mmap']
  if (a.pages <= 0) return EINVAL
  const hugetlb = a.hugetlb ?? false
  if (hugetlb) {
    // MAP_HUGETLB: private anonymous hugetlb pages, length rounded up to the huge page size
    if (a.shared || a.file || a.pagecache) return EINVAL
    a = { ...a, pages: Math.ceil(a.pages / HPAGE_PMD_NR) * HPAGE_PMD_NR }
    // hugetlb_get_unmapped_area → prepare_hugepage_range: a fixed address must be huge-page aligned
    if (a.at !== null && a.at & (HPAGE_PMD_NR - 1)) return EINVAL
  }
  let start: number
  let replace = false
  if (a.at !== null) {
    start = a.at
    const s0 = start
    // __get_unmapped_area: `addr > TASK_SIZE - len` is -ENOMEM. The scenario checker keeps a fixed
    // range inside the model's 16 TiB, far below TASK_SIZE, so this only guards the model's limit
    if (start + a.pages > MODEL_PAGES) return ENOMEM
    // __get_unmapped_area → security_mmap_addr → cap_mmap_addr: below mmap_min_addr needs
    // CAP_SYS_RAWIO, which the model's tasks do not have
    if (start * PAGE_SIZE < w.mmapMinAddr) return EPERM
    replace = mm.vmas.some((v) => v.start < s0 + a.pages && s0 < v.end)
    // do_mmap: MAP_FIXED_NOREPLACE refuses any overlap (find_vma_intersection)
    if (replace && a.noreplace) return EEXIST
  } else {
    const align = a.huge || hugetlb || a.pages >= HPAGE_PMD_NR ? HPAGE_PMD_NR : 1
    start = Math.ceil(mm.mmapBase / align) * align
    // the next free area past the model's 16 TiB: -ENOMEM, as the kernel's search gives when it
    // finds no room below TASK_SIZE (vm_unmapped_area); the model's space is the smaller one
    if (start + a.pages > MODEL_PAGES) return ENOMEM
  }
  if (hugetlb && w.frames.hugetlbFree() - hugetlbReserved(w) < a.pages / HPAGE_PMD_NR) {
    // mmap_region → hugetlbfs_file_mmap → hugetlb_reserve_pages: mmap fails without enough free
    // huge pages (a MAP_FIXED one before anything it would replace is unmapped: abort_munmap)
    w.count('hugetlb.mmap_enomem')
    return ENOMEM
  }
  if (replace) {
    // MAP_FIXED over existing mappings (__mmap_region): vms_gather_munmap_vmas splits and detaches
    // them, vms_clean_up_area → vms_clear_ptes zaps the range under one MMU_NOTIFY_UNMAP
    // (unmap_vmas) and frees its page tables, the new VMA takes the range and the old ones are
    // freed; all under mmap_lock held for write, never downgraded (init_vma_munmap, unlock false)
    yield* mmapWriteLock(w, mm)
    const r = yield* doMunmap(w, mm, start, start + a.pages, [...p, 'mmap_region'])
    mmapWriteUnlock(w, mm)
    if (r < 0) return r
    w.count('mmap.fixed_replaced')
  }
  if (a.at === null) mm.mmapBase = start + a.pages + HPAGE_PMD_NR
  const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, [...p, 'vm_area_alloc'])
  let shmem = a.shared && !a.file ? new ShmemObj(w.id(), mm.owner) : null
  if (a.pagecache) {
    shmem = a.pagecache
    shmem.refs++
  }
  // an anonymous private mapping's vm_pgoff is its address (do_mmap: pgoff = addr >> PAGE_SHIFT),
  // which is what lets a neighbour placed right after it merge
  const anon = !a.file && !shmem
  const v = new Vma(start, start + a.pages, a.prot, a.shared, a.file, a.huge, id, shmem, anon ? start : 0)
  v.hugetlb = hugetlb
  if (a.file) getFile(w, a.file, p)
  insertVma(mm, v)
  if (a.file && a.file.dev.spec.kind === 'dmirror') {
    // dmirror_fops_mmap: a zeroed driver page per VMA page, vm_insert_page'd read-only (VM_MIXEDMAP)
    v.mixedmap = true
    if (a.prot !== 0) for (let pg = start; pg < start + a.pages; pg++) mm.pt.set(pg, PTE_PRESENT | PTE_FILE, w.frames.alloc(0, mm.owner))
  }
  // mmap_region → vma_merge_new_range: an adjacent compatible VMA absorbs the new one
  vmaMerge(w, mm, v, p)
  return start
}

/** munmap(2) (`__vm_munmap`): takes mmap_lock for write, unmaps, and leaves it released. */
export function* vmMunmap(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  yield* mmapWriteLock(w, mm)
  const r = yield* doMunmap(w, mm, start, end, [...path, '__vm_munmap'], true)
  // on success with `unlock` do_vmi_munmap returned with the lock released
  if (r < 0) mmapWriteUnlock(w, mm)
  return r
}

/**
 * do_vmi_munmap → do_vmi_align_munmap (mm/vma.c), called with mmap_lock held for write. The VMAs
 * are split at the edges and detached from the mm first (vms_gather_munmap_vmas,
 * vma_iter_clear_gfp); then vms_complete_munmap_vmas downgrades the lock to read when `unlock`
 * (munmap(2) does, mremap does not), zaps the range under its MMU_NOTIFY_UNMAP invalidation
 * (vms_clear_ptes → unmap_vmas), frees the VMAs (remove_vma) and drops the read lock. A fault or
 * hmm_range_fault that gets the read lock after the detach finds no VMA and fails with -EFAULT
 * (hmm_vma_walk_hole), so no CPU PTE or device entry can reappear in the unmapped range.
 */
export function* doMunmap(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath, unlock = false): Proc<number> {
  const p = [...path, 'do_vmi_munmap']
  if (end <= start) return EINVAL
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  // do_vmi_munmap: no VMA in the range, nothing to do (no invalidation)
  if (!mm.vmas.some((v) => v.start < end && start < v.end)) {
    if (unlock) mmapWriteUnlock(w, mm)
    return 0
  }
  yield* splitVma(w, mm, start, p)
  yield* splitVma(w, mm, end, p)
  // detach first (vms_gather_munmap_vmas), then downgrade to read (munmap(2) only)
  const gone = mm.vmas.filter((v) => v.start >= start && v.end <= end)
  mm.vmas = mm.vmas.filter((v) => !(v.start >= start && v.end <= end))
  if (unlock) mmapWriteDowngrade(w, mm)
  // vms_clear_ptes → unmap_vmas: one UNMAP over the requested range, then free_pgtables between
  // the neighbours that stay (vms->unmap_start / unmap_end)
  yield* invalidated(w, mm, start, end, 'UNMAP', [...p, 'vms_complete_munmap_vmas', 'vms_clear_ptes', 'unmap_vmas'], () => {
    // unmap_vmas: zap + folio free per entry (a 2 MiB leaf is one, zap_huge_pmd)
    const entries = { n: 0 }
    zapRange(w, mm, start, end, entries)
    return w.costs.munmap_base + entries.n * w.costs.munmap_pte
  })
  // free_pgtables after unmap_vmas' invalidation: each table page freed costs pt_free
  const freed = freeGoneTables(mm, gone)
  for (const v of gone) removeVma(w, v, [...p, 'remove_vma'])
  const tables = ptTablesCost(w.costs, -freed)
  if (tables > 0) yield sleep(tables)
  if (unlock) mmapReadUnlock(w, mm)
  return 0
}

/**
 * free_pgtables for VMAs just removed from `mm.vmas` (sorted): each run of them is given the end
 * of the VMA below and the start of the VMA above as floor and ceiling (free_pgd_range). Returns
 * the table pages freed.
 */
export function freeGoneTables(mm: MmStruct, gone: readonly Vma[]): number {
  let freed = 0
  for (const g of gone) {
    let floor = 0
    let ceiling = MODEL_PAGES
    for (const x of mm.vmas) {
      if (x.end <= g.start && x.end > floor) floor = x.end
      if (x.start >= g.end && x.start < ceiling) ceiling = x.start
    }
    freed += mm.pt.freePgtables(g.start, g.end, floor, ceiling)
  }
  return freed
}
