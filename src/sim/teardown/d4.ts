/**
 * D4 — mmu_notifier_get/put with an SRCU-deferred free_notifier (AMD KFD today, kfd_process.c):
 * one kfd_process per mm in a table keyed by mm, shared by every device and file, referenced by the
 * notifier and by each opener. ->release (from exit_mmap) unhashes it, stops queues and zaps the
 * GPU mappings (the GPU VM and its page tables stay), clears p->mm and calls mmu_notifier_put;
 * after an SRCU grace period free_notifier drops the notifier's reference. The last reference
 * queues kfd_process_wq_release, which frees BOs, the GPU VMs (per-device data), the PASID and the
 * object. Ioctls from another mm get -EBADF.
 */
import { sleep } from '../engine/engine'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, MmStruct, Task } from '../kernel/objects'
import { SIZEOF } from '../kernel/objects'
import { mmuNotifierGet, mmuNotifierPut } from '../kernel/notifier'
import { addMirror, allocDriverObj, destroyQueues, embedSub, freeDriverObj, mirrorNotifierOps, zapMirrors, type DriverObj } from '../drivers/driver'
import { designState, type TeardownDesign, type Target } from './design'
import { EBADF, EINVAL } from '../kernel/errno'
import type { CallPath } from '../ledger/ledger'
import { kfdCancel } from '../drivers/kfd-evict'

function unref(w: Kernel, obj: DriverObj, path: CallPath): void {
  const p = [...path, 'kfd_unref_process']
  if (!w.ledger.access(obj.ledgerId, p, 'kref_put(&p->ref)')) return
  obj.kref--
  if (obj.kref === 0) {
    w.queueWork('kfd_process_wq_release', 0, function* () {
      freeDriverObj(w, obj, ['process_one_work', 'kfd_process_wq_release'])
    })
  }
}

const ops = mirrorNotifierOps('kfd_process_mmu_notifier_ops', {
  *release(w, sub, mm, path) {
    const obj = sub.priv as DriverObj
    const st = designState(w)
    if (st.byMm.get(mm.id) !== obj) return
    st.byMm.delete(mm.id)
    // kfd_processes_srcu (the process table's own domain), not the notifier's: this runs inside
    // the notifier SRCU read section of __mmu_notifier_release
    yield* w.synchronizeSrcu(w.srcuDomain('kfd_processes_srcu'))
    // kfd_process_notifier_release_internal: the GPU must not touch the address space once
    // release returns — queues are dequeued and the mappings dropped here
    // cancel the eviction / restore delayed work first
    kfdCancel(w, obj)
    w.count('kfd.queues_destroyed_at_release', destroyQueues(w, obj, [...path, 'kfd_process_notifier_release_internal']))
    const zc = zapMirrors(obj, true)
    if (zc > 0) yield sleep(zc)
    obj.mmDead = true
    mmuNotifierPut(w, sub, [...path, 'kfd_process_notifier_release_internal'])
  },
  allocNotifier(w, mm: MmStruct) {
    const obj = designState(w).byMm.get(mm.id)
    if (!obj || !obj.sub) return null
    obj.kref++
    return obj.sub
  },
  freeNotifier(w, sub, path) {
    unref(w, sub.priv as DriverObj, [...path, 'kfd_process_free_notifier'])
  },
})

/** kfd_create_process: existing process of this mm (+1 ref) or a new one (ref 2 at steady state). */
function createProcess(w: Kernel, mm: MmStruct, path: CallPath): DriverObj | number {
  const st = designState(w)
  const have = st.byMm.get(mm.id)
  if (have) {
    have.kref++
    return have
  }
  const p = [...path, 'kfd_create_process', 'create_process']
  const obj = allocDriverObj(w, 'kfd_process', SIZEOF.kfd_process, mm, p)
  obj.pasidId = w.ledger.alloc('pasid', SIZEOF.pasid, mm.owner, `PASID of ${obj.label}`, [...p, 'kfd_pasid_alloc'])
  embedSub(w, ops, obj)
  st.byMm.set(mm.id, obj)
  obj.kref++ // the extra reference around mmu_notifier_get
  const s = mmuNotifierGet(w, ops, mm, p)
  if (typeof s === 'number') {
    st.byMm.delete(mm.id)
    freeDriverObj(w, obj, p)
    return s
  }
  obj.kref-- // kfd_unref_process(extra): 1 notifier + 1 opener
  return obj
}

interface FilePriv {
  obj: DriverObj | null
}

export const D4: TeardownDesign = {
  id: 'D4',
  title: 'mmu_notifier_get/put + SRCU free_notifier (KFD today)',
  summary: 'One kfd_process per mm, shared by devices and files; ->release stops the GPU; memory freed when the notifier ref (after SRCU) and every file ref are gone.',
  correct: true,
  open(w, task, file, path) {
    if (!task.mm) return EINVAL
    const r = createProcess(w, task.mm, [...path, 'kfd_open'])
    if (typeof r === 'number') return r
    file.priv = { obj: r } satisfies FilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    const mm = task.mm
    if (!mm) return EINVAL
    let obj: DriverObj
    if (file) {
      const o = (file.priv as FilePriv).obj
      if (!o) return EINVAL
      if (o.mm !== mm || o.mmDead) return EBADF
      obj = o
    } else {
      const st = designState(w)
      const have = st.byMm.get(mm.id)
      if (have) obj = have
      else {
        const r = createProcess(w, mm, [...path, 'kfd_api'])
        if (typeof r === 'number') return r
        unref(w, r, path) // no opener: only the notifier keeps it
        obj = r
      }
    }
    addMirror(w, obj, dev, SIZEOF.kfd_process_device, [...path, 'kfd_bind_process_to_device'])
    return 0
  },
  resolve(w, task: Task, dev: Device, file: File | null): Target | number {
    const mm = task.mm
    let obj: DriverObj | null | undefined
    if (file) obj = (file.priv as FilePriv).obj
    else obj = mm ? designState(w).byMm.get(mm.id) : undefined
    if (!obj) return EINVAL
    if (obj.mm !== mm || obj.mmDead) return EBADF
    const m = obj.mirrors.get(dev.idx)
    if (!m) return EINVAL
    return { kind: 'mirror', m, obj }
  },
  *release(w, file, path) {
    const obj = (file.priv as FilePriv).obj
    if (obj) unref(w, obj, [...path, 'kfd_release'])
  },
}
