/**
 * Physical frames (struct page / folio, reduced to what the model needs): reference count, order
 * (0 = 4 KiB, 9 = 2 MiB), where the frame lives (system RAM or a device's private memory) and the
 * ledger owner it is charged to. Stored in growable typed arrays; freed ids are reused LIFO.
 * Frame 0 is the shared zero page (never freed, never charged).
 *
 * Page contents are modelled as one int32 token per 4 KiB page (e.g. "page i holds pattern value
 * i"): enough for the selftests' data checks (COW isolation, migration round trips) without bytes.
 * A 2 MiB frame keeps its 512 tokens in a lazily allocated array.
 */
import type { Ledger } from '../ledger/ledger'

export const ZERO_PFN = 0
import { HPAGE_PMD_NR, PAGE_SIZE } from './page'

export { PAGE_SIZE }

/** Frames the model will hold at once (4 KiB or 2 MiB each): 16 Mi = 64 GiB of 4 KiB pages. */
const MAX_FRAMES = 16 * 1024 * 1024

/** Thrown when a scenario asks for more memory than the model can hold; the run stops cleanly. */
export class SimLimitError extends Error {}

/** Frames.lazyfree values. */
export const LAZYFREE_CLEAN = 1
export const LAZYFREE_DIRTY = 2

export class Frames {
  refcount = new Int32Array(1024)
  owner = new Int32Array(1024)
  order = new Uint8Array(1024)
  /** 0 = system RAM, d+1 = device-private memory of device index d. */
  dev = new Uint8Array(1024)
  /** Content token of each 4 KiB frame (0 = zero-filled). */
  data = new Int32Array(1024)
  /** 1 for a 2 MiB page of the hugetlb pool (freed back to the pool, never split). */
  hugetlb = new Uint8Array(1024)
  /**
   * MADV_FREE state of an anonymous folio: 0 swap-backed (normal), LAZYFREE_CLEAN after
   * folio_mark_lazyfree (PG_swapbacked cleared, PTEs made clean), LAZYFREE_DIRTY once the CPU wrote
   * it again (the PTE dirty bit reclaim finds: try_to_unmap_one then keeps it, folio_set_swapbacked).
   */
  lazyfree = new Uint8Array(1024)
  /**
   * 1 for a 4 KiB frame the kernel would still hold inside a large folio: a piece of a THP whose
   * PMD mapping was split (__split_huge_pmd: mremap, munmap, mprotect, a VMA split) while the folio
   * itself was not (split_folio). The model splits the frame at once; this remembers what the
   * kernel's folio_test_large / PageTransCompound would answer (kernel/version.ts,
   * migrate_split_pte_mapped_folio).
   */
  inLargeFolio = new Uint8Array(1024)
  /** Frames with a non-zero `lazyfree` were set at some point (skips the write-path scan otherwise). */
  lazyfreeSeen = false
  /** The hugetlb pool (/proc/sys/vm/nr_hugepages of the default 2 MiB size) and pages in use. */
  hugetlbTotal = 0
  hugetlbInUse = 0
  /** Content tokens of 2 MiB frames that were written (absent = all zero). */
  private readonly hdata = new Map<number, Int32Array>()
  private top = 1
  private freeList: number[] = []
  /** Frames currently allocated (excluding the zero page). */
  live = 0
  /** Told when device memory is allocated (+) or freed (−): device index and bytes. */
  devMemory: ((devIdx: number, bytes: number) => void) | null = null

  constructor(private readonly ledger: Ledger) {
    this.refcount[0] = 1
  }

  private grow(): void {
    const n = this.refcount.length * 2
    const g = <T extends Int32Array | Uint8Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(n)
      b.set(a)
      return b
    }
    this.refcount = g(this.refcount, Int32Array)
    this.owner = g(this.owner, Int32Array)
    this.order = g(this.order, Uint8Array)
    this.dev = g(this.dev, Uint8Array)
    this.data = g(this.data, Int32Array)
    this.hugetlb = g(this.hugetlb, Uint8Array)
    this.lazyfree = g(this.lazyfree, Uint8Array)
    this.inLargeFolio = g(this.inLargeFolio, Uint8Array)
  }

  /** Free huge pages of the pool (free_huge_pages, reservations not subtracted). */
  hugetlbFree(): number {
    return Math.max(0, this.hugetlbTotal - this.hugetlbInUse)
  }

  /** alloc_hugetlb_folio: a 2 MiB page from the pool, or -1 if the pool has none free. */
  allocHugetlb(owner: number): number {
    if (this.hugetlbInUse >= this.hugetlbTotal) return -1
    const id = this.alloc(9, owner)
    this.hugetlb[id] = 1
    this.hugetlbInUse++
    return id
  }

  /** Content token of 4 KiB subpage `sub` (0..511 for a 2 MiB frame, else 0) of a frame. */
  read(pfn: number, sub: number): number {
    if (pfn === ZERO_PFN) return 0
    if ((this.order[pfn] as number) === 0) return this.data[pfn] as number
    return this.hdata.get(pfn)?.[sub & (HPAGE_PMD_NR - 1)] ?? 0
  }

  /** Writes the content token of a subpage. */
  write(pfn: number, sub: number, v: number): void {
    if (pfn === ZERO_PFN) return
    if ((this.order[pfn] as number) === 0) {
      this.data[pfn] = v
      return
    }
    let a = this.hdata.get(pfn)
    if (!a) {
      if (v === 0) return
      a = new Int32Array(HPAGE_PMD_NR)
      this.hdata.set(pfn, a)
    }
    a[sub & (HPAGE_PMD_NR - 1)] = v
  }

  /**
   * Copies the contents of `src` into `dst` (same order; a 4 KiB `dst` from a 2 MiB `src` takes its
   * subpage `sub`, for a PTE that maps one subpage of a THP).
   */
  copy(dst: number, src: number, sub = 0): void {
    if ((this.order[dst] as number) === 0) {
      this.data[dst] = this.read(src, sub)
      return
    }
    const a = src === ZERO_PFN ? undefined : this.hdata.get(src)
    if (a) this.hdata.set(dst, a.slice())
    else this.hdata.delete(dst)
  }

  /** Bytes of a frame. */
  bytes(pfn: number): number {
    return PAGE_SIZE << (this.order[pfn] as number)
  }

  /** Allocates a frame with refcount 1 charged to `owner`. */
  alloc(order: number, owner: number, dev = 0): number {
    let id = this.freeList.pop()
    if (id === undefined) {
      if (this.top >= MAX_FRAMES) throw new SimLimitError(`more than ${MAX_FRAMES} frames in use: use 2 MiB pages (huge: true) or a smaller working set`)
      if (this.top >= this.refcount.length) this.grow()
      id = this.top++
    }
    this.refcount[id] = 1
    this.owner[id] = owner
    this.order[id] = order
    this.dev[id] = dev
    this.data[id] = 0
    this.lazyfree[id] = 0
    this.inLargeFolio[id] = 0
    this.hdata.delete(id)
    this.live++
    this.ledger.charge(dev === 0 ? 'pages' : 'vram', owner, PAGE_SIZE << order)
    if (dev !== 0) this.devMemory?.(dev - 1, PAGE_SIZE << order)
    return id
  }

  /** get_page. */
  get(pfn: number): void {
    if (pfn !== ZERO_PFN) this.refcount[pfn] = (this.refcount[pfn] as number) + 1
  }

  /**
   * put_page: drops one reference; frees at zero. If the frame survives and is charged to
   * `dropper`, the charge moves to `heir` (another owner still mapping it), when given.
   */
  put(pfn: number, dropper = -1, heir = -1): void {
    if (pfn === ZERO_PFN) return
    const r = (this.refcount[pfn] as number) - 1
    this.refcount[pfn] = r
    const o = this.owner[pfn] as number
    if (r === 0) {
      const d = this.dev[pfn] as number
      this.ledger.charge(d === 0 ? 'pages' : 'vram', o, -(PAGE_SIZE << (this.order[pfn] as number)))
      if (d !== 0) this.devMemory?.(d - 1, -(PAGE_SIZE << (this.order[pfn] as number)))
      this.live--
      if ((this.hugetlb[pfn] as number) !== 0) {
        // free_huge_folio: back to the pool
        this.hugetlb[pfn] = 0
        this.hugetlbInUse--
      }
      this.freeList.push(pfn)
    } else if (o === dropper && heir >= 0 && heir !== dropper) {
      this.ledger.move(this.dev[pfn] === 0 ? 'pages' : 'vram', o, heir, PAGE_SIZE << (this.order[pfn] as number))
      this.owner[pfn] = heir
    }
  }

  /**
   * Splits a 2 MiB frame into 512 4 KiB frames (THP split); returns their pfns (the first keeps the
   * id). Reference counts are copied to every piece, as split_huge_page distributes them.
   */
  split(pfn: number): number[] {
    if ((this.hugetlb[pfn] as number) !== 0) throw new Error(`split of hugetlb page ${pfn}: hugetlb pages are never split`)
    const out = [pfn]
    const rc = this.refcount[pfn] as number
    const o = this.owner[pfn] as number
    const d = this.dev[pfn] as number
    const type = d === 0 ? 'pages' : 'vram'
    const tokens = this.hdata.get(pfn)
    const lazy = this.lazyfree[pfn] as number
    this.hdata.delete(pfn)
    this.order[pfn] = 0
    this.data[pfn] = tokens?.[0] ?? 0
    this.ledger.charge(type, o, -(PAGE_SIZE * (HPAGE_PMD_NR - 1)))
    for (let i = 1; i < HPAGE_PMD_NR; i++) {
      const id = this.alloc(0, o, d)
      this.refcount[id] = rc
      this.lazyfree[id] = lazy
      this.data[id] = tokens?.[i] ?? 0
      out.push(id)
    }
    return out
  }

  /** Approximate heap bytes used by the frame table. */
  heapBytes(): number {
    return this.refcount.length * 10
  }
}
