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
 *   mm reference, gets the pages of every invalid BO again (amdgpu_ttm_tt_get_user_pages: one
 *   hmm_range_fault over the whole BO, no retry of its own, amdgpu-hmm.ts), updates the GPU page
 *   tables, and only if no new eviction came in meanwhile resumes the queues
 *   (kgd2kfd_resume_mm); otherwise (-EAGAIN, or an error such as -EPERM) it reschedules itself;
 * - while the queues are quiesced the GPU runs nothing of this process: device work waits.
 * - process teardown cancels the delayed work (cancel_delayed_work_sync) before freeing, and frees
 *   the BOs (amdgpu_amdkfd_gpuvm_free_memory_of_gpu → amdgpu_hmm_unregister →
 *   mmu_interval_notifier_remove).
 */
import { runAtomic, sleep, WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { IntervalOps, IntervalSub } from '../kernel/objects'
import { mmuIntervalNotifierInsert, mmuIntervalNotifierRemove, mmuIntervalSetSeq } from '../kernel/notifier'
import { DPTE_PRESENT, DPTE_WRITE } from '../kernel/pagetable'
import { EAGAIN, EFAULT } from '../kernel/errno'
import { HMM_PFN_VALID, HMM_PFN_WRITE } from '../kernel/hmm'
import { mmput } from '../kernel/mm'
import { mmgetNotZero } from '../kernel/mm-ref'
import type { DriverObj } from './driver'
import { errnoName } from '../../shared/scenario'
import { amdgpuHmmRangeInvalidated, amdgpuTtmTtGetUserPages, type AmdgpuHmmRange } from './amdgpu-hmm'

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
  /** mem->range: the pages got by the last amdgpu_ttm_tt_get_user_pages, until confirmed. */
  range: AmdgpuHmmRange | null
  /** On process_info->userptr_inval_list (invalidated, not yet confirmed valid). */
  onInvalList: boolean
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
  /** Restore attempts failed in a row with `lastError` (not -EAGAIN). */
  failures = 0
  lastError = 0
  /** The model stopped rescheduling a restore that kept failing (RESTORE_STALL_ROUNDS). */
  stalled = false
  readonly resumed: WaitQueue
  /** process_info->lock (init_user_pages and the restore worker hold it). */
  infoLocked = false
  readonly infoLockQ: WaitQueue

  constructor(readonly obj: DriverObj) {
    this.resumed = new WaitQueue(`kfd resume of ${obj.label}`)
    this.infoLockQ = new WaitQueue(`process_info->lock of ${obj.label}`)
  }

  /** mutex_lock(&process_info->lock). */
  *lock(): Proc<void> {
    while (this.infoLocked) yield waitOn(this.infoLockQ)
    this.infoLocked = true
  }

  /** mutex_unlock(&process_info->lock). */
  unlock(w: Kernel): void {
    this.infoLocked = false
    w.engine.wakeUpAll(this.infoLockQ)
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
 * AMDKFD_IOC_ALLOC_MEMORY_OF_GPU with KFD_IOC_ALLOC_MEM_FLAGS_USERPTR
 * (amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu): the BO goes on the process's lists
 * (add_kgd_mem_to_kfd_bo_list), then init_user_pages registers its interval notifier
 * (amdgpu_hmm_register) and gets its pages with one amdgpu_ttm_tt_get_user_pages over the whole BO
 * (amdgpu-hmm.ts). A failure unregisters the notifier and frees the BO: the ioctl returns the
 * error, -EAGAIN included (an invalidation of the BO while hmm_range_fault ran, such as the COW
 * break of its own write fault; user space calls again). The model folds
 * AMDKFD_IOC_MAP_MEMORY_TO_GPU in: the pages are mapped on every mirror of the object, unless an
 * invalidation already marked the BO invalid (then the restore worker maps it). Returns 0 or an
 * errno. `write`: the GPU mapping is writable (KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE); the pages are
 * write-faulted either way (amdgpu_ttm_tt_is_readonly is false for KFD's BOs).
 */
export function* kfdRegisterUserptr(w: Kernel, obj: DriverObj, start: number, end: number, write: boolean, path: CallPath): Proc<number> {
  const p = [...path, 'amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu']
  const k = kfdEviction(obj)
  // init_user_pages runs under process_info->lock: the restore worker cannot revalidate the BO
  // while it is being set up
  yield* k.lock()
  const ret = yield* initUserPages(w, obj, k, start, end, write, p)
  k.unlock(w)
  return ret
}

function* initUserPages(w: Kernel, obj: DriverObj, k: KfdEviction, start: number, end: number, write: boolean, p: CallPath): Proc<number> {
  const ip = [...p, 'init_user_pages']
  const memId = w.ledger.alloc('driver_object', 512, obj.mm.owner, `userptr BO of ${obj.label}`, p)
  const r: KfdRange = { start, end, write, invalid: 0, memId, freed: false, sub: null, range: null, onInvalList: false }
  k.ranges.push(r)
  const drop = (): void => {
    // remove_kgd_mem_from_kfd_bo_list + free
    r.freed = true
    k.ranges.splice(k.ranges.indexOf(r), 1)
    w.ledger.free(memId, p)
  }
  const sub = mmuIntervalNotifierInsert(w, obj.mm, start, end, amdgpuHmmHsaOps, memId, [...ip, 'amdgpu_hmm_register'])
  if (typeof sub === 'number') {
    drop()
    return sub
  }
  sub.priv = { obj, bo: r } satisfies HsaPriv
  r.sub = sub
  const got = yield* amdgpuTtmTtGetUserPages(w, sub, start, end, ip)
  if (typeof got === 'number') {
    if (got === EAGAIN) w.count('kfd.userptr_alloc_eagain')
    // unregister_out: amdgpu_hmm_unregister; allocate_init_user_pages_failed
    r.freed = true
    r.sub = null
    yield* mmuIntervalNotifierRemove(w, sub, [...ip, 'amdgpu_hmm_unregister'])
    drop()
    return got
  }
  // amdgpu_ttm_tt_get_user_pages_done's answer is ignored here: an invalidation since the
  // sequence was taken went through amdgpu_amdkfd_evict_userptr (mem->invalid), and
  // kfd_mem_attach / map_memory_to_gpu leave an invalid userptr to the restore worker
  if (r.invalid === 0) yield* mapUserptr(w, obj, r, got)
  else r.onInvalList = true
  w.count('kfd.userptr_bos')
  return 0
}

interface HsaPriv {
  obj: DriverObj
  bo: KfdRange
}

/**
 * amdgpu_hmm_invalidate_hsa: false on a non-blockable range (it would have to wait for the queue
 * eviction); otherwise amdgpu_amdkfd_evict_userptr with the new seq, for every event (it has no
 * filter: the process's own migrations evict too).
 */
const amdgpuHmmHsaOps: IntervalOps = {
  invalidate(w, sub, r, cur) {
    if (!r.blockable) return -1
    const { obj, bo } = sub.priv as HsaPriv
    mmuIntervalSetSeq(sub, cur)
    return kfdEvictUserptr(w, obj, bo)
  },
}

/**
 * update_gpuvm_pte for one BO: its pages (the pfns hmm_range_fault returned) into the GPU page
 * table of every live mirror, writable where the BO is (KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE).
 */
function* mapUserptr(w: Kernel, obj: DriverObj, b: KfdRange, range: AmdgpuHmmRange): Proc<void> {
  let mapped = 0
  for (const m of obj.mirrors.values()) {
    if (!m.alive) continue
    for (let pg = b.start; pg < b.end; pg++) {
      const o = range.out[pg - b.start] as number
      if (!(o & HMM_PFN_VALID)) continue
      m.pt.set(pg, DPTE_PRESENT | (b.write && o & HMM_PFN_WRITE ? DPTE_WRITE : 0), range.pfns[pg - b.start] as number)
      mapped++
    }
  }
  if (mapped > 0) yield sleep(mapped * w.costs.dev_pte_write)
}

/**
 * amdgpu_amdkfd_evict_userptr for one BO: it becomes invalid; the first eviction quiesces the
 * process's queues (returns its cost, spent inside the interval callback) and queues the restore
 * worker.
 */
function kfdEvictUserptr(w: Kernel, obj: DriverObj, b: KfdRange): number {
  const k = obj.kfd
  if (!k || k.cancelled || obj.mmDead || b.freed) return 0
  // mem->invalid++ + evicted_bos++
  b.invalid++
  k.evicted++
  w.count('kfd.range_invalidations')
  if (k.stalled && !k.restoreQueued) {
    // the model stopped rescheduling a restore that kept failing (restoreWorker); the kernel's
    // worker would still be retrying every AMDGPU_USERPTR_RESTORE_DELAY_MS: pick it up again
    k.stalled = false
    scheduleRestore(w, k)
  }
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
  // queue_delayed_work(…, msecs_to_jiffies(AMDGPU_USERPTR_RESTORE_DELAY_MS)): one jiffy, so the
  // worker runs on the next tick (up to 4 ms later at HZ=250), not 1 ms later
  w.queueDelayedWork('amdgpu_amdkfd_restore_userptr_worker', w.costs.kfd_restore_delay / 1e6, () => restoreWorker(w, k))
}

/**
 * Restore attempts that failed in a row with the same error (not -EAGAIN) before the model stops
 * rescheduling and reports the stall; the kernel retries every AMDGPU_USERPTR_RESTORE_DELAY_MS for
 * as long as the process lives.
 */
const RESTORE_STALL_ROUNDS = 64

/**
 * amdgpu_amdkfd_restore_userptr_worker (svm_range_restore_work is the same shape):
 * - update_invalid_user_pages: every BO invalidated since its last update goes on the invalid list
 *   and gets its pages again (amdgpu_ttm_tt_get_user_pages: one hmm_range_fault over the BO). -EFAULT
 *   counts as success (the BO stays invalid, without pages; the GPU faults if it touches it); any
 *   other error (-EAGAIN from a racing invalidation, -EPERM from a write fault on a read-only VMA,
 *   -ESRCH) ends the attempt; a BO invalidated again while its pages were got ends it with -EAGAIN;
 * - validate_invalid_user_pages: the GPU page tables of the BOs on the invalid list are updated;
 * - then, under the notifier lock: any eviction since the worker started (evicted_bos changed) →
 *   -EAGAIN; confirm_valid_user_pages_locked checks each range's sequence
 *   (amdgpu_ttm_tt_get_user_pages_done) and moves the valid BOs back;
 * - success: evicted_bos = 0 and kgd2kfd_resume_mm; any failure: the worker queues itself again
 *   after AMDGPU_USERPTR_RESTORE_DELAY_MS, the queues staying quiesced.
 */
function* restoreWorker(w: Kernel, k: KfdEviction): Proc<void> {
  const obj = k.obj
  const p = ['process_one_work', 'amdgpu_amdkfd_restore_userptr_worker']
  if (k.cancelled) return
  k.restoreQueued = false
  // evicted_bos = process_info->evicted_bos; if (!evicted_bos) return
  if (k.evicted === 0) return
  // get_task_mm (through the task, never a freed mm): the process is exiting, nothing to restore
  if (obj.mmDead || obj.mm.mm_users <= 0 || !mmgetNotZero(w, obj.mm, p)) return
  const up = [...p, 'update_invalid_user_pages']
  yield* k.lock()
  const ret = yield* restoreLocked(w, k, up)
  k.unlock(w)
  yield* mmput(w, obj.mm, p)
  if (k.cancelled || ret === 0) return
  w.count('kfd.restore_retries')
  if (ret === EAGAIN) k.failures = 0
  else if (ret === k.lastError) k.failures++
  else k.failures = 1
  k.lastError = ret
  if (k.failures >= RESTORE_STALL_ROUNDS) {
    k.stalled = true
    k.failures = 0
    w.finding({
      kind: 'livelock',
      message: `the KFD restore worker of ${obj.label} failed ${RESTORE_STALL_ROUNDS} times in a row with ${errnoName(ret)} (update_invalid_user_pages: amdgpu_ttm_tt_get_user_pages); the kernel retries every AMDGPU_USERPTR_RESTORE_DELAY_MS and the user queues stay evicted until the BO can be faulted again or is freed; the model stops retrying until the next invalidation of a BO`,
      accessPath: up,
    })
    return
  }
  // "If validation failed, reschedule another attempt": the queues stay quiesced
  if (!k.restoreQueued) scheduleRestore(w, k)
}

/** The worker's body under process_info->lock; 0 when the queues were resumed. */
function* restoreLocked(w: Kernel, k: KfdEviction, up: CallPath): Proc<number> {
  const obj = k.obj
  if (k.cancelled) return 0
  const evicted = k.evicted
  let ret = 0
  for (const b of [...k.ranges]) {
    if (b.freed || b.invalid === 0) continue
    b.onInvalList = true
    const invalid = b.invalid
    // amdgpu_ttm_tt_discard_user_pages
    b.range = null
    const got = yield* amdgpuTtmTtGetUserPages(w, b.sub, b.start, b.end, up)
    if (b.freed) continue
    if (typeof got === 'number') {
      if (got !== EFAULT) return got
      // "Return -EFAULT bad address error as success": the BO keeps mem->invalid, no pages
      w.count('kfd.restore_failed_ranges')
    } else b.range = got
    // "Mark the BO as valid unless it was invalidated again concurrently"
    if (b.invalid !== invalid) return EAGAIN
    if (b.range) b.invalid = 0
  }
  // validate_invalid_user_pages: update_gpuvm_pte for every BO on the invalid list (one without
  // pages has its GPU mapping cleared: the invalidation already zapped it)
  for (const b of k.ranges) if (!b.freed && b.onInvalList && b.range) yield* mapUserptr(w, obj, b, b.range)
  if (k.cancelled) return 0
  // under the notifier lock: a concurrent eviction → -EAGAIN
  if (k.evicted !== evicted) return EAGAIN
  // confirm_valid_user_pages_locked
  for (const b of k.ranges) {
    if (b.freed || !b.onInvalList || !b.range) continue
    const stale = amdgpuHmmRangeInvalidated(b.range)
    b.range = null
    if (stale || b.invalid > 0) {
      // "User pages unexpectedly invalid": every invalidation also bumps evicted_bos, so the
      // check above catches it first
      w.count('kfd.restore_confirm_invalid')
      ret = EAGAIN
      continue
    }
    b.onInvalList = false
  }
  if (ret !== 0) return ret
  k.failures = 0
  k.evicted = 0
  // kgd2kfd_resume_mm
  yield sleep(w.costs.kfd_resume * Math.max(1, obj.queues.length))
  if (k.cancelled) return 0
  k.resume(w)
  w.count('kfd.restores')
  w.log('kfd', 'resume_mm', obj.label)
  return 0
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
