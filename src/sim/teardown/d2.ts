/**
 * D2 — the fd holds mm_count plus a classic notifier (KVM-like): the driver object hangs off the
 * file and mmgrabs the mm; ->release (from exit_mmap) stops the device and drops its mappings; the
 * object and the mm_struct stay until the last fput. Ioctls from another mm get -EIO, like KVM.
 * It never refuses a non-blockable range (the OOM reaper): like kvm_mmu_notifier_invalidate_range_start
 * it zaps with may_block = false and returns 0.
 */
import { sleep } from '../engine/engine'
import type { Device } from '../devices/device'
import type { File, NotifierOps, Task } from '../kernel/objects'
import { SIZEOF } from '../kernel/objects'
import { mmdrop, mmgrab } from '../kernel/mm-ref'
import { mmuNotifierRegister, mmuNotifierUnregister } from '../kernel/notifier'
import { addMirror, allocDriverObj, embedSub, freeDriverObj, mirrorNotifierOps, zapMirrors, type DriverObj } from '../drivers/driver'
import { apiKey, designState, fileOrApi, mirrorTarget, type ObjFilePriv, type TeardownDesign, type Target } from './design'
import { EINVAL, EIO } from '../kernel/errno'

const base = mirrorNotifierOps(
  'd2_kvm_like',
  {
    *release(_w, sub) {
      const obj = sub.priv as DriverObj
      const zc = zapMirrors(obj)
      if (zc > 0) yield sleep(zc)
      obj.mmDead = true
    },
  },
  { nonblockEagain: false },
)

/**
 * kvm_mmu_notifier_invalidate_range_start (virt/kvm/kvm_main.c) never refuses: on a non-blockable
 * range (the OOM reaper) it zaps the secondary mappings without sleeping (may_block = false) and
 * returns 0. So D2 zaps its device mappings whatever the range's blockability.
 */
const ops: NotifierOps = {
  ...base,
  invalidateRangeStart: (w, sub, r, path) =>
    (base.invalidateRangeStart as NonNullable<NotifierOps['invalidateRangeStart']>)(w, sub, r.blockable ? r : { ...r, blockable: true }, path),
}

export const D2: TeardownDesign = {
  id: 'D2',
  title: 'fd holds mm_count + classic notifier (KVM-like)',
  summary: 'The file owns the object, which mmgrabs the mm; ->release stops the device at exit_mmap; memory freed at the last fput.',
  correct: true,
  open(_w, _task, file) {
    file.priv = { obj: null } satisfies ObjFilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    const mm = task.mm
    if (!mm) return EINVAL
    let obj: DriverObj | null | undefined = file ? (file.priv as ObjFilePriv).obj : designState(w).api.get(apiKey(mm, dev))
    if (obj && obj.mm !== mm) return EIO
    if (!obj) {
      obj = allocDriverObj(w, 'D2 context', SIZEOF.kvm_like, mm, path)
      mmgrab(w, mm, [...path, 'd2_grab_mm'])
      const r = mmuNotifierRegister(w, embedSub(w, ops, obj), mm, path)
      if (r < 0) return r
      if (file) (file.priv as ObjFilePriv).obj = obj
      else designState(w).api.set(apiKey(mm, dev), obj)
    }
    addMirror(w, obj, dev, SIZEOF.hmm_mirror, path)
    return 0
  },
  resolve(w, task: Task, dev: Device, file: File | null): Target | number {
    const obj = fileOrApi(w, task, dev, file)
    if (!obj || obj.freed) return EINVAL
    if (obj.mm !== task.mm || obj.mmDead) return EIO
    return mirrorTarget(obj, dev)
  },
  *release(w, file, path) {
    const obj = (file.priv as ObjFilePriv).obj
    if (!obj) return
    if (obj.sub) yield* mmuNotifierUnregister(w, obj.sub, obj.mm, path)
    freeDriverObj(w, obj, path)
    mmdrop(w, obj.mm, [...path, 'd2_drop_mm'])
  },
}
