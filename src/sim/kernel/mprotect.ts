/**
 * Write-protection: mprotect(2) (mm/mprotect.c, PROTECTION_VMA, and the write upgrade going back to
 * writable), clear_refs soft-dirty over the whole mm (fs/proc/task_mmu.c, SOFT_DIRTY) and the
 * per-page write-protect of writeback (page_mkclean in mm/rmap.c, PROTECTION_PAGE).
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EINVAL, ENOMEM } from './errno'
import { PROT_WRITE, type MmStruct, type Vma } from './objects'
import { PTE_COW, PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_SWAP, PTE_WRITE, PTE_ZERO } from './pagetable'
import { findVma, hugetlbAlignCheck, checkAccessMapped } from './vma'
import { splitVma, vmaMergeRange } from './vma_modify'
import { ALL_PAGES } from './notifier'
import { splitPartialHuge } from './huge_memory'
import { invalidated, invalidatedSplitting } from './memory'

/**
 * mprotect(2). Per VMA of the range (mprotect_fixup): nothing at all when its protection does not
 * change; else split at the range's edges, the new protection, then change_protection, whose
 * change_pud_range raises PROTECTION_VMA from the first 1 GiB that has a PMD table (a populated
 * PUD entry) to the end of the VMA's part, whether or not PTEs are present, and finally a merge
 * with compatible neighbours (vma_modify_flags). Going read-only write-protects the present PTEs;
 * going writable makes the exclusive anonymous ones writable at once (MM_CP_TRY_CHANGE_WRITABLE,
 * can_change_pte_writable, since v6.0) and a shared mapping's ones (vm_page_prot of a VMA without
 * write-notify); COW-shared pages, the zero page and page-cache pages of a private mapping stay
 * read-only until a write fault.
 */
export function* doMprotect(w: Kernel, mm: MmStruct, start: number, end: number, prot: number, path: CallPath): Proc<number> {
  const p = [...path, 'mprotect_fixup']
  if (checkAccessMapped(mm, start, end) < 0) return ENOMEM
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  if ((findVma(mm, start) as Vma).prot !== prot) yield* splitVma(w, mm, start, p)
  const last = findVma(mm, end - 1) as Vma
  if (last.prot !== prot) yield* splitVma(w, mm, end, p)
  for (let pg = start; pg < end;) {
    const v = findVma(mm, pg) as Vma
    pg = v.end
    if (v.prot === prot) continue
    v.prot = prot
    const first = firstPmdTable(mm, v.start, v.end)
    if (first < 0) continue
    const vs = v.start
    const ve = v.end
    yield* invalidatedSplitting(w, mm, first, ve, 'PROTECTION_VMA', [...p, 'change_protection', 'change_pud_range'], () => {
      // change_pte_range visits every present entry, whichever way the protection changes: each
      // costs mprotect_pte, and this VMA's mprotect_fixup mprotect_base
      let n = 0
      if (!(prot & PROT_WRITE)) {
        mm.pt.update(vs, ve, (f) => {
          n++
          // change_pte_range leaves a swap entry as it is (its exclusive marker too)
          if (f & PTE_SWAP) return f
          return f & ~PTE_WRITE
        })
      } else if (!v.hugetlb) {
        mm.pt.update(vs, ve, (f, _pg, pfn) => {
          if (f & PTE_PRESENT) n++
          if (f & (PTE_WRITE | PTE_EXCL | PTE_DEVPRIV) || !(f & PTE_PRESENT)) return f
          const exclusiveAnon = !(f & (PTE_ZERO | PTE_FILE | PTE_COW)) && (w.frames.refcount[pfn] as number) === 1
          if (!v.shared && !exclusiveAnon) return f
          return f | PTE_WRITE
        })
      } else
        mm.pt.forEach(vs, ve, () => {
          n++
        })
      return w.costs.mprotect_base + n * w.costs.mprotect_pte
    })
  }
  vmaMergeRange(w, mm, start, end, p)
  return 0
}

/** The first page of [start, end) whose 1 GiB has a PMD table (pud_none is false), or -1. */
function firstPmdTable(mm: MmStruct, start: number, end: number): number {
  for (let k = start >>> 18; k <= (end - 1) >>> 18; k++) {
    if (mm.pt.pmds.has(k)) return Math.max(start, k << 18)
  }
  return -1
}

/**
 * clear_refs_write with "4" (fs/proc/task_mmu.c): soft-dirty tracking restarts over the whole
 * address space whatever range the caller names: one SOFT_DIRTY invalidation over [0, ULONG_MAX),
 * every present PTE write-protected (clear_soft_dirty; hugetlb VMAs are not walked), so that the
 * next write faults.
 */
export function* doClearRefs(w: Kernel, mm: MmStruct, path: CallPath): Proc<number> {
  yield* invalidated(w, mm, 0, ALL_PAGES, 'SOFT_DIRTY', [...path, 'clear_refs_write'], () => {
    let n = 0
    for (const v of mm.vmas) {
      if (v.hugetlb) continue
      mm.pt.update(v.start, v.end, (f) => {
        if (!(f & PTE_WRITE) || !(f & PTE_PRESENT)) return f
        n++
        return f & ~PTE_WRITE
      })
    }
    return n * w.costs.pte_op
  })
  return 0
}

/**
 * Write-protect the present pages of [start, end) and raise PROTECTION_PAGE, for writeback's
 * page_mkclean of a shared mapping. The next CPU write faults and makes the page writable again.
 */
export function* doWriteProtect(w: Kernel, mm: MmStruct, start: number, end: number, event: 'PROTECTION_PAGE', path: CallPath): Proc<number> {
  if (mm.pt.countPresent(start, end) === 0) return 0
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  yield* invalidated(w, mm, start, end, event, [...path, 'page_mkclean'], () => {
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
