/**
 * D4 — mmu_notifier_get/put with an SRCU-deferred free_notifier (AMD KFD today, kfd_process.c):
 * one kfd_process per mm in a table keyed by mm, shared by every device and file, referenced by the
 * notifier and by each opener. kfd_process_mmu_notifier_ops has only release, alloc_notifier and
 * free_notifier: the GPU's view of the address space is kept coherent by interval notifiers — one
 * per SVM range (svm_range_add_notifier_locked → svm_range_cpu_invalidate_pagetables; the model
 * keeps one over the whole address space, inserted when the process is bound to its first device)
 * and one per userptr BO (amdgpu_hmm_register, drivers/kfd-evict.ts). Those run in
 * mn_itree_invalidate, outside the notifier SRCU, so another process's slow eviction never delays
 * this process's exit (synchronize_srcu in mn_hlist_release).
 *
 * ->release (from exit_mmap, after mn_itree_release sent RELEASE to the intervals, which SVM
 * ignores) unhashes the process, cancels the eviction / restore work, clears p->mm and calls
 * mmu_notifier_put. exit_mmap's UNMAP then reaches the SVM interval, but svm_range_unmap_from_cpu
 * no longer finds the process (kfd_lookup_process_by_mm) and leaves the GPU page tables as they
 * are: until kfd_process_wq_release the GPU VM maps freed pages, and the user queues — unless a
 * userptr BO's RELEASE eviction stopped them — can still run (invariant 4 reports it; the
 * mirror's deviceCanAccess says when the GPU can walk the VM). After an SRCU grace period free_notifier drops the notifier's
 * reference; the last reference queues kfd_process_wq_release, which dequeues the user queues
 * (kfd_process_dequeue_from_all_devices, pqm_uninit), frees the BOs (removing their intervals),
 * the SVM ranges (svm_range_list_fini), the GPU VMs, the PASID and the object. With the patch
 * kfd_dequeue_user_queues_when_mm_released ("drm/amdkfd: Dequeue user queues when process mm
 * released", amd-gfx, October 2025; `machine.patches`) the queues are dequeued in ->release
 * instead. Ioctls from another mm get -EBADF.
 */
import { WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, IntervalOps, MmStruct, NotifierOps, Task } from '../kernel/objects'
import { SIZEOF } from '../kernel/objects'
import {
  ALL_PAGES,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  mmuNotifierGet,
  mmuNotifierPut,
  mmuNotifierSynchronize,
} from '../kernel/notifier'
import { addMirror, allocDriverObj, destroyQueues, embedSub, freeDriverObj, type DriverObj } from '../drivers/driver'
import { designState, mirrorTarget, type ObjFilePriv, type TeardownDesign, type Target } from './design'
import { EBADF, EINVAL } from '../kernel/errno'
import type { CallPath } from '../ledger/ledger'
import { kfdCancel, kfdFreeUserptrs } from '../drivers/kfd-evict'
import { svmRangeRestorePages } from '../drivers/kfd-svm'

/** The patch that moves the dequeue from kfd_process_wq_release to the notifier release. */
const KFD_DEQUEUE_AT_RELEASE = 'kfd_dequeue_user_queues_when_mm_released'

/** kfd_process_wq: release works queued and not finished (kfd_process_destroy_wq drains them). */
const kfdProcessWq = new WeakMap<Kernel, { pending: number; idle: WaitQueue }>()

function processWq(w: Kernel): { pending: number; idle: WaitQueue } {
  let q = kfdProcessWq.get(w)
  if (!q) {
    q = { pending: 0, idle: new WaitQueue('kfd_process_wq') }
    kfdProcessWq.set(w, q)
  }
  return q
}

function unref(w: Kernel, obj: DriverObj, path: CallPath): void {
  const p = [...path, 'kfd_unref_process']
  if (!w.ledger.access(obj.ledgerId, p, 'kref_put(&p->ref)')) return
  obj.kref--
  if (obj.kref === 0) {
    const q = processWq(w)
    q.pending++
    w.queueWork('kfd_process_wq_release', 0, function* () {
      yield* wqRelease(w, obj)
      if (--q.pending === 0) w.engine.wakeUpAll(q.idle)
    })
  }
}

/** kfd_process_wq_release: the process is unreachable; dequeue, free BOs and SVM ranges, free. */
function* wqRelease(w: Kernel, obj: DriverObj): Proc<void> {
  const p = ['process_one_work', 'kfd_process_wq_release']
  const n = destroyQueues(w, obj, [...p, 'kfd_process_dequeue_from_all_devices'])
  if (n > 0) {
    w.count('kfd.queues_destroyed_at_wq_release', n)
    if (obj.mmDead) w.log('kfd', 'dequeue_after_mm_release', `${n} user queue(s) of ${obj.label}`)
  }
  yield* kfdFreeUserptrs(w, obj, [...p, 'kfd_process_free_outstanding_kfd_bos'])
  if (obj.interval) {
    const s = obj.interval
    obj.interval = null
    yield* mmuIntervalNotifierRemove(w, s, [...p, 'svm_range_list_fini', 'svm_range_remove_notifier'])
  }
  freeDriverObj(w, obj, p)
}

/**
 * svm_range_cpu_invalidate_pagetables: RELEASE is ignored (returns true); anything else unmaps the
 * range from the GPUs (svm_range_unmap_from_cpu / svm_range_evict with XNACK on). It never answers
 * false, also not on a non-blockable range.
 */
const svmRangeMnOps: IntervalOps = {
  invalidate(w, sub, r, cur) {
    if (r.event === 'RELEASE') return 0
    const obj = sub.priv as DriverObj
    mmuIntervalSetSeq(sub, cur)
    // svm_range_unmap_from_cpu / svm_range_evict look the process up by mm; after ->release took
    // it out of the table (kfd_lookup_process_by_mm → NULL) they return without touching the GPU
    // page tables: exit_mmap's UNMAP leaves them to kfd_process_wq_release
    if (obj.mmDead) {
      w.count('kfd.svm_unmap_after_release_skipped')
      return 0
    }
    let cost = 0
    for (const m of obj.mirrors.values()) {
      if (r.event === 'MIGRATE' && r.owner === m.dev.idx) continue
      cost += m.invalidate(r)
    }
    return cost
  },
}

/** kfd_process_notifier_release_internal. */
function releaseInternal(w: Kernel, obj: DriverObj, path: CallPath): void {
  const p = [...path, 'kfd_process_notifier_release_internal']
  // cancel_delayed_work_sync of the eviction and restore work
  kfdCancel(w, obj)
  if (w.patches.has(KFD_DEQUEUE_AT_RELEASE)) {
    const n = destroyQueues(w, obj, [...p, 'kfd_process_dequeue_from_all_devices'])
    if (n > 0) w.count('kfd.queues_destroyed_at_release', n)
  }
  // p->mm = NULL
  obj.mmDead = true
  if (obj.sub) mmuNotifierPut(w, obj.sub, p)
}

const ops: NotifierOps = {
  name: 'kfd_process_mmu_notifier_ops',
  /** kfd_process_notifier_release → kfd_process_notifier_release_internal. */
  *release(w, sub, mm, path) {
    const obj = sub.priv as DriverObj
    const st = designState(w)
    if (st.byMm.get(mm.id) !== obj) return
    st.byMm.delete(mm.id)
    // kfd_processes_srcu (the process table's own domain), not the notifier's: this runs inside
    // the notifier SRCU read section of __mmu_notifier_release
    yield* w.synchronizeSrcu(w.srcuDomain('kfd_processes_srcu'))
    releaseInternal(w, obj, path)
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
}

/** The process's SVM ranges: one interval over the address space, inserted once (mm_users > 0). */
function svmInterval(w: Kernel, obj: DriverObj, path: CallPath): number {
  if (obj.interval) return 0
  const sub = mmuIntervalNotifierInsert(w, obj.mm, 0, ALL_PAGES, svmRangeMnOps, obj.ledgerId, [...path, 'svm_range_add_notifier_locked'])
  if (typeof sub === 'number') return sub
  sub.priv = obj
  obj.interval = sub
  return 0
}

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

export const D4: TeardownDesign = {
  id: 'D4',
  title: 'mmu_notifier_get/put + SRCU free_notifier (KFD today)',
  summary:
    'One kfd_process per mm, shared by devices and files; GPU mappings follow interval notifiers; ->release cancels the eviction work and drops the notifier; queues dequeued and memory freed when the notifier ref (after SRCU) and every file ref are gone.',
  correct: true,
  open(w, task, file, path) {
    if (!task.mm) return EINVAL
    const r = createProcess(w, task.mm, [...path, 'kfd_open'])
    if (typeof r === 'number') return r
    file.priv = { obj: r } satisfies ObjFilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    const mm = task.mm
    if (!mm) return EINVAL
    let obj: DriverObj
    if (file) {
      const o = (file.priv as ObjFilePriv).obj
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
    const r = svmInterval(w, obj, path)
    if (r < 0) return r
    const m = addMirror(w, obj, dev, SIZEOF.kfd_process_device, [...path, 'kfd_bind_process_to_device'])
    m.interval = obj.interval
    // a GPU's retry faults go to svm_range_restore_pages: one SVM granule (the device's fault
    // chunk, 2 MiB by default: amdgpu_svm_default_granularity = 9) per fault, no retry loop of
    // its own (drivers/kfd-svm.ts); a dmirror device keeps test_hmm's dmirror_fault
    if (dev.spec.kind === 'gpu' && !m.deviceFault) {
      const granule = Math.max(1, dev.spec.faultChunkPages)
      m.deviceFault = (addr, write, fp) => svmRangeRestorePages(w, m, addr, write, granule, fp)
    }
    // the GPU walks this VM while the process has user queues that are neither dequeued nor
    // left evicted by the teardown
    m.deviceCanAccess = () => obj.queues.length > 0 && !(obj.kfd?.stoppedAtCancel ?? false)
    return 0
  },
  resolve(w, task: Task, dev: Device, file: File | null): Target | number {
    const mm = task.mm
    let obj: DriverObj | null | undefined
    if (file) obj = (file.priv as ObjFilePriv).obj
    else obj = mm ? designState(w).byMm.get(mm.id) : undefined
    if (!obj) return EINVAL
    if (obj.mm !== mm || obj.mmDead) return EBADF
    return mirrorTarget(obj, dev)
  },
  *release(w, file, path) {
    const obj = (file.priv as ObjFilePriv).obj
    if (obj) unref(w, obj, [...path, 'kfd_release'])
  },
  /**
   * kfd_exit: kfd_cleanup_processes takes every process still in the table (API users whose mm
   * lives on) through release_internal and ends with mmu_notifier_synchronize, so every
   * free_notifier has run; kfd_process_destroy_wq then drains the release works they queued.
   */
  *moduleExit(w, synchronize, path) {
    const p = [...path, 'kfd_exit', 'kfd_cleanup_processes']
    const st = designState(w)
    for (const [id, obj] of [...st.byMm]) {
      st.byMm.delete(id)
      yield* w.synchronizeSrcu(w.srcuDomain('kfd_processes_srcu'))
      releaseInternal(w, obj, p)
    }
    if (synchronize) yield* mmuNotifierSynchronize(w)
    const q = processWq(w)
    while (q.pending > 0) yield waitOn(q.idle)
  },
}
