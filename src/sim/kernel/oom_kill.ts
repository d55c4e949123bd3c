/**
 * The OOM reaper (mm/oom_kill.c): __oom_reap_task_mm zaps the victim's private anonymous memory
 * while the victim exits, under a non-blockable range, then drops its reference with mmput_async.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost } from '../cost/model'
import type { MmStruct } from './objects'
import { archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { mmputAsync } from './mm'
import { mmgetNotZero } from './mm-ref'
import { zapRange } from './memory'
import { mmapReadTrylock, mmapReadUnlock } from './mmap_lock'

/** mm/oom_kill.c: MAX_OOM_REAP_RETRIES, and the HZ/10 sleep between attempts. */
const MAX_OOM_REAP_RETRIES = 10
const OOM_REAP_RETRY_NS = 100_000_000

/**
 * The OOM reaper (mm/oom_kill.c __oom_reap_task_mm): for every private VMA with pages, a
 * non-blockable UNMAP invalidation; a subscriber that would block answers -EAGAIN and the VMA is
 * skipped (its memory stays until the victim's own exit); the others are zapped right away.
 * Returns pages reaped.
 */
export function* oomReap(w: Kernel, mm: MmStruct, path: CallPath): Proc<number> {
  const p = [...path, 'oom_reaper', '__oom_reap_task_mm']
  if (!mmgetNotZero(w, mm, p)) return 0
  // oom_reap_task: oom_reap_task_mm takes mmap_read_trylock only; on contention it retries
  // MAX_OOM_REAP_RETRIES (10) times, HZ/10 apart, then gives up (the victim's exit_mmap reaps)
  let tries = 0
  while (!mmapReadTrylock(mm)) {
    if (++tries >= MAX_OOM_REAP_RETRIES) {
      w.count('oom_reaper.trylock_failed')
      mmputAsync(w, mm, p)
      return 0
    }
    yield sleep(OOM_REAP_RETRY_NS)
  }
  let reaped = 0
  for (const v of [...mm.vmas]) {
    if (v.shared || mm.pt.countPresent(v.start, v.end) === 0) continue
    const r = { mm, start: v.start, end: v.end, event: 'UNMAP' as const, blockable: false, owner: -1 }
    const s = yield* invalidateRangeStart(w, r, [...p, 'mmu_notifier_invalidate_range_start_nonblock'])
    if (s.ret < 0) {
      // -EAGAIN: the notifier core already ended what it started; the caller must not call _end
      w.count('oom_reaper.vma_skipped')
      continue
    }
    const entries = { n: 0 }
    const n = zapRange(w, mm, v.start, v.end, entries)
    reaped += n
    yield* archInvalidateSecondaryTlbs(w, mm, v.start, v.end, p)
    const tlb = cpuTlbFlushCost(w.costs, v.end - v.start)
    yield* invalidateRangeEnd(w, r, p)
    // __oom_reap_task_mm → unmap_page_range: the zap MADV_DONTNEED does
    yield sleep(entries.n * w.costs.zap_pte + tlb)
  }
  mmapReadUnlock(w, mm)
  w.count('oom_reaper.pages_reaped', reaped)
  // the reaper must not get stuck in exit_mmap if its reference is the last one (v4.7–v4.19)
  mmputAsync(w, mm, p)
  return reaped
}
