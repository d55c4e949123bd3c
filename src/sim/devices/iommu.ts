/**
 * IOMMU model: PASID table, IOTLB, and the invalidation policies of the three vendors
 * (docs/domain.md §5.2): Intel VT-d page-selective (PSI, address mask on an aligned base, limited by
 * MAMV) vs domain-selective (DSI) with queued-invalidation batching; AMD power-of-two ranges
 * (flush-all past size exponent 51); ARM SMMUv3 TLBI-by-VA up to CMDQ_MAX_TLBI_OPS then ASID-wide.
 * ATS device-TLB invalidations are issued alongside when the device has ATS.
 */
import type { Costs } from '../cost/model'
import { Tlb } from './tlb'
import type { Device } from './device'

export type Mechanism = 'device_pt_zap' | 'gpu_tlb_page' | 'gpu_tlb_full' | 'iotlb_psi' | 'iotlb_dsi' | 'iotlb_asid' | 'smmu_tlbi_va' | 'ats_inv' | 'cpu_tlb'

/**
 * What the IOMMU model reports to (the kernel context): the cost table, the invalidation record
 * sink and the counters. Devices sit below the kernel and know it only by this shape.
 */
export interface IommuHost<E extends string> {
  readonly costs: Costs
  invalidation(r: { event: E; mm: string; start: number; end: number; device: string; mechanism: Mechanism; pages: number; cost: number }): void
  count(name: string, by?: number): void
}

export type IommuVendor = 'intel' | 'amd' | 'arm'

export interface IommuSpec {
  name: string
  vendor: IommuVendor
  /** Page-selective invalidation supported (Intel cap PSI). */
  psi: boolean
  /** Maximum address-mask value (Intel MAMV). */
  mamv: number
  /** Descriptors per queued-invalidation batch (one wait each). */
  qiBatch: number
  /** Ranges above this many pages are flushed domain-wide (driver policy). */
  fullFlushThreshold: number
  iotlbEntries: number
}

export class Iommu {
  readonly iotlb: Tlb
  readonly pasidTable = new Map<number, string>()
  private nextPasid = 1
  psiCount = 0
  dsiCount = 0
  atsCount = 0
  qiWaits = 0

  constructor(readonly spec: IommuSpec) {
    this.iotlb = new Tlb(spec.iotlbEntries)
  }

  get name(): string {
    return this.spec.name
  }

  /** iommu_alloc_global_pasid. */
  allocPasid(): number {
    return this.nextPasid++
  }

  /**
   * Invalidates [start, end) (4 KiB pages) for address space `asid` on behalf of `dev`; records
   * each mechanism used and returns the total cost in ns.
   */
  invalidate<E extends string>(w: IommuHost<E>, dev: Device, asid: number, start: number, end: number, event: E, mm: string): number {
    const c = w.costs
    const s = this.spec
    const pages = Math.max(1, end - start)
    let cost = 0
    const rec = (mechanism: Mechanism, cst: number, n: number): void => {
      w.invalidation({ event, mm, start: start * 4096, end: end * 4096, device: dev.name, mechanism, pages: n, cost: cst })
      cost += cst
    }
    // smallest aligned power-of-two block covering the range
    let m = 0
    while (m < 52 && Math.floor(start / 2 ** m) !== Math.floor((end - 1) / 2 ** m)) m++
    let descs = 0
    if (s.vendor === 'intel' || s.vendor === 'amd') {
      // one descriptor: page-selective for the aligned block, else the whole domain (Intel,
      // cache_tag_flush_iotlb: no PSI capability or a mask above MAMV; AMD, build_inv_address:
      // the block reaches past bit 51)
      const domain = s.vendor === 'intel' ? !s.psi || m > s.mamv : m > 51
      if (domain || pages > s.fullFlushThreshold) {
        this.dsiCount++
        this.iotlb.flushAsid(asid)
        rec('iotlb_dsi', c.iotlb_dsi, pages)
      } else {
        this.psiCount++
        this.iotlb.flushRange(asid, start, end)
        rec('iotlb_psi', c.iotlb_psi, pages)
      }
      descs++
    } else {
      if (pages > Math.min(c.smmu_max_tlbi_ops, s.fullFlushThreshold)) {
        this.dsiCount++
        this.iotlb.flushAsid(asid)
        rec('iotlb_asid', c.iotlb_dsi, pages)
        descs++
      } else {
        this.psiCount += pages
        this.iotlb.flushRange(asid, start, end)
        rec('smmu_tlbi_va', pages * c.smmu_tlbi_va, pages)
        descs += pages
      }
    }
    if (dev.devtlb) {
      this.atsCount++
      if (pages > s.fullFlushThreshold) dev.devtlb.flushAsid(asid)
      else dev.devtlb.flushRange(asid, start, end)
      rec('ats_inv', c.ats_inv, pages)
      descs++
    }
    const batch = Math.max(1, s.qiBatch)
    const waits = Math.ceil(descs / batch)
    this.qiWaits += waits
    cost += waits * c.iotlb_qi_wait
    w.count('iommu.invalidations')
    return cost
  }
}
