/**
 * madvise(2) (mm/madvise.c): DONTNEED / FREE / PAGEOUT (CLEAR invalidations), HUGEPAGE / NOHUGEPAGE
 * and COLLAPSE.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EINVAL, ENOMEM } from './errno'
import type { MmStruct } from './objects'
import { heirOwner, zapFrames } from './mm-ref'
import { splitAt, hugetlbAlignCheck, checkAccessMapped } from './vma'
import { splitPartialHuge } from './huge_memory'
import { invalidated } from './memory'
import { collapse } from './thp'

export type Advice = 'dontneed' | 'free' | 'pageout' | 'hugepage' | 'nohugepage' | 'collapse'

/** madvise(2). */
export function* doMadvise(w: Kernel, mm: MmStruct, start: number, end: number, advice: Advice, path: CallPath): Proc<number> {
  const p = [...path, 'madvise']
  if (checkAccessMapped(mm, start, end) < 0) return ENOMEM
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  if (advice === 'hugepage' || advice === 'nohugepage') {
    splitAt(w, mm, start, p)
    splitAt(w, mm, end, p)
    for (const v of mm.vmas) if (v.start >= start && v.end <= end) v.huge = advice === 'hugepage'
    return 0
  }
  if (advice === 'collapse') return yield* collapse(w, mm, start, end, p)
  if (mm.pt.countPresent(start, end) === 0) return 0
  if (advice === 'free') {
    // madvise_free_single_vma → madvise_free_pte_range (mm/madvise.c): under a CLEAR invalidation
    // the exclusive anonymous pages are marked lazyfree and their PTEs made old and clean, but they
    // stay mapped, writable and hold their data; only reclaim may discard them later, and a write
    // before that cancels the lazyfree (the PTE is dirty again). A partly covered THP is split.
    yield* invalidated(w, mm, start, end, 'CLEAR', [...p, 'madvise_free_single_vma'], () => {
      splitPartialHuge(w, mm, start, end)
      return mm.pt.countPresent(start, end) * w.costs.pte_op
    })
    return 0
  }
  yield* invalidated(w, mm, start, end, 'CLEAR', [...p, advice === 'pageout' ? 'reclaim_pages' : 'zap_page_range'], () => {
    let n = 0
    splitPartialHuge(w, mm, start, end)
    const heir = heirOwner(mm)
    // Reclaim of a shared mapping's pages is declined here (they stay resident and mapped): the model
    // has no swap-backed shmem object that would keep them after their PTEs are gone.
    const ranges = advice === 'pageout' ? subtractRanges(start, end, mm.vmas.filter((v) => v.shared && v.start < end && start < v.end)) : [[start, end] as const]
    for (const [a, b] of ranges) n += mm.pt.clear(a, b, (_pg, f, pfn) => zapFrames(w, mm, f, pfn, heir))
    return n * w.costs.pte_op
  })
  return 0
}

/** [start, end) without the parts covered by `holes` (sorted or not), as a list of ranges. */
function subtractRanges(start: number, end: number, holes: readonly { start: number; end: number }[]): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = []
  let at = start
  for (const h of [...holes].sort((x, y) => x.start - y.start)) {
    if (h.start > at) out.push([at, Math.min(h.start, end)] as const)
    at = Math.max(at, h.end)
    if (at >= end) break
  }
  if (at < end) out.push([at, end] as const)
  return out
}
