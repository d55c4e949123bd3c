/**
 * The mm_struct reference counts (include/linux/sched/mm.h): mmget / mmget_not_zero / the drop of
 * mm_users that mmput starts with, mmgrab / mmdrop, and __mmdrop (kernel/fork.c) that the last
 * mmdrop calls: pgd, subscriptions, PASID, the struct. A leaf of the kernel layer: notifier code and
 * drivers take and drop references without reaching exit_mmap.
 */
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { SIZEOF, type MmStruct } from './objects'
import { PTE_SWAP } from './pagetable'

/** mmget. */
export function mmget(w: Kernel, mm: MmStruct, path: CallPath): void {
  w.ledger.access(mm.ledgerId, [...path, 'mmget'], 'mmget')
  if (mm.mm_users <= 0) w.finding({ kind: 'warn', message: `mmget on ${mm.label} with mm_users = ${mm.mm_users}`, accessPath: path })
  mm.mm_users++
}

/** mmget_not_zero: fails once mm_users reached 0. */
export function mmgetNotZero(w: Kernel, mm: MmStruct, path: CallPath): boolean {
  if (!w.ledger.access(mm.ledgerId, [...path, 'mmget_not_zero'], 'mmget_not_zero')) return false
  if (mm.mm_users <= 0) return false
  mm.mm_users++
  return true
}

/** mmgrab. */
export function mmgrab(w: Kernel, mm: MmStruct, path: CallPath): void {
  w.ledger.access(mm.ledgerId, [...path, 'mmgrab'], 'mmgrab')
  mm.mm_count++
}

/**
 * The refcount part of mmput / mmput_async (atomic_dec_and_test(&mm->mm_users)), checked by the
 * ledger: true when this dropped the last user (the caller then runs __mmput).
 */
export function mmputRef(w: Kernel, mm: MmStruct, path: CallPath, what: 'mmput' | 'mmput_async'): boolean {
  return w.ledger.dropRef(mm.ledgerId, mm, 'mm_users', path, what)
}

/** A live mm of the same fork tree, to inherit charges of still-shared pages; else -1. */
export function heirOwner(mm: MmStruct): number {
  for (const m of mm.family) {
    if (m !== mm && m.phase !== 'freed' && m.phase !== 'released' && m.pt.present > 0) return m.owner
  }
  return -1
}

/** Drops the frame references of a zapped CPU PTE range (and device-private frames). */
export function zapFrames(w: Kernel, mm: MmStruct, flags: number, pfn: number, heir: number): void {
  // zap_nonpresent_ptes: a swap entry frees its slot (free_swap_and_cache)
  if (flags & PTE_SWAP) w.swap?.put(pfn)
  else w.frames.put(pfn, mm.owner, heir)
}

/** mmdrop: drops mm_count; at zero __mmdrop frees pgd, subscriptions, PASID and the struct. */
export function mmdrop(w: Kernel, mm: MmStruct, path: CallPath): void {
  const p = [...path, 'mmdrop']
  if (w.ledger.dropRef(mm.ledgerId, mm, 'mm_count', p, 'mmdrop')) __mmdrop(w, mm, p)
}

function __mmdrop(w: Kernel, mm: MmStruct, path: CallPath): void {
  const p = [...path, '__mmdrop']
  if (mm.mm_users > 0) w.finding({ kind: 'warn', message: `__mmdrop of ${mm.label} with mm_users = ${mm.mm_users}`, accessPath: p })
  // free pgd (+ any page tables left if exit_mmap never ran)
  if (mm.pt.tables > 0) {
    const heir = heirOwner(mm)
    mm.pt.clearAll((_pg, f, pfn) => zapFrames(w, mm, f, pfn, heir))
  }
  w.ledger.charge('cpu_pagetable', mm.owner, -SIZEOF.pgd)
  if (mm.subs) {
    const live = mm.subs.list.filter((s) => s.hashed).length + mm.subs.itree.filter((s) => !s.removed).length
    if (live > 0) w.violation('SUBSCRIPTION_PINS_MM', `${mm.label} freed while ${live} subscription(s) still exist`, p)
    w.ledger.free(mm.subs.ledgerId, [...p, 'mmu_notifier_subscriptions_destroy'])
    mm.subs = null
  }
  if (mm.iommu_mm) {
    w.ledger.free(mm.iommu_mm.ledgerId, [...p, 'mm_pasid_drop'])
    w.mark('pasid_free', `PASID ${mm.iommu_mm.pasid} of ${mm.label}`)
    for (const t of mm.iommu_mm.pasidTables) t.delete(mm.iommu_mm.pasid)
    mm.iommu_mm = null
  }
  mm.phase = 'freed'
  w.ledger.free(mm.ledgerId, [...p, 'free_mm'])
  w.mark('__mmdrop', mm.label)
}
