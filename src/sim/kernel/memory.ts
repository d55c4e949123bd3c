/**
 * Faults and zaps (mm/memory.c): handle_mm_fault over a range (zero page, COW break, THP, hugetlb,
 * device-private do_swap_page → pgmap->ops->migrate_to_ram, device-exclusive restore),
 * zap_page_range_single, the invalidate_range_start/end bracket every PTE change goes through, and
 * the CPU's reads and writes of page contents.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost } from '../cost/model'
import { EFAULT } from './errno'
import { PROT_WRITE, Vma, type MmStruct, type NotifyEvent } from './objects'
import { PTE_COW, PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_WRITE, PTE_ZERO } from './pagetable'
import { ZERO_PFN } from './frames'
import { archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { heirOwner, zapFrames } from './mm-ref'
import { pagecacheGet } from './files'
import { HPAGE_PMD_NR } from './page'
import { findVma, checkAccess } from './vma'
import { splitPartialHuge } from './huge_memory'

/**
 * handle_mm_fault over [start, end) for read or write. Pages that need an invalidation (COW break,
 * zero-page replacement, device-exclusive restore, device-private migrate_to_ram) are collected
 * first and handled under one invalidation (CLEAR, or MIGRATE for device-private pages).
 */
export function* faultIn(w: Kernel, mm: MmStruct, start: number, end: number, write: boolean, devOwner: number, path: CallPath): Proc<number> {
  const chk = checkAccess(mm, start, end, write)
  if (chk < 0) return chk
  const pt = mm.pt
  let invLo = -1
  let invHi = -1
  let migrate = false
  let work = false
  let v: Vma | undefined
  for (let pg = start; pg < end; ) {
    const bs = pt.blockState(pg)
    if (bs === 0) {
      work = true
      pg = pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR
      continue
    }
    const huge = bs === 1
    const f = pt.get(pg)
    const step = huge ? HPAGE_PMD_NR - (pg & (HPAGE_PMD_NR - 1)) : 1
    let needs = false
    if (f === 0) work = true
    else if (f & PTE_DEVPRIV) {
      if (devOwner < 0 || (w.frames.dev[pt.pfn(pg)] as number) - 1 !== devOwner || (write && !(f & PTE_WRITE))) {
        needs = true
        migrate = true
      }
    } else if (f & PTE_EXCL) needs = true
    else if (write && !(f & PTE_WRITE)) {
      work = true
      if (!v || pg < v.start || pg >= v.end) v = findVma(mm, pg) as Vma
      if (!v.shared && ((f & (PTE_ZERO | PTE_FILE)) || (w.frames.refcount[pt.pfn(pg)] as number) > 1)) needs = true
    }
    if (needs) {
      work = true
      const lo = huge ? pg - (pg & (HPAGE_PMD_NR - 1)) : pg
      if (invLo < 0) invLo = lo
      invHi = huge ? lo + HPAGE_PMD_NR : pg + 1
    }
    pg += step
  }
  if (!work) return 0
  let err = 0
  const doWork = (): number => {
    let cost = 0
    let v: Vma | undefined
    for (let pg = start; pg < end; ) {
      if (!v || pg < v.start || pg >= v.end) v = findVma(mm, pg) as Vma
      const huge = pt.isHuge(pg)
      const f = pt.get(pg)
      if (f === 0 || (write && !(f & PTE_WRITE)) || f & PTE_EXCL || (f & PTE_DEVPRIV && devOwner < 0)) mm.min_flt++
      if (huge) {
        const hb = pg - (pg & (HPAGE_PMD_NR - 1))
        const c = faultHuge(w, mm, v, hb, f, write, devOwner)
        if (c < 0) {
          err = EFAULT
          break
        }
        cost += c
        pg = hb + HPAGE_PMD_NR
        continue
      }
      if (v.hugetlb) {
        // hugetlb_no_page: a page from the pool (no zero page); a private read fault maps it read-only
        const hb = pg - (pg & (HPAGE_PMD_NR - 1))
        const np = w.frames.allocHugetlb(mm.owner)
        if (np < 0) {
          // VM_FAULT_OOM / SIGBUS: the pool is empty
          w.count('hugetlb.fault_oom')
          err = EFAULT
          break
        }
        pt.setHuge(hb, PTE_PRESENT | (write ? PTE_WRITE : 0), np)
        cost += w.costs.cpu_fault * 8
        w.count('hugetlb_fault')
        pg = hb + HPAGE_PMD_NR
        continue
      }
      // anonymous THP only (file THPs are not modelled: a private file mapping faults 4 KiB pages)
      if (f === 0 && v.huge && !v.shared && !v.shmem && hbFits(v, pg) && pt.blockState(pg) === 0) {
        const hb = pg - (pg & (HPAGE_PMD_NR - 1))
        if (write) pt.setHuge(hb, PTE_PRESENT | PTE_WRITE, w.frames.alloc(9, mm.owner))
        else pt.setHuge(hb, PTE_PRESENT | PTE_ZERO, ZERO_PFN)
        cost += w.costs.cpu_fault * (write ? 8 : 1)
        w.count('thp_fault')
        pg = hb + HPAGE_PMD_NR
        continue
      }
      cost += faultPage(w, mm, v, pg, f, write, devOwner)
      pg++
    }
    return cost
  }
  if (invLo >= 0) {
    const p = [...path, 'handle_mm_fault']
    const ev: NotifyEvent = migrate ? 'MIGRATE' : 'CLEAR'
    const r = { mm, start: invLo, end: invHi, event: ev, blockable: true, owner: migrate ? -1 : -1 }
    yield* invalidateRangeStart(w, r, p)
    const c = doWork()
    yield* archInvalidateSecondaryTlbs(w, mm, invLo, invHi, p)
    const tlb = cpuTlbFlushCost(w.costs, invHi - invLo)
    yield* invalidateRangeEnd(w, r, p)
    yield sleep(c + tlb)
  } else {
    const c = doWork()
    if (c > 0) yield sleep(c)
  }
  return err
}

function hbFits(v: Vma, pg: number): boolean {
  const hb = pg - (pg & (HPAGE_PMD_NR - 1))
  return hb >= v.start && hb + HPAGE_PMD_NR <= v.end
}

/**
 * A CPU fault on a device-private entry (the pgmap's migrate_to_ram): copies the page (order 0) or
 * the THP folio (order 9) back to system memory and drops it from the mirrors. The owning device's
 * own access needs no migration. Returns the cost.
 */
function migrateToRam(w: Kernel, mm: MmStruct, v: Vma, page: number, order: 0 | 9, f: number, pfn: number, write: boolean, devOwner: number): number {
  const fr = w.frames
  if (devOwner >= 0 && (fr.dev[pfn] as number) - 1 === devOwner && !(write && !(f & PTE_WRITE))) return 0
  const pages = 1 << order
  const np = fr.alloc(order, mm.owner)
  fr.copy(np, pfn)
  fr.put(pfn, mm.owner, heirOwner(mm))
  for (const m of mm.mirrors) m.dropDevicePage(page, pages)
  // the copy back is exclusive to this mm: a write fault leaves it writable (do_wp_page reuse)
  const flags = PTE_PRESENT | (f & PTE_WRITE || (write && v.prot & PROT_WRITE) ? PTE_WRITE : 0)
  if (order === 9) mm.pt.setHuge(page, flags, np)
  else mm.pt.set(page, flags, np)
  w.count('migrate_to_ram')
  return w.costs.migrate_page * pages
}

function faultHuge(w: Kernel, mm: MmStruct, v: Vma, hb: number, f: number, write: boolean, devOwner: number): number {
  const pt = mm.pt
  const fr = w.frames
  const pfn = pt.pfn(hb)
  if (f & PTE_DEVPRIV) return migrateToRam(w, mm, v, hb, 9, f, pfn, write, devOwner)
  if (f & PTE_EXCL) {
    pt.setHuge(hb, (f & ~PTE_EXCL) | PTE_PRESENT, pfn)
    return w.costs.cpu_fault
  }
  if (!write || f & PTE_WRITE) return 0
  if (v.shared) {
    pt.setHuge(hb, f | PTE_WRITE, pfn)
    return w.costs.cpu_fault
  }
  if (f & PTE_ZERO || (fr.refcount[pfn] as number) > 1) {
    const np = v.hugetlb ? fr.allocHugetlb(mm.owner) : fr.alloc(9, mm.owner)
    if (np < 0) return -1 // hugetlb COW with an empty pool
    if (!(f & PTE_ZERO)) {
      fr.copy(np, pfn)
      fr.put(pfn, mm.owner, heirOwner(mm))
    }
    pt.setHuge(hb, PTE_PRESENT | PTE_WRITE, np)
    w.count('cow_break')
    mm.cow_pages += HPAGE_PMD_NR
    return w.costs.cpu_cow_copy * HPAGE_PMD_NR
  }
  pt.setHuge(hb, (f & ~PTE_COW) | PTE_WRITE, pfn)
  return w.costs.cpu_fault
}

function faultPage(w: Kernel, mm: MmStruct, v: Vma, pg: number, f: number, write: boolean, devOwner: number): number {
  const pt = mm.pt
  const fr = w.frames
  if (f === 0) {
    if (v.shared) {
      const s = v.shmem
      let pfn: number
      if (s) {
        const off = v.pgoff + (pg - v.start)
        let e = s.pages.get(off)
        if (e === undefined) {
          e = fr.alloc(0, s.owner)
          s.pages.set(off, e)
        }
        pfn = e
        fr.get(pfn)
      } else pfn = fr.alloc(0, mm.owner)
      pt.set(pg, PTE_PRESENT | (v.prot & PROT_WRITE ? PTE_WRITE : 0), pfn)
      return w.costs.cpu_fault
    }
    if (v.shmem) {
      // MAP_PRIVATE of a file: a read maps the page-cache page read-only (do_read_fault); a write
      // copies it into a new anonymous page (do_cow_fault)
      const cache = pagecacheGet(w, v.shmem, v.pgoff + (pg - v.start))
      if (!write) {
        fr.get(cache)
        pt.set(pg, PTE_PRESENT | PTE_FILE, cache)
        return w.costs.cpu_fault
      }
      const np = fr.alloc(0, mm.owner)
      fr.copy(np, cache)
      pt.set(pg, PTE_PRESENT | PTE_WRITE, np)
      w.count('cow_break')
      mm.cow_pages++
      return w.costs.cpu_cow_copy
    }
    if (!write) {
      pt.set(pg, PTE_PRESENT | PTE_ZERO, ZERO_PFN)
      return w.costs.cpu_fault / 2
    }
    pt.set(pg, PTE_PRESENT | PTE_WRITE, fr.alloc(0, mm.owner))
    return w.costs.cpu_fault
  }
  const pfn = pt.pfn(pg)
  if (f & PTE_DEVPRIV) return migrateToRam(w, mm, v, pg, 0, f, pfn, write, devOwner)
  if (f & PTE_EXCL) {
    pt.set(pg, (f & ~PTE_EXCL) | PTE_PRESENT, pfn)
    return w.costs.cpu_fault
  }
  if (!write || f & PTE_WRITE) return 0
  if (v.shared) {
    pt.set(pg, f | PTE_WRITE, pfn)
    return w.costs.cpu_fault
  }
  if (f & (PTE_ZERO | PTE_FILE) || (fr.refcount[pfn] as number) > 1) {
    const np = fr.alloc(0, mm.owner)
    if (!(f & PTE_ZERO)) {
      fr.copy(np, pfn)
      fr.put(pfn, mm.owner, heirOwner(mm))
    }
    pt.set(pg, PTE_PRESENT | PTE_WRITE, np)
    w.count('cow_break')
    mm.cow_pages++
    return w.costs.cpu_cow_copy
  }
  pt.set(pg, (f & ~PTE_COW) | PTE_WRITE, pfn)
  return w.costs.cpu_fault
}

/** Zaps [start, end) of the CPU page table (unmap_page_range); returns entries zapped. */
export function zapRange(w: Kernel, mm: MmStruct, start: number, end: number): number {
  splitPartialHuge(w, mm, start, end)
  const heir = heirOwner(mm)
  return mm.pt.clear(start, end, (_pg, f, pfn) => zapFrames(w, mm, f, pfn, heir))
}

/** Runs an invalidation of [start, end) around `body` (returns cost), with CPU TLB + secondary flush. */
export function* invalidated(w: Kernel, mm: MmStruct, start: number, end: number, event: NotifyEvent, path: CallPath, body: () => number): Proc<void> {
  const r = { mm, start, end, event, blockable: true, owner: -1 }
  yield* invalidateRangeStart(w, r, path)
  const c = body()
  yield* archInvalidateSecondaryTlbs(w, mm, start, end, path)
  const tlb = cpuTlbFlushCost(w.costs, end - start)
  yield* invalidateRangeEnd(w, r, path)
  if (w.hooks.has('range_end')) w.hooks.emit('range_end', { range: r, path })
  yield sleep(c + tlb)
}

/** Content token of `page` as the CPU would read it now (0 for holes and the zero page). */
export function peekData(w: Kernel, mm: MmStruct, page: number): number {
  const f = mm.pt.get(page)
  if (!(f & PTE_PRESENT) && !(f & PTE_DEVPRIV)) return 0
  return w.frames.read(mm.pt.pfn(page), page & (HPAGE_PMD_NR - 1))
}

/** CPU stores: faults [start, end) for write, then writes `value(page)` into each page. */
export function* writeData(w: Kernel, mm: MmStruct, start: number, end: number, value: (page: number) => number, path: CallPath): Proc<number> {
  const r = yield* faultIn(w, mm, start, end, true, -1, [...path, 'copy_to_user'])
  if (r < 0) return r
  for (let pg = start; pg < end; pg++) w.frames.write(mm.pt.pfn(pg), pg & (HPAGE_PMD_NR - 1), value(pg))
  return 0
}
