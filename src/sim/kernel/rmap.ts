/**
 * Device-exclusive access (mm/rmap.c, CONFIG_DEVICE_PRIVATE, kernel 6.12): a driver asks for a
 * range of anonymous pages to be usable by its device alone, as test_hmm's HMM_DMIRROR_EXCLUSIVE
 * does for device atomics. Each page's PTE becomes a device-exclusive swap entry (swapops.ts), so
 * the CPU's next access faults and takes the page back (remove_device_exclusive_entry →
 * restore_exclusive_pte, memory.ts), which invalidates the device's mapping.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import type { MmStruct } from './objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_ZERO } from './pagetable'
import { findVma } from './vma'
import { faultIn } from './memory'
import { splitLeaf } from './huge_memory'
import { invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { makeDeviceExclusiveEntry } from './swapops'
import { folioTrylock, folioUnlock } from './filemap'
import { HPAGE_PMD_NR } from './page'

/**
 * page_make_device_exclusive_one for the one mapping the model's rmap walk finds (an anonymous
 * page is shared across mms only through fork's COW, which GUP broke before this): under an
 * MMU_NOTIFY_EXCLUSIVE range of the page carrying `owner` (-1: NULL, so the caller's own interval
 * notifier sees it too), page_vma_mapped_walk finds the PTE still present and mapping `pfn`, and it
 * is replaced by the exclusive entry. False if the page is no longer mapped there.
 */
function* pageMakeDeviceExclusiveOne(k: Kernel, mm: MmStruct, pg: number, pfn: number, owner: number, path: CallPath): Proc<boolean> {
  const r = { mm, start: pg, end: pg + 1, event: 'EXCLUSIVE' as const, blockable: true, owner }
  yield* invalidateRangeStart(k, r, [...path, 'make_device_exclusive_range', 'page_make_device_exclusive_one'])
  const f = mm.pt.get(pg)
  const mapped = (f & PTE_PRESENT) !== 0 && !(f & (PTE_DEVPRIV | PTE_EXCL)) && mm.pt.pfn(pg) === pfn
  if (mapped) mm.pt.set(pg, makeDeviceExclusiveEntry(f), pfn)
  yield* invalidateRangeEnd(k, r, path)
  return mapped
}

/**
 * make_device_exclusive_range(mm, start, end, pages, owner), called with mmap_read_lock held:
 * get_user_pages_remote(FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD) faults the range in for write
 * (breaking COW, restoring pages already exclusive) and splits PMD-mapped THPs; then each page that
 * folio_make_device_exclusive accepts and whose folio lock folio_trylock takes is converted.
 * `pages[i]` is the frame of page start + i, left locked for the caller to map and unlock
 * (folio_unlock, filemap.ts), or -1 (NULL) where the page was not made exclusive: not present, the
 * zero page or device memory, not anonymous, or hugetlb (folio_make_device_exclusive refuses both;
 * FOLL_SPLIT_PMD does not split hugetlb). Returns the number of pages GUP found (end - start), or
 * GUP's errno.
 */
export function* makeDeviceExclusiveRange(k: Kernel, mm: MmStruct, start: number, end: number, pages: Int32Array, owner: number, path: CallPath): Proc<number> {
  const f = yield* faultIn(k, mm, start, end, true, -1, [...path, 'make_device_exclusive'])
  if (f < 0) return f
  for (let pg = start; pg < end; pg++) {
    pages[pg - start] = -1
    if (mm.pt.isHuge(pg)) {
      if ((k.frames.hugetlb[mm.pt.pfn(pg)] as number) !== 0) continue
      splitLeaf(k, mm, pg - (pg & (HPAGE_PMD_NR - 1)))
    }
    const fl = mm.pt.get(pg)
    if (!(fl & PTE_PRESENT) || fl & (PTE_DEVPRIV | PTE_ZERO)) continue
    // folio_make_device_exclusive: anonymous folios only (a page-cache or shmem page is refused)
    if (fl & PTE_FILE || findVma(mm, pg)?.shmem) continue
    const pfn = mm.pt.pfn(pg)
    if (!folioTrylock(k, pfn)) continue
    if (yield* pageMakeDeviceExclusiveOne(k, mm, pg, pfn, owner, path)) pages[pg - start] = pfn
    else folioUnlock(k, pfn)
  }
  // the walk's own time (GUP, folio locks, the rmap walk), a cpu_fault per page
  yield sleep((end - start) * k.costs.cpu_fault)
  return end - start
}
