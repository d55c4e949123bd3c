import { describe, expect, it } from 'vitest'
import { Kernel } from '../../src/sim/kernel/context'
import { Iommu, type IommuSpec } from '../../src/sim/devices/iommu'
import { Device } from '../../src/sim/devices/device'
import { Tlb } from '../../src/sim/devices/tlb'

function setup(spec: Partial<IommuSpec>, ats = false): { w: Kernel; io: Iommu; dev: Device } {
  const w = new Kernel(1, undefined, 10)
  const io = new Iommu({ name: 'io', vendor: 'intel', psi: true, mamv: 9, qiBatch: 16, fullFlushThreshold: 512, iotlbEntries: 256, ...spec })
  const dev = new Device(0, { name: 'gpu0', kind: 'gpu', iommu: io, ats, tlbEntries: 64, vramBytes: 1 << 30, faultChunkPages: 512 })
  return { w, io, dev }
}

const mechanisms = (w: Kernel): string[] => w.invalidations.map((r) => r.mechanism)

describe('IOMMU invalidation policies (domain.md §5.2)', () => {
  it('Intel: PSI for an aligned range within MAMV, DSI beyond it or without PSI', () => {
    const a = setup({})
    a.io.invalidate(a.w, a.dev, 1, 0, 512, 'CLEAR', 'mm')
    expect(mechanisms(a.w)).toEqual(['iotlb_psi'])
    // 2 pages straddling a 512-page boundary need mask 10 > MAMV 9 → DSI
    a.io.invalidate(a.w, a.dev, 1, 511, 513, 'CLEAR', 'mm')
    expect(mechanisms(a.w)).toEqual(['iotlb_psi', 'iotlb_dsi'])
    const b = setup({ psi: false })
    b.io.invalidate(b.w, b.dev, 1, 0, 1, 'CLEAR', 'mm')
    expect(mechanisms(b.w)).toEqual(['iotlb_dsi'])
  })

  it('ATS adds a device-TLB invalidation; one QI wait per batch of descriptors', () => {
    const { w, io, dev } = setup({ qiBatch: 1 }, true)
    const cost = io.invalidate(w, dev, 1, 0, 8, 'UNMAP', 'mm')
    expect(mechanisms(w)).toEqual(['iotlb_psi', 'ats_inv'])
    expect(io.qiWaits).toBe(2)
    expect(cost).toBe(w.costs.iotlb_psi + w.costs.ats_inv + 2 * w.costs.iotlb_qi_wait)
  })

  it('ARM SMMUv3: TLBI per page up to CMDQ_MAX_TLBI_OPS, then ASID-wide', () => {
    const { w, io, dev } = setup({ vendor: 'arm', fullFlushThreshold: 1 << 20 })
    io.invalidate(w, dev, 1, 0, 512, 'CLEAR', 'mm')
    io.invalidate(w, dev, 1, 0, 513, 'CLEAR', 'mm')
    expect(mechanisms(w)).toEqual(['smmu_tlbi_va', 'iotlb_asid'])
    expect(w.invalidations[0]?.cost).toBe(512 * w.costs.smmu_tlbi_va)
  })

  it('AMD: one power-of-two range command, whole-domain only past the full-flush threshold', () => {
    const { w, io, dev } = setup({ vendor: 'amd', fullFlushThreshold: 1024 })
    io.invalidate(w, dev, 1, 3, 700, 'CLEAR', 'mm')
    io.invalidate(w, dev, 1, 0, 4096, 'CLEAR', 'mm')
    expect(mechanisms(w)).toEqual(['iotlb_psi', 'iotlb_dsi'])
  })

  it('a range flush removes only that address space’s entries from the IOTLB', () => {
    const t = new Tlb(64)
    expect(t.lookup(1, 10)).toBe(false)
    expect(t.lookup(1, 10)).toBe(true)
    expect(t.lookup(2, 11)).toBe(false)
    t.flushRange(1, 0, 16)
    expect(t.lookup(1, 10)).toBe(false)
    expect(t.lookup(2, 11)).toBe(true)
  })
})
