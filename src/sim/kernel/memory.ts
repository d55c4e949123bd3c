/**
 * Faults and zaps (mm/memory.c): handle_mm_fault over a range (zero page, COW break, THP, hugetlb,
 * device-private do_swap_page → pgmap->ops->migrate_to_ram, device-exclusive restore),
 * zap_page_range_single, the invalidate_range_start/end bracket every PTE change goes through, and
 * the CPU's reads and writes of page contents.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost, ptTablesCost } from '../cost/model'
import { EFAULT } from './errno'
import { PROT_WRITE, Vma, type MmStruct, type NotifyEvent } from './objects'
import type { DevPagemap } from './types'
import { PTE_COW, PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_SWAP, PTE_WRITE, PTE_ZERO } from './pagetable'
import { LAZYFREE_CLEAN, LAZYFREE_DIRTY, ZERO_PFN } from './frames'
import { doSwapPage, swapRead } from './swap'
import { archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { heirOwner, zapFrames } from './mm-ref'
import { pagecacheGet } from './files'
import { HPAGE_PMD_NR } from './page'
import { findVma, checkAccess } from './vma'
import { splitLeaf, splitPartialHuge } from './huge_memory'
import { isDeviceExclusiveEntry } from './swapops'
import { folioTestLocked, folioWaitLocked } from './filemap'

/**
 * restore_exclusive_pte: the present PTE a device-exclusive entry gives back when the CPU faults on
 * it (remove_device_exclusive_entry), writable if the entry was.
 */
export function restoreExclusivePte(f: number): number {
  return (f & ~PTE_EXCL) | PTE_PRESENT
}

/**
 * handle_mm_fault over [start, end) for read or write, page by page (one fault per 4 KiB page or
 * 2 MiB leaf that needs one). The faults that replace a mapped page do it under their own
 * invalidation, as the kernel does per fault:
 * - a COW copy (wp_page_copy): CLEAR of that 4 KiB page, also when the old page is the zero page;
 * - a write to a THP mapped elsewhere or to the huge zero page (do_huge_pmd_wp_page → fallback):
 *   __split_huge_pmd (CLEAR over the 2 MiB block), then the 4 KiB COW of the page written;
 * - a hugetlb COW (hugetlb_wp): CLEAR over the huge page;
 * - the CPU taking back a device-exclusive page (remove_device_exclusive_entry): EXCLUSIVE of the
 *   page, owner NULL;
 * - a device-private page (do_swap_page → pgmap->ops->migrate_to_ram, migrate_vma_setup of the
 *   faulting page or folio): MIGRATE with the device as owner.
 * A read fault on a page-cache backed VMA maps the cached pages around it (do_fault_around).
 *
 * Each page is faulted until the access can proceed, as a CPU retrying its instruction or
 * __get_user_pages retrying faultin_page does: a device-private page is migrated back, then a write
 * faults again and breaks COW. hmm_range_fault faults differently: `hmmFaultPass`.
 */
export function* faultIn(w: Kernel, mm: MmStruct, start: number, end: number, write: boolean, devOwner: number, path: CallPath): Proc<number> {
  const span = faultSpanBegin(w, mm, start, end, write, path)
  const r = yield* faultInRange(w, mm, start, end, write, devOwner, path, undefined)
  w.spanEnd(span, 'fault', 'fault')
  return r
}

/**
 * One pass of hmm_vma_fault (mm/hmm.c) over [start, end), the rest of a PMD range from the first
 * page the walk found needing a fault: exactly one handle_mm_fault per page. do_swap_page ends the
 * fault after migrate_to_ram or remove_device_exclusive_entry (`goto out`), and migrates a
 * device-private page whoever owns it (the fault does not know who asked); the walk then restarts
 * (-EBUSY) to find what still needs a fault. `carry.cost` takes the CPU time not yet slept in and
 * out, so the caller sleeps it once at the end and splitting the walk into passes moves nothing in
 * time.
 */
export function* hmmFaultPass(
  w: Kernel,
  mm: MmStruct,
  start: number,
  end: number,
  write: boolean,
  devOwner: number,
  path: CallPath,
  carry: { cost: number },
): Proc<number> {
  return yield* faultInRange(w, mm, start, end, write, devOwner, path, carry)
}

/**
 * Opens the timeline span of a fault: handle_mm_fault over the range, as the caller named it; 0
 * when nobody listens. The caller closes it with `w.spanEnd(span, 'fault', 'fault')` after the
 * fault (no generator around the fault's own: a long run faults millions of times).
 */
export function faultSpanBegin(w: Kernel, mm: MmStruct, start: number, end: number, write: boolean, path: CallPath): number {
  return w.faultSpanBegin(mm.label, start, end, write, path[path.length - 1] ?? 'fault')
}

function* faultInRange(
  w: Kernel,
  mm: MmStruct,
  start: number,
  end: number,
  write: boolean,
  devOwner: number,
  path: CallPath,
  hmm: { cost: number } | undefined,
): Proc<number> {
  const chk = checkAccess(mm, start, end, write)
  if (chk < 0) return chk
  // handle_mm_fault does not know who asked: under hmm_vma_fault every device-private page of the
  // span goes back to RAM, the caller's own included
  const once = hmm !== undefined
  const migOwner = once ? -1 : devOwner
  const pt = mm.pt
  const fr = w.frames
  const p = [...path, 'handle_mm_fault']
  let cost = hmm ? hmm.cost : 0
  // page-table pages a fault allocates (__pte_alloc, __pmd_alloc, the PTE table a THP deposits) are
  // charged on their own: pt_alloc each
  const allocated = (tables0: number): number => ptTablesCost(w.costs, Math.max(0, pt.tables - tables0))
  let v: Vma | undefined
  for (let pg = start; pg < end;) {
    if (!v || pg < v.start || pg >= v.end) v = findVma(mm, pg) as Vma
    const f = pt.get(pg)
    if (f === 0 && !v.hugetlb && mm.flags.has('MMF_UNSTABLE')) {
      // check_stable_address_space (do_anonymous_page, finish_fault, do_huge_pmd_anonymous_page):
      // the OOM reaper has been here, a fault that would populate the mm gets VM_FAULT_SIGBUS
      if (cost > 0) yield sleep(cost)
      return EFAULT
    }
    const hb = pg - (pg & (HPAGE_PMD_NR - 1))
    if (pt.isHuge(pg)) {
      const pfn = pt.pfn(hb)
      if (f & PTE_DEVPRIV && needsMigrate(w, f, pfn, write, migOwner)) {
        if (cost > 0) yield sleep(cost)
        cost = 0
        if ((yield* devicePrivateFault(w, mm, v, hb, 9, f, pfn, write, migOwner, p)) || once) pg = hb + HPAGE_PMD_NR
        continue
      }
      if (isDeviceExclusiveEntry(f)) {
        if (cost > 0) yield sleep(cost)
        cost = 0
        if (folioTestLocked(w, pfn)) {
          yield* folioWaitLocked(w, pfn) // folio_lock_or_retry, then the fault again
          continue
        }
        yield* faultInvalidation(w, mm, hb, hb + HPAGE_PMD_NR, 'EXCLUSIVE', -1, [...p, 'remove_device_exclusive_entry'], () => {
          pt.setHuge(hb, restoreExclusivePte(f), pfn, pt.hasDeposit(hb))
          return w.costs.cpu_fault
        })
        mm.min_flt++
        pg = hb + HPAGE_PMD_NR
        continue
      }
      if (write && !(f & PTE_WRITE) && !v.shared && (f & PTE_ZERO || (fr.refcount[pfn] as number) > 1)) {
        if (cost > 0) yield sleep(cost)
        cost = 0
        if (v.hugetlb) {
          // hugetlb_wp: a new huge page from the pool under CLEAR of the whole huge page
          let err = 0
          const vv = v
          yield* faultInvalidation(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', -1, [...p, 'hugetlb_wp'], () => {
            const np = fr.allocHugetlb(mm.owner)
            if (np < 0) {
              err = EFAULT // hugetlb COW with an empty pool: VM_FAULT_OOM
              return 0
            }
            if (!(f & PTE_ZERO)) {
              fr.copy(np, pfn)
              fr.put(pfn, mm.owner, heirOwner(mm))
            }
            vv.anon_vma ||= w.id()
            pt.setHuge(hb, PTE_PRESENT | PTE_WRITE, np, false)
            w.count('cow_break')
            mm.cow_pages += HPAGE_PMD_NR
            return w.costs.cpu_cow_copy * HPAGE_PMD_NR
          })
          if (err < 0) return err
          mm.min_flt++
          pg = hb + HPAGE_PMD_NR
          continue
        }
        // do_huge_pmd_wp_page: the huge zero page or a THP others map is not copied whole (since
        // v5.8, "thp: change CoW semantics for anon-THP"): the PMD is split and the write goes on
        // at the PTE level (VM_FAULT_FALLBACK), where wp_page_copy copies one 4 KiB page
        yield* faultInvalidation(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', -1, [...p, 'do_huge_pmd_wp_page', '__split_huge_pmd'], () => {
          splitPmdMapping(w, mm, hb)
          return HPAGE_PMD_NR * w.costs.pte_op
        })
        continue // the same page again, now PTE-mapped
      }
      const c = faultHuge(w, mm, v, hb, f, write)
      if (c > 0) mm.min_flt++
      cost += c
      pg = hb + HPAGE_PMD_NR
      continue
    }
    if (v.hugetlb) {
      // hugetlb_no_page: a page from the pool (no zero page); a private read fault maps it read-only
      const np = fr.allocHugetlb(mm.owner)
      if (np < 0) {
        // VM_FAULT_OOM / SIGBUS: the pool is empty
        w.count('hugetlb.fault_oom')
        if (cost > 0) yield sleep(cost)
        return EFAULT
      }
      if (!v.shared) v.anon_vma ||= w.id() // vmf_anon_prepare for a private mapping
      const t0 = pt.tables
      pt.setHuge(hb, PTE_PRESENT | (write ? PTE_WRITE : 0), np, false)
      // hugetlb_no_page clears the whole 2 MiB folio (folio_zero_user), as a THP fault does
      cost += w.costs.cpu_thp_fault + allocated(t0)
      w.count('hugetlb_fault')
      mm.min_flt++
      pg = hb + HPAGE_PMD_NR
      continue
    }
    // anonymous THP only (file THPs are not modelled: a private file mapping faults 4 KiB pages);
    // do_huge_pmd_anonymous_page needs pmd_none: no PTE table in the block, not even an empty one
    if (f === 0 && v.huge && !v.shared && !v.shmem && hbFits(v, pg) && pt.blockState(pg) === 0) {
      v.anon_vma ||= w.id() // vmf_anon_prepare, before the huge zero page is considered
      const t0 = pt.tables
      if (write) pt.setHuge(hb, PTE_PRESENT | PTE_WRITE, fr.alloc(9, mm.owner))
      else pt.setHuge(hb, PTE_PRESENT | PTE_ZERO, ZERO_PFN)
      // do_huge_pmd_anonymous_page: a write allocates and clears 2 MiB; a read maps the huge zero page
      cost += (write ? w.costs.cpu_thp_fault : w.costs.cpu_zero_fault) + allocated(t0)
      w.count('thp_fault')
      mm.min_flt++
      pg = hb + HPAGE_PMD_NR
      continue
    }
    if (f !== 0) {
      const pfn = pt.pfn(pg)
      if (f & PTE_SWAP) {
        // do_swap_page: read back from swap (a major fault)
        if (cost > 0) yield sleep(cost)
        cost = 0
        yield sleep(doSwapPage(w, mm, v, pg, f, write))
        pg++
        continue
      }
      if (f & PTE_DEVPRIV && needsMigrate(w, f, pfn, write, migOwner)) {
        if (cost > 0) yield sleep(cost)
        cost = 0
        if ((yield* devicePrivateFault(w, mm, v, pg, 0, f, pfn, write, migOwner, p)) || once) pg++
        continue
      }
      if (isDeviceExclusiveEntry(f)) {
        if (cost > 0) yield sleep(cost)
        cost = 0
        if (folioTestLocked(w, pfn)) {
          // folio_lock_or_retry: the driver that made the page exclusive has not mapped and
          // unlocked it yet (make_device_exclusive_range); wait, then fault again
          yield* folioWaitLocked(w, pfn)
          continue
        }
        yield* faultInvalidation(w, mm, pg, pg + 1, 'EXCLUSIVE', -1, [...p, 'remove_device_exclusive_entry'], () => {
          pt.set(pg, restoreExclusivePte(f), pfn)
          return w.costs.cpu_fault
        })
        mm.min_flt++
        if (once) pg++
        continue // a write may still need the COW below
      }
      if (write && !(f & PTE_WRITE) && !v.shared && (f & (PTE_ZERO | PTE_FILE) || (fr.refcount[pfn] as number) > 1)) {
        if (cost > 0) yield sleep(cost)
        cost = 0
        const vv = v
        yield* faultInvalidation(w, mm, pg, pg + 1, 'CLEAR', -1, [...p, 'do_wp_page', 'wp_page_copy'], () => cowPage(w, mm, vv, pg, f, pfn))
        mm.min_flt++
        pg++
        continue
      }
    }
    const t0 = pt.tables
    const c = faultPage(w, mm, v, pg, f, write)
    if (c > 0) mm.min_flt++
    cost += c + allocated(t0)
    pg++
  }
  if (hmm) hmm.cost = cost
  else if (cost > 0) yield sleep(cost)
  if (write && devOwner < 0 && fr.lazyfreeSeen) cancelLazyfree(w, mm, start, end)
  return 0
}

/**
 * A CPU store sets the PTE dirty bit; on a page MADV_FREE made lazyfree that is what reclaim sees
 * (try_to_unmap_one: a dirty lazyfree folio is remapped and made swap-backed again, never
 * discarded). Only the CPU: a device write through hmm_range_fault to a PTE already writable faults
 * nothing and leaves the PTE clean.
 */
function cancelLazyfree(w: Kernel, mm: MmStruct, start: number, end: number): void {
  const lf = w.frames.lazyfree
  mm.pt.forEach(start, end, (_pg, f, pfn) => {
    if (f & PTE_PRESENT && !(f & PTE_ZERO) && (lf[pfn] as number) === LAZYFREE_CLEAN) lf[pfn] = LAZYFREE_DIRTY
  })
}

/**
 * do_swap_page on a device-private entry (order 0) or PMD (order 9) at `page`: the device's
 * migrate_to_ram under a MIGRATE range with the device as owner. Returns false when the page was
 * shared with other address spaces (migrateSharedToRam): the caller faults the same page again,
 * now in RAM (a write goes on to COW it); true when the fault is done with it.
 */
function* devicePrivateFault(
  w: Kernel,
  mm: MmStruct,
  v: Vma,
  page: number,
  order: 0 | 9,
  f: number,
  pfn: number,
  write: boolean,
  devOwner: number,
  p: CallPath,
): Proc<boolean> {
  const others = sharers(w, mm, page, pfn)
  if (others.length > 0) {
    yield* migrateSharedToRam(w, mm, page, order, f, pfn, others, p)
    return false
  }
  const owner = (w.frames.dev[pfn] as number) - 1
  yield* faultInvalidation(w, mm, page, page + (1 << order), 'MIGRATE', owner, p, () => migrateToRam(w, mm, v, page, order, f, pfn, write, devOwner))
  return true
}

/** A device-private entry the access cannot use where it is: the CPU, another device, or a write to a read-only one. */
function needsMigrate(w: Kernel, f: number, pfn: number, write: boolean, devOwner: number): boolean {
  return devOwner < 0 || (w.frames.dev[pfn] as number) - 1 !== devOwner || (write && !(f & PTE_WRITE))
}

/** One fault's own invalidation around `body` (its CPU cost), with the TLB and secondary-TLB flush. */
function* faultInvalidation(
  w: Kernel,
  mm: MmStruct,
  lo: number,
  hi: number,
  event: NotifyEvent,
  owner: number,
  path: CallPath,
  body: () => number,
): Proc<void> {
  const r = { mm, start: lo, end: hi, event, blockable: true, owner }
  yield* invalidateRangeStart(w, r, path)
  const c = body()
  yield* archInvalidateSecondaryTlbs(w, mm, lo, hi, path)
  const tlb = cpuTlbFlushCost(w.costs, hi - lo)
  yield* invalidateRangeEnd(w, r, path)
  yield sleep(c + tlb)
}

/**
 * __split_huge_pmd of a PMD leaf for a write fault (do_huge_pmd_wp_page's fallback): the huge zero
 * page becomes 512 zero-page PTEs; a THP becomes 512 PTEs mapping its subpages (each PTE holds a
 * reference, folio_ref_add(HPAGE_PMD_NR - 1)), the folio itself stays whole and shared with the
 * other mappers. The deposited PTE table becomes the PTE table.
 */
function splitPmdMapping(w: Kernel, mm: MmStruct, hb: number): void {
  const f = mm.pt.get(hb)
  const pfn = mm.pt.pfn(hb)
  if (f & PTE_ZERO) {
    mm.pt.splitHuge(hb, () => ZERO_PFN)
    return
  }
  w.frames.refcount[pfn] = (w.frames.refcount[pfn] as number) + HPAGE_PMD_NR - 1
  mm.pt.splitHuge(hb, () => pfn)
}

/** wp_page_copy of one 4 KiB page: a new page (zeroed, or a copy of the old one) mapped writable. */
function cowPage(w: Kernel, mm: MmStruct, v: Vma, pg: number, f: number, pfn: number): number {
  const fr = w.frames
  v.anon_vma ||= w.id() // vmf_anon_prepare
  const np = fr.alloc(0, mm.owner)
  if (!(f & PTE_ZERO)) {
    fr.copy(np, pfn, pg & (HPAGE_PMD_NR - 1))
    fr.put(pfn, mm.owner, heirOwner(mm))
  }
  mm.pt.set(pg, PTE_PRESENT | PTE_WRITE, np)
  w.count('cow_break')
  mm.cow_pages++
  return w.costs.cpu_cow_copy
}

function hbFits(v: Vma, pg: number): boolean {
  const hb = pg - (pg & (HPAGE_PMD_NR - 1))
  return hb >= v.start && hb + HPAGE_PMD_NR <= v.end
}

/**
 * A CPU fault on a device-private entry (do_swap_page → the pgmap's migrate_to_ram): copies the
 * page (order 0) or the THP folio (order 9) back to system memory and tells the device's driver
 * (`ops.migrate_to_ram`), which drops its device entries. Returns the cost.
 */
function migrateToRam(w: Kernel, mm: MmStruct, v: Vma, page: number, order: 0 | 9, f: number, pfn: number, write: boolean, devOwner: number): number {
  const fr = w.frames
  if (!needsMigrate(w, f, pfn, write, devOwner)) return 0
  const pages = 1 << order
  const np = fr.alloc(order, mm.owner)
  fr.copy(np, pfn)
  const pgmap = pgmapOf(w, pfn)
  fr.put(pfn, mm.owner, heirOwner(mm))
  pgmap?.ops.migrate_to_ram(mm, page, pages)
  // the copy back is exclusive to this mm: a write fault leaves it writable (do_wp_page reuse)
  const flags = PTE_PRESENT | (f & PTE_WRITE || (write && v.prot & PROT_WRITE) ? PTE_WRITE : 0)
  if (order === 9) mm.pt.setHuge(page, flags, np)
  else mm.pt.set(page, flags, np)
  w.count('migrate_to_ram')
  mm.min_flt++
  return w.costs.migrate_page * pages
}

/** The device memory frame `pfn` belongs to (page->pgmap), or undefined for system memory. */
function pgmapOf(w: Kernel, pfn: number): DevPagemap | undefined {
  return w.pgmaps[(w.frames.dev[pfn] as number) - 1]
}

/**
 * The other address spaces that map device-private frame `pfn` at `page` (after fork parent and
 * child share it at the same address). The model keeps no reverse map: it looks at the same
 * address in every live mm, which is where fork puts the child's entry.
 */
function sharers(w: Kernel, mm: MmStruct, page: number, pfn: number): MmStruct[] {
  if ((w.frames.refcount[pfn] as number) <= 1) return []
  const out: MmStruct[] = []
  for (const o of w.mms) {
    if (o === mm || o.phase === 'freed' || o.phase === 'released') continue
    if (o.pt.get(page) & PTE_DEVPRIV && o.pt.pfn(page) === pfn) out.push(o)
  }
  return out
}

/**
 * A CPU fault on a device-private page that other address spaces map too (shared since fork):
 * migrate_to_ram's migrate_vma_setup collects the faulting mm's entry (MIGRATE, the device as
 * owner; migrate_vma_collect_pmd replaces it with a migration entry at once), then
 * migrate_vma_unmap → migrate_device_unmap → try_to_migrate walks the folio's anon_vma
 * (rmap_walk_anon): try_to_migrate_one raises CLEAR (owner NULL) over the page in every VMA it
 * visits before it looks for the page there, so the faulting mm's own VMA gets one too when the
 * walk meets it before the last other mapping, and the walk stops once the folio is mapped nowhere
 * (rwc.done = folio_not_mapped). The anon_vma's interval tree holds the VMAs of a fork tree in
 * the order they joined it (anon_vma_fork → anon_vma_clone), parent before child: here, the order
 * the mms were created in. remove_migration_ptes then maps the one new page in RAM everywhere, with
 * each entry's own write bit (fork made them read-only: copy_nonpresent_pte), so a write afterwards
 * is a COW break. Every mapper's mirror loses the device page.
 */
function* migrateSharedToRam(w: Kernel, mm: MmStruct, page: number, order: 0 | 9, f: number, pfn: number, others: MmStruct[], path: CallPath): Proc<void> {
  const fr = w.frames
  const n = 1 << order
  const pgmap = pgmapOf(w, pfn)
  const r = { mm, start: page, end: page + n, event: 'MIGRATE' as const, blockable: true, owner: (fr.dev[pfn] as number) - 1 }
  yield* invalidateRangeStart(w, r, [...path, 'migrate_vma_setup'])
  const np = fr.alloc(order, mm.owner)
  fr.copy(np, pfn)
  const map = (o: MmStruct, fl: number): void => {
    const flags = PTE_PRESENT | (fl & PTE_WRITE) | (fl & PTE_WRITE ? 0 : PTE_COW)
    if (order === 9) o.pt.setHuge(page, flags, np)
    else o.pt.set(page, flags, np)
    fr.put(pfn, o.owner, heirOwner(o))
    pgmap?.ops.migrate_to_ram(o, page, n)
  }
  const walk = [mm, ...others].sort((a, b) => w.mms.indexOf(a) - w.mms.indexOf(b))
  let mapped = others.length
  for (const o of walk) {
    if (mapped === 0) break // folio_not_mapped: the walk is done
    const fl = o.pt.get(page)
    yield* invalidated(w, o, page, page + n, 'CLEAR', [...path, 'migrate_vma_unmap', 'try_to_migrate_one'], () => {
      if (o === mm) return 0 // already a migration entry: page_vma_mapped_walk finds nothing
      fr.get(np)
      map(o, fl)
      mapped--
      return 0
    })
  }
  map(mm, f)
  yield* archInvalidateSecondaryTlbs(w, mm, page, page + n, path)
  yield* invalidateRangeEnd(w, r, path)
  w.count('migrate_to_ram')
  mm.min_flt++
  yield sleep(w.costs.migrate_page * n + cpuTlbFlushCost(w.costs, n))
}

/** A fault on a PMD leaf that needs no copy: a write to a shared one, or the reuse of an exclusive THP. */
function faultHuge(w: Kernel, mm: MmStruct, v: Vma, hb: number, f: number, write: boolean): number {
  const pt = mm.pt
  const pfn = pt.pfn(hb)
  if (!write || f & PTE_WRITE || f & PTE_DEVPRIV) return 0
  if (v.shared) {
    pt.setHuge(hb, f | PTE_WRITE, pfn, pt.hasDeposit(hb))
    return w.costs.cpu_fault
  }
  // do_huge_pmd_wp_page: an exclusive folio (or the last reference) is reused in place
  pt.setHuge(hb, (f & ~PTE_COW) | PTE_WRITE, pfn, pt.hasDeposit(hb))
  return w.costs.cpu_fault
}

/** A 4 KiB fault that needs no invalidation: a none PTE, or a write the page can take in place. */
function faultPage(w: Kernel, mm: MmStruct, v: Vma, pg: number, f: number, write: boolean): number {
  const pt = mm.pt
  const fr = w.frames
  if (f === 0) {
    if (v.shared) {
      const s = v.shmem
      let pfn: number
      if (s) {
        if (!write && !v.file) faultAround(w, mm, v, pg)
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
      // MAP_PRIVATE of a file: a read maps the page-cache page read-only (do_read_fault, with
      // fault-around); a write copies it into a new anonymous page (do_cow_fault)
      if (!write) {
        faultAround(w, mm, v, pg)
        const cache = pagecacheGet(w, v.shmem, v.pgoff + (pg - v.start))
        fr.get(cache)
        pt.set(pg, PTE_PRESENT | PTE_FILE, cache)
        return w.costs.cpu_fault
      }
      const cache = pagecacheGet(w, v.shmem, v.pgoff + (pg - v.start))
      v.anon_vma ||= w.id() // do_cow_fault → vmf_anon_prepare
      const np = fr.alloc(0, mm.owner)
      fr.copy(np, cache)
      pt.set(pg, PTE_PRESENT | PTE_WRITE, np)
      w.count('cow_break')
      mm.cow_pages++
      return w.costs.cpu_cow_copy
    }
    if (!write) {
      // do_anonymous_page: a read maps the shared zero page (no allocation), without an anon_vma
      pt.set(pg, PTE_PRESENT | PTE_ZERO, ZERO_PFN)
      return w.costs.cpu_zero_fault
    }
    v.anon_vma ||= w.id() // do_anonymous_page → vmf_anon_prepare
    pt.set(pg, PTE_PRESENT | PTE_WRITE, fr.alloc(0, mm.owner))
    return w.costs.cpu_fault
  }
  const pfn = pt.pfn(pg)
  if (!write || f & PTE_WRITE || f & PTE_DEVPRIV) return 0
  if (v.shared) {
    pt.set(pg, f | PTE_WRITE, pfn)
    return w.costs.cpu_fault
  }
  // do_wp_page → wp_can_reuse_anon_folio: the only reference, reused in place
  pt.set(pg, (f & ~PTE_COW) | PTE_WRITE, pfn)
  return w.costs.cpu_fault
}

/** fault_around_bytes (mm/memory.c): 64 KiB, 16 pages. */
const FAULT_AROUND_PAGES = 16

/**
 * do_fault_around → filemap_map_pages: before a read fault on a page-cache backed VMA is handled,
 * the page-cache pages already cached in the 16-page window around it (aligned, clipped to the VMA
 * and to the PTE table) are mapped where the PTE is none, without a fault each.
 */
function faultAround(w: Kernel, mm: MmStruct, v: Vma, pg: number): void {
  const s = v.shmem
  if (!s) return
  const pteOff = pg & (HPAGE_PMD_NR - 1)
  const vmaOff = pg - v.start
  const from = Math.max(pteOff - (pteOff % FAULT_AROUND_PAGES), pteOff - Math.min(pteOff, vmaOff))
  const to = Math.min(from + FAULT_AROUND_PAGES, HPAGE_PMD_NR, pteOff + (v.end - v.start) - vmaOff)
  const base = pg - pteOff
  for (let i = from; i < to; i++) {
    const q = base + i
    if (q === pg || mm.pt.get(q) !== 0) continue
    const pfn = s.pages.get(v.pgoff + (q - v.start))
    if (pfn === undefined) continue
    w.frames.get(pfn)
    mm.pt.set(q, v.shared ? PTE_PRESENT | (v.prot & PROT_WRITE ? PTE_WRITE : 0) : PTE_PRESENT | PTE_FILE, pfn)
  }
}

/**
 * Zaps [start, end) of the CPU page table (unmap_page_range); returns 4 KiB pages zapped. `entries`,
 * when given, counts the entries zapped (a 2 MiB leaf is one: zap_huge_pmd), the unit of the zap costs.
 */
export function zapRange(w: Kernel, mm: MmStruct, start: number, end: number, entries?: { n: number }): number {
  splitPartialHuge(w, mm, start, end)
  const heir = heirOwner(mm)
  return mm.pt.clear(start, end, (_pg, f, pfn) => {
    if (entries) entries.n++
    zapFrames(w, mm, f, pfn, heir)
  })
}

/**
 * An invalidation of [start, end) whose page-table walk meets a THP the range covers only in part:
 * inside the outer range, zap_pmd_range / change_pmd_range call __split_huge_pmd, which raises its
 * own CLEAR over the 2 MiB block (nested in the outer one) before the PTEs are changed. `body`
 * runs after those splits. `leaves`, when given, names the 2 MiB blocks the walk splits instead
 * (move_page_tables splits every PMD leaf it cannot move whole).
 */
export function invalidatedSplitting(
  w: Kernel,
  mm: MmStruct,
  start: number,
  end: number,
  event: NotifyEvent,
  path: CallPath,
  body: () => number,
  leaves?: readonly number[],
): Proc<void> {
  return invalidation(w, mm, start, end, event, path, leaves ?? true, body)
}

/** Runs an invalidation of [start, end) around `body` (returns cost), with CPU TLB + secondary flush. */
export function invalidated(w: Kernel, mm: MmStruct, start: number, end: number, event: NotifyEvent, path: CallPath, body: () => number): Proc<void> {
  return invalidation(w, mm, start, end, event, path, false, body)
}

/**
 * The bracket both run: invalidate_range_start, the THP splits at the edges when `splitEdges` is
 * true (or of the 2 MiB blocks it lists),
 * `body` (its CPU cost), the secondary TLBs, invalidate_range_end, the `range_end` hook, then the
 * body's and the CPU TLB flush's time.
 */
function* invalidation(
  w: Kernel,
  mm: MmStruct,
  start: number,
  end: number,
  event: NotifyEvent,
  path: CallPath,
  splitEdges: boolean | readonly number[],
  body: () => number,
): Proc<void> {
  const r = { mm, start, end, event, blockable: true, owner: -1 }
  yield* invalidateRangeStart(w, r, path)
  if (splitEdges !== false)
    for (const edge of splitEdges === true ? [start, end] : splitEdges) {
      const off = edge & (HPAGE_PMD_NR - 1)
      if ((splitEdges === true && off === 0) || !mm.pt.isHuge(edge) || (w.frames.hugetlb[mm.pt.pfn(edge)] as number) !== 0) continue
      const hb = edge - off
      yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...path, '__split_huge_pmd'], () => {
        splitLeaf(w, mm, hb)
        return HPAGE_PMD_NR * w.costs.pte_op
      })
    }
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
  // a swap entry: what a read would fault back in
  if (f & PTE_SWAP) return swapRead(w, mm.pt.pfn(page))
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
