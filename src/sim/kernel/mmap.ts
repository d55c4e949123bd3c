/**
 * mmap(2) and munmap(2) (mm/mmap.c, mm/vma.c): do_mmap placing a new VMA (2 MiB aligned when large
 * or huge), do_vmi_munmap with its UNMAP invalidation.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EINVAL, ENOMEM } from './errno'
import { ShmemObj, SIZEOF, Vma, type File, type MmStruct } from './objects'
import { PTE_FILE, PTE_PRESENT } from './pagetable'
import { removeVma } from './mm'
import { getFile } from './files'
import { HPAGE_PMD_NR } from './page'
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
  at: number | null
  /** MAP_HUGETLB (private, default 2 MiB huge page size). */
  hugetlb?: boolean
  /** A regular (tmpfs) file's page cache: MAP_SHARED maps its pages, MAP_PRIVATE COW-copies them. */
  pagecache?: ShmemObj | null
}

/** mmap: places a new VMA (2 MiB aligned when large or huge). Returns the start page or an errno. */
export function doMmap(w: Kernel, mm: MmStruct, a: MmapArgs, path: CallPath): number {
  const p = [...path, 'do_mmap']
  if (a.pages <= 0) return EINVAL
  const hugetlb = a.hugetlb ?? false
  if (hugetlb) {
    // MAP_HUGETLB: private anonymous hugetlb pages, length rounded up to the huge page size; the
    // pages are reserved now (hugetlb_reserve_pages) and mmap fails without enough free ones
    if (a.shared || a.file || a.pagecache) return EINVAL
    a = { ...a, pages: Math.ceil(a.pages / HPAGE_PMD_NR) * HPAGE_PMD_NR }
    if (a.at !== null && a.at & (HPAGE_PMD_NR - 1)) return EINVAL
    if (w.frames.hugetlbFree() - hugetlbReserved(w) < a.pages / HPAGE_PMD_NR) {
      w.count('hugetlb.mmap_enomem')
      return ENOMEM
    }
  }
  let start: number
  if (a.at !== null) {
    start = a.at
    const s0 = start
    if (mm.vmas.some((v) => v.start < s0 + a.pages && s0 < v.end)) return EINVAL
  } else {
    const align = a.huge || hugetlb || a.pages >= HPAGE_PMD_NR ? HPAGE_PMD_NR : 1
    start = Math.ceil(mm.mmapBase / align) * align
  }
  // __get_unmapped_area (mm/mmap.c): `addr > TASK_SIZE - len` fails with -ENOMEM before
  // mmap_region runs, so a failed mmap leaves the mm as it was (the next one still fits)
  if (start + a.pages > 0xffffffff) return ENOMEM
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
    let ceiling = 0x100000000
    for (const x of mm.vmas) {
      if (x.end <= g.start && x.end > floor) floor = x.end
      if (x.start >= g.end && x.start < ceiling) ceiling = x.start
    }
    freed += mm.pt.freePgtables(g.start, g.end, floor, ceiling)
  }
  return freed
}
