/**
 * D5 — an interval notifier per fd (lib/test_hmm.c dmirror, amdgpu userptr, nouveau): open inserts
 * one mmu_interval_notifier over the whole address space (mmgrab); the device page table fills on
 * demand; RELEASE / UNMAP invalidations at exit_mmap empty it; the last fput removes the interval
 * (mmdrop) and frees the small struct. Ioctls are not checked against current->mm (test_hmm does
 * not), so a child using an inherited fd after the parent died spins (docs/domain.md §4.1).
 */
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, MmStruct, Task } from '../kernel/objects'
import { SIZEOF, type IntervalOps } from '../kernel/objects'
import { ALL_PAGES, mmuIntervalNotifierInsert, mmuIntervalNotifierRemove, mmuIntervalSetSeq } from '../kernel/notifier'
import { addMirror, allocDriverObj, freeDriverObj, type DriverObj } from '../drivers/driver'
import { dmirrorEvictDevice } from '../drivers/dmirror'
import { apiKey, designState, resolveFileOrApi, type ObjFilePriv, type TeardownDesign, type Target } from './design'
import { EINVAL } from '../kernel/errno'
import type { CallPath } from '../ledger/ledger'

/** dmirror_interval_invalidate. */
const dmirrorInterval: IntervalOps = {
  invalidate(_w, sub, r, cur) {
    const obj = sub.priv as DriverObj
    let cost = 0
    for (const m of obj.mirrors.values()) {
      if (r.event === 'MIGRATE' && r.owner === m.dev.idx) return 0
      mmuIntervalSetSeq(sub, cur)
      cost += m.invalidate(r)
    }
    if (obj.mirrors.size === 0) mmuIntervalSetSeq(sub, cur)
    return cost
  },
}

function create(w: Kernel, mm: MmStruct, dev: Device, path: CallPath): DriverObj | number {
  const obj = allocDriverObj(w, 'struct dmirror', SIZEOF.dmirror, mm, path)
  const sub = mmuIntervalNotifierInsert(w, mm, 0, ALL_PAGES, dmirrorInterval, obj.ledgerId, path)
  if (typeof sub === 'number') {
    freeDriverObj(w, obj, path)
    return sub
  }
  sub.priv = obj
  obj.interval = sub
  const m = addMirror(w, obj, dev, 0, path)
  m.interval = sub
  return obj
}

export const D5: TeardownDesign = {
  id: 'D5',
  title: 'interval notifier per fd (dmirror, userptr)',
  summary:
    'Each open file inserts a whole-AS mmu_interval_notifier (mm_count); exit_mmap empties the device PT; fd release removes the interval and frees the struct.',
  correct: true,
  open(w, task, file, path) {
    if (!task.mm) return EINVAL
    const r = create(w, task.mm, file.dev, [...path, 'dmirror_fops_open'])
    if (typeof r === 'number') return r
    file.priv = { obj: r } satisfies ObjFilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    if (file) return (file.priv as ObjFilePriv).obj ? 0 : EINVAL
    const mm = task.mm
    if (!mm) return EINVAL
    const st = designState(w)
    if (st.api.has(apiKey(mm, dev))) return 0
    const r = create(w, mm, dev, [...path, 'interval_api_user'])
    if (typeof r === 'number') return r
    st.api.set(apiKey(mm, dev), r)
    return 0
  },
  resolve(w, task: Task, dev: Device, file: File | null): Target | number {
    return resolveFileOrApi(w, task, dev, file)
  },
  *release(w, file, path) {
    const obj = (file.priv as ObjFilePriv).obj
    if (!obj) return
    if (obj.interval) yield* mmuIntervalNotifierRemove(w, obj.interval, path)
    // lib/test_hmm.c dmirror_fops_release: then every chunk of the device is evicted
    if (file.dev.spec.kind === 'dmirror') yield* dmirrorEvictDevice(w, file.dev.idx, [...path, 'dmirror_fops_release'])
    freeDriverObj(w, obj, [...path, 'dmirror_fops_release'])
  },
}
