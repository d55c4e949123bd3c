/**
 * The OOM killer's victim handling and the OOM reaper as mm/oom_kill.c has them today (v4.19 on,
 * checked against 6.12 and mainline):
 *
 * - mark_oom_victim: MMF_OOM_VICTIM, and `mmgrab(tsk->signal->oom_mm)`: the reaper holds mm_count
 *   only, never mm_users (the mmget_not_zero + mmput_async of v4.7–v4.18 is gone), so the victim's
 *   own exit_mm → mmput is the last user put and the victim runs exit_mmap itself, before
 *   exit_files (do_exit's order). The mm_count goes with the signal struct (free_signal_struct →
 *   mmdrop), modelled when both the victim and the reaper are done.
 * - queue_oom_reaper: the reaper looks at the victim OOM_REAPER_DELAY (2 s) later (wake_oom_reaper);
 *   a victim that got through exit_mmap meanwhile set MMF_OOM_SKIP and is left alone.
 * - oom_reap_task: up to MAX_OOM_REAP_RETRIES attempts of oom_reap_task_mm, HZ/10 apart; each takes
 *   mmap_read_trylock (contention = a failed attempt), skips an mm with MMF_OOM_SKIP, and runs
 *   __oom_reap_task_mm, which fails (another attempt later) when a notifier refused a VMA. After the
 *   last attempt it gives up ("oom_reaper: unable to reap"). Either way it sets MMF_OOM_SKIP.
 * - __oom_reap_task_mm: sets MMF_UNSTABLE; per VMA, skips VM_HUGETLB / VM_PFNMAP and shared
 *   non-anonymous mappings (it reaps `vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED)`), then
 *   a non-blockable MMU_NOTIFY_UNMAP over the whole VMA
 *   (mmu_notifier_invalidate_range_start_nonblock): -EAGAIN skips that VMA, else unmap_page_range.
 */
import { sleep, WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost } from '../cost/model'
import type { MmStruct, Task } from './objects'
import { archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { mmdrop, mmgrab } from './mm-ref'
import { zapRange } from './memory'
import { mmapReadTrylock, mmapReadUnlock } from './mmap_lock'
import { doExit } from './task'

/** mm/oom_kill.c: MAX_OOM_REAP_RETRIES, the HZ/10 sleep between attempts, OOM_REAPER_DELAY (2*HZ). */
export const MAX_OOM_REAP_RETRIES = 10
const OOM_REAP_RETRY_NS = 100_000_000
const OOM_REAPER_DELAY_NS = 2_000_000_000

/**
 * oom_kill_process on `t`: mark_oom_victim, SIGKILL, queue_oom_reaper. The victim acts on SIGKILL
 * after `blockedNs` (0: at once; a victim stuck in an uninterruptible sleep, or waiting for a lock,
 * is what the reaper exists for) and exits (do_exit); the reaper runs OOM_REAPER_DELAY after the
 * kill. Returns when both are done.
 */
export function* oomKill(w: Kernel, t: Task, blockedNs: number, path: CallPath): Proc<void> {
  const p = [...path, 'oom_kill_process']
  const mm = t.mm
  if (!mm) {
    if (blockedNs > 0) yield sleep(blockedNs)
    yield* doExit(w, t, [...p, 'SIGKILL'])
    return
  }
  // mark_oom_victim: the signal struct pins the mm_struct (not its address space)
  mm.flags.add('MMF_OOM_VICTIM')
  mmgrab(w, mm, [...p, 'mark_oom_victim'])
  w.mark('oom_kill', `${t.name} (pid ${t.pid}) killed; the reaper looks in ${OOM_REAPER_DELAY_NS / 1e9} s`)
  let reaping = true
  const done = new WaitQueue('oom_reaper')
  w.engine.spawn('oom_reaper', oomReaper(w, mm, ['oom_reaper']), () => {
    reaping = false
    w.engine.wakeUpAll(done)
  })
  if (blockedNs > 0) yield sleep(blockedNs)
  yield* doExit(w, t, [...p, 'SIGKILL'])
  while (reaping) yield waitOn(done)
  // put_task_struct → free_signal_struct: mmdrop(sig->oom_mm)
  mmdrop(w, mm, [...p, 'free_signal_struct'])
}

/** The oom_reaper kthread for one victim: the queue_oom_reaper timer, then oom_reap_task. */
function* oomReaper(w: Kernel, mm: MmStruct, path: CallPath): Proc<void> {
  yield sleep(OOM_REAPER_DELAY_NS)
  // wake_oom_reaper: the victim managed to terminate on its own (exit_mmap set MMF_OOM_SKIP)
  if (mm.flags.has('MMF_OOM_SKIP')) {
    w.count('oom_reaper.victim_exited')
    return
  }
  yield* oomReapTask(w, mm, path)
}

/** oom_reap_task: returns pages reaped over all attempts. */
export function* oomReapTask(w: Kernel, mm: MmStruct, path: CallPath): Proc<number> {
  const p = [...path, 'oom_reap_task']
  let attempts = 0
  const reaped = { n: 0 }
  while (attempts++ < MAX_OOM_REAP_RETRIES && !(yield* oomReapTaskMm(w, mm, reaped, p))) {
    w.count('oom_reaper.retries')
    yield sleep(OOM_REAP_RETRY_NS)
  }
  if (attempts > MAX_OOM_REAP_RETRIES && !mm.flags.has('MMF_OOM_SKIP')) {
    // pr_info("oom_reaper: unable to reap pid:%d (%s)\n")
    w.count('oom_reaper.unable_to_reap')
    w.mark('oom_reaper', `unable to reap ${mm.label} after ${MAX_OOM_REAP_RETRIES} attempts`)
  }
  // hide the mm from the OOM killer: reaped, or somebody holds mmap_lock for write
  mm.flags.add('MMF_OOM_SKIP')
  w.count('oom_reaper.pages_reaped', reaped.n)
  return reaped.n
}

/** oom_reap_task_mm: one attempt; false asks for another. */
function* oomReapTaskMm(w: Kernel, mm: MmStruct, reaped: { n: number }, path: CallPath): Proc<boolean> {
  const p = [...path, 'oom_reap_task_mm']
  if (!mmapReadTrylock(mm)) {
    w.count('oom_reaper.trylock_failed')
    return false
  }
  // checked under the read lock: serialises against exit_mmap's write lock cycle
  if (mm.flags.has('MMF_OOM_SKIP')) {
    w.count('oom_reaper.victim_exited')
    mmapReadUnlock(w, mm)
    return true
  }
  const ret = yield* __oomReapTaskMm(w, mm, reaped, p)
  mmapReadUnlock(w, mm)
  return ret
}

/** __oom_reap_task_mm (called with mmap_lock held for read): false if a VMA was refused. */
function* __oomReapTaskMm(w: Kernel, mm: MmStruct, reaped: { n: number }, path: CallPath): Proc<boolean> {
  const p = [...path, '__oom_reap_task_mm']
  mm.flags.add('MMF_UNSTABLE')
  let ret = true
  for (const v of [...mm.vmas]) {
    // VM_HUGETLB | VM_PFNMAP (the model has no VM_PFNMAP mapping); shared mappings are not anonymous
    // in the kernel's sense (a MAP_SHARED|MAP_ANONYMOUS VMA is shmem), so `!VM_SHARED` decides
    if (v.hugetlb || v.shared) continue
    if (!mm.vmas.includes(v)) continue
    const r = { mm, start: v.start, end: v.end, event: 'UNMAP' as const, blockable: false, owner: -1 }
    const s = yield* invalidateRangeStart(w, r, [...p, 'mmu_notifier_invalidate_range_start_nonblock'])
    if (s.ret < 0) {
      // -EAGAIN: the notifier core already ended what it started; the caller must not call _end
      w.count('oom_reaper.vma_skipped')
      ret = false
      continue
    }
    // unmap_page_range: the zap MADV_DONTNEED does (swap entries and device-private entries too)
    const entries = { n: 0 }
    reaped.n += zapRange(w, mm, v.start, v.end, entries)
    yield* archInvalidateSecondaryTlbs(w, mm, v.start, v.end, p)
    const tlb = cpuTlbFlushCost(w.costs, v.end - v.start)
    yield* invalidateRangeEnd(w, r, p)
    yield sleep(entries.n * w.costs.zap_pte + tlb)
  }
  return ret
}
