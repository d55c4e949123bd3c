/**
 * Splitting PMD-mapped huge pages (mm/huge_memory.c): __split_huge_pmd and split_huge_page of one
 * 2 MiB leaf into 512 PTEs, and the copy-split of a THP whose folio cannot be shared.
 */
import type { Kernel } from './context'
import type { MmStruct } from './objects'
import { PTE_ZERO } from './pagetable'
import { ZERO_PFN } from './frames'
import { heirOwner } from './mm-ref'
import { HPAGE_PMD_NR } from './page'

/** Splits a 2 MiB leaf partially covered by [start, end) so that only the covered part changes. */
export function splitPartialHuge(w: Kernel, mm: MmStruct, start: number, end: number): void {
  for (const edge of [start, end]) {
    if (edge & (HPAGE_PMD_NR - 1) && mm.pt.isHuge(edge)) splitLeaf(w, mm, edge - (edge & (HPAGE_PMD_NR - 1)))
  }
}

/**
 * Replaces the 2 MiB leaf at `hb` (folio `pfn`) by 512 new 4 KiB frames holding copies of its
 * pieces, and drops this mapping's reference on the folio: for a folio others still map, or one
 * that cannot stay huge where it goes.
 */
export function splitHugeByCopy(w: Kernel, mm: MmStruct, hb: number, pfn: number): void {
  const pieces: number[] = []
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const id = w.frames.alloc(0, mm.owner)
    w.frames.data[id] = w.frames.read(pfn, i)
    pieces.push(id)
  }
  w.frames.put(pfn, mm.owner, heirOwner(mm))
  mm.pt.splitHuge(hb, (i) => pieces[i] as number)
}

/**
 * One 2 MiB leaf → 512 PTEs. `folio` false (the default): __split_huge_pmd, which splits the PMD
 * mapping only; the kernel's folio stays large (PTE-mapped) and the pieces are marked so
 * (Frames.inLargeFolio). `folio` true: split_folio / split_huge_page, the folio is split too.
 */
export function splitLeaf(w: Kernel, mm: MmStruct, hb: number, folio = false): void {
  const f = mm.pt.get(hb)
  const pfn = mm.pt.pfn(hb)
  // a hugetlb page is never split (callers refuse ranges that would need it; this is the backstop)
  if ((w.frames.hugetlb[pfn] as number) !== 0) return
  if (f & PTE_ZERO) {
    mm.pt.splitHuge(hb, () => ZERO_PFN)
    return
  }
  if ((w.frames.refcount[pfn] as number) > 1) {
    // a shared THP: split the mapping only (the other mapper keeps its PMD); model copies pieces
    splitHugeByCopy(w, mm, hb, pfn)
    if (!folio) markLarge(w, mm, hb)
    return
  }
  const pieces = w.frames.split(pfn)
  mm.pt.splitHuge(hb, (i) => pieces[i] as number)
  if (!folio) markLarge(w, mm, hb)
  w.count('thp_split')
}

/** The 512 pieces at `hb` stay one large folio in the kernel (a PMD split only). */
function markLarge(w: Kernel, mm: MmStruct, hb: number): void {
  mm.pt.forEach(hb, hb + HPAGE_PMD_NR, (_pg, _f, pfn) => {
    if (pfn !== ZERO_PFN) w.frames.inLargeFolio[pfn] = 1
  })
}
