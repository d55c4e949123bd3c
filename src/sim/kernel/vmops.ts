/**
 * CPU-side address-space operations and the mmu_notifier events they raise (domain.md §7.2):
 * mmap, handle_mm_fault (zero page, COW break, THP, device-private migrate_to_ram, device-exclusive
 * restore), munmap (UNMAP), mprotect (PROTECTION_VMA), madvise DONTNEED/FREE/PAGEOUT (CLEAR),
 * MADV_HUGEPAGE/NOHUGEPAGE/COLLAPSE, mremap (UNMAP of the old range), THP split (CLEAR), reclaim
 * (CLEAR), NUMA migration (CLEAR).
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost } from '../cost/model'
import { EFAULT, EINVAL, ENOMEM, EPERM } from './errno'
import { PROT_READ, PROT_WRITE, ShmemObj, SIZEOF, Vma, type File, type MmStruct, type NotifyEvent } from './objects'
import { PTE_COW, PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_WRITE, PTE_ZERO } from './pagetable'
import { ZERO_PFN } from './frames'
import { archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { removeVma, mmputAsync } from './mm'
import { heirOwner, zapFrames, mmgetNotZero } from './mm-ref'
import { getFile, pagecacheGet } from './files'
import { HPAGE_PMD_NR } from './page'


/** find_vma-like lookup: the VMA containing `page`, or undefined. */
export function findVma(mm: MmStruct, page: number): Vma | undefined {
  const vs = mm.vmas
  let lo = 0
  let hi = vs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const v = vs[mid] as Vma
    if (page < v.start) hi = mid - 1
    else if (page >= v.end) lo = mid + 1
    else return v
  }
  return undefined
}

function insertVma(mm: MmStruct, v: Vma): void {
  let i = 0
  while (i < mm.vmas.length && (mm.vmas[i] as Vma).start < v.start) i++
  mm.vmas.splice(i, 0, v)
}

/** Splits VMAs so that `page` is a VMA boundary. */
function splitAt(w: Kernel, mm: MmStruct, page: number, path: CallPath): void {
  const v = findVma(mm, page)
  if (!v || v.start === page) return
  // vma_adjust_trans_huge: a huge leaf straddling the new boundary is split first (split_huge_pmd).
  if (page & (HPAGE_PMD_NR - 1) && mm.pt.isHuge(page)) splitLeaf(w, mm, page - (page & (HPAGE_PMD_NR - 1)))
  const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, [...path, '__split_vma'])
  const nv = new Vma(page, v.end, v.prot, v.shared, v.file, v.huge, id, v.shmem, v.pgoff + (page - v.start))
  nv.hugetlb = v.hugetlb
  if (v.file) getFile(w, v.file, path)
  if (v.shmem) v.shmem.refs++
  v.end = page
  insertVma(mm, nv)
}

export interface MmapArgs {
  pages: number
  prot: number
  shared: boolean
  huge: boolean
  file: File | null
  at: number | null
  /** MAP_HUGETLB (private, default 2 MiB huge page size). */
  hugetlb?: boolean
  /** A regular (tmpfs) file's page cache: MAP_SHARED maps its pages, MAP_PRIVATE COW-copies them. */
  pagecache?: ShmemObj | null
}

/** hugetlb_reserve_pages bookkeeping: huge pages promised to private hugetlb VMAs and not faulted yet. */
export function hugetlbReserved(w: Kernel): number {
  let n = 0
  for (const mm of w.mms) {
    if (mm.phase === 'freed' || mm.phase === 'released') continue
    for (const v of mm.vmas) {
      if (!v.hugetlb) continue
      for (let hb = v.start; hb < v.end; hb += HPAGE_PMD_NR) if (!mm.pt.isHuge(hb)) n++
    }
  }
  return n
}

/** -EINVAL if [start, end) would split a hugetlb VMA or page (hugetlb_vm_op_split); else 0. */
export function hugetlbAlignCheck(mm: MmStruct, start: number, end: number): number {
  for (const edge of [start, end]) {
    const v = findVma(mm, edge) ?? findVma(mm, edge - 1)
    if (v && v.hugetlb && edge & (HPAGE_PMD_NR - 1)) return EINVAL
  }
  return 0
}

/** mmap: places a new VMA (2 MiB aligned when large or huge). Returns the start page or an errno. */
export function doMmap(w: Kernel, mm: MmStruct, a: MmapArgs, path: CallPath): number {
  const p = [...path, 'do_mmap']
  if (a.pages <= 0) return EINVAL
  const hugetlb = a.hugetlb ?? false
  if (hugetlb) {
    // MAP_HUGETLB: private anonymous hugetlb pages, length rounded up to the huge page size; the
    // pages are reserved now (hugetlb_reserve_pages) and mmap fails without enough free ones
    if (a.shared || a.file || a.pagecache) return EINVAL
    a = { ...a, pages: Math.ceil(a.pages / HPAGE_PMD_NR) * HPAGE_PMD_NR }
    if (a.at !== null && a.at & (HPAGE_PMD_NR - 1)) return EINVAL
    if (w.frames.hugetlbFree() - hugetlbReserved(w) < a.pages / HPAGE_PMD_NR) {
      w.count('hugetlb.mmap_enomem')
      return ENOMEM
    }
  }
  let start: number
  if (a.at !== null) {
    start = a.at
    const s0 = start
    if (mm.vmas.some((v) => v.start < s0 + a.pages && s0 < v.end)) return EINVAL
  } else {
    const align = a.huge || hugetlb || a.pages >= HPAGE_PMD_NR ? HPAGE_PMD_NR : 1
    start = Math.ceil(mm.mmapBase / align) * align
    mm.mmapBase = start + a.pages + HPAGE_PMD_NR
  }
  if (start + a.pages > 0xffffffff) return ENOMEM
  const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, [...p, 'vm_area_alloc'])
  let shmem = a.shared && !a.file ? new ShmemObj(w.id(), mm.owner) : null
  if (a.pagecache) {
    shmem = a.pagecache
    shmem.refs++
  }
  const v = new Vma(start, start + a.pages, a.prot, a.shared, a.file, a.huge, id, shmem, 0)
  v.hugetlb = hugetlb
  if (a.file) getFile(w, a.file, p)
  insertVma(mm, v)
  if (a.file && a.file.dev.spec.kind === 'dmirror' && a.prot !== 0) {
    // dmirror_fops_mmap: a zeroed driver page per VMA page, vm_insert_page'd read-only (VM_MIXEDMAP)
    for (let pg = start; pg < start + a.pages; pg++) mm.pt.set(pg, PTE_PRESENT | PTE_FILE, w.frames.alloc(0, mm.owner))
  }
  return start
}

/** Checks that [start, end) is mapped with the access needed; 0 or -EFAULT / -EPERM. */
export function checkAccess(mm: MmStruct, start: number, end: number, write: boolean): number {
  let pg = start
  while (pg < end) {
    const v = findVma(mm, pg)
    if (!v || v.prot === 0 || (v.prot & PROT_READ) === 0) return EFAULT
    if (write && (v.prot & PROT_WRITE) === 0) return EPERM
    pg = v.end
  }
  return 0
}

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
    return w.costs.cpu_cow_copy
  }
  pt.set(pg, (f & ~PTE_COW) | PTE_WRITE, pfn)
  return w.costs.cpu_fault
}

/** Splits a 2 MiB leaf partially covered by [start, end) so that only the covered part changes. */
function splitPartialHuge(w: Kernel, mm: MmStruct, start: number, end: number): void {
  for (const edge of [start, end]) {
    if (edge & (HPAGE_PMD_NR - 1) && mm.pt.isHuge(edge)) splitLeaf(w, mm, edge - (edge & (HPAGE_PMD_NR - 1)))
  }
}

/**
 * Replaces the 2 MiB leaf at `hb` (folio `pfn`) by 512 new 4 KiB frames holding copies of its
 * pieces, and drops this mapping's reference on the folio: for a folio others still map, or one
 * that cannot stay huge where it goes.
 */
export function splitHugeByCopy(w: Kernel, mm: MmStruct, hb: number, pfn: number): void {
  const pieces: number[] = []
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const id = w.frames.alloc(0, mm.owner)
    w.frames.data[id] = w.frames.read(pfn, i)
    pieces.push(id)
  }
  w.frames.put(pfn, mm.owner, heirOwner(mm))
  mm.pt.splitHuge(hb, (i) => pieces[i] as number)
}

/** __split_huge_pmd + split_huge_page: one 2 MiB leaf → 512 PTEs. */
export function splitLeaf(w: Kernel, mm: MmStruct, hb: number): void {
  const f = mm.pt.get(hb)
  const pfn = mm.pt.pfn(hb)
  // a hugetlb page is never split (callers refuse ranges that would need it; this is the backstop)
  if ((w.frames.hugetlb[pfn] as number) !== 0) return
  if (f & PTE_ZERO) {
    mm.pt.splitHuge(hb, () => ZERO_PFN)
    return
  }
  if ((w.frames.refcount[pfn] as number) > 1) {
    // a shared THP: split the mapping only (the other mapper keeps its PMD); model copies pieces
    splitHugeByCopy(w, mm, hb, pfn)
    return
  }
  const pieces = w.frames.split(pfn)
  mm.pt.splitHuge(hb, (i) => pieces[i] as number)
  w.count('thp_split')
}

/** Zaps [start, end) of the CPU page table (unmap_page_range); returns entries zapped. */
function zapRange(w: Kernel, mm: MmStruct, start: number, end: number): number {
  splitPartialHuge(w, mm, start, end)
  const heir = heirOwner(mm)
  return mm.pt.clear(start, end, (_pg, f, pfn) => zapFrames(w, mm, f, pfn, heir))
}

/** Runs an invalidation of [start, end) around `body` (returns cost), with CPU TLB + secondary flush. */
function* invalidated(w: Kernel, mm: MmStruct, start: number, end: number, event: NotifyEvent, path: CallPath, body: () => number): Proc<void> {
  const r = { mm, start, end, event, blockable: true, owner: -1 }
  yield* invalidateRangeStart(w, r, path)
  const c = body()
  yield* archInvalidateSecondaryTlbs(w, mm, start, end, path)
  const tlb = cpuTlbFlushCost(w.costs, end - start)
  yield* invalidateRangeEnd(w, r, path)
  for (const m of mm.mirrors) m.checkInvalidated(w, r, path)
  yield sleep(c + tlb)
}

/** munmap(2). */
export function* doMunmap(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  const p = [...path, 'do_vmi_munmap']
  if (end <= start) return EINVAL
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  splitAt(w, mm, start, p)
  splitAt(w, mm, end, p)
  yield* invalidated(w, mm, start, end, 'UNMAP', [...p, 'unmap_region'], () => zapRange(w, mm, start, end) * w.costs.pte_op)
  const gone = mm.vmas.filter((v) => v.start >= start && v.end <= end)
  mm.vmas = mm.vmas.filter((v) => !(v.start >= start && v.end <= end))
  for (const v of gone) removeVma(w, v, [...p, 'remove_vma'])
  return 0
}

/** mprotect(2): change_protection with a PROTECTION_VMA invalidation. */
export function* doMprotect(w: Kernel, mm: MmStruct, start: number, end: number, prot: number, path: CallPath): Proc<number> {
  const p = [...path, 'mprotect_fixup']
  if (checkAccessMapped(mm, start, end) < 0) return ENOMEM
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  splitAt(w, mm, start, p)
  splitAt(w, mm, end, p)
  for (const v of mm.vmas) if (v.start >= start && v.end <= end) v.prot = prot
  if (mm.pt.countPresent(start, end) > 0) {
    yield* invalidated(w, mm, start, end, 'PROTECTION_VMA', [...p, 'change_protection'], () => {
      splitPartialHuge(w, mm, start, end)
      let n = 0
      if (!(prot & PROT_WRITE)) {
        mm.pt.update(start, end, (f) => {
          n++
          return f & ~PTE_WRITE
        })
      }
      return n * w.costs.pte_op
    })
  }
  return 0
}

function checkAccessMapped(mm: MmStruct, start: number, end: number): number {
  let pg = start
  while (pg < end) {
    const v = findVma(mm, pg)
    if (!v) return ENOMEM
    pg = v.end
  }
  return 0
}

export type Advice = 'dontneed' | 'free' | 'pageout' | 'hugepage' | 'nohugepage' | 'collapse'

/** madvise(2). */
export function* doMadvise(w: Kernel, mm: MmStruct, start: number, end: number, advice: Advice, path: CallPath): Proc<number> {
  const p = [...path, 'madvise']
  if (checkAccessMapped(mm, start, end) < 0) return ENOMEM
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  if (advice === 'hugepage' || advice === 'nohugepage') {
    splitAt(w, mm, start, p)
    splitAt(w, mm, end, p)
    for (const v of mm.vmas) if (v.start >= start && v.end <= end) v.huge = advice === 'hugepage'
    return 0
  }
  if (advice === 'collapse') return yield* collapse(w, mm, start, end, p)
  if (mm.pt.countPresent(start, end) === 0) return 0
  yield* invalidated(w, mm, start, end, 'CLEAR', [...p, advice === 'pageout' ? 'reclaim_pages' : 'zap_page_range'], () => {
    let n = 0
    splitPartialHuge(w, mm, start, end)
    const heir = heirOwner(mm)
    // Reclaim of a shared mapping's pages is declined here (they stay resident and mapped): the model
    // has no swap-backed shmem object that would keep them after their PTEs are gone.
    const ranges = advice === 'pageout' ? subtractRanges(start, end, mm.vmas.filter((v) => v.shared && v.start < end && start < v.end)) : [[start, end] as const]
    for (const [a, b] of ranges) n += mm.pt.clear(a, b, (_pg, f, pfn) => zapFrames(w, mm, f, pfn, heir))
    return n * w.costs.pte_op
  })
  return 0
}

/** [start, end) without the parts covered by `holes` (sorted or not), as a list of ranges. */
function subtractRanges(start: number, end: number, holes: readonly { start: number; end: number }[]): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = []
  let at = start
  for (const h of [...holes].sort((x, y) => x.start - y.start)) {
    if (h.start > at) out.push([at, Math.min(h.start, end)] as const)
    at = Math.max(at, h.end)
    if (at >= end) break
  }
  if (at < end) out.push([at, end] as const)
  return out
}

function* collapse(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  const p = [...path, 'collapse_huge_page']
  for (let hb = Math.ceil(start / HPAGE_PMD_NR) * HPAGE_PMD_NR; hb + HPAGE_PMD_NR <= end; hb += HPAGE_PMD_NR) {
    const v = findVma(mm, hb)
    if (!v || v.shared || v.hugetlb || hb + HPAGE_PMD_NR > v.end || mm.pt.isHuge(hb)) continue
    if (mm.pt.countPresent(hb, hb + HPAGE_PMD_NR) !== HPAGE_PMD_NR) continue
    yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', p, () => {
      let writable = true
      const heir = heirOwner(mm)
      const tokens: number[] = []
      mm.pt.clear(hb, hb + HPAGE_PMD_NR, (_pg, f, pfn) => {
        if (!(f & PTE_WRITE)) writable = false
        tokens.push(w.frames.read(pfn, 0))
        zapFrames(w, mm, f, pfn, heir)
      })
      const np = w.frames.alloc(9, mm.owner)
      tokens.forEach((t, i) => w.frames.write(np, i, t))
      mm.pt.setHuge(hb, PTE_PRESENT | (writable ? PTE_WRITE : 0), np)
      w.count('thp_collapse')
      return HPAGE_PMD_NR * w.costs.migrate_page / 4
    })
  }
  return 0
}

/** THP split of every 2 MiB leaf in [start, end) (e.g. under memory pressure): CLEAR. */
export function* doThpSplit(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  const hbs: number[] = []
  mm.pt.forEach(start, end, (pg, _f, pfn, huge) => {
    // hugetlb pages are not THPs: never split
    if (huge && (w.frames.hugetlb[pfn] as number) === 0) hbs.push(pg)
  })
  for (const hb of hbs) {
    yield* invalidated(w, mm, hb, hb + HPAGE_PMD_NR, 'CLEAR', [...path, 'split_huge_pmd'], () => {
      splitLeaf(w, mm, hb)
      return HPAGE_PMD_NR * w.costs.pte_op
    })
  }
  return 0
}

/** NUMA / compaction migration of present system pages in [start, end): CLEAR, new frames. */
export function* doNumaMigrate(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  if (mm.pt.countPresent(start, end) === 0) return 0
  yield* invalidated(w, mm, start, end, 'CLEAR', [...path, 'migrate_pages'], () => {
    let n = 0
    const heir = heirOwner(mm)
    mm.pt.update(start, end, (f, pg, pfn, huge) => {
      // not: zero page, device entries, shared pages, hugetlb pages, ZONE_DEVICE (coherent) pages
      if (f & (PTE_ZERO | PTE_DEVPRIV | PTE_EXCL) || (w.frames.refcount[pfn] as number) > 1 || (w.frames.hugetlb[pfn] as number) !== 0 || (w.frames.dev[pfn] as number) !== 0) return f
      const np = w.frames.alloc(huge ? 9 : 0, mm.owner)
      w.frames.copy(np, pfn)
      w.frames.put(pfn, mm.owner, heir)
      if (huge) mm.pt.setHuge(pg, f, np)
      else mm.pt.set(pg, f, np)
      n += huge ? HPAGE_PMD_NR : 1
      return f
    })
    return n * w.costs.migrate_page
  })
  return 0
}

/** mremap(MREMAP_MAYMOVE|FIXED[|DONTUNMAP]): moves [start, end) to `to` (UNMAP on the old range). */
export function* doMremap(w: Kernel, mm: MmStruct, start: number, end: number, to: number | null, dontunmap: boolean, path: CallPath): Proc<number> {
  const p = [...path, 'mremap']
  const v0 = findVma(mm, start)
  if (!v0 || checkAccessMapped(mm, start, end) < 0) return EFAULT
  if (hugetlbAlignCheck(mm, start, end) < 0 || (v0.hugetlb && to !== null && to & (HPAGE_PMD_NR - 1))) return EINVAL
  const pages = end - start
  let dst: number
  if (to === null) {
    const align = pages >= HPAGE_PMD_NR ? HPAGE_PMD_NR : 1
    dst = Math.ceil(mm.mmapBase / align) * align
    mm.mmapBase = dst + pages + HPAGE_PMD_NR
  } else {
    dst = to
    if (dst < end && start < dst + pages) return EINVAL
    if (mm.pt.countPresent(dst, dst + pages) > 0 || mm.vmas.some((v) => v.start < dst + pages && dst < v.end)) {
      const r = yield* doMunmap(w, mm, dst, dst + pages, p)
      if (r < 0) return r
    }
  }
  splitAt(w, mm, start, p)
  splitAt(w, mm, end, p)
  const moving = mm.vmas.filter((v) => v.start >= start && v.end <= end)
  yield* invalidated(w, mm, start, end, 'UNMAP', [...p, 'move_page_tables'], () => {
    splitPartialHuge(w, mm, start, end)
    if ((dst - start) & (HPAGE_PMD_NR - 1)) {
      const hbs: number[] = []
      mm.pt.forEach(start, end, (pg, _f, _pfn, huge) => {
        if (huge) hbs.push(pg)
      })
      for (const hb of hbs) splitLeaf(w, mm, hb)
    }
    const moved: Array<[number, number, number, boolean]> = []
    mm.pt.forEach(start, end, (pg, f, pfn, huge) => moved.push([pg, f, pfn, huge]))
    mm.pt.clear(start, end)
    for (const [pg, f, pfn, huge] of moved) {
      if (huge) mm.pt.setHuge(pg - start + dst, f, pfn)
      else mm.pt.set(pg - start + dst, f, pfn)
    }
    return moved.length * w.costs.pte_op
  })
  mm.vmas = mm.vmas.filter((v) => !moving.includes(v))
  for (const v of moving) {
    const nvId = dontunmap ? w.ledger.alloc('vma', SIZEOF.vm_area_struct, mm.owner, `vma of ${mm.label}`, p) : v.ledgerId
    const nv = new Vma(v.start - start + dst, v.end - start + dst, v.prot, v.shared, v.file, v.huge, nvId, v.shmem, v.pgoff)
    nv.hugetlb = v.hugetlb
    if (dontunmap) {
      if (v.file) getFile(w, v.file, p)
      if (v.shmem) v.shmem.refs++
      insertVma(mm, v)
    }
    insertVma(mm, nv)
  }
  return dst
}

export { PTE_PRESENT, PTE_WRITE }

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

/**
 * The OOM reaper (mm/oom_kill.c __oom_reap_task_mm): for every private VMA with pages, a
 * non-blockable UNMAP invalidation; a subscriber that would block answers -EAGAIN and the VMA is
 * skipped (its memory stays until the victim's own exit); the others are zapped right away.
 * Returns pages reaped.
 */
export function* oomReap(w: Kernel, mm: MmStruct, path: CallPath): Proc<number> {
  const p = [...path, 'oom_reaper', '__oom_reap_task_mm']
  if (!mmgetNotZero(w, mm, p)) return 0
  let reaped = 0
  for (const v of [...mm.vmas]) {
    if (v.shared || mm.pt.countPresent(v.start, v.end) === 0) continue
    const r = { mm, start: v.start, end: v.end, event: 'UNMAP' as const, blockable: false, owner: -1 }
    const s = yield* invalidateRangeStart(w, r, [...p, 'mmu_notifier_invalidate_range_start_nonblock'])
    if (s.ret < 0) {
      yield* invalidateRangeEnd(w, r, p)
      w.count('oom_reaper.vma_skipped')
      continue
    }
    const n = zapRange(w, mm, v.start, v.end)
    reaped += n
    yield* archInvalidateSecondaryTlbs(w, mm, v.start, v.end, p)
    const tlb = cpuTlbFlushCost(w.costs, v.end - v.start)
    yield* invalidateRangeEnd(w, r, p)
    yield sleep(n * w.costs.pte_op + tlb)
  }
  w.count('oom_reaper.pages_reaped', reaped)
  // the reaper must not get stuck in exit_mmap if its reference is the last one (v4.7–v4.19)
  mmputAsync(w, mm, p)
  return reaped
}

/**
 * Write-protect the present pages of [start, end) and raise `event`: SOFT_DIRTY for
 * /proc/pid/clear_refs (soft-dirty tracking), PROTECTION_PAGE for writeback's page_mkclean of a
 * shared mapping. The next CPU write faults and makes the page writable again.
 */
export function* doWriteProtect(w: Kernel, mm: MmStruct, start: number, end: number, event: 'SOFT_DIRTY' | 'PROTECTION_PAGE', path: CallPath): Proc<number> {
  if (mm.pt.countPresent(start, end) === 0) return 0
  if (hugetlbAlignCheck(mm, start, end) < 0) return EINVAL
  yield* invalidated(w, mm, start, end, event, [...path, event === 'SOFT_DIRTY' ? 'clear_refs_write' : 'page_mkclean'], () => {
    splitPartialHuge(w, mm, start, end)
    let n = 0
    mm.pt.update(start, end, (f) => {
      if (!(f & PTE_WRITE)) return f
      n++
      return f & ~PTE_WRITE
    })
    return n * w.costs.pte_op
  })
  return 0
}
