/**
 * A device mirror of one mm (what HMM's hmm_mirror, a KFD process-device, or a dmirror open file
 * keeps per device): the device page table (typed-array radix), its TLB, the sequence used for the
 * read_begin / read_retry protocol, and the invalidate callback that zaps the device page table and
 * flushes the device TLB and, behind an IOMMU, the IOTLB / ATS device TLB for DMA mappings.
 */
import { WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { DevPagemap, DevPagemapOps, RangeEndCall } from '../kernel/types'
import type { Device } from '../devices/device'
import { RadixPt, DPTE_ATOMIC } from '../kernel/pagetable'
import { SIZEOF, type IntervalSub, type MmStruct, type NotifierRange } from '../kernel/objects'
import { mmuIntervalReadBegin, mmuIntervalReadRetry } from '../kernel/notifier'
import { PAGE_SIZE } from '../kernel/page'

/**
 * The driver's device memory ops (test_hmm's dmirror_devmem_ops): the core mm calls them through
 * `page->pgmap->ops`; they drop the device entries of the mirrors of that device and address
 * space. `mirrors` is the driver's list of its live mirrors on the device.
 */
export class DevmemOps implements DevPagemapOps {
  readonly mirrors = new Set<Mirror>()

  /** dmirror_devmem_fault: dmirror_devmem_fault_alloc_and_copy erases the pages it copied back. */
  migrate_to_ram(mm: MmStruct, page: number, n: number): void {
    this.forget(mm, page, n)
  }

  /** dmirror_devmem_free: the device page is gone; no mirror of the device may map it. */
  page_free(mm: MmStruct, page: number, n: number): void {
    this.forget(mm, page, n)
  }

  private forget(mm: MmStruct, page: number, n: number): void {
    for (const m of this.mirrors) if (m.mm === mm) m.dropDevicePage(page, n)
  }
}

/**
 * memremap_pages for device `dev` with the driver's ops (dmirror_allocate_chunk): registers the
 * device memory as the core mm's `k.pgmaps[dev.idx]`.
 */
export function memremapPages(k: Kernel, dev: Device): DevPagemap {
  const pgmap: DevPagemap = { type: dev.spec.coherent ? 'coherent' : 'private', owner: dev.idx, ops: new DevmemOps() }
  k.pgmaps[dev.idx] = pgmap
  return pgmap
}

/** The driver's ops of device `devIdx`'s memory, or null when none is registered. */
export function devmemOps(k: Kernel, devIdx: number): DevmemOps | null {
  const ops = k.pgmaps[devIdx]?.ops
  return ops instanceof DevmemOps ? ops : null
}

export class Mirror {
  readonly pt: RadixPt
  /** Own sequence for classic-notifier mirrors (interval mirrors use their subscription). */
  seq = 0
  active = 0
  readonly wq: WaitQueue
  interval: IntervalSub | null = null
  alive = true
  readonly label: string
  /** Ledger owner charged for the device page tables. */
  readonly owner: number

  constructor(
    private readonly w: Kernel,
    readonly id: number,
    readonly dev: Device,
    readonly mm: MmStruct,
  ) {
    this.owner = mm.owner
    this.label = `${dev.name} mirror of ${mm.label}`
    const behindIommu = dev.iommu !== null
    this.pt = new RadixPt((d) => {
      w.ledger.charge('gpu_pagetable', this.owner, d * SIZEOF.pt_page)
      if (behindIommu) w.ledger.charge('iommu_pagetable', this.owner, d * SIZEOF.pt_page)
    })
    this.pt.keepEmptyTables = dev.spec.kind === 'gpu'
    this.wq = new WaitQueue(this.label)
    devmemOps(w, dev.idx)?.mirrors.add(this)
    this.onRangeEnd = (e) => {
      if (e.range.mm === this.mm) this.checkInvalidated(w, e.range, e.path)
    }
    w.hooks.on('range_end', this.onRangeEnd)
  }

  /** Invariant 4 as an observer: checks every finished address-space change of this mirror's mm. */
  private readonly onRangeEnd: (e: RangeEndCall) => void

  /**
   * Whether the device can still run work that walks this page table (KFD: user queues that are
   * neither dequeued nor left evicted). Entries that survive an invalidation break invariant 4 only
   * while it can: a GPU VM no queue can use is stale but unreachable until the driver frees it.
   */
  deviceCanAccess: () => boolean = () => true

  /**
   * The driver's handler of a device fault at page `addr` (KFD's svm_range_restore_pages for a GPU
   * of design D4); null: test_hmm's dmirror_fault over the rest of the access. Returns 0 (handled:
   * the access is tried again), 1 (dropped after a racing invalidation: the device replays it) or
   * a negative errno.
   */
  deviceFault: ((addr: number, write: boolean, path: CallPath) => Proc<number>) | null = null

  /** HMM_DMIRROR_FLAG_FAIL_ALLOC: THP allocations for migration fail. */
  failAlloc = false
  /** The last migration back to RAM failed an order-0 allocation (VM_FAULT_OOM): -ENOMEM. */
  allocOom = false
  /** Set while a fault uses the scratch arrays. */
  busy = false
  private scratchOut: Uint8Array | null = null
  private scratchPfns: Int32Array | null = null

  /** Reusable hmm_range_fault output arrays (one fault in flight per mirror at a time is typical). */
  scratch(n: number): { out: Uint8Array; pfns: Int32Array } {
    if (!this.scratchOut || this.scratchOut.length < n || this.busy) {
      if (this.busy) return { out: new Uint8Array(n), pfns: new Int32Array(n) }
      this.scratchOut = new Uint8Array(n)
      this.scratchPfns = new Int32Array(n)
    }
    return { out: this.scratchOut, pfns: this.scratchPfns as Int32Array }
  }
  /** read_begin: interval seq protocol, or the mirror's own seq (waits while invalidating). */
  *readBegin(): Proc<number> {
    if (this.interval) return yield* mmuIntervalReadBegin(this.w, this.interval)
    while (this.active > 0) {
      this.w.count('mirror_read_begin_wait')
      yield waitOn(this.wq)
    }
    return this.seq
  }

  /** read_retry. */
  readRetry(seq: number): boolean {
    if (this.interval) return mmuIntervalReadRetry(this.interval, seq)
    return this.seq !== seq
  }

  /** Classic invalidate_range_start side of the own-seq protocol. */
  beginInvalidate(): void {
    this.active++
    this.seq++
  }

  /** Classic invalidate_range_end side. */
  endInvalidate(): void {
    this.active--
    if (this.active <= 0) {
      this.active = 0
      this.w.engine.wakeUpAll(this.wq)
    }
  }

  /**
   * Zaps the device page table for the range and flushes translation caches; records the
   * invalidation by mechanism. Returns the device-side cost in ns.
   */
  invalidate(r: NotifierRange): number {
    const w = this.w
    const c = w.costs
    if (!this.alive) return 0
    const zapped = this.pt.clear(r.start, Math.min(r.end, 0x100000000))
    const lo = this.pt.clearedLo
    const hi = this.pt.clearedHi
    const ev = r.event
    const span = hi - lo
    const ptCost = zapped * c.dev_pte_write
    w.invalidation({
      event: ev,
      mm: this.mm.label,
      start: r.start * PAGE_SIZE,
      end: Math.min(r.end, 0x100000000) * PAGE_SIZE,
      device: this.dev.name,
      mechanism: 'device_pt_zap',
      pages: zapped,
      cost: ptCost,
    })
    let cost = ptCost
    if (zapped > 0) {
      if (span <= c.gpu_tlb_flush_ceiling) {
        this.dev.tlb.flushRange(this.id, lo, hi)
        const tc = span * c.gpu_tlb_flush_page
        w.invalidation({
          event: ev,
          mm: this.mm.label,
          start: lo * PAGE_SIZE,
          end: hi * PAGE_SIZE,
          device: this.dev.name,
          mechanism: 'gpu_tlb_page',
          pages: span,
          cost: tc,
        })
        cost += tc
      } else {
        this.dev.tlb.flushAsid(this.id)
        w.invalidation({
          event: ev,
          mm: this.mm.label,
          start: lo * PAGE_SIZE,
          end: hi * PAGE_SIZE,
          device: this.dev.name,
          mechanism: 'gpu_tlb_full',
          pages: span,
          cost: c.gpu_tlb_flush_all,
        })
        cost += c.gpu_tlb_flush_all
      }
      const io = this.dev.iommu
      if (io) cost += io.invalidate(w, this.dev, this.id, lo, hi, ev, this.mm.label)
    }
    w.count('device_invalidations')
    return cost
  }

  /** Invariant 4: after an invalidation, no device entry may survive in its range. */
  checkInvalidated(w: Kernel, r: NotifierRange, path: CallPath): void {
    if (!this.alive) return
    if (r.event === 'MIGRATE' && r.owner === this.dev.idx) return
    const left = this.pt.countPresent(r.start, Math.min(r.end, 0x100000000))
    if (left > 0 && this.deviceCanAccess())
      w.violation('NO_STALE_DEVICE_PTE', `${left} device PTE(s) of ${this.label} survived a ${r.event} invalidation`, path)
  }

  /** Drops device entries for pages that left the device (through the device memory's ops). */
  dropDevicePage(page: number, n: number): void {
    if (this.pt.countPresent(page, page + n) > 0) this.pt.clear(page, page + n)
  }

  /** True if any entry in the range still carries the ATOMIC tag. */
  hasAtomic(start: number, end: number): boolean {
    let found = false
    this.pt.forEach(start, end, (_pg, f) => {
      if (f & DPTE_ATOMIC) found = true
    })
    return found
  }

  /** Tears the mirror down: clears the device page table and flushes the TLB. */
  destroy(): void {
    if (!this.alive) return
    if (this.pt.present > 0) {
      this.dev.tlb.flushAsid(this.id)
      this.dev.iommu?.iotlb.flushAsid(this.id)
    }
    this.pt.clearAll()
    this.alive = false
    devmemOps(this.w, this.dev.idx)?.mirrors.delete(this)
    this.w.hooks.off('range_end', this.onRangeEnd)
  }
}
