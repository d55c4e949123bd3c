/**
 * D3 — the 2014 proposal: an mmput notifier chain (never merged). One object per mm (struct hmm)
 * shared by every device and file; __mmput calls the chain before exit_mmap and the object is torn
 * down and freed right there. Files hold only a weak handle (the mm they were opened on), so a
 * child's inherited fd is stale: ioctls look the object up by current->mm and fail with -EBADF.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, MmStruct, Task } from '../kernel/objects'
import { SIZEOF } from '../kernel/objects'
import { mmuNotifierRegister, mmuNotifierUnregister } from '../kernel/notifier'
import { addMirror, allocDriverObj, embedSub, freeDriverObj, mirrorNotifierOps, removeMirror, zapMirrors, type DriverObj } from '../drivers/driver'
import { designState, mirrorTarget, type TeardownDesign, type Target } from './design'
import { EBADF, EINVAL, ENODEV } from '../kernel/errno'

const ops = mirrorNotifierOps('hmm_2014', {
  *release(_w, sub) {
    const zc = zapMirrors(sub.priv as DriverObj)
    if (zc > 0) yield sleep(zc)
  },
})

interface FilePriv {
  mm: MmStruct | null
  mirrored: boolean
}

export const D3: TeardownDesign = {
  id: 'D3',
  title: 'mmput notifier chain (Glisse 2014, not merged)',
  summary: 'One object per mm, torn down and freed from __mmput before exit_mmap; files hold weak handles.',
  correct: true,
  open(_w, task, file) {
    file.priv = { mm: task.mm, mirrored: false } satisfies FilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    const mm = task.mm
    if (!mm) return EINVAL
    if (file) {
      const fp = file.priv as FilePriv
      if (fp.mm !== mm) return EBADF
    }
    const st = designState(w)
    let obj = st.byMm.get(mm.id)
    if (!obj) {
      obj = allocDriverObj(w, 'struct hmm', SIZEOF.hmm, mm, path)
      const r = mmuNotifierRegister(w, embedSub(w, ops, obj), mm, path)
      if (r < 0) return r
      st.byMm.set(mm.id, obj)
    }
    addMirror(w, obj, dev, SIZEOF.hmm_mirror, path)
    if (file) {
      const fp = file.priv as FilePriv
      if (!fp.mirrored) {
        fp.mirrored = true
        obj.fdRefs.set(dev.idx, (obj.fdRefs.get(dev.idx) ?? 0) + 1)
      }
    }
    return 0
  },
  resolve(w, task: Task, dev: Device, file: File | null): Target | number {
    const mm = task.mm
    if (!mm) return EINVAL
    if (file && (file.priv as FilePriv).mm !== mm) return EBADF
    const obj = designState(w).byMm.get(mm.id)
    if (!obj) return ENODEV
    return mirrorTarget(obj, dev)
  },
  *release(w, file, path) {
    const fp = file.priv as FilePriv
    if (!fp.mm || !fp.mirrored) return
    const obj = designState(w).byMm.get(fp.mm.id)
    if (!obj) return
    const n = (obj.fdRefs.get(file.dev.idx) ?? 1) - 1
    obj.fdRefs.set(file.dev.idx, n)
    if (n <= 0) removeMirror(w, obj, file.dev.idx, [...path, 'hmm_mirror_unregister'])
  },
  init(w) {
    w.mmputChain.push(hmmMmput)
  },
}

/** The 2014 proposal's mmput notifier: tears the mm's struct hmm down before exit_mmap. */
function* hmmMmput(w: Kernel, mm: MmStruct, path: CallPath): Proc<void> {
  const st = designState(w)
  const obj = st.byMm.get(mm.id)
  if (!obj) return
  st.byMm.delete(mm.id)
  const zc = zapMirrors(obj)
  if (zc > 0) yield sleep(zc)
  if (obj.sub) yield* mmuNotifierUnregister(w, obj.sub, mm, [...path, 'hmm_mmput_exit'])
  freeDriverObj(w, obj, [...path, 'hmm_mmput_exit'])
}
