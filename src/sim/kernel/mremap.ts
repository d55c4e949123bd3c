/**
 * mremap(2) (mm/mremap.c): move_vma with its UNMAP invalidation of the old range, MREMAP_DONTUNMAP.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EFAULT, EINVAL, ENOMEM } from './errno'
import { SIZEOF, Vma, copyForkFlags, type MmStruct } from './objects'
import { getFile } from './files'
import { HPAGE_PMD_NR } from './page'
import { findVma, insertVma, hugetlbAlignCheck, checkAccessMapped } from './vma'
import { splitPartialHuge } from './huge_memory'
import { invalidated, invalidatedSplitting } from './memory'
import { doMunmap, freeGoneTables, MODEL_PAGES } from './mmap'
import { removeVma } from './mm'
import { splitVma, vmaMerge } from './vma_modify'

/** mremap(MREMAP_MAYMOVE|FIXED[|DONTUNMAP]): moves [start, end) to `to` (UNMAP on the old range). */
export function* doMremap(w: Kernel, mm: MmStruct, start: number, end: number, to: number | null, dontunmap: boolean, path: CallPath): Proc<number> {
  const p = [...path, 'mremap']
  const v0 = findVma(mm, start)
  if (!v0 || checkAccessMapped(mm, start, end) < 0) return EFAULT
  if (hugetlbAlignCheck(mm, start, end) < 0 || (v0.hugetlb && to !== null && to & (HPAGE_PMD_NR - 1))) return EINVAL
  const pages = end - start
  let dst: number
  if (to === null) {
    const align = pages >= HPAGE_PMD_NR ? HPAGE_PMD_NR : 1
    dst = Math.ceil(mm.mmapBase / align) * align
    // mremap_to/move_vma get the new range from get_unmapped_area: -ENOMEM leaves the mm as it was
    // (here: no room left in the model's 16 TiB, which is smaller than TASK_SIZE)
    if (dst + pages > MODEL_PAGES) return ENOMEM
    mm.mmapBase = dst + pages + HPAGE_PMD_NR
  } else {
    dst = to
    // mremap_to: `new_addr > TASK_SIZE - new_len` is -EINVAL; the scenario checker keeps `at`
    // inside the model's 16 TiB, so past it only a range longer than the checker saw lands here
    if (dst + pages > MODEL_PAGES) return EINVAL
    if (dst < end && start < dst + pages) return EINVAL
    // mremap_to: do_munmap of the target first (UNMAP there only if a VMA is there)
    const r = yield* doMunmap(w, mm, dst, dst + pages, p)
    if (r < 0) return r
  }
  yield* splitVma(w, mm, start, p)
  yield* splitVma(w, mm, end, p)
  const moving = mm.vmas.filter((v) => v.start >= start && v.end <= end)
  // move_vma → move_page_tables: UNMAP over the old range while the entries move. A PMD leaf moves
  // whole only when its 2 MiB extent lines up at both ends (get_extent == HPAGE_PMD_SIZE); any other
  // is split first (split_huge_pmd → __split_huge_pmd: a CLEAR over its 2 MiB, nested in the UNMAP)
  const leaves: number[] = []
  mm.pt.forEach(start, end, (pg, _f, _pfn, huge) => {
    if (huge && ((dst - start) & (HPAGE_PMD_NR - 1) || pg < start || pg + HPAGE_PMD_NR > end)) leaves.push(pg)
  })
  yield* invalidatedSplitting(
    w,
    mm,
    start,
    end,
    'UNMAP',
    [...p, 'move_vma', 'move_page_tables'],
    () => {
      splitPartialHuge(w, mm, start, end)
      const moved: Array<[number, number, number, boolean, boolean]> = []
      mm.pt.forEach(start, end, (pg, f, pfn, huge) => moved.push([pg, f, pfn, huge, huge && mm.pt.hasDeposit(pg)]))
      mm.pt.clear(start, end)
      for (const [pg, f, pfn, huge, dep] of moved) {
        if (huge) mm.pt.setHuge(pg - start + dst, f, pfn, dep)
        else mm.pt.set(pg - start + dst, f, pfn)
      }
      // move_page_tables → move_ptes per entry (the destination's tables allocated as the source's go)
      return w.costs.mremap_base + moved.length * w.costs.mremap_pte
    },
    leaves,
  )
  const made: Vma[] = []
  for (const v of moving) {
    const nvId = w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, [...p, 'copy_vma'])
    // copy_vma: an anonymous VMA never faulted (no anon_vma) takes the new address as vm_pgoff
    const anonUnfaulted = !v.file && !v.shmem && v.anon_vma === 0
    const nv = new Vma(
      v.start - start + dst,
      v.end - start + dst,
      v.prot,
      v.shared,
      v.file,
      v.huge,
      nvId,
      v.shmem,
      anonUnfaulted ? v.start - start + dst : v.pgoff,
    )
    nv.hugetlb = v.hugetlb
    nv.mixedmap = v.mixedmap
    copyForkFlags(nv, v)
    nv.anon_vma = v.anon_vma
    nv.anonForked = v.anonForked
    if (v.file) getFile(w, v.file, p)
    if (v.shmem) v.shmem.refs++
    insertVma(mm, nv)
    made.push(nv)
  }
  if (dontunmap) {
    // MREMAP_DONTUNMAP: the old VMA stays, emptied, and loses its anon_vma (unlink_anon_vmas)
    for (const v of moving) {
      v.anon_vma = 0
      v.anonForked = false
    }
  } else {
    // move_vma → do_vmi_munmap of the old range: a second UNMAP there, then the old VMAs go
    yield* invalidated(w, mm, start, end, 'UNMAP', [...p, 'move_vma', 'do_vmi_munmap'], () => 0)
    mm.vmas = mm.vmas.filter((v) => !moving.includes(v))
    freeGoneTables(mm, moving)
    for (const v of moving) removeVma(w, v, [...p, 'remove_vma'])
  }
  for (const nv of made) if (mm.vmas.includes(nv)) vmaMerge(w, mm, nv, p)
  return dst
}
