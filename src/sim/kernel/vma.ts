/**
 * VMAs of an mm (mm/vma.c, mm/mmap.c): lookup (find_vma), insertion, splitting at a page
 * (__split_vma, which splits a huge leaf that straddles the edge), the access checks of a range, and
 * the hugetlb constraints (hugetlb_vm_op_split alignment, hugetlb_reserve_pages accounting).
 */
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EFAULT, EINVAL, ENOMEM, EPERM } from './errno'
import { PROT_READ, PROT_WRITE, SIZEOF, Vma, copyForkFlags, type MmStruct } from './objects'
import { getFile } from './files'
import { HPAGE_PMD_NR } from './page'
import { splitLeaf } from './huge_memory'

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

/** Splits VMAs so that `page` is a VMA boundary. */
export function splitAt(w: Kernel, mm: MmStruct, page: number, path: CallPath): void {
  const v = findVma(mm, page)
  if (!v || v.start === page) return
  // vma_adjust_trans_huge: a huge leaf straddling the new boundary is split first (split_huge_pmd).
  if (page & (HPAGE_PMD_NR - 1) && mm.pt.isHuge(page)) splitLeaf(w, mm, page - (page & (HPAGE_PMD_NR - 1)))
  const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, [...path, '__split_vma'])
  const nv = new Vma(page, v.end, v.prot, v.shared, v.file, v.huge, id, v.shmem, v.pgoff + (page - v.start))
  nv.hugetlb = v.hugetlb
  copyForkFlags(nv, v)
  if (v.file) getFile(w, v.file, path)
  if (v.shmem) v.shmem.refs++
  v.end = page
  insertVma(mm, nv)
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
