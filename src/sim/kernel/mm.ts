/**
 * mm_struct lifetime (kernel/fork.c, mm/mmap.c): mm_init, mmput / mmput_async, __mmput (with the D3 hook point), exit_mmap in today's order (notifier release
 * first, then unmap_vmas with an UNMAP invalidation for interval subscribers, free_pgtables,
 * remove_vma with fput of vm_file). The reference counts are in mm-ref.ts.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost, ptTablesCost } from '../cost/model'
import { MmStruct, SIZEOF, type Vma } from './objects'
import { ALL_PAGES, mmuNotifierRelease, invalidateRangeStart, invalidateRangeEnd, archInvalidateSecondaryTlbs } from './notifier'
import { fputNoTask } from './files'
import { mmapReadLock, mmapReadUnlock, mmapWriteLock, mmapWriteUnlock } from './mmap_lock'
import { heirOwner, mmdrop, mmputRef, zapFrames } from './mm-ref'

/** mm_init: a new mm with mm_users = mm_count = 1, charged to `owner`. */
export function mmAlloc(w: Kernel, label: string, owner: number, family: MmStruct[] | null, path: CallPath): MmStruct {
  const ledgerId = w.ledger.alloc('mm_struct', SIZEOF.mm_struct, owner, label, [...path, 'mm_alloc'])
  const mm: MmStruct = new MmStruct(w.id(), label, owner, ledgerId, (d) => w.ledger.charge('cpu_pagetable', owner, d * SIZEOF.pt_page), family)
  w.ledger.charge('cpu_pagetable', owner, SIZEOF.pgd)
  w.ledger.setRef(ledgerId, 'mm_users', 1, 'mm_init')
  w.ledger.setRef(ledgerId, 'mm_count', 1, 'mm_init')
  w.mms.push(mm)
  return mm
}

/** mmput: drops mm_users; at zero runs __mmput (exit_mmap, then mmdrop). */
export function* mmput(w: Kernel, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, 'mmput']
  if (mmputRef(w, mm, p, 'mmput')) {
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
export function mmputAsync(w: Kernel, mm: MmStruct, path: CallPath): void {
  const p = [...path, 'mmput_async']
  if (!mmputRef(w, mm, p, 'mmput_async')) return
  w.mark('mmput', `${mm.label} mm_users → 0 (mmput_async: __mmput deferred to a kworker)`)
  w.count('mmput_async.deferred')
  w.queueWork('mmput_async_fn', 0, () => __mmput(w, mm, ['process_one_work', 'mmput_async_fn']))
}

/** __mmput: the mmput notifier chain (the 2014 hook point D3 joins), exit_mmap, mmdrop. */
export function* __mmput(w: Kernel, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, '__mmput']
  mm.phase = 'exiting'
  w.mark('__mmput', mm.label)
  for (const fn of w.mmputChain) yield* fn(w, mm, [...p, 'mmput_notifier_chain'])
  yield* exitMmap(w, mm, p)
  mmdrop(w, mm, p)
}

/** exit_mmap (today's order). */
function* exitMmap(w: Kernel, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, 'exit_mmap']
  yield* mmuNotifierRelease(w, mm, p)
  if (mm.vmas.length > 0) {
    // unmap_vmas under mmap_read_lock, free_pgtables and remove_vma under mmap_write_lock
    yield* mmapReadLock(w, mm)
    const up = [...p, 'unmap_vmas']
    const r = { mm, start: 0, end: ALL_PAGES, event: 'UNMAP' as const, blockable: true, owner: -1 }
    yield* invalidateRangeStart(w, r, up)
    const heir = heirOwner(mm)
    // unmap_vmas (a full-mm gather: zap + folio free per entry), then free_pgtables of every table
    let entries = 0
    const tables = mm.pt.tables
    mm.pt.clearAll((_pg, f, pfn) => {
      entries++
      zapFrames(w, mm, f, pfn, heir)
    })
    for (const v of mm.vmas) if (v.shmem) putShmem(w, v)
    const cpu = entries * w.costs.exit_pte + ptTablesCost(w.costs, -tables) + cpuTlbFlushCost(w.costs, Number.MAX_SAFE_INTEGER)
    yield* archInvalidateSecondaryTlbs(w, mm, 0, ALL_PAGES, up)
    yield* invalidateRangeEnd(w, r, up)
    if (w.hooks.has('range_end')) w.hooks.emit('range_end', { range: r, path: up })
    yield sleep(cpu)
    mmapReadUnlock(w, mm)
    // the memory is gone: hide the mm from the OOM killer and reaper (oom_reap_task_mm checks this
    // under its read lock, which serialises against the write lock taken next)
    mm.flags.add('MMF_OOM_SKIP')
    yield* mmapWriteLock(w, mm)
    const vmas = mm.vmas
    mm.vmas = []
    for (const v of vmas) removeVma(w, v, [...p, 'remove_vma'])
    mmapWriteUnlock(w, mm)
  }
  mm.flags.add('MMF_OOM_SKIP')
  mm.phase = 'released'
}

/** Drops a VMA's reference on its shmem object, freeing the object's pages at zero. */
function putShmem(w: Kernel, v: Vma): void {
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
export function removeVma(w: Kernel, v: Vma, path: CallPath): void {
  if (v.shmem) putShmem(w, v)
  if (v.file) {
    const f = v.file
    v.file = null
    fputNoTask(w, f, path)
  }
  w.ledger.free(v.ledgerId, path)
}
