/**
 * hmm_range_fault (mm/hmm.c): faults a range in if asked (handle_mm_fault, migrating other devices'
 * private pages back through their migrate_to_ram), then walks the CPU page table and reports one
 * entry per page (HMM_PFN_* flags), and finally checks the interval notifier's sequence
 * (mmu_interval_read_retry) so the caller retries after a concurrent invalidation.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EBUSY } from './errno'
import { PROT_READ, type MmStruct } from './objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT, PTE_WRITE, PTE_ZERO } from './pagetable'
import { HPAGE_PMD_NR } from './page'
import { faultSpanBegin, hmmFaultPass } from './memory'
import { checkAccess, findVma } from './vma'

/** The caller of hmm_range_fault as the walk sees it: the mm, its device, its notifier sequence. */
export interface HmmRangeOwner {
  readonly mm: MmStruct
  /** range->dev_private_owner: the device whose private pages are reported as such. */
  readonly dev: { readonly idx: number; readonly name: string }
  /** mmu_interval_read_retry on the caller's notifier. */
  readRetry(seq: number): boolean
}

export const HMM_PFN_VALID = 1
export const HMM_PFN_WRITE = 2
export const HMM_PFN_DEVPRIV = 4
export const HMM_PFN_HUGE = 8
export const HMM_PFN_ERROR = 16
export const HMM_PFN_ZERO = 32

/**
 * hmm_pte_need_fault for one CPU entry (a PMD leaf's flags stand for each of its pages): nothing
 * mapped, a swap, device-exclusive or other device's private entry, or a write to a read-only
 * page. The caller's own device-private pages are reported as they are (a write to a read-only
 * one still migrates it here, as the model did before hmm_vma_fault was followed).
 */
function needsFault(w: Kernel, f: number, pfn: number, write: boolean, dev: number): boolean {
  if (f === 0) return true
  if (f & PTE_DEVPRIV) return (w.frames.dev[pfn] as number) - 1 !== dev || (write && !(f & PTE_WRITE))
  if (!(f & PTE_PRESENT) || f & PTE_EXCL) return true
  return write && !(f & PTE_WRITE)
}

/**
 * The faulting half of hmm_range_fault's walk: hmm_vma_walk_pmd meets the first page that needs a
 * fault and hmm_vma_fault calls handle_mm_fault once on every page from there to the end of that
 * PMD range (clipped to the VMA and the request), then returns -EBUSY and the walk starts again
 * (from hmm_vma_walk->last, or from the start when mmu_interval_check_retry saw the faults'
 * invalidations). A device write over device-private pages shared after fork therefore migrates
 * every page of the span back to RAM before any COW copy: the copies come on the next pass.
 */
function* hmmVmaFault(w: Kernel, m: HmmRangeOwner, start: number, end: number, write: boolean, path: CallPath): Proc<number> {
  const mm = m.mm
  const chk = checkAccess(mm, start, end, write)
  if (chk < 0) return chk
  const pt = mm.pt
  let pg = start
  let last = -1
  let again = 0
  const carry = { cost: 0 }
  while (pg < end) {
    const f = pt.get(pg)
    if (!needsFault(w, f, f === 0 ? 0 : pt.pfn(pg), write, m.dev.idx)) {
      pg++
      continue
    }
    // a page still wanting a fault after several passes (nothing in the model gets there): stop,
    // the walk reports what it sees
    if (pg === last && ++again > 4) break
    if (pg !== last) again = 0
    last = pg
    const v = findVma(mm, pg)
    const stop = Math.min(end, pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR, v ? v.end : end)
    const r = yield* hmmFaultPass(w, mm, pg, stop, write, m.dev.idx, path, carry)
    if (r < 0) return r
  }
  if (carry.cost > 0) yield sleep(carry.cost)
  return 0
}

/**
 * hmm_range_fault on [start, end): faults if `fault`, then reports each page. Returns 0, -EFAULT,
 * -EPERM or -EBUSY (the mirror's seq moved: mmu_interval_check_retry). Device-private pages are
 * reported only when they belong to the caller's device (range->dev_private_owner).
 */
export function* hmmRangeFault(
  w: Kernel,
  m: HmmRangeOwner,
  start: number,
  end: number,
  write: boolean,
  fault: boolean,
  seq: number,
  out: Uint8Array,
  pfns: Int32Array,
  path: CallPath,
): Proc<number> {
  const mm = m.mm
  w.count('hmm_range_fault')
  if (mm.releasedAt !== null) w.violation('NO_ACCESS_AFTER_RELEASE', `${m.dev.name} walks ${mm.label} after its release`, [...path, 'hmm_range_fault'])
  if (fault) {
    const span = faultSpanBegin(w, mm, start, end, write, path)
    const r = yield* hmmVmaFault(w, m, start, end, write, path)
    w.spanEnd(span, 'fault', 'fault')
    if (r < 0) return r
  }
  const pt = mm.pt
  let v = findVma(mm, start)
  for (let pg = start; pg < end;) {
    const i = pg - start
    if (v && pg >= v.end) v = findVma(mm, pg)
    else if (!v) v = findVma(mm, pg)
    if (!v || (v.prot & PROT_READ) === 0) {
      out[i] = HMM_PFN_ERROR
      pfns[i] = 0
      pg++
      continue
    }
    const bs = pt.blockState(pg)
    if (bs === 1) {
      // a 2 MiB leaf: report every covered page at once (map order = PMD)
      const f = pt.get(pg)
      const pfn = pt.pfn(pg)
      let o = 0
      if (f & PTE_DEVPRIV) {
        if ((w.frames.dev[pfn] as number) - 1 === m.dev.idx) o = HMM_PFN_VALID | HMM_PFN_DEVPRIV | (f & PTE_WRITE ? HMM_PFN_WRITE : 0)
      } else if (f & PTE_PRESENT && !(f & PTE_EXCL)) {
        // the huge zero folio's pfns are not zero_pfn: dmirror reports READ|PMD, not ZERO
        o = HMM_PFN_VALID | (f & PTE_WRITE ? HMM_PFN_WRITE : 0)
      }
      if (o) o |= HMM_PFN_HUGE
      const stop = Math.min(end, pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR, v.end)
      out.fill(o, i, i + (stop - pg))
      pfns.fill(pfn, i, i + (stop - pg))
      pg = stop
      continue
    }
    // 4 KiB entries: walk the PTE table of this block directly
    const stop = Math.min(end, pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR, v.end)
    const t = bs === 2 ? pt.pteTable(pg) : undefined
    if (!t) {
      out.fill(0, i, i + (stop - pg))
      pg = stop
      continue
    }
    const tf = t.flags
    const tp = t.pfn
    const devTag = m.dev.idx + 1
    const fdev = w.frames.dev
    for (; pg < stop; pg++) {
      const k = pg & (HPAGE_PMD_NR - 1)
      const f = tf[k] as number
      const j = pg - start
      let o = 0
      if (f & PTE_DEVPRIV) {
        const pfn = tp[k] as number
        if ((fdev[pfn] as number) === devTag) o = HMM_PFN_VALID | HMM_PFN_DEVPRIV | (f & PTE_WRITE ? HMM_PFN_WRITE : 0)
        pfns[j] = pfn
      } else if (f & PTE_PRESENT && !(f & PTE_EXCL)) {
        o = HMM_PFN_VALID | (f & PTE_WRITE ? HMM_PFN_WRITE : 0) | (f & PTE_ZERO ? HMM_PFN_ZERO : 0)
        pfns[j] = tp[k] as number
      }
      out[j] = o
    }
  }
  yield sleep(w.costs.hmm_range_fault_call + (end - start) * w.costs.hmm_range_fault_page)
  if (m.readRetry(seq)) {
    w.count('hmm_range_fault.ebusy')
    return EBUSY
  }
  return 0
}
