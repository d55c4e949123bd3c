/**
 * Changing the VMA layout (mm/vma.c): __split_vma with the THP split it needs first
 * (vma_adjust_trans_huge → split_huge_leaf → __split_huge_pmd, a CLEAR over the 2 MiB block), and
 * merging adjacent compatible VMAs (vma_merge_new_range after mmap and mremap's copy_vma,
 * vma_merge_existing_range after mprotect / madvise change a VMA's flags), with the anon_vma rule
 * of is_mergeable_anon_vma.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { SIZEOF, Vma, copyForkFlags, type MmStruct } from './objects'
import { getFile } from './files'
import { kernelHas } from './version'
import { HPAGE_PMD_NR } from './page'
import { findVma, insertVma } from './vma'
import { splitLeaf } from './huge_memory'
import { invalidated } from './memory'
import { removeVma } from './mm'

/**
 * __split_vma at `page` (a no-op on a VMA boundary or a hole). First vma_adjust_trans_huge: when
 * `page` is not 2 MiB aligned, the 2 MiB block around it lies inside the VMA and the PMD table of
 * that block exists (mm_find_pmd), __split_huge_pmd raises CLEAR over the block, whether or not a
 * THP is mapped there, and splits a PMD leaf into PTEs.
 */
export function* splitVma(w: Kernel, mm: MmStruct, page: number, path: CallPath): Proc<void> {
  const v = findVma(mm, page)
  if (!v || v.start === page) return
  const off = page & (HPAGE_PMD_NR - 1)
  const hb = page - off
  if (off !== 0 && hb >= v.start && hb + HPAGE_PMD_NR <= v.end && mm.pt.pmdOf(page) !== undefined) {
    yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...path, 'vma_adjust_trans_huge', '__split_huge_pmd'], () => {
      if (!mm.pt.isHuge(page)) return 0
      splitLeaf(w, mm, hb)
      return HPAGE_PMD_NR * w.costs.pte_op
    })
  } else if (off !== 0 && mm.pt.isHuge(page)) splitLeaf(w, mm, hb)
  const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, [...path, '__split_vma'])
  const nv = new Vma(page, v.end, v.prot, v.shared, v.file, v.huge, id, v.shmem, v.pgoff + (page - v.start))
  nv.hugetlb = v.hugetlb
  nv.anon_vma = v.anon_vma
  nv.anonForked = v.anonForked
  nv.mixedmap = v.mixedmap
  copyForkFlags(nv, v)
  if (v.file) getFile(w, v.file, path)
  if (v.shmem) v.shmem.refs++
  v.end = page
  insertVma(mm, nv)
}

/**
 * is_mergeable_vma + is_mergeable_anon_vma for `a` directly below `b`: same protection and flags
 * (VM_SHARED, VM_HUGEPAGE; hugetlb, VM_MIXEDMAP and device-file VMAs are never merged here), the
 * same backing object at contiguous offsets (vm_pgoff), and anon_vmas that are equal, or one of
 * them unset while the other VMA's anon_vma_chain is singular (not a fork child's). `target` is
 * the neighbour the merge expands into (`a` for a merge with the previous VMA, `b` with the next):
 * before "mm/vma: fix incorrectly disallowed anonymous VMA merges" (kernel/version.ts) a VMA with
 * an anon_vma never merged into a neighbour without one, whose empty anon_vma_chain
 * is_mergeable_anon_vma took for not singular.
 */
function canMerge(w: Kernel, a: Vma, b: Vma, target: Vma): boolean {
  if (a.end !== b.start) return false
  if (a.prot !== b.prot || a.shared !== b.shared || a.huge !== b.huge) return false
  // is_mergeable_vma compares vm_flags whole: VM_DONTCOPY and VM_WIPEONFORK too
  if (a.dontcopy !== b.dontcopy || a.wipeonfork !== b.wipeonfork) return false
  if (a.hugetlb || b.hugetlb || a.mixedmap || b.mixedmap || a.file || b.file) return false
  if (a.shmem !== b.shmem) return false
  if (a.pgoff + (a.end - a.start) !== b.pgoff) return false
  if (a.anon_vma !== 0 && b.anon_vma !== 0) return a.anon_vma === b.anon_vma
  if (target.anon_vma === 0 && (a.anon_vma | b.anon_vma) !== 0 && !kernelHas(w, 'anon_vma_merge_unfaulted_target')) return false
  if (a.anon_vma !== 0) return !a.anonForked
  if (b.anon_vma !== 0) return !b.anonForked
  return true
}

/**
 * Merges `v` with its neighbours where they are compatible (the next one first, then the previous
 * one, as vma_merge_new_range / vma_merge_existing_range expand a VMA over its neighbour). The
 * VMA that remains takes the anon_vma of either; the other vm_area_struct is freed. Returns the
 * VMA that now covers `v`'s range.
 */
export function vmaMerge(w: Kernel, mm: MmStruct, v: Vma, path: CallPath): Vma {
  let cur = v
  const i = mm.vmas.indexOf(cur)
  if (i < 0) return v
  const next = mm.vmas[i + 1]
  if (next && canMerge(w, cur, next, next)) {
    cur.end = next.end
    if (cur.anon_vma === 0) {
      cur.anon_vma = next.anon_vma
      cur.anonForked = next.anonForked
    }
    mm.vmas.splice(i + 1, 1)
    removeVma(w, next, [...path, 'vma_merge'])
    w.count('vma_merge')
  }
  const prev = mm.vmas[i - 1]
  if (prev && canMerge(w, prev, cur, prev)) {
    prev.end = cur.end
    if (prev.anon_vma === 0) {
      prev.anon_vma = cur.anon_vma
      prev.anonForked = cur.anonForked
    }
    mm.vmas.splice(i, 1)
    removeVma(w, cur, [...path, 'vma_merge'])
    w.count('vma_merge')
    cur = prev
  }
  return cur
}

/** Merges every VMA inside [start, end) (after a flag change there) with its neighbours. */
export function vmaMergeRange(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): void {
  for (let pg = start; pg < end;) {
    const v = findVma(mm, pg)
    if (!v) {
      const nx = mm.vmas.find((x) => x.start > pg)
      if (!nx || nx.start >= end) break
      pg = nx.start
      continue
    }
    const m = vmaMerge(w, mm, v, path)
    pg = m.end
  }
}
