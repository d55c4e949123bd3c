/**
 * Write-protection of a range: mprotect(2) (mm/mprotect.c, PROTECTION_VMA), and the per-page
 * write-protect of clear_refs soft-dirty (fs/proc/task_mmu.c, SOFT_DIRTY) and of writeback
 * (page_mkclean in mm/rmap.c, PROTECTION_PAGE).
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EINVAL, ENOMEM } from './errno'
import { PROT_WRITE, type MmStruct } from './objects'
import { PTE_WRITE } from './pagetable'
import { splitAt, hugetlbAlignCheck, checkAccessMapped } from './vma'
import { splitPartialHuge } from './huge_memory'
import { invalidated } from './memory'

/** mprotect(2): change_protection with a PROTECTION_VMA invalidation. */
export function* doMprotect(w: Kernel, mm: MmStruct, start: number, end: number, prot: number, path: CallPath): Proc<number> {
  const p = [...path, 'mprotect_fixup']
  if (checkAccessMapped(mm, start, end) < 0) return ENOMEM
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  splitAt(w, mm, start, p)
  splitAt(w, mm, end, p)
  for (const v of mm.vmas) if (v.start >= start && v.end <= end) v.prot = prot
  if (mm.pt.countPresent(start, end) > 0) {
    yield* invalidated(w, mm, start, end, 'PROTECTION_VMA', [...p, 'change_protection'], () => {
      splitPartialHuge(w, mm, start, end)
      let n = 0
      if (!(prot & PROT_WRITE)) {
        mm.pt.update(start, end, (f) => {
          n++
          return f & ~PTE_WRITE
        })
      }
      return n * w.costs.pte_op
    })
  }
  return 0
}

/**
 * Write-protect the present pages of [start, end) and raise `event`: SOFT_DIRTY for
 * /proc/pid/clear_refs (soft-dirty tracking), PROTECTION_PAGE for writeback's page_mkclean of a
 * shared mapping. The next CPU write faults and makes the page writable again.
 */
export function* doWriteProtect(w: Kernel, mm: MmStruct, start: number, end: number, event: 'SOFT_DIRTY' | 'PROTECTION_PAGE', path: CallPath): Proc<number> {
  if (mm.pt.countPresent(start, end) === 0) return 0
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  yield* invalidated(w, mm, start, end, event, [...path, event === 'SOFT_DIRTY' ? 'clear_refs_write' : 'page_mkclean'], () => {
    splitPartialHuge(w, mm, start, end)
    let n = 0
    mm.pt.update(start, end, (f) => {
      if (!(f & PTE_WRITE)) return f
      n++
      return f & ~PTE_WRITE
    })
    return n * w.costs.pte_op
  })
  return 0
}
