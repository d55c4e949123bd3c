/**
 * Reclaim of a range's anonymous folios (mm/vmscan.c shrink_folio_list, reached from MADV_PAGEOUT's
 * madvise_cold_or_pageout_pte_range → reclaim_pages, or from memory pressure), with try_to_unmap_one
 * of mm/rmap.c raising the notifier:
 *
 * - which folios: present, not the zero page, anonymous (a page-cache or driver page is not: the
 *   model's files are tmpfs/shmem, whose reclaim through shmem_writeout is not modelled, and shared
 *   mappings are shmem), not ZONE_DEVICE (device-private entries are not present; device-coherent
 *   pages are skipped, folio_is_zone_device), mapped once with no other reference
 *   (`folio_mapcount != 1` skips COW-shared folios; a GUP reference or pin keeps the folio:
 *   folio_maybe_dma_pinned / the refcount freeze fails);
 * - a lazyfree folio (MADV_FREE) is unmapped under CLEAR; still clean, it is discarded (PGLAZYFREED:
 *   the next touch reads zeros); written since, try_to_unmap_one puts the PTE back and makes it
 *   swap-backed again (folio_set_swapbacked), without swapping it this time;
 * - any other anonymous folio needs swap (add_to_swap): without swap, or with swap full, a 4 KiB folio
 *   stays as it is, mapped, with no invalidation (activate_locked); a THP is split first
 *   (split_folio_to_list, THP_SWPOUT_FALLBACK) and its pages then stay too; with swap, the folio's
 *   PTE becomes a swap entry under one CLEAR (a THP: one CLEAR over the 2 MiB, its PMD split inside
 *   try_to_unmap_one by TTU_SPLIT_HUGE_PMD), the data goes to its slot (PSWPOUT) and the frame is
 *   freed. The next fault reads it back (do_swap_page, kernel/swap.ts).
 *
 * Anonymous data is never lost: it is in its frame, in swap, or (lazyfree, clean) discarded as
 * MADV_FREE allowed.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EINVAL } from './errno'
import type { MmStruct, Vma } from './objects'
import { PTE_FILE, PTE_PRESENT, PTE_SWAP, PTE_WRITE, PTE_ZERO } from './pagetable'
import { LAZYFREE_CLEAN, ZERO_PFN } from './frames'
import { HPAGE_PMD_NR } from './page'
import { heirOwner, zapFrames } from './mm-ref'
import { invalidated } from './memory'
import { splitLeaf } from './huge_memory'
import { swapOut } from './swap'

/** `pageout`: MADV_PAGEOUT (a hugetlb VMA is -EINVAL, can_madv_lru_vma); `reclaim`: memory pressure on the range. */
export type ReclaimHow = 'pageout' | 'reclaim'

/** Reclaims the anonymous folios of [start, end) of `mm` (see the header). Returns 0 or -EINVAL. */
export function* reclaimRange(w: Kernel, mm: MmStruct, start: number, end: number, how: ReclaimHow, path: CallPath): Proc<number> {
  const p = [...path, ...(how === 'pageout' ? ['madvise_pageout', 'madvise_cold_or_pageout_pte_range', 'reclaim_pages'] : ['shrink_lruvec'])]
  for (const v of mm.vmas.filter((x) => x.start < end && start < x.end)) {
    if (v.hugetlb) {
      if (how === 'pageout') return EINVAL
      continue
    }
    if (v.shared || !mm.vmas.includes(v)) continue
    yield* reclaimVma(w, mm, v, Math.max(start, v.start), Math.min(end, v.end), p)
  }
  return 0
}

/** A folio the walk isolates: its first page, whether PMD-mapped, its frame. */
interface Candidate {
  pg: number
  huge: boolean
  pfn: number
}

function* reclaimVma(w: Kernel, mm: MmStruct, v: Vma, a: number, b: number, path: CallPath): Proc<void> {
  const fr = w.frames
  const eligible = (f: number, pfn: number): boolean =>
    (f & PTE_PRESENT) !== 0 && !(f & (PTE_ZERO | PTE_FILE | PTE_SWAP)) && (fr.dev[pfn] as number) === 0 && (fr.refcount[pfn] as number) === 1
  // a THP only partly inside the range is split first (split_folio), when it is exclusive
  for (const edge of [a, b]) {
    const off = edge & (HPAGE_PMD_NR - 1)
    if (off === 0 || !mm.pt.isHuge(edge)) continue
    const hb = edge - off
    if (!eligible(mm.pt.get(hb), mm.pt.pfn(hb))) continue
    yield* splitFolio(w, mm, hb, path)
  }
  const list: Candidate[] = []
  mm.pt.forEach(a, b, (pg, f, pfn, huge) => {
    if (eligible(f, pfn)) list.push({ pg, huge, pfn })
  })
  for (const c of list) yield* shrinkFolio(w, mm, v, c, path)
}

/**
 * split_folio of an exclusive PMD-mapped THP: unmap_folio → try_to_migrate with TTU_SPLIT_HUGE_PMD
 * (split_huge_pmd_address: __split_huge_pmd's CLEAR over the 2 MiB, then try_to_migrate_one's CLEAR
 * over the folio), remap_page puts the 512 PTEs back (no notifier). Since v6.12 remap_page of an
 * anonymous folio passes RMP_USE_SHARED_ZEROPAGE: a subpage that holds only zeros is mapped to the
 * shared zero page and freed (try_to_map_unused_to_zeropage, mm/migrate.c); seen on the oracle.
 */
export function* splitFolio(w: Kernel, mm: MmStruct, hb: number, path: CallPath): Proc<void> {
  const p = [...path, 'split_folio', 'unmap_folio']
  yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...p, 'split_huge_pmd_address', '__split_huge_pmd'], () => {
    splitLeaf(w, mm, hb, true)
    for (let pg = hb; pg < hb + HPAGE_PMD_NR; pg++) {
      const f = mm.pt.get(pg)
      const pfn = mm.pt.pfn(pg)
      if (!(f & PTE_PRESENT) || f & PTE_ZERO || w.frames.read(pfn, 0) !== 0) continue
      w.frames.put(pfn, mm.owner, heirOwner(mm))
      mm.pt.set(pg, PTE_PRESENT | PTE_ZERO, ZERO_PFN)
      w.count('thp_split_zero_remap')
    }
    return HPAGE_PMD_NR * w.costs.pte_op
  })
  yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...p, 'try_to_migrate', 'try_to_migrate_one'], () => HPAGE_PMD_NR * w.costs.pte_op)
}

/** shrink_folio_list for one isolated folio. */
function* shrinkFolio(w: Kernel, mm: MmStruct, v: Vma, c: Candidate, path: CallPath): Proc<void> {
  const fr = w.frames
  const pt = mm.pt
  // the walk may have split or changed it since (an earlier folio's split, a concurrent fault)
  const f = pt.get(c.pg)
  if (pt.pfn(c.pg) !== c.pfn || pt.isHuge(c.pg) !== c.huge || !(f & PTE_PRESENT)) return
  const n = c.huge ? HPAGE_PMD_NR : 1
  const p = [...path, 'shrink_folio_list']
  const tu = [...p, 'try_to_unmap', 'try_to_unmap_one']
  const lazy = fr.lazyfree[c.pfn] as number
  if (lazy !== 0) {
    // a lazyfree folio skips add_to_swap; try_to_unmap_one checks the dirty bit under its CLEAR
    yield* invalidated(w, mm, c.pg, c.pg + n, 'CLEAR', tu, () => {
      if (lazy === LAZYFREE_CLEAN) {
        const heir = heirOwner(mm)
        pt.clear(c.pg, c.pg + n, (_pg, ff, pfn) => zapFrames(w, mm, ff, pfn, heir))
        w.count('pglazyfreed', n)
        return n * w.costs.zap_pte
      }
      // redirtied: the PTE goes back, the folio is swap-backed again (kept this time)
      fr.lazyfree[c.pfn] = 0
      w.count('lazyfree.redirtied', n)
      return n * w.costs.pte_op
    })
    return
  }
  if (c.huge) {
    const si = w.swap
    if (!si || si.free() < HPAGE_PMD_NR) {
      // add_to_swap failed for the THP: split_folio_to_list, then each page on its own
      w.count('thp_swpout_fallback')
      yield* splitFolio(w, mm, c.pg, p)
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const pfn = pt.pfn(c.pg + i)
        yield* shrinkFolio(w, mm, v, { pg: c.pg + i, huge: false, pfn }, path)
      }
      return
    }
    // THP_SWAP: 512 slots, one CLEAR over the folio, the PMD split inside try_to_unmap_one; each
    // swap PTE carries the exclusive marker (pte_swp_mkexclusive: PTE_WRITE on a swap entry)
    yield* invalidated(w, mm, c.pg, c.pg + n, 'CLEAR', tu, () => {
      const slots: number[] = []
      for (let i = 0; i < n; i++) slots.push(swapOut(w, fr.read(c.pfn, i)))
      pt.splitHuge(c.pg, (i) => slots[i] as number)
      for (let i = 0; i < n; i++) pt.set(c.pg + i, PTE_SWAP | PTE_WRITE, slots[i] as number)
      fr.put(c.pfn, mm.owner, heirOwner(mm))
      w.count('thp_swpout')
      return n * w.costs.swap_out_page
    })
    return
  }
  const slot = swapOut(w, fr.read(c.pfn, 0))
  if (slot < 0) {
    // no swap (or full): activate_locked, the page stays mapped and nothing is invalidated
    w.count('pgactivate')
    return
  }
  yield* invalidated(w, mm, c.pg, c.pg + 1, 'CLEAR', tu, () => {
    // the swap PTE carries the exclusive marker of an exclusive anonymous page
    pt.set(c.pg, PTE_SWAP | PTE_WRITE, slot)
    fr.put(c.pfn, mm.owner, heirOwner(mm))
    return w.costs.swap_out_page
  })
}
