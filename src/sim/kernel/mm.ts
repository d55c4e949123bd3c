/**
 * mm_struct lifetime (kernel/fork.c, mm/mmap.c): mm_init, mmget / mmget_not_zero / mmput,
 * mmgrab / mmdrop, __mmput (with the D3 hook point), exit_mmap in today's order (notifier release
 * first, then unmap_vmas with an UNMAP invalidation for interval subscribers, free_pgtables,
 * remove_vma with fput of vm_file), __mmdrop (pgd, subscriptions, PASID, the struct).
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { World } from '../world'
import { cpuTlbFlushCost } from '../cost/model'
import { MmStruct, SIZEOF, type Vma } from './objects'
import { ALL_PAGES, mmuNotifierRelease, invalidateRangeStart, invalidateRangeEnd, archInvalidateSecondaryTlbs } from './notifier'
import { fputNoTask } from './files'

/** mm_init: a new mm with mm_users = mm_count = 1, charged to `owner`. */
export function mmAlloc(w: World, label: string, owner: number, family: MmStruct[] | null, path: CallPath): MmStruct {
  const ledgerId = w.ledger.alloc('mm_struct', SIZEOF.mm_struct, owner, label, [...path, 'mm_alloc'])
  const mm: MmStruct = new MmStruct(w.id(), label, owner, ledgerId, (d) => w.ledger.charge('cpu_pagetable', owner, d * SIZEOF.pt_page), family)
  w.ledger.charge('cpu_pagetable', owner, SIZEOF.pgd)
  w.mms.push(mm)
  return mm
}

/** mmget. */
export function mmget(w: World, mm: MmStruct, path: CallPath): void {
  w.ledger.access(mm.ledgerId, [...path, 'mmget'], 'mmget')
  if (mm.mm_users <= 0) w.finding({ kind: 'warn', message: `mmget on ${mm.label} with mm_users = ${mm.mm_users}`, accessPath: path })
  mm.mm_users++
}

/** mmget_not_zero: fails once mm_users reached 0. */
export function mmgetNotZero(w: World, mm: MmStruct, path: CallPath): boolean {
  if (!w.ledger.access(mm.ledgerId, [...path, 'mmget_not_zero'], 'mmget_not_zero')) return false
  if (mm.mm_users <= 0) return false
  mm.mm_users++
  return true
}

/** mmgrab. */
export function mmgrab(w: World, mm: MmStruct, path: CallPath): void {
  w.ledger.access(mm.ledgerId, [...path, 'mmgrab'], 'mmgrab')
  mm.mm_count++
}

/** mmput: drops mm_users; at zero runs __mmput (exit_mmap, then mmdrop). */
export function* mmput(w: World, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, 'mmput']
  if (w.ledger.dropRef(mm.ledgerId, mm, 'mm_users', p, 'mmput')) {
    w.mark('mmput', `${mm.label} mm_users → 0`)
    yield* __mmput(w, mm, p)
  }
}

/**
 * mmput_async (kernel/fork.c): drops mm_users; when it was the last one, __mmput runs later from a
 * kworker (schedule_work → mmput_async_fn) instead of in the caller, for callers that must not get
 * stuck in exit_mmap: the OOM reaper (v4.7–v4.19, "make sure the mmput slow path is called from a
 * different context"), binder's shrinker, drm user-fence workers. Until the work runs, mm_users is
 * 0 (mmget_not_zero fails) and the mm_count that mm_users implies keeps the struct alive.
 */
export function mmputAsync(w: World, mm: MmStruct, path: CallPath): void {
  const p = [...path, 'mmput_async']
  if (!w.ledger.dropRef(mm.ledgerId, mm, 'mm_users', p, 'mmput_async')) return
  w.mark('mmput', `${mm.label} mm_users → 0 (mmput_async: __mmput deferred to a kworker)`)
  w.count('mmput_async.deferred')
  w.queueWork('mmput_async_fn', 0, () => __mmput(w, mm, ['process_one_work', 'mmput_async_fn']))
}

/** __mmput: the 2014 hook point (D3), exit_mmap, mmdrop. */
export function* __mmput(w: World, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, '__mmput']
  mm.phase = 'exiting'
  w.mark('__mmput', mm.label)
  if (w.design.mmputHook) yield* w.design.mmputHook(w, mm, [...p, 'mmput_notifier_chain'])
  yield* exitMmap(w, mm, p)
  mmdrop(w, mm, p)
}

/** A live mm of the same fork tree, to inherit charges of still-shared pages; else -1. */
export function heirOwner(mm: MmStruct): number {
  for (const m of mm.family) {
    if (m !== mm && m.phase !== 'freed' && m.phase !== 'released' && m.pt.present > 0) return m.owner
  }
  return -1
}

/** Drops the frame references of a zapped CPU PTE range (and device-private frames). */
export function zapFrames(w: World, mm: MmStruct, flags: number, pfn: number, heir: number): void {
  void flags
  w.frames.put(pfn, mm.owner, heir)
}

/** exit_mmap (today's order). */
export function* exitMmap(w: World, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, 'exit_mmap']
  yield* mmuNotifierRelease(w, mm, p)
  if (mm.vmas.length > 0) {
    const up = [...p, 'unmap_vmas']
    const r = { mm, start: 0, end: ALL_PAGES, event: 'UNMAP' as const, blockable: true, owner: -1 }
    yield* invalidateRangeStart(w, r, up)
    const heir = heirOwner(mm)
    const present = mm.pt.present
    mm.pt.clearAll((_pg, f, pfn) => zapFrames(w, mm, f, pfn, heir))
    for (const v of mm.vmas) if (v.shmem) putShmem(w, v)
    const cpu = present * w.costs.pte_op + cpuTlbFlushCost(w.costs, Number.MAX_SAFE_INTEGER)
    yield* archInvalidateSecondaryTlbs(w, mm, 0, ALL_PAGES, up)
    yield* invalidateRangeEnd(w, r, up)
    for (const m of mm.mirrors) m.checkInvalidated(w, r, up)
    yield sleep(cpu)
    const vmas = mm.vmas
    mm.vmas = []
    for (const v of vmas) removeVma(w, v, [...p, 'remove_vma'])
  }
  mm.phase = 'released'
}

/** Drops a VMA's reference on its shmem object, freeing the object's pages at zero. */
export function putShmem(w: World, v: Vma): void {
  const s = v.shmem
  if (!s) return
  v.shmem = null
  s.refs--
  if (s.refs === 0) {
    for (const pfn of s.pages.values()) w.frames.put(pfn)
    s.pages.clear()
    return
  }
  // the creator no longer maps it but others do: charge its pages to one of them
  let stillOwner = false
  let heir = -1
  for (const m of w.mms) {
    if (m.phase === 'freed') continue
    for (const x of m.vmas) {
      if (x.shmem !== s) continue
      if (m.owner === s.owner) stillOwner = true
      else if (heir < 0) heir = m.owner
    }
  }
  if (stillOwner || heir < 0) return
  for (const pfn of s.pages.values()) {
    if (w.frames.owner[pfn] === s.owner) {
      w.ledger.move('pages', s.owner, heir, w.frames.bytes(pfn))
      w.frames.owner[pfn] = heir
    }
  }
  s.owner = heir
}

/** remove_vma: fput(vm_file) and free the vm_area_struct. */
export function removeVma(w: World, v: Vma, path: CallPath): void {
  if (v.shmem) putShmem(w, v)
  if (v.file) {
    const f = v.file
    v.file = null
    fputNoTask(w, f, path)
  }
  w.ledger.free(v.ledgerId, path)
}

/** mmdrop: drops mm_count; at zero __mmdrop frees pgd, subscriptions, PASID and the struct. */
export function mmdrop(w: World, mm: MmStruct, path: CallPath): void {
  const p = [...path, 'mmdrop']
  if (w.ledger.dropRef(mm.ledgerId, mm, 'mm_count', p, 'mmdrop')) __mmdrop(w, mm, p)
}

function __mmdrop(w: World, mm: MmStruct, path: CallPath): void {
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
    if (live > 0) w.violation(2, `${mm.label} freed while ${live} subscription(s) still exist`, p)
    w.ledger.free(mm.subs.ledgerId, [...p, 'mmu_notifier_subscriptions_destroy'])
    mm.subs = null
  }
  if (mm.iommu_mm) {
    w.ledger.free(mm.iommu_mm.ledgerId, [...p, 'mm_pasid_drop'])
    w.mark('pasid_free', `PASID ${mm.iommu_mm.pasid} of ${mm.label}`)
    for (const io of w.iommus) io.pasidTable.delete(mm.iommu_mm.pasid)
    mm.iommu_mm = null
  }
  mm.phase = 'freed'
  w.ledger.free(mm.ledgerId, [...p, 'free_mm'])
  w.mark('__mmdrop', mm.label)
}
