/**
 * A KFD GPU's recoverable page fault on an SVM range (XNACK on): amdgpu_vm_handle_fault →
 * svm_range_restore_pages (drivers/gpu/drm/amd/amdkfd/kfd_svm.c, 6.12 and mainline), the path a
 * `gpu` device of design D4 takes instead of test_hmm's dmirror_fault:
 *
 * - the fault names one address; the process is looked up by PASID and its mm taken with
 *   get_task_mm (gone: the fault is dropped, r = 0), then mmap_read_lock for the whole handling;
 * - the range to map is the SVM granule around the address, `1UL << prange->granularity` pages
 *   (amdgpu_svm_default_granularity = 9: 2 MiB), ALIGN_DOWN / ALIGN of the address, clipped to the
 *   prange. The model has no registered ranges (its one SVM interval covers the address space), so
 *   the prange is the one svm_range_create_unregistered_range would make for an unregistered
 *   address: svm_range_get_range_boundaries clips the granule to the faulting address's VMA (no VMA:
 *   -EFAULT). svm_fault_allowed: a fault needs VM_READ, a write also VM_WRITE (-EPERM);
 * - svm_range_validate_and_map over that piece, one VMA at a time: a VMA without VM_READ is
 *   unmapped from the GPUs; otherwise amdgpu_hmm_range_get_pages (amdgpu-hmm.ts: one
 *   mmu_interval_read_begin on the prange's notifier, one hmm_range_fault of the whole piece — at
 *   most 2 GiB a call — with HMM_PFN_REQ_WRITE whenever the VMA is writable, `readonly =
 *   !(vma->vm_flags & VM_WRITE)`, whatever the access was, and dev_private_owner the GPU's own
 *   memory), then amdgpu_hmm_range_get_pages_done: an invalidation since read_begin makes it
 *   -EAGAIN before svm_range_map_to_gpus;
 * - -EAGAIN (from hmm_range_fault's -EBUSY or from get_pages_done) is not retried in the kernel:
 *   "recover vm fault later", the fault returns 0 and the GPU replays the access, which faults
 *   again (a new device_fault, a new sequence). There is no HMM_RANGE_DEFAULT_TIMEOUT on this path.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import { EAGAIN, EFAULT, EPERM } from '../kernel/errno'
import { PROT_READ, PROT_WRITE } from '../kernel/objects'
import { withMmapReadLock } from '../kernel/mmap_lock'
import { mmgetNotZero } from '../kernel/mm-ref'
import { mmput } from '../kernel/mm'
import { findVma } from '../kernel/vma'
import { amdgpuHmmRangeGetPages, amdgpuHmmRangeInvalidated } from './amdgpu-hmm'
import { installRange } from './dmirror'
import type { Mirror } from './mirror'

/** What svm_range_restore_pages tells the GPU's fault loop. */
export const SVM_FAULT_HANDLED = 0
/** -EAGAIN turned into "recover vm fault later": the fault returns 0 and the GPU replays the access. */
export const SVM_FAULT_REPLAY = 1

/**
 * svm_range_restore_pages for a GPU fault of `m` (a D4 mirror with its SVM interval) at page
 * `addr`, a write if `write`. `granule`: pages per SVM granule (1 << svm_default_granularity).
 * Returns SVM_FAULT_HANDLED, SVM_FAULT_REPLAY, or -EFAULT / -EPERM (the fault cannot be
 * recovered).
 */
export function* svmRangeRestorePages(w: Kernel, m: Mirror, addr: number, write: boolean, granule: number, path: CallPath): Proc<number> {
  const p = [...path, 'amdgpu_vm_handle_fault', 'svm_range_restore_pages']
  const sub = m.interval
  const mm = m.mm
  // kfd_lookup_process_by_pasid / get_task_mm: the process or its mm is gone, the fault is dropped
  if (!sub || !m.alive || !mmgetNotZero(w, mm, p)) return SVM_FAULT_HANDLED
  w.count('svm_range_restore_pages')
  const r = yield* withMmapReadLock(
    w,
    mm,
    (function* (): Proc<number> {
      const v = findVma(mm, addr)
      // svm_range_create_unregistered_range → svm_range_get_range_boundaries: no VMA, -EFAULT
      if (!v) return EFAULT
      // svm_fault_allowed: VM_READ, and VM_WRITE for a write fault
      if ((v.prot & PROT_READ) === 0 || (write && (v.prot & PROT_WRITE) === 0)) return EPERM
      const base = addr - (addr % granule)
      const start = Math.max(base, v.start)
      const end = Math.min(base + granule, v.end)
      // svm_range_validate_and_map(mm, start, last, prange, gpuidx, ...): one VMA here
      const vp = [...p, 'svm_range_validate_and_map']
      const readonly = (v.prot & PROT_WRITE) === 0
      const got = yield* amdgpuHmmRangeGetPages(w, sub, start, end - start, readonly, m.dev, vp)
      if (typeof got === 'number') return got
      // svm_range_dma_map, then amdgpu_hmm_range_get_pages_done under svm_range_lock
      if (amdgpuHmmRangeInvalidated(got)) {
        w.count('svm_range_validate_and_map.eagain')
        return EAGAIN
      }
      if (!m.alive) return 0
      // svm_range_map_to_gpus
      installRange(w, m, start, end, got.out, got.pfns)
      return 0
    })(),
  )
  yield* mmput(w, mm, p)
  if (r === EAGAIN) {
    // "recover vm fault later": amdgpu_gmc_filter_faults_remove, return 0
    w.count('svm_range_restore_pages.replay')
    return SVM_FAULT_REPLAY
  }
  return r
}
