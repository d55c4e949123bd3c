/**
 * Migration of device memory back to system RAM (mm/migrate_device.c: migrate_vma_setup /
 * migrate_vma_pages / migrate_vma_finalize with MIGRATE_VMA_SELECT_DEVICE_PRIVATE and
 * _DEVICE_COHERENT, migrate_device_coherent_folio), the core half of a driver's migrate_to_ram and
 * of FOLL_LONGTERM's check_and_migrate_movable_folios.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost } from '../cost/model'
import type { MmStruct } from './objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT, PTE_WRITE } from './pagetable'
import { invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { heirOwner } from './mm-ref'
import { splitHugeByCopy } from './huge_memory'
import { HPAGE_PMD_NR } from './page'

/** Per run: the order in which device frames were handed out (a serial per frame). */
const allocSerials = new WeakMap<Kernel, { next: number; of: Map<number, number> }>()

function serials(w: Kernel): { next: number; of: Map<number, number> } {
  let s = allocSerials.get(w)
  if (!s) allocSerials.set(w, (s = { next: 1, of: new Map() }))
  return s
}

/**
 * Records that device frame `pfn` was just handed out by the device's allocator
 * (dmirror_devmem_alloc_page): the order an eviction walks device pages in follows it.
 */
export function noteDeviceAlloc(w: Kernel, pfn: number): void {
  const s = serials(w)
  s.of.set(pfn, s.next++)
}

/**
 * Migrates the device pages of device `dev` (index) in [start, end) of `mm` back to system RAM: device-private
 * entries, or present PTEs of DEVICE_COHERENT pages (MIGRATE_VMA_SELECT_DEVICE_COHERENT; a page with
 * extra references, e.g. COW-shared after fork or pinned, is not migrated). Returns pages migrated.
 * `m.failAlloc` (HMM_DMIRROR_FLAG_FAIL_ALLOC of the requesting driver, mainline test_hmm) makes the
 * next system-memory allocation fail: a THP then comes back as 512 order-0 pages; an order-0 page
 * fails the whole batch (dmirror_devmem_fault_alloc_and_copy: VM_FAULT_OOM): nothing migrates,
 * `m.allocOom` is set and the caller returns -ENOMEM.
 *
 * `byPfn`: the caller names device pages, not a virtual range, so there is no migrate_vma_setup and
 * no MIGRATE over a range: migrate_device_range of an eviction (dmirror_device_evict_chunk) and
 * migrate_device_coherent_folio of a FOLL_LONGTERM pin (check_and_migrate_movable_folios) both go
 * straight to migrate_device_unmap, whose try_to_migrate_one raises CLEAR (owner NULL) per folio
 * and mapping, which the mirrors receive and act on.
 */
export function* migrateDeviceToRam(
  w: Kernel,
  dev: number,
  mm: MmStruct,
  start: number,
  end: number,
  path: CallPath,
  m: { failAlloc: boolean; allocOom: boolean } | null = null,
  byPfn = false,
): Proc<number> {
  const pages: number[] = []
  mm.pt.forEach(start, end, (pg, f, pfn) => {
    if ((w.frames.dev[pfn] as number) - 1 !== dev || f & PTE_EXCL) return
    if (f & PTE_DEVPRIV || (f & PTE_PRESENT && (w.frames.refcount[pfn] as number) === 1)) pages.push(pg)
  })
  if (pages.length === 0) return 0
  const lo = pages[0] as number
  const lastPg = pages[pages.length - 1] as number
  const hi = mm.pt.isHuge(lastPg) ? lastPg + HPAGE_PMD_NR : lastPg + 1
  // an eviction walks the device's pfns upward (migrate_device_range over the chunk); test_hmm's
  // free list is LIFO (dmirror_allocate_chunk pushes the chunk's pages in pfn order,
  // dmirror_devmem_alloc_page pops the last pushed), so the page allocated last has the lowest
  // pfn and is evicted first: on a fresh device, the highest virtual page first
  if (byPfn) {
    const serial = serials(w).of
    pages.sort((a, b) => (serial.get(mm.pt.pfn(b)) ?? 0) - (serial.get(mm.pt.pfn(a)) ?? 0))
  }
  // migrate_vma_setup: one MIGRATE over the range, the device as owner; by pfn, CLEAR per folio
  const r = { mm, start: lo, end: hi, event: 'MIGRATE' as const, blockable: true, owner: dev }
  // the device page is put once copied: free_zone_device_folio calls the driver's page_free
  const pgmap = w.pgmaps[dev]
  if (!byPfn) yield* invalidateRangeStart(w, r, [...path, 'migrate_vma_setup'])
  let n = 0
  let rp: { mm: MmStruct; start: number; end: number; event: 'CLEAR'; blockable: boolean; owner: number } | null = null
  for (const pg of pages) {
    if (rp) yield* invalidateRangeEnd(w, rp, path)
    if (byPfn) {
      rp = { mm, start: pg, end: mm.pt.isHuge(pg) ? pg + HPAGE_PMD_NR : pg + 1, event: 'CLEAR', blockable: true, owner: -1 }
      yield* invalidateRangeStart(w, rp, [...path, 'migrate_device_range', 'try_to_migrate_one'])
    }
    const f = mm.pt.get(pg)
    const old = mm.pt.pfn(pg)
    // HMM_DMIRROR_FLAG_FAIL_ALLOC: the next system-memory allocation fails (and clears the flag)
    const failAlloc = m !== null && m.failAlloc
    if (failAlloc) m.failAlloc = false
    if (failAlloc && !mm.pt.isHuge(pg)) {
      // an order-0 allocation failed: dmirror_devmem_fault_alloc_and_copy returns VM_FAULT_OOM
      // before migrate_vma_pages, the caller migrate_vma_finalize()s the batch (every page stays
      // on the device; the flag is consumed by the batch's first page, so none moved before it)
      // and fails with -ENOMEM (mainline dmirror_migrate_to_system): `m.allocOom` tells it
      if (rp) yield* invalidateRangeEnd(w, rp, path)
      if (!byPfn) yield* invalidateRangeEnd(w, r, path)
      if (m) m.allocOom = true
      return 0
    }
    if (mm.pt.isHuge(pg) && failAlloc) {
      // no THP in system memory: the folio comes back as 512 pages
      const fl = mm.pt.get(pg)
      splitHugeByCopy(w, mm, pg, old)
      mm.pt.update(pg, pg + HPAGE_PMD_NR, () => PTE_PRESENT | (fl & PTE_WRITE))
      pgmap?.ops.page_free(mm, pg, HPAGE_PMD_NR)
      n += HPAGE_PMD_NR
      continue
    }
    if (mm.pt.isHuge(pg)) {
      // a device-private THP comes back as a THP
      const np = w.frames.alloc(9, mm.owner)
      w.frames.copy(np, old)
      w.frames.put(old, mm.owner, heirOwner(mm))
      mm.pt.setHuge(pg, PTE_PRESENT | (f & PTE_WRITE), np)
      pgmap?.ops.page_free(mm, pg, HPAGE_PMD_NR)
      n += HPAGE_PMD_NR
      continue
    }
    n++
    const np = w.frames.alloc(0, mm.owner)
    w.frames.copy(np, old)
    w.frames.put(old, mm.owner, heirOwner(mm))
    mm.pt.set(pg, PTE_PRESENT | (f & PTE_WRITE), np)
    pgmap?.ops.page_free(mm, pg, 1)
  }
  if (rp) yield* invalidateRangeEnd(w, rp, path)
  if (!byPfn) yield* invalidateRangeEnd(w, r, path)
  yield sleep(n * w.costs.migrate_page + cpuTlbFlushCost(w.costs, hi - lo))
  return n
}
