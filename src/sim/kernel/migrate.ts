/**
 * NUMA migration of a range (mm/migrate.c, migrate_pages from NUMA balancing or move_pages): each
 * page copied to a new frame under a CLEAR invalidation.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import type { MmStruct } from './objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_SWAP, PTE_ZERO } from './pagetable'
import { heirOwner } from './mm-ref'
import { HPAGE_PMD_NR } from './page'
import { invalidated } from './memory'

/** NUMA / compaction migration of present system pages in [start, end): CLEAR, new frames. */
export function* doNumaMigrate(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  if (mm.pt.countPresent(start, end) === 0) return 0
  yield* invalidated(w, mm, start, end, 'CLEAR', [...path, 'migrate_pages'], () => {
    let n = 0
    const heir = heirOwner(mm)
    mm.pt.update(start, end, (f, pg, pfn, huge) => {
      // not: zero page, device entries, shared pages, hugetlb pages, ZONE_DEVICE (coherent) pages
      if (
        f & (PTE_ZERO | PTE_DEVPRIV | PTE_EXCL | PTE_SWAP) ||
        (w.frames.refcount[pfn] as number) > 1 ||
        (w.frames.hugetlb[pfn] as number) !== 0 ||
        (w.frames.dev[pfn] as number) !== 0
      )
        return f
      const np = w.frames.alloc(huge ? 9 : 0, mm.owner)
      w.frames.copy(np, pfn)
      w.frames.put(pfn, mm.owner, heir)
      if (huge) mm.pt.setHuge(pg, f, np)
      else mm.pt.set(pg, f, np)
      n += huge ? HPAGE_PMD_NR : 1
      return f
    })
    return n * w.costs.migrate_page
  })
  return 0
}
