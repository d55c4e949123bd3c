/**
 * A compact radix page table, used for CPU page tables (flags = PTE_*) and for device / IOMMU
 * mirrored page tables (flags = DPTE_*). Layout follows x86-64: one PMD table (512 entries, each
 * either a 2 MiB leaf or a pointer to a PTE table of 512 4 KiB entries) per 1 GiB of address space.
 * Entries live in typed arrays; there is no object per page. Addresses are 4 KiB page numbers
 * (VA >> 12), which the scenario layer keeps below 2^32 (16 TiB of VA).
 */

import { HPAGE_PMD_NR, PTRS_PER_PTE } from './page'

export const PTRS = PTRS_PER_PTE

/** CPU PTE flags. */
export const PTE_PRESENT = 1
export const PTE_WRITE = 2
/** Write-protected because the page is COW-shared after fork. */
export const PTE_COW = 4
/** Device-private swap entry (page lives in device memory; pfn = device frame). */
export const PTE_DEVPRIV = 8
/** Device-exclusive entry (make_device_exclusive). */
export const PTE_EXCL = 16
/** Maps the shared zero page. */
export const PTE_ZERO = 32
/** Maps a page that is not anonymous (page cache, or a driver page inserted by f_op->mmap). */
export const PTE_FILE = 64
/**
 * A swap entry (not present): pfn = the swap slot (kernel/swap.ts). With PTE_WRITE it carries the
 * exclusive marker (pte_swp_exclusive: the page was exclusive to this mapping when it was unmapped).
 */
export const PTE_SWAP = 128

/** Device page-table entry tags (test_hmm's xarray tags, generalised). */
export const DPTE_PRESENT = 1
export const DPTE_WRITE = 2
export const DPTE_ATOMIC = 4

export class PteTable {
  readonly flags = new Uint8Array(PTRS)
  readonly pfn = new Int32Array(PTRS)
  n = 0
}

export class PmdTable {
  readonly hflags = new Uint8Array(PTRS)
  readonly hpfn = new Int32Array(PTRS)
  /** 1 where a 2 MiB leaf keeps a deposited PTE table (pgtable_trans_huge_deposit). */
  readonly dep = new Uint8Array(PTRS)
  readonly ptes: Array<PteTable | undefined> = new Array<PteTable | undefined>(PTRS)
  nPte = 0
  nHuge = 0
}

/** Visitor over a range: called once per 4 KiB entry or once per 2 MiB leaf (huge = true). */
export type EntryVisitor = (page: number, flags: number, pfn: number, huge: boolean) => void

export class RadixPt {
  readonly pmds = new Map<number, PmdTable>()
  /** Present entries counted in 4 KiB pages (a 2 MiB leaf counts 512). */
  present = 0
  /** Table pages (PMD + PTE tables) allocated. */
  tables = 0
  /**
   * Keep table pages allocated when they become empty (GPU VMs keep their page-table BOs until the
   * VM is destroyed; the CPU and dmirror's xarray free them).
   */
  keepEmptyTables = false
  /**
   * The CPU's page-table rules (mm/memory.c) instead of an xarray's: a table page stays allocated
   * when its entries become none (zap_pte_range frees no table; free_pgtables and, with
   * CONFIG_PT_RECLAIM, MADV_DONTNEED free them: `freePgtables`, `reclaimEmptyPtes`), and every
   * PMD-mapped THP keeps a deposited PTE table (`setHuge(…, deposit)`), counted in `tables`.
   */
  cpu = false
  /** First and last+1 page cleared by the last clear() (−1 if nothing). */
  clearedLo = -1
  clearedHi = -1

  private cacheKey = -1
  private cachePmd: PmdTable | undefined = undefined

  /** `onTables(delta)` is told every time table pages are allocated (+) or freed (-). */
  constructor(readonly onTables: (delta: number) => void = () => {}) {}

  /** The PMD table covering `page` (cached: consecutive lookups skip the Map). */
  pmdOf(page: number): PmdTable | undefined {
    const k = page >>> 18
    if (k === this.cacheKey) return this.cachePmd
    const p = this.pmds.get(k)
    this.cacheKey = k
    this.cachePmd = p
    return p
  }

  pmdFor(page: number, create: boolean): PmdTable | undefined {
    let p = this.pmdOf(page)
    if (!p && create) {
      const k = page >>> 18
      p = new PmdTable()
      this.pmds.set(k, p)
      this.cacheKey = k
      this.cachePmd = p
      this.tables++
      this.onTables(1)
    }
    return p
  }

  /** The PTE table of the 2 MiB block of `page`, if the block is mapped with 4 KiB entries. */
  pteTable(page: number): PteTable | undefined {
    const p = this.pmdOf(page)
    if (!p) return undefined
    return p.ptes[(page >>> 9) & 511]
  }

  /**
   * The PTE table of the block of `page`, created if needed (a 2 MiB leaf there is dropped first).
   * Callers that write entries directly keep `n` and `present` in step (see installRun).
   */
  ensurePteTable(page: number): PteTable {
    const p = this.pmdFor(page, true) as PmdTable
    const pi = (page >>> 9) & 511
    if ((p.hflags[pi] as number) !== 0) {
      p.hflags[pi] = 0
      p.hpfn[pi] = 0
      p.nHuge--
      this.present -= HPAGE_PMD_NR
    }
    let t = p.ptes[pi]
    if (!t) {
      t = new PteTable()
      p.ptes[pi] = t
      p.nPte++
      if ((p.dep[pi] as number) !== 0)
        p.dep[pi] = 0 // the deposited table is withdrawn and used
      else {
        this.tables++
        this.onTables(1)
      }
    }
    return t
  }

  /** Writes one entry into a table obtained from ensurePteTable (flags ≠ 0). */
  static put(pt: RadixPt, t: PteTable, page: number, flags: number, pfn: number): void {
    const i = page & 511
    if ((t.flags[i] as number) === 0) {
      t.n++
      pt.present++
    }
    t.flags[i] = flags
    t.pfn[i] = pfn
  }

  /** 0: nothing mapped in the 2 MiB block of `page`; 1: a 2 MiB leaf; 2: a PTE table. */
  blockState(page: number): number {
    const p = this.pmdOf(page)
    if (!p) return 0
    const pi = (page >>> 9) & 511
    if ((p.hflags[pi] as number) !== 0) return 1
    return p.ptes[pi] ? 2 : 0
  }

  /** Flags of the entry covering `page` (0 if none). */
  get(page: number): number {
    const p = this.pmdOf(page)
    if (!p) return 0
    const pi = (page >>> 9) & 511
    const h = p.hflags[pi] as number
    if (h !== 0) return h
    const t = p.ptes[pi]
    return t ? (t.flags[page & 511] as number) : 0
  }

  /** pfn of the entry covering `page` (for a huge leaf: the huge frame), or -1. */
  pfn(page: number): number {
    const p = this.pmdOf(page)
    if (!p) return -1
    const pi = (page >>> 9) & 511
    if ((p.hflags[pi] as number) !== 0) return p.hpfn[pi] as number
    const t = p.ptes[pi]
    if (!t) return -1
    return (t.flags[page & 511] as number) !== 0 ? (t.pfn[page & 511] as number) : -1
  }

  /** True if `page` is covered by a 2 MiB leaf. */
  isHuge(page: number): boolean {
    const p = this.pmdOf(page)
    return p !== undefined && (p.hflags[(page >>> 9) & 511] as number) !== 0
  }

  /** Sets a 4 KiB entry (flags 0 clears it). The covering 2 MiB leaf must have been split. */
  set(page: number, flags: number, pfn: number): void {
    const p = this.pmdFor(page, flags !== 0)
    if (!p) return
    const pi = (page >>> 9) & 511
    let t = p.ptes[pi]
    if (!t) {
      if (flags === 0) return
      t = new PteTable()
      p.ptes[pi] = t
      p.nPte++
      this.tables++
      this.onTables(1)
    }
    const i = page & 511
    const old = t.flags[i] as number
    if (old === 0 && flags !== 0) {
      t.n++
      this.present++
    } else if (old !== 0 && flags === 0) {
      t.n--
      this.present--
    }
    t.flags[i] = flags
    t.pfn[i] = flags !== 0 ? pfn : 0
    if (t.n === 0 && !this.keepEmptyTables && !this.cpu) this.dropPte(p, pi, page)
  }

  /**
   * Sets a 2 MiB leaf at the block containing `page` (page is rounded down). On a CPU table a THP
   * leaf (`deposit`, the default there; not for hugetlb) keeps a deposited PTE table: a PTE table
   * already in the slot becomes the deposit (collapse_huge_page), else one is allocated
   * (do_huge_pmd_anonymous_page, copy_huge_pmd). Clearing the leaf frees it (zap_deposited_table).
   */
  setHuge(page: number, flags: number, pfn: number, deposit = this.cpu): void {
    const p = this.pmdFor(page, flags !== 0)
    if (!p) return
    const pi = (page >>> 9) & 511
    const t = p.ptes[pi]
    const dep = flags !== 0 && deposit && this.cpu
    if (t) {
      this.present -= t.n
      p.ptes[pi] = undefined
      p.nPte--
      if (dep && (p.dep[pi] as number) === 0) p.dep[pi] = 1
      else {
        this.tables--
        this.onTables(-1)
      }
    }
    if (dep && (p.dep[pi] as number) === 0) {
      p.dep[pi] = 1
      this.tables++
      this.onTables(1)
    } else if (!dep && (p.dep[pi] as number) !== 0) {
      p.dep[pi] = 0
      this.tables--
      this.onTables(-1)
    }
    const old = p.hflags[pi] as number
    if (old === 0 && flags !== 0) {
      p.nHuge++
      this.present += HPAGE_PMD_NR
    } else if (old !== 0 && flags === 0) {
      p.nHuge--
      this.present -= HPAGE_PMD_NR
    }
    p.hflags[pi] = flags
    p.hpfn[pi] = flags !== 0 ? pfn : 0
    this.maybeDropPmd(p, page)
  }

  private dropPte(p: PmdTable, pi: number, page: number): void {
    p.ptes[pi] = undefined
    p.nPte--
    this.tables--
    this.onTables(-1)
    this.maybeDropPmd(p, page)
  }

  /** True if the 2 MiB leaf of `page` keeps a deposited PTE table. */
  hasDeposit(page: number): boolean {
    const p = this.pmdOf(page)
    return p !== undefined && (p.dep[(page >>> 9) & 511] as number) !== 0
  }

  private maybeDropPmd(p: PmdTable, page: number): void {
    if (this.cpu) return
    if (p.nPte === 0 && p.nHuge === 0) {
      this.pmds.delete(page >>> 18)
      this.cacheKey = -1
      this.cachePmd = undefined
      this.tables--
      this.onTables(-1)
    }
  }

  /**
   * Visits every present entry in [start, end) in address order. A 2 MiB leaf overlapping the range
   * is visited once with its block-aligned page number, even if the range covers it partly.
   */
  forEach(start: number, end: number, v: EntryVisitor): void {
    this.walk(start, end, (p, pi, hb, lo, hi) => this.visitSlot(p, pi, hb, lo, hi, v))
  }

  /** forEach for one 2 MiB slot (a method, not a closure: the per-page loop keeps its values in locals). */
  private visitSlot(p: PmdTable, pi: number, hb: number, lo: number, hi: number, v: EntryVisitor): void {
    const h = p.hflags[pi] as number
    if (h !== 0) {
      v(hb, h, p.hpfn[pi] as number, true)
      return
    }
    const t = p.ptes[pi]
    if (!t) return
    const fl = t.flags
    for (let i = lo; i < hi; i++) {
      const f = fl[i] as number
      if (f !== 0) v(hb + i, f, t.pfn[i] as number, false)
    }
  }

  /**
   * The range walk every bulk operation shares: each PMD table intersecting [start, end) in address
   * order, and in it each 2 MiB slot the range touches, given as the slot's first page `hb` and the
   * 4 KiB indexes [lo, hi) of the slot inside the range. `slot` handles the huge leaf or the PTE
   * table itself (one call per 512 pages, so the per-page loops stay in the callers); `pmdDone`
   * runs after the last slot of each PMD table.
   */
  private walk(
    start: number,
    end: number,
    slot: (p: PmdTable, pi: number, hb: number, lo: number, hi: number) => void,
    pmdDone?: (p: PmdTable, k: number) => void,
  ): void {
    if (end <= start) return
    for (const k of this.sortedKeys(start, end)) {
      const p = this.pmds.get(k)
      if (!p) continue
      const base = (k << 18) >>> 0
      const b0 = Math.max(start, base)
      const b1 = Math.min(end, base + 262144)
      for (let pi = (b0 - base) >>> 9; pi <= (b1 - 1 - base) >>> 9; pi++) {
        const hb = base + pi * 512
        slot(p, pi, hb, Math.max(b0, hb) - hb, Math.min(b1, hb + 512) - hb)
      }
      if (pmdDone) pmdDone(p, k)
    }
  }

  /** PMD-table keys intersecting [start, end), ascending. */
  private sortedKeys(start: number, end: number): number[] {
    const k0 = start >>> 18
    const k1 = (end - 1) >>> 18
    if (k1 - k0 < 64) {
      const out: number[] = []
      for (let k = k0; k <= k1; k++) if (this.pmds.has(k)) out.push(k)
      return out
    }
    return [...this.pmds.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b)
  }

  /** Number of present 4 KiB-equivalent pages in [start, end). */
  countPresent(start: number, end: number): number {
    let n = 0
    this.forEach(start, end, (pg, _f, _p, huge) => {
      if (!huge) n++
      else n += Math.min(end, pg + 512) - Math.max(start, pg)
    })
    return n
  }

  /**
   * Clears every entry in [start, end); `onEntry` sees each cleared entry first. 2 MiB leaves only
   * partly inside the range are cleared whole (callers split first when they must not).
   */
  clear(start: number, end: number, onEntry?: EntryVisitor): number {
    this.clearedLo = -1
    this.clearedHi = -1
    let n = 0
    this.walk(
      start,
      end,
      (p, pi, hb, lo, hi) => {
        n += this.clearSlot(p, pi, hb, lo, hi, onEntry)
      },
      (p, k) => {
        if (p.nPte === 0 && p.nHuge === 0 && !this.keepEmptyTables && !this.cpu) {
          this.pmds.delete(k)
          this.cacheKey = -1
          this.cachePmd = undefined
          this.tables--
          this.onTables(-1)
        }
      },
    )
    return n
  }

  /** clear for one 2 MiB slot: its huge leaf, or its PTE entries [lo, hi). Returns 4 KiB pages cleared. */
  private clearSlot(p: PmdTable, pi: number, hb: number, lo: number, hi: number, onEntry: EntryVisitor | undefined): number {
    const h = p.hflags[pi] as number
    if (h !== 0) {
      if (onEntry) onEntry(hb, h, p.hpfn[pi] as number, true)
      if (this.clearedLo < 0) this.clearedLo = hb
      this.clearedHi = hb + 512
      p.hflags[pi] = 0
      p.hpfn[pi] = 0
      p.nHuge--
      this.present -= HPAGE_PMD_NR
      if ((p.dep[pi] as number) !== 0) {
        // zap_huge_pmd → zap_deposited_table
        p.dep[pi] = 0
        this.tables--
        this.onTables(-1)
      }
      return HPAGE_PMD_NR
    }
    const t = p.ptes[pi]
    if (!t) return 0
    const fl = t.flags
    let n = 0
    for (let i = lo; i < hi && t.n > 0; i++) {
      const f = fl[i] as number
      if (f === 0) continue
      if (onEntry) onEntry(hb + i, f, t.pfn[i] as number, false)
      if (this.clearedLo < 0) this.clearedLo = hb + i
      this.clearedHi = hb + i + 1
      fl[i] = 0
      t.pfn[i] = 0
      t.n--
      n++
      this.present--
    }
    if (t.n === 0 && !this.keepEmptyTables && !this.cpu) {
      p.ptes[pi] = undefined
      p.nPte--
      this.tables--
      this.onTables(-1)
    }
    return n
  }

  /**
   * fork's copy_page_range for a COW mapping: write-protects the parent's entries in [start, end)
   * (`wp(flags)` gives the new flags, applied to both) and installs the same entries in `child`;
   * `onEntry` sees each copied entry (to take frame references). Whole tables are copied with
   * typed-array copies. Returns entries copied (4 KiB or 2 MiB).
   */
  copyTo(child: RadixPt, start: number, end: number, wp: (f: number) => number, onEntry: (pfn: number, f: number) => void): number {
    let n = 0
    this.walk(start, end, (p, pi, hb, lo, hi) => {
      n += this.copySlot(child, p, pi, hb, lo, hi, wp, onEntry)
    })
    return n
  }

  /** copyTo for one 2 MiB slot: its huge leaf, or its PTE entries [lo, hi). Returns entries copied. */
  private copySlot(
    child: RadixPt,
    p: PmdTable,
    pi: number,
    hb: number,
    lo: number,
    hi: number,
    wp: (f: number) => number,
    onEntry: (pfn: number, f: number) => void,
  ): number {
    const h = p.hflags[pi] as number
    if (h !== 0) {
      const nf = wp(h)
      p.hflags[pi] = nf
      onEntry(p.hpfn[pi] as number, h)
      child.setHuge(hb, nf, p.hpfn[pi] as number, (p.dep[pi] as number) !== 0)
      return 1
    }
    const t = p.ptes[pi]
    if (!t) return 0
    const cp = child.pmdFor(hb, true) as PmdTable
    let ct = cp.ptes[pi]
    if (!ct) {
      ct = new PteTable()
      cp.ptes[pi] = ct
      cp.nPte++
      child.tables++
      child.onTables(1)
    }
    const fl = t.flags
    const pf = t.pfn
    const cf = ct.flags
    const cpf = ct.pfn
    let n = 0
    let last = -1
    let lastF = -1
    for (let i = lo; i < hi; i++) {
      const f = fl[i] as number
      if (f === 0) continue
      let nf: number
      if (f === last) nf = lastF
      else {
        nf = wp(f)
        last = f
        lastF = nf
      }
      fl[i] = nf
      if ((cf[i] as number) === 0) {
        ct.n++
        child.present++
      }
      cf[i] = nf
      const pfn = pf[i] as number
      cpf[i] = pfn
      onEntry(pfn, f)
      n++
    }
    if (ct.n === 0 && !child.cpu) {
      cp.ptes[pi] = undefined
      cp.nPte--
      child.tables--
      child.onTables(-1)
    }
    return n
  }

  /** Clears everything (used at teardown); returns entries cleared in 4 KiB pages. */
  clearAll(onEntry?: EntryVisitor): number {
    const n = this.present
    if (onEntry) {
      const keys = [...this.pmds.keys()].sort((a, b) => a - b)
      for (const k of keys) {
        const base = (k << 18) >>> 0
        this.forEach(base, base + 262144, onEntry)
      }
    }
    if (this.tables > 0) this.onTables(-this.tables)
    this.pmds.clear()
    this.cacheKey = -1
    this.cachePmd = undefined
    this.tables = 0
    this.present = 0
    return n
  }

  /** Rewrites flags of every present 4 KiB entry / 2 MiB leaf in [start, end) with `f(flags)`. */
  update(start: number, end: number, f: (flags: number, page: number, pfn: number, huge: boolean) => number): void {
    this.walk(start, end, (p, pi, hb, lo, hi) => this.updateSlot(p, pi, hb, lo, hi, f))
  }

  /** update for one 2 MiB slot. */
  private updateSlot(
    p: PmdTable,
    pi: number,
    hb: number,
    lo: number,
    hi: number,
    f: (flags: number, page: number, pfn: number, huge: boolean) => number,
  ): void {
    const h = p.hflags[pi] as number
    if (h !== 0) {
      const nf = f(h, hb, p.hpfn[pi] as number, true)
      if (nf === 0) this.setHuge(hb, 0, 0)
      else p.hflags[pi] = nf
      return
    }
    const t = p.ptes[pi]
    if (!t) return
    for (let i = lo; i < hi; i++) {
      const fl = t.flags[i] as number
      if (fl === 0) continue
      const nf = f(fl, hb + i, t.pfn[i] as number, false)
      if (nf !== fl) {
        if (nf === 0) {
          this.set(hb + i, 0, 0)
          if (!p.ptes[pi]) break
        } else t.flags[i] = nf
      }
    }
  }

  /** Replaces a 2 MiB leaf by 512 4 KiB entries with the same flags; `pfnOf(i)` gives each pfn. */
  splitHuge(page: number, pfnOf: (i: number) => number): void {
    const p = this.pmdOf(page)
    if (!p) return
    const pi = (page >>> 9) & 511
    const h = p.hflags[pi] as number
    if (h === 0) return
    p.hflags[pi] = 0
    p.hpfn[pi] = 0
    p.nHuge--
    const t = new PteTable()
    t.flags.fill(h)
    for (let i = 0; i < 512; i++) t.pfn[i] = pfnOf(i)
    t.n = 512
    p.ptes[pi] = t
    p.nPte++
    if ((p.dep[pi] as number) !== 0)
      p.dep[pi] = 0 // __split_huge_pmd_locked: pgtable_trans_huge_withdraw
    else {
      this.tables++
      this.onTables(1)
    }
  }

  /**
   * free_pgd_range (mm/memory.c) for [start, end) of a CPU table, `floor` / `ceiling` being the end
   * of the previous VMA and the start of the next one (0 and 2^32 when none): frees the PTE tables
   * of the 2 MiB blocks no neighbour shares, then the PMD table when no neighbour shares its 1 GiB.
   * The range's entries are none already (unmap_vmas ran first). Returns table pages freed.
   */
  freePgtables(start: number, end: number, floor: number, ceiling: number): number {
    let addr = start - (start & 511)
    if (addr < floor) addr += 512
    let e = end
    const ceil2 = ceiling - (ceiling & 511)
    if (e - 1 > ceil2 - 1) e -= 512
    if (addr >= e) return 0
    let freed = 0
    for (const k of this.sortedKeys(addr, e)) {
      const p = this.pmds.get(k)
      if (!p) continue
      const base = (k << 18) >>> 0
      const b0 = Math.max(addr, base)
      const b1 = Math.min(e, base + 262144)
      for (let pi = (b0 - base) >>> 9; pi <= (b1 - 1 - base) >>> 9; pi++) {
        const t = p.ptes[pi]
        if (!t) continue
        this.present -= t.n
        p.ptes[pi] = undefined
        p.nPte--
        this.tables--
        this.onTables(-1)
        freed++
      }
      // free_pmd_range: the PMD table when [its 1 GiB ∩ the range] lies between floor and ceiling
      const pudStart = Math.max(addr, base) - ((Math.max(addr, base) - base) & 0x3ffff)
      const ceil1g = ceiling - (ceiling & 0x3ffff)
      if (pudStart >= floor && !(Math.min(e, base + 262144) - 1 > ceil1g - 1) && p.nHuge === 0 && p.nPte === 0) {
        this.pmds.delete(k)
        this.cacheKey = -1
        this.cachePmd = undefined
        this.tables--
        this.onTables(-1)
        freed++
      }
    }
    return freed
  }

  /**
   * CONFIG_PT_RECLAIM (mm/pt_reclaim.c, since v6.14, kernel/version.ts): after MADV_DONTNEED zapped [start, end), a
   * PTE table whose whole 2 MiB block was zapped and is now empty is freed (zap_pte_range →
   * try_get_and_clear_pmd); the PMD table stays. Returns tables freed.
   */
  reclaimEmptyPtes(start: number, end: number): number {
    let freed = 0
    for (let hb = start + ((512 - (start & 511)) & 511); hb + 512 <= end; hb += 512) {
      const p = this.pmdOf(hb)
      if (!p) continue
      const pi = (hb >>> 9) & 511
      const t = p.ptes[pi]
      if (!t || t.n !== 0) continue
      p.ptes[pi] = undefined
      p.nPte--
      this.tables--
      this.onTables(-1)
      freed++
    }
    return freed
  }

  /** Approximate heap bytes used by the typed arrays of this table. */
  heapBytes(): number {
    let b = 0
    for (const p of this.pmds.values()) b += 512 * 5 + 512 * 8 + p.nPte * (512 * 5)
    return b
  }
}
