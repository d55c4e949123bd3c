/**
 * VMAs of an mm (mm/vma.c, mm/mmap.c): lookup (find_vma), insertion, the access checks of a range,
 * and the hugetlb constraints (hugetlb_vm_op_split alignment, hugetlb_reserve_pages accounting).
 * Splitting (__split_vma) and merging are in vma_modify.ts.
 */
import type { Kernel } from './context'
import { EFAULT, EINVAL, ENOMEM, EPERM } from './errno'
import { PROT_READ, PROT_WRITE, Vma, type MmStruct } from './objects'
import { HPAGE_PMD_NR } from './page'

/** find_vma-like lookup: the VMA containing `page`, or undefined. */
export function findVma(mm: MmStruct, page: number): Vma | undefined {
  const vs = mm.vmas
  let lo = 0
  let hi = vs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const v = vs[mid] as Vma
    if (page < v.start) hi = mid - 1
    else if (page >= v.end) lo = mid + 1
    else return v
  }
  return undefined
}

export function insertVma(mm: MmStruct, v: Vma): void {
  let i = 0
  while (i < mm.vmas.length && (mm.vmas[i] as Vma).start < v.start) i++
  mm.vmas.splice(i, 0, v)
}

/** Checks that [start, end) is mapped with the access needed; 0 or -EFAULT / -EPERM. */
export function checkAccess(mm: MmStruct, start: number, end: number, write: boolean): number {
  let pg = start
  while (pg < end) {
    const v = findVma(mm, pg)
    if (!v || v.prot === 0 || (v.prot & PROT_READ) === 0) return EFAULT
    if (write && (v.prot & PROT_WRITE) === 0) return EPERM
    pg = v.end
  }
  return 0
}

export function checkAccessMapped(mm: MmStruct, start: number, end: number): number {
  let pg = start
  while (pg < end) {
    const v = findVma(mm, pg)
    if (!v) return ENOMEM
    pg = v.end
  }
  return 0
}

/** -EINVAL if [start, end) would split a hugetlb VMA or page (hugetlb_vm_op_split); else 0. */
export function hugetlbAlignCheck(mm: MmStruct, start: number, end: number): number {
  for (const edge of [start, end]) {
    const v = findVma(mm, edge) ?? findVma(mm, edge - 1)
    if (v && v.hugetlb && edge & (HPAGE_PMD_NR - 1)) return EINVAL
  }
  return 0
}

/** hugetlb_reserve_pages bookkeeping: huge pages promised to private hugetlb VMAs and not faulted yet. */
export function hugetlbReserved(w: Kernel): number {
  let n = 0
  for (const mm of w.mms) {
    if (mm.phase === 'freed' || mm.phase === 'released') continue
    for (const v of mm.vmas) {
      if (!v.hugetlb) continue
      for (let hb = v.start; hb < v.end; hb += HPAGE_PMD_NR) if (!mm.pt.isHuge(hb)) n++
    }
  }
  return n
}
