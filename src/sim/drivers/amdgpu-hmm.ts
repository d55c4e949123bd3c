/**
 * How amdgpu gets the pages of a userptr BO or an SVM range (drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c,
 * amdgpu_ttm.c; the same in 6.12 and mainline):
 *
 * - amdgpu_hmm_range_get_pages takes ONE notifier sequence (mmu_interval_read_begin on the BO's or
 *   the range's interval notifier) and calls hmm_range_fault over the whole range, in pieces of at
 *   most 2 GiB (`max_bytes = SZ_2G`), with HMM_PFN_REQ_FAULT (and HMM_PFN_REQ_WRITE unless
 *   `readonly`). It does not retry: an -EBUSY from hmm_range_fault (the sequence moved, e.g. by an
 *   invalidation the faults themselves raised) comes back as -EAGAIN, and the caller decides (the
 *   KFD restore worker reschedules itself, the ioctl fails with -EAGAIN, a GPU retry fault is
 *   dropped and replayed). HMM_RANGE_DEFAULT_TIMEOUT is not used by amdgpu at all (it was, in the
 *   retry loop of older kernels' amdgpu_ttm_tt_get_user_pages; 6.12 and mainline have none);
 * - amdgpu_hmm_range_get_pages_done (6.12) / amdgpu_hmm_range_valid (mainline) is the
 *   mmu_interval_read_retry of that one sequence, checked by the caller once it has used the pages;
 * - amdgpu_ttm_tt_get_user_pages, the userptr caller: bo->notifier.mm (-EFAULT if the BO has no
 *   notifier), mmget_not_zero (-ESRCH during process shutdown), mmap_read_lock, vma_lookup of the
 *   first address (-EFAULT), then amdgpu_hmm_range_get_pages over the BO's `num_pages` with
 *   `readonly` = amdgpu_ttm_tt_is_readonly, which is false for KFD's BOs (init_user_pages passes
 *   no AMDGPU_GEM_USERPTR_READONLY to amdgpu_ttm_tt_set_userptr), so a KFD userptr is always
 *   write-faulted: a BO over a read-only VMA gets -EPERM from hmm_vma_fault.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { IntervalSub, MmStruct } from '../kernel/objects'
import { EAGAIN, EBUSY, EFAULT, ESRCH } from '../kernel/errno'
import { hmmRangeFault } from '../kernel/hmm'
import { mmuIntervalReadBegin, mmuIntervalReadRetry } from '../kernel/notifier'
import { withMmapReadLock } from '../kernel/mmap_lock'
import { mmgetNotZero } from '../kernel/mm-ref'
import { mmput } from '../kernel/mm'
import { findVma } from '../kernel/vma'
import { PAGE_SIZE } from '../kernel/page'

/** amdgpu_hmm_range_get_pages: `max_bytes = SZ_2G` per hmm_range_fault call, in 4 KiB pages. */
export const AMDGPU_HMM_MAX_PAGES = (2 * 2 ** 30) / PAGE_SIZE

/** The hmm_range amdgpu_hmm_range_get_pages hands back: its sequence and the pfns of every page. */
export interface AmdgpuHmmRange {
  readonly sub: IntervalSub
  readonly seq: number
  readonly start: number
  readonly end: number
  /** HMM_PFN_* per page of [start, end). */
  readonly out: Uint8Array
  readonly pfns: Int32Array
}

/**
 * amdgpu_hmm_range_get_pages on [start, start + npages) of `sub`'s mm, with the mmap lock held by
 * the caller. `owner` is range->dev_private_owner: the device index whose private pages are
 * reported as they are (-1: NULL, every device-private page is faulted back to RAM). Returns the
 * range, or -EAGAIN (hmm_range_fault said -EBUSY), -EFAULT, -EPERM.
 */
export function* amdgpuHmmRangeGetPages(
  w: Kernel,
  sub: IntervalSub,
  start: number,
  npages: number,
  readonly: boolean,
  owner: { readonly idx: number; readonly name: string },
  path: CallPath,
): Proc<AmdgpuHmmRange | number> {
  const p = [...path, 'amdgpu_hmm_range_get_pages']
  const end = start + npages
  const out = new Uint8Array(npages)
  const pfns = new Int32Array(npages)
  const caller = { mm: sub.mm, dev: owner, readRetry: (s: number) => mmuIntervalReadRetry(sub, s) }
  // one mmu_interval_read_begin for the whole range, before the first piece
  const seq = yield* mmuIntervalReadBegin(w, sub)
  for (let s = start; s < end; s += AMDGPU_HMM_MAX_PAGES) {
    const e = Math.min(end, s + AMDGPU_HMM_MAX_PAGES)
    const r = yield* hmmRangeFault(w, caller, s, e, !readonly, true, seq, out.subarray(s - start), pfns.subarray(s - start), [...p, 'hmm_range_fault'])
    if (r < 0) {
      if (r !== EBUSY) return r
      // out_free_pfns: `if (r == -EBUSY) r = -EAGAIN;` — no retry here
      w.count('amdgpu_hmm_range_get_pages.eagain')
      return EAGAIN
    }
  }
  return { sub, seq, start, end, out, pfns }
}

/**
 * amdgpu_hmm_range_get_pages_done (6.12; amdgpu_hmm_range_valid in mainline): true if the range
 * was invalidated since amdgpu_hmm_range_get_pages took its sequence.
 */
export function amdgpuHmmRangeInvalidated(r: AmdgpuHmmRange): boolean {
  return mmuIntervalReadRetry(r.sub, r.seq)
}

/**
 * amdgpu_ttm_tt_get_user_pages for a KFD userptr BO over [start, end) registered on `sub`
 * (bo->notifier; null once unregistered). Takes and drops the mm reference and the mmap read lock
 * itself. Returns the range or -EFAULT / -ESRCH / -EAGAIN / -EPERM.
 */
export function* amdgpuTtmTtGetUserPages(w: Kernel, sub: IntervalSub | null, start: number, end: number, path: CallPath): Proc<AmdgpuHmmRange | number> {
  const p = [...path, 'amdgpu_ttm_tt_get_user_pages']
  // mm = bo->notifier.mm: "BO is not registered?"
  if (!sub) return EFAULT
  const mm: MmStruct = sub.mm
  // mmget_not_zero: "Happens during process shutdown"
  if (!mmgetNotZero(w, mm, p)) return ESRCH
  const r = yield* withMmapReadLock(
    w,
    mm,
    (function* (): Proc<AmdgpuHmmRange | number> {
      // vma_lookup(mm, start): only the first page's VMA is checked here; a hole further in fails
      // in hmm_range_fault (hmm_vma_walk_hole: -EFAULT)
      if (!findVma(mm, start)) return EFAULT
      // readonly = amdgpu_ttm_tt_is_readonly(ttm): false for KFD (userflags 0), owner NULL
      return yield* amdgpuHmmRangeGetPages(w, sub, start, end - start, false, { idx: -1, name: 'amdgpu userptr' }, p)
    })(),
  )
  yield* mmput(w, mm, p)
  return r
}
