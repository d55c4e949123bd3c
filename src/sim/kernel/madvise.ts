/**
 * madvise(2) (mm/madvise.c): DONTNEED / FREE (CLEAR invalidations), PAGEOUT (kernel/vmscan.ts),
 * HUGEPAGE / NOHUGEPAGE and COLLAPSE.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EINVAL, ENOMEM } from './errno'
import type { MmStruct, Vma } from './objects'
import { heirOwner, zapFrames } from './mm-ref'
import { findVma, hugetlbAlignCheck, checkAccessMapped } from './vma'
import { splitVma, vmaMergeRange } from './vma_modify'
import { splitPartialHuge } from './huge_memory'
import { invalidatedSplitting } from './memory'
import { reclaimRange } from './vmscan'
import { kernelHas } from './version'
import { LAZYFREE_CLEAN } from './frames'
import { PTE_FILE, PTE_PRESENT, PTE_SWAP, PTE_ZERO } from './pagetable'
import { collapse } from './thp'
import { ptTablesCost } from '../cost/model'

export type Advice = 'dontneed' | 'free' | 'pageout' | 'hugepage' | 'nohugepage' | 'collapse' | ForkAdvice

/** The advice that set and clear VM_DONTCOPY and VM_WIPEONFORK (madvise_vma_behavior). */
export type ForkAdvice = 'dontfork' | 'dofork' | 'wipeonfork' | 'keeponfork'

/** madvise(2). */
export function* doMadvise(w: Kernel, mm: MmStruct, start: number, end: number, advice: Advice, path: CallPath): Proc<number> {
  const p = [...path, 'madvise']
  if (checkAccessMapped(mm, start, end) < 0) return ENOMEM
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  if (advice === 'hugepage' || advice === 'nohugepage') {
    // madvise_update_vma → vma_modify_flags: split where VM_HUGEPAGE changes, then merge
    const huge = advice === 'hugepage'
    if ((findVma(mm, start) as Vma).huge !== huge) yield* splitVma(w, mm, start, p)
    if ((findVma(mm, end - 1) as Vma).huge !== huge) yield* splitVma(w, mm, end, p)
    for (const v of mm.vmas) if (v.start >= start && v.end <= end) v.huge = huge
    vmaMergeRange(w, mm, start, end, p)
    return 0
  }
  if (advice === 'collapse') return yield* collapse(w, mm, start, end, p)
  if (advice === 'dontfork' || advice === 'dofork' || advice === 'wipeonfork' || advice === 'keeponfork')
    return yield* madviseForkFlags(w, mm, start, end, advice, p)
  if (advice === 'free') {
    // madvise_free_single_vma: only anonymous VMAs (vma_is_anonymous: no vm_ops; hugetlb, shmem,
    // files and driver mappings have them): -EINVAL
    const bad = mm.vmas.find((v) => v.start < end && start < v.end && (v.shared || v.shmem !== null || v.file !== null || v.hugetlb))
    if (bad) return EINVAL
  }
  if (advice === 'dontneed' || advice === 'free') {
    // madvise_walk_vmas: one call per VMA of the range; madvise_dontneed_single_vma →
    // zap_page_range_single and madvise_free_single_vma each raise CLEAR over the VMA's part,
    // whether or not a PTE is present there
    const parts = mm.vmas.filter((v) => v.start < end && start < v.end).map((v) => [Math.max(start, v.start), Math.min(end, v.end)] as const)
    // costs: dontneed_base once for the call, zap_pte per entry zapped (zap + folio free; a 2 MiB
    // leaf is one, zap_huge_pmd) and pt_free per PTE table reclaimed
    let base = w.costs.dontneed_base
    for (const [a, b] of parts) {
      yield* invalidatedSplitting(
        w,
        mm,
        a,
        b,
        'CLEAR',
        [...p, advice === 'dontneed' ? 'madvise_dontneed_single_vma' : 'madvise_free_single_vma', 'zap_page_range_single'],
        () => {
          if (advice === 'free') {
            // madvise_free_pte_range: the anonymous folios are marked lazyfree (folio_mark_lazyfree)
            // and their PTEs made old and clean, but they stay mapped, writable and hold their data;
            // only reclaim may discard them later (kernel/vmscan.ts), and a CPU write before that
            // cancels it. A partly covered THP is split; a PMD-mapped THP another mm maps is left
            // alone (madvise_free_huge_pmd). A swap entry is dropped with its slot
            // (free_swap_and_cache_nr): the next touch gets a new zero page, as MADV_FREE allows.
            splitPartialHuge(w, mm, a, b)
            const fr = w.frames
            const swapped: number[] = []
            let n = 0
            mm.pt.forEach(a, b, (pg, f, pfn, huge) => {
              n++
              if (f & PTE_SWAP) swapped.push(pg)
              else if (f & PTE_PRESENT && !(f & (PTE_ZERO | PTE_FILE)) && (fr.dev[pfn] as number) === 0 && !(huge && (fr.refcount[pfn] as number) > 1)) {
                fr.lazyfree[pfn] = LAZYFREE_CLEAN
                fr.lazyfreeSeen = true
              }
            })
            for (const pg of swapped) mm.pt.clear(pg, pg + 1, (_pg, f, slot) => zapFrames(w, mm, f, slot, -1))
            return n * w.costs.pte_op
          }
          const heir = heirOwner(mm)
          let n = 0
          mm.pt.clear(a, b, (_pg, f, pfn) => {
            n++
            zapFrames(w, mm, f, pfn, heir)
          })
          // CONFIG_PT_RECLAIM (kernel/version.ts pt_reclaim, on by default on x86-64): MADV_DONTNEED
          // frees the PTE tables it emptied whole (try_to_free_pte); the PMD table stays
          const reclaimed = kernelHas(w, 'pt_reclaim') ? mm.pt.reclaimEmptyPtes(a, b) : 0
          const c = base + n * w.costs.zap_pte + ptTablesCost(w.costs, -reclaimed)
          base = 0
          return c
        },
      )
    }
    return 0
  }
  // MADV_PAGEOUT: kernel/vmscan.ts (swap out with swap, else only lazyfree pages go)
  return yield* reclaimRange(w, mm, start, end, 'pageout', p)
}

/**
 * MADV_DONTFORK / DOFORK / WIPEONFORK / KEEPONFORK (madvise_vma_behavior → madvise_update_vma):
 * per VMA of the range, in address order, set or clear VM_DONTCOPY / VM_WIPEONFORK, splitting where
 * the flags change and merging again (vma_modify_flags). MADV_WIPEONFORK on a file or shared
 * mapping is -EINVAL ("only supported on anonymous memory"); madvise_walk_vmas stops there, so the
 * VMAs before it keep the new flag. No invalidation: only vm_flags change.
 */
function* madviseForkFlags(w: Kernel, mm: MmStruct, start: number, end: number, advice: ForkAdvice, path: CallPath): Proc<number> {
  const p = [...path, 'madvise_vma_behavior', 'madvise_update_vma']
  const bad = advice === 'wipeonfork' ? mm.vmas.find((v) => v.start < end && start < v.end && (v.file !== null || v.shared || v.shmem !== null)) : undefined
  const stop = bad ? Math.max(start, bad.start) : end
  if (stop > start) {
    const on = advice === 'dontfork' || advice === 'wipeonfork'
    const dontcopy = advice === 'dontfork' || advice === 'dofork'
    const has = (v: Vma): boolean => (dontcopy ? v.dontcopy : v.wipeonfork)
    if (has(findVma(mm, start) as Vma) !== on) yield* splitVma(w, mm, start, p)
    if (has(findVma(mm, stop - 1) as Vma) !== on) yield* splitVma(w, mm, stop, p)
    for (const v of mm.vmas) {
      if (v.start < start || v.end > stop) continue
      if (dontcopy) v.dontcopy = on
      else v.wipeonfork = on
    }
    vmaMergeRange(w, mm, start, stop, p)
  }
  return bad ? EINVAL : 0
}
