/**
 * mremap(2) (mm/mremap.c): move_vma with its UNMAP invalidation of the old range, MREMAP_DONTUNMAP.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EFAULT, EINVAL } from './errno'
import { SIZEOF, Vma, type MmStruct } from './objects'
import { getFile } from './files'
import { HPAGE_PMD_NR } from './page'
import { findVma, insertVma, splitAt, hugetlbAlignCheck, checkAccessMapped } from './vma'
import { splitPartialHuge, splitLeaf } from './huge_memory'
import { invalidated } from './memory'
import { doMunmap } from './mmap'

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
    mm.mmapBase = dst + pages + HPAGE_PMD_NR
  } else {
    dst = to
    if (dst < end && start < dst + pages) return EINVAL
    if (mm.pt.countPresent(dst, dst + pages) > 0 || mm.vmas.some((v) => v.start < dst + pages && dst < v.end)) {
      const r = yield* doMunmap(w, mm, dst, dst + pages, p)
      if (r < 0) return r
    }
  }
  splitAt(w, mm, start, p)
  splitAt(w, mm, end, p)
  const moving = mm.vmas.filter((v) => v.start >= start && v.end <= end)
  yield* invalidated(w, mm, start, end, 'UNMAP', [...p, 'move_page_tables'], () => {
    splitPartialHuge(w, mm, start, end)
    if ((dst - start) & (HPAGE_PMD_NR - 1)) {
      const hbs: number[] = []
      mm.pt.forEach(start, end, (pg, _f, _pfn, huge) => {
        if (huge) hbs.push(pg)
      })
      for (const hb of hbs) splitLeaf(w, mm, hb)
    }
    const moved: Array<[number, number, number, boolean]> = []
    mm.pt.forEach(start, end, (pg, f, pfn, huge) => moved.push([pg, f, pfn, huge]))
    mm.pt.clear(start, end)
    for (const [pg, f, pfn, huge] of moved) {
      if (huge) mm.pt.setHuge(pg - start + dst, f, pfn)
      else mm.pt.set(pg - start + dst, f, pfn)
    }
    return moved.length * w.costs.pte_op
  })
  mm.vmas = mm.vmas.filter((v) => !moving.includes(v))
  for (const v of moving) {
    const nvId = dontunmap ? w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, p) : v.ledgerId
    const nv = new Vma(v.start - start + dst, v.end - start + dst, v.prot, v.shared, v.file, v.huge, nvId, v.shmem, v.pgoff)
    nv.hugetlb = v.hugetlb
    if (dontunmap) {
      if (v.file) getFile(w, v.file, p)
      if (v.shmem) v.shmem.refs++
      insertVma(mm, v)
    }
    insertVma(mm, nv)
  }
  return dst
}
