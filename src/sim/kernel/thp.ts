/**
 * THP operations a scenario asks for: the split of debugfs split_huge_pages (mm/huge_memory.c) and
 * the collapse of MADV_COLLAPSE / khugepaged (mm/khugepaged.c), each under a CLEAR invalidation.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import type { MmStruct } from './objects'
import { PTE_PRESENT, PTE_SWAP, PTE_WRITE, PTE_ZERO } from './pagetable'
import { doSwapPage } from './swap'
import { sleep } from '../engine/engine'
import { heirOwner, zapFrames } from './mm-ref'
import { HPAGE_PMD_NR } from './page'
import { findVma } from './vma'
import { splitLeaf } from './huge_memory'
import { invalidated } from './memory'
import { splitFolio } from './vmscan'

export function* collapse(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  const p = [...path, 'collapse_huge_page']
  for (let hb = Math.ceil(start / HPAGE_PMD_NR) * HPAGE_PMD_NR; hb + HPAGE_PMD_NR <= end; hb += HPAGE_PMD_NR) {
    const v = findVma(mm, hb)
    if (!v || v.shared || v.hugetlb || hb + HPAGE_PMD_NR > v.end || mm.pt.isHuge(hb)) continue
    if (mm.pt.countPresent(hb, hb + HPAGE_PMD_NR) !== HPAGE_PMD_NR) continue
    // __collapse_huge_page_swapin: MADV_COLLAPSE takes any number of swap entries
    // (max_ptes_swap = HPAGE_PMD_NR when not khugepaged) and reads them back first
    let swapin = 0
    for (let pg = hb; pg < hb + HPAGE_PMD_NR; pg++) {
      const f = mm.pt.get(pg)
      if (f & PTE_SWAP) swapin += doSwapPage(w, mm, v, pg, f, false)
    }
    if (swapin > 0) yield sleep(swapin)
    yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', p, () => {
      let writable = true
      const heir = heirOwner(mm)
      const tokens: number[] = []
      mm.pt.clear(hb, hb + HPAGE_PMD_NR, (pg, f, pfn) => {
        if (!(f & PTE_WRITE)) writable = false
        tokens.push(w.frames.read(pfn, pg & (HPAGE_PMD_NR - 1)))
        zapFrames(w, mm, f, pfn, heir)
      })
      const np = w.frames.alloc(9, mm.owner)
      tokens.forEach((t, i) => w.frames.write(np, i, t))
      mm.pt.setHuge(hb, PTE_PRESENT | (writable ? PTE_WRITE : 0), np)
      w.count('thp_collapse')
      return (HPAGE_PMD_NR * w.costs.migrate_page) / 4
    })
  }
  return 0
}

/** THP split of every 2 MiB leaf in [start, end) (e.g. under memory pressure): CLEAR. */
export function* doThpSplit(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  const hbs: number[] = []
  mm.pt.forEach(start, end, (pg, _f, pfn, huge) => {
    // hugetlb pages are not THPs: never split
    if (huge && (w.frames.hugetlb[pfn] as number) === 0) hbs.push(pg)
  })
  for (const hb of hbs) {
    yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...path, 'split_huge_pmd'], () => {
      splitLeaf(w, mm, hb, true)
      return HPAGE_PMD_NR * w.costs.pte_op
    })
  }
  return 0
}

/**
 * migrate_vma_collect_pmd without device-private THPs (kernel/version.ts device_private_thp absent,
 * 6.12): a PMD leaf in the range is split before its pages are collected, inside the caller's
 * MIGRATE. The huge zero page: split_huge_pmd (one CLEAR over the 2 MiB); a THP: split_folio
 * (unmap_folio → try_to_migrate: __split_huge_pmd's CLEAR, then try_to_migrate_one's CLEAR over the
 * folio), after which its pages are 4 KiB folios (all-zero ones mapped to the zero page). A THP
 * other mms map too is split the same way here (the model raises the CLEARs in this mm only).
 */
export function* collectSplitThp(w: Kernel, mm: MmStruct, hb: number, path: CallPath): Proc<void> {
  const p = [...path, 'migrate_vma_collect_pmd']
  const f = mm.pt.get(hb)
  if (f & PTE_ZERO) {
    yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...p, 'split_huge_pmd', '__split_huge_pmd'], () => {
      splitLeaf(w, mm, hb, true)
      return HPAGE_PMD_NR * w.costs.pte_op
    })
    return
  }
  if ((w.frames.refcount[mm.pt.pfn(hb)] as number) === 1) {
    yield* splitFolio(w, mm, hb, p)
    return
  }
  const sp = [...p, 'split_folio', 'unmap_folio']
  yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...sp, 'split_huge_pmd_address', '__split_huge_pmd'], () => {
    splitLeaf(w, mm, hb, true)
    return HPAGE_PMD_NR * w.costs.pte_op
  })
  yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...sp, 'try_to_migrate', 'try_to_migrate_one'], () => HPAGE_PMD_NR * w.costs.pte_op)
}
