/**
 * A device that mirrors process address spaces: its own MMU with a TLB (for mirrored page tables),
 * VRAM for device-private pages (migration), optionally behind an IOMMU (DMA mappings, or SVA with
 * PASID where the IOMMU walks the CPU page table) with an ATS device TLB.
 */
import { Tlb } from './tlb'
import type { Iommu } from './iommu'

export type DeviceKind = 'gpu' | 'dmirror'

export interface DeviceSpec {
  name: string
  kind: DeviceKind
  iommu: Iommu | null
  ats: boolean
  tlbEntries: number
  vramBytes: number
  /** Pages per hmm_range_fault call (64 for dmirror as in lib/test_hmm.c). */
  faultChunkPages: number
  /**
   * MEMORY_DEVICE_COHERENT instead of MEMORY_DEVICE_PRIVATE: migrated pages stay mapped by present
   * CPU PTEs (the CPU reads and writes them without a fault); they come back with MIGRATE_TO_SYS.
   */
  coherent?: boolean
}

export class Device {
  readonly tlb: Tlb
  readonly devtlb: Tlb | null
  vramUsed = 0
  constructor(
    readonly idx: number,
    readonly spec: DeviceSpec,
  ) {
    this.tlb = new Tlb(spec.tlbEntries)
    this.devtlb = spec.ats && spec.iommu ? new Tlb(Math.max(64, spec.tlbEntries >> 2)) : null
  }
  get name(): string {
    return this.spec.name
  }
  get iommu(): Iommu | null {
    return this.spec.iommu
  }
}
