/**
 * D1 — the fd pins mm_users (the "fd lifetime" position taken literally): the driver object hangs
 * off the file, holds mmget(mm) and a classic notifier for invalidations. Teardown at last fput,
 * which then mmputs — so a forked child holding the inherited fd keeps the parent's whole address
 * space alive, and a device file mmapped by its own process makes a cycle that never frees.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, Task } from '../kernel/objects'
import { SIZEOF } from '../kernel/objects'
import { mmput } from '../kernel/mm'
import { mmget } from '../kernel/mm-ref'
import { mmuNotifierRegister, mmuNotifierUnregister } from '../kernel/notifier'
import { addMirror, allocDriverObj, embedSub, freeDriverObj, mirrorNotifierOps, zapMirrors, type DriverObj } from '../drivers/driver'
import { apiKey, designState, resolveFileOrApi, type ObjFilePriv, type TeardownDesign, type Target } from './design'
import { EINVAL } from '../kernel/errno'

const ops = mirrorNotifierOps('d1_mirror', {
  *release(_w, sub) {
    const zc = zapMirrors(sub.priv as DriverObj)
    if (zc > 0) yield sleep(zc)
  },
})

function* create(w: Kernel, task: Task, path: CallPath): Proc<DriverObj | number> {
  const mm = task.mm
  if (!mm) return EINVAL
  const obj = allocDriverObj(w, 'D1 mirror context', SIZEOF.hmm, mm, path)
  mmget(w, mm, [...path, 'd1_pin_mm'])
  const r = mmuNotifierRegister(w, embedSub(w, ops, obj), mm, path)
  if (r < 0) return r
  return obj
}

export const D1: TeardownDesign = {
  id: 'D1',
  title: 'fd pins mm_users',
  summary: 'The device file holds mmget(mm); teardown at the last fput, which then mmputs the address space.',
  correct: true,
  open(_w, _task, file) {
    file.priv = { obj: null } satisfies ObjFilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    let obj: DriverObj | null
    if (file) obj = (file.priv as ObjFilePriv).obj
    else obj = task.mm ? (designState(w).api.get(apiKey(task.mm, dev)) ?? null) : null
    if (!obj) {
      const o = yield* create(w, task, path)
      if (typeof o === 'number') return o
      obj = o
      if (file) {
        ;(file.priv as ObjFilePriv).obj = obj
        // the file's mirror context holds mmget(mm): the file keeps the address space (Held by)
        w.ledger.hold(`d1:${obj.ledgerId}`, obj.mm.ledgerId, file.ledgerId, "D1's mm_users reference")
      } else designState(w).api.set(apiKey(obj.mm, dev), obj)
    }
    addMirror(w, obj, dev, SIZEOF.hmm_mirror, path)
    return 0
  },
  resolve(w, task, dev: Device, file: File | null): Target | number {
    return resolveFileOrApi(w, task, dev, file)
  },
  *release(w, file, path) {
    const obj = (file.priv as ObjFilePriv).obj
    if (!obj) return
    const mm = obj.mm
    if (obj.sub) yield* mmuNotifierUnregister(w, obj.sub, mm, path)
    freeDriverObj(w, obj, path)
    w.ledger.unhold(`d1:${obj.ledgerId}`)
    yield* mmput(w, mm, [...path, 'd1_unpin_mm'])
  },
}
