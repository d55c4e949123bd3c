/**
 * KFD's eviction / restore of user queues when the CPU invalidates memory the GPU maps without
 * being able to fault (userptr BOs, amdgpu_amdkfd_gpuvm.c; SVM ranges with XNACK off, kfd_svm.c):
 *
 * - each BO has its own mmu_interval_notifier (amdgpu_hmm_register → mmu_interval_notifier_insert
 *   with amdgpu_hmm_hsa_ops), so its eviction runs in mn_itree_invalidate, outside the notifier
 *   SRCU: a slow eviction delays only invalidations of this mm, never another process's
 *   synchronize_srcu (its exit); amdgpu_hmm_invalidate_hsa answers false on a non-blockable range
 *   (the OOM reaper gets -EAGAIN and skips the VMA);
 * - the notifier callback (amdgpu_amdkfd_evict_userptr / svm_range_evict) marks the BO or range
 *   invalid and bumps the process's eviction count (`evicted_bos` / `evicted_ranges`); the first
 *   eviction quiesces the process's user queues (kgd2kfd_quiesce_mm → evict_process_queues: the
 *   HWS preempts them and the callback waits for it — time spent inside the notifier) and queues
 *   the restore worker as delayed work (AMDGPU_USERPTR_RESTORE_DELAY_MS /
 *   AMDGPU_SVM_RANGE_RESTORE_DELAY_MS, 1 ms, so consecutive invalidations accumulate);
 * - the restore worker (amdgpu_amdkfd_restore_userptr_worker / svm_range_restore_work) takes an
 *   mm reference, revalidates every invalid range (hmm_range_fault, GPU page-table update), and
 *   only if no new eviction came in meanwhile (cmpxchg of the count to 0) resumes the queues
 *   (kgd2kfd_resume_mm); otherwise it reschedules itself;
 * - while the queues are quiesced the GPU runs nothing of this process: device work waits.
 * - process teardown cancels the delayed work (cancel_delayed_work_sync) before freeing, and frees
 *   the BOs (amdgpu_amdkfd_gpuvm_free_memory_of_gpu → amdgpu_hmm_unregister →
 *   mmu_interval_notifier_remove).
 */
import { runAtomic, sleep, WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { IntervalOps, IntervalSub, NotifierRange } from '../kernel/objects'
import { mmuIntervalNotifierInsert, mmuIntervalNotifierRemove, mmuIntervalSetSeq } from '../kernel/notifier'
import { DPTE_PRESENT, DPTE_WRITE, PTE_PRESENT, PTE_WRITE } from '../kernel/pagetable'
import { faultIn } from '../kernel/memory'
import { withMmapReadLock } from '../kernel/mmap_lock'
import { mmput } from '../kernel/mm'
import { mmgetNotZero } from '../kernel/mm-ref'
import type { DriverObj } from './driver'

/** One userptr BO (kgd_mem with a userptr) or SVM range, in pages [start, end). */
export interface KfdRange {
  start: number
  end: number
  write: boolean
  /** mem->invalid: invalidations not yet revalidated. */
  invalid: number
  /** The BO's ledger object (kgd_mem). */
  memId: number
  freed: boolean
  /** bo->notifier (amdgpu_hmm_register); null once unregistered. */
  sub: IntervalSub | null
}

/** Per-process eviction state (process_info / svms). */
export class KfdEviction {
  readonly ranges: KfdRange[] = []
  /** evicted_bos / evicted_ranges. */
  evicted = 0
  quiesced = false
  private quiescedAt = 0
  /** The restore delayed work is queued or running. */
  restoreQueued = false
  /** cancel_delayed_work_sync ran (process teardown). */
  cancelled = false
  /** The queues were evicted when the restore work was cancelled: they are never restored. */
  stoppedAtCancel = false
  readonly resumed: WaitQueue

  constructor(readonly obj: DriverObj) {
    this.resumed = new WaitQueue(`kfd resume of ${obj.label}`)
  }

  /** Starts the quiesced period (kgd2kfd_quiesce_mm). */
  quiesce(w: Kernel): void {
    this.quiesced = true
    this.quiescedAt = w.engine.now
  }

  /** Ends it (kgd2kfd_resume_mm): waiting device work runs again. */
  resume(w: Kernel): void {
    if (!this.quiesced) return
    this.quiesced = false
    w.count('kfd.quiesced_ns', w.engine.now - this.quiescedAt)
    w.engine.wakeUpAll(this.resumed)
  }
}

/** The eviction state of a driver object (created on the first userptr / SVM range). */
function kfdEviction(obj: DriverObj): KfdEviction {
  if (!obj.kfd) obj.kfd = new KfdEviction(obj)
  return obj.kfd
}

/**
 * AMDKFD_IOC_ALLOC_MEMORY_OF_GPU with KFD_IOC_ALLOC_MEM_FLAGS_USERPTR (or an SVM range with XNACK
 * off): registers [start, end) of the process's address space and maps it on every mirror of the
 * object (hmm_range_fault + GPU page-table update). Returns 0 or an errno.
 */
export function* kfdRegisterUserptr(w: Kernel, obj: DriverObj, start: number, end: number, write: boolean, path: CallPath): Proc<number> {
  const p = [...path, 'amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu', 'init_user_pages']
  const k = kfdEviction(obj)
  const memId = w.ledger.alloc('driver_object', 512, obj.mm.owner, `userptr BO of ${obj.label}`, p)
  const r: KfdRange = { start, end, write, invalid: 0, memId, freed: false, sub: null }
  const sub = mmuIntervalNotifierInsert(w, obj.mm, start, end, amdgpuHmmHsaOps, memId, [...p, 'amdgpu_hmm_register'])
  if (typeof sub === 'number') {
    w.ledger.free(memId, p)
    return sub
  }
  sub.priv = { obj, bo: r } satisfies HsaPriv
  r.sub = sub
  const ret = yield* validate(w, obj, r, p)
  if (ret < 0) {
    yield* mmuIntervalNotifierRemove(w, sub, [...p, 'amdgpu_hmm_unregister'])
    r.sub = null
    w.ledger.free(memId, p)
    return ret
  }
  k.ranges.push(r)
  w.count('kfd.userptr_bos')
  return 0
}

interface HsaPriv {
  obj: DriverObj
  bo: KfdRange
}

/**
 * amdgpu_hmm_invalidate_hsa: false on a non-blockable range (it would have to wait for the queue
 * eviction); otherwise amdgpu_amdkfd_evict_userptr with the new seq.
 */
const amdgpuHmmHsaOps: IntervalOps = {
  invalidate(w, sub, r, cur) {
    if (!r.blockable) return -1
    const { obj, bo } = sub.priv as HsaPriv
    mmuIntervalSetSeq(sub, cur)
    return kfdEvictUserptr(w, obj, bo, r)
  },
}

/** Faults the range in (hmm_range_fault) and maps it on the object's mirrors. */
function* validate(w: Kernel, obj: DriverObj, r: KfdRange, path: CallPath): Proc<number> {
  const mm = obj.mm
  const f = yield* withMmapReadLock(w, mm, faultIn(w, mm, r.start, r.end, r.write, -1, [...path, 'amdgpu_ttm_tt_get_user_pages', 'hmm_range_fault']))
  if (f < 0) return f
  const c = w.costs
  let mapped = 0
  for (const m of obj.mirrors.values()) {
    if (!m.alive) continue
    for (let pg = r.start; pg < r.end; pg++) {
      const fl = mm.pt.get(pg)
      if (!(fl & PTE_PRESENT)) continue
      m.pt.set(pg, DPTE_PRESENT | (r.write && fl & PTE_WRITE ? DPTE_WRITE : 0), mm.pt.pfn(pg))
      mapped++
    }
  }
  yield sleep(c.hmm_range_fault_call + (r.end - r.start) * c.hmm_range_fault_page + mapped * c.dev_pte_write)
  return 0
}

/**
 * amdgpu_amdkfd_evict_userptr for one BO: it becomes invalid; the first eviction quiesces the
 * process's queues (returns its cost, spent inside the interval callback) and queues the restore
 * worker.
 */
function kfdEvictUserptr(w: Kernel, obj: DriverObj, b: KfdRange, r: NotifierRange): number {
  const k = obj.kfd
  if (!k || k.cancelled || obj.mmDead || b.freed) return 0
  // the process's own migration to its device's memory does not evict
  if (r.event === 'MIGRATE' && obj.mirrors.has(r.owner)) return 0
  // mem->invalid++ + evicted_bos++
  b.invalid++
  k.evicted++
  w.count('kfd.range_invalidations')
  if (k.quiesced || k.restoreQueued) return 0
  // first eviction: stop the queues (the callback waits for the HWS preemption)
  k.quiesce(w)
  w.count('kfd.evictions')
  w.log('kfd', 'quiesce_mm', obj.label)
  scheduleRestore(w, k)
  return w.costs.kfd_quiesce * Math.max(1, obj.queues.length)
}

function scheduleRestore(w: Kernel, k: KfdEviction): void {
  k.restoreQueued = true
  w.queueWork('amdgpu_amdkfd_restore_userptr_worker', w.costs.kfd_restore_delay, () => restoreWorker(w, k))
}

/** amdgpu_amdkfd_restore_userptr_worker (svm_range_restore_work is the same shape). */
function* restoreWorker(w: Kernel, k: KfdEviction): Proc<void> {
  const obj = k.obj
  const p = ['process_one_work', 'amdgpu_amdkfd_restore_userptr_worker']
  if (k.cancelled) return
  k.restoreQueued = false
  // get_task_mm (through the task, never a freed mm): the process is exiting, nothing to restore
  if (obj.mmDead || obj.mm.mm_users <= 0 || !mmgetNotZero(w, obj.mm, p)) return
  const evicted = k.evicted
  for (const b of k.ranges) {
    if (b.freed || b.invalid === 0) continue
    const inv = b.invalid
    const ret = yield* validate(w, obj, b, p)
    if (ret < 0) {
      // the range is gone (munmap): the BO stays invalid until user space frees it
      w.count('kfd.restore_failed_ranges')
      b.invalid = 0
      continue
    }
    b.invalid -= inv
  }
  yield* mmput(w, obj.mm, p)
  if (k.cancelled) return
  if (k.evicted !== evicted || k.ranges.some((b) => !b.freed && b.invalid > 0)) {
    // invalidated again while revalidating: try again later, queues stay quiesced
    w.count('kfd.restore_retries')
    if (!k.restoreQueued) scheduleRestore(w, k)
    return
  }
  k.evicted = 0
  yield sleep(w.costs.kfd_resume * Math.max(1, obj.queues.length))
  if (k.cancelled) return
  k.resume(w)
  w.count('kfd.restores')
  w.log('kfd', 'resume_mm', obj.label)
}

/** Device work of a process whose queues are quiesced waits for the restore. */
export function* kfdWaitRunnable(w: Kernel, obj: DriverObj): Proc<void> {
  const k = obj.kfd
  if (!k) return
  while (k.quiesced && !k.cancelled && !obj.mmDead) {
    w.count('kfd.device_work_stalled')
    yield waitOn(k.resumed)
  }
}

/**
 * cancel_delayed_work_sync of the restore work (kfd_process_notifier_release_internal, and again
 * before the BOs are freed); device work that waited for a resume gives up.
 */
export function kfdCancel(w: Kernel, obj: DriverObj): void {
  const k = obj.kfd
  if (!k || k.cancelled) return
  k.cancelled = true
  k.stoppedAtCancel = k.quiesced
  k.resume(w)
}

/**
 * kfd_process_free_outstanding_kfd_bos for userptr BOs: cancel the restore work, unregister each
 * BO's interval notifier (amdgpu_hmm_unregister; it may wait out an invalidation of the tree) and
 * free it. `canSleep` false (freeDriverObj, which cannot sleep): a kworker removes an interval
 * still registered, and the BOs are freed at once.
 */
function* freeUserptrs(w: Kernel, obj: DriverObj, path: CallPath, canSleep: boolean): Proc<void> {
  const k = obj.kfd
  if (!k) return
  kfdCancel(w, obj)
  for (const b of k.ranges) {
    if (b.freed) continue
    if (b.sub) {
      const s = b.sub
      b.sub = null
      if (canSleep) yield* mmuIntervalNotifierRemove(w, s, [...path, 'amdgpu_amdkfd_gpuvm_free_memory_of_gpu', 'amdgpu_hmm_unregister'])
      else w.queueWork('amdgpu_hmm_unregister', 0, () => mmuIntervalNotifierRemove(w, s, ['process_one_work', 'amdgpu_hmm_unregister']))
    }
    b.freed = true
    w.ledger.free(b.memId, path)
  }
}

/** kfd_process_free_outstanding_kfd_bos for userptr BOs, from a context that may sleep. */
export function kfdFreeUserptrs(w: Kernel, obj: DriverObj, path: CallPath): Proc<void> {
  return freeUserptrs(w, obj, path, true)
}

/** The same from a context that cannot sleep (freeDriverObj). */
export function kfdTeardown(w: Kernel, obj: DriverObj, path: CallPath): void {
  runAtomic(freeUserptrs(w, obj, path, false), `kfd teardown of ${obj.label}`)
}
