/**
 * ATS / PRI / PASID from config space, laid out per the PCIe spec offsets that
 * include/uapi/linux/pci_regs.h names (PCI_STATUS_CAP_LIST, PCI_CAPABILITY_LIST, PCI_EXT_CAP_ID_ATS
 * 0x0f, PCI_EXT_CAP_ID_PRI 0x13, PCI_EXT_CAP_ID_PASID 0x1b, PCI_ATS_CAP/CTRL, PCI_PRI_MAX_REQ,
 * PCI_PASID_CAP/CTRL).
 */
import { describe, expect, it } from 'vitest'
import { parseConfigSpace } from '../../src/main/services/probe/pci'
import { probeSysroot } from '../../src/main/services/probe'
import { MemoryFs } from './helpers'

function configSpace(): Buffer {
  const b = Buffer.alloc(4096)
  b.writeUInt16LE(0x1002, 0x00) // vendor
  b.writeUInt16LE(0x740f, 0x02) // device
  b.writeUInt16LE(0x0010, 0x06) // PCI_STATUS_CAP_LIST
  b[0x34] = 0x50 // PCI_CAPABILITY_LIST
  b[0x50] = 0x01 // PM
  b[0x51] = 0x64
  b[0x64] = 0x10 // PCI Express
  b[0x65] = 0x00
  // extended capabilities: AER at 0x100 → ATS 0x2b0 → PRI 0x2c0 → PASID 0x2d0
  const ext = (off: number, id: number, ver: number, next: number) => b.writeUInt32LE((id | (ver << 16) | (next << 20)) >>> 0, off)
  ext(0x100, 0x0001, 2, 0x2b0)
  ext(0x2b0, 0x000f, 1, 0x2c0)
  b.writeUInt16LE(0x0020, 0x2b4) // ATS cap: queue depth 0 (=32), page aligned request
  b.writeUInt16LE(0x8000, 0x2b6) // ATS ctrl: enable, STU 0
  ext(0x2c0, 0x0013, 1, 0x2d0)
  b.writeUInt16LE(0x0001, 0x2c4) // PRI ctrl: enable
  b.writeUInt32LE(0x20, 0x2c8) // outstanding page request capacity
  b.writeUInt32LE(0x20, 0x2cc) // allocation
  ext(0x2d0, 0x001b, 1, 0x000)
  b.writeUInt16LE((16 << 8) | 0x6, 0x2d4) // PASID cap: 16-bit, exec + priv
  b.writeUInt16LE(0x0001, 0x2d6) // PASID ctrl: enable
  return b
}

/**
 * The extended capabilities of a Radeon RX 550 as `lspci -vvv` decoded them
 * (https://github.com/geerlingguy/raspberry-pi-pcie-devices/issues/6):
 *   [2b0 v1] ATS  ATSCap: Invalidate Queue Depth: 00  ATSCtl: Enable-, Smallest Translation Unit: 00
 *   [2c0 v1] PRI  PRICtl: Enable- Reset-  Page Request Capacity: 00000020, Page Request Allocation: 00000000
 *   [2d0 v1] PASID  PASIDCap: Exec+ Priv+, Max PASID Width: 10  PASIDCtl: Enable- Exec- Priv-
 * re-encoded at those offsets (the report printed the decode, not the bytes).
 */
function rx550(): Buffer {
  const b = configSpace()
  b.writeUInt16LE(0x699f, 0x02)
  b.writeUInt16LE(0x0000, 0x2b4)
  b.writeUInt16LE(0x0000, 0x2b6)
  b.writeUInt16LE(0x0000, 0x2c4)
  b.writeUInt32LE(0x20, 0x2c8)
  b.writeUInt32LE(0x00, 0x2cc)
  b.writeUInt16LE((0x10 << 8) | 0x6, 0x2d4)
  b.writeUInt16LE(0x0000, 0x2d6)
  return b
}

describe('config space', () => {
  it("gives back lspci's decode of the RX 550", () => {
    const r = parseConfigSpace(rx550())
    expect(r.ats).toMatchObject({
      state: 'present',
      detail: 'extended capability at 0x2b0',
      invalidateQueueDepth: 32,
      enabled: false,
      smallestTranslationUnit: 0,
    })
    expect(r.pri).toMatchObject({
      state: 'present',
      detail: 'extended capability at 0x2c0',
      enabled: false,
      outstandingPageRequestCapacity: 0x20,
      outstandingPageRequestAllocation: 0,
    })
    expect(r.pasid).toMatchObject({
      state: 'present',
      detail: 'extended capability at 0x2d0',
      maxPasidWidth: 0x10,
      executePermission: true,
      privilegedMode: true,
      enabled: false,
    })
  })
  it('finds ATS, PRI and PASID with their fields (root: 4 KiB readable)', () => {
    const r = parseConfigSpace(configSpace())
    expect(r.configBytesReadable).toBe(4096)
    expect(r.ats).toMatchObject({
      state: 'present',
      invalidateQueueDepth: 32,
      pageAlignedRequest: true,
      globalInvalidate: false,
      enabled: true,
      smallestTranslationUnit: 0,
    })
    expect(r.pri).toMatchObject({ state: 'present', enabled: true, outstandingPageRequestCapacity: 32, outstandingPageRequestAllocation: 32 })
    expect(r.pasid).toMatchObject({ state: 'present', maxPasidWidth: 16, executePermission: true, privilegedMode: true, enabled: true })
  })
  it('non-root (64 bytes): unknown (needs root), never absent', () => {
    const r = parseConfigSpace(configSpace().subarray(0, 64))
    for (const c of [r.ats, r.pri, r.pasid]) expect(c).toMatchObject({ state: 'unknown', detail: expect.stringContaining('needs root') })
  })
  it('256 bytes of a PCIe function: extended space unknown', () => {
    expect(parseConfigSpace(configSpace().subarray(0, 256)).ats.state).toBe('unknown')
  })
  it('conventional PCI: absent', () => {
    const b = configSpace()
    b[0x64] = 0x05 // MSI instead of PCI Express
    expect(parseConfigSpace(b).ats).toMatchObject({ state: 'absent', detail: expect.stringContaining('conventional') })
  })
  it('a looping extended list is reported and stops', () => {
    const b = configSpace()
    b.writeUInt32LE((0x000f | (1 << 16) | (0x2b0 << 20)) >>> 0, 0x2b0)
    const problems: string[] = []
    parseConfigSpace(b, problems)
    expect(problems.join(' ')).toMatch(/loops at 0x2b0/)
  })
})

describe('PCI reader', () => {
  it('reads ids, class, driver, group and caps through sysfs links', () => {
    const dev = '/sys/devices/pci0000:00/0000:00:01.1/0000:03:00.0'
    const { report } = probeSysroot(
      new MemoryFs({
        '/sys/bus/pci/devices/0000:03:00.0': { link: '../../../devices/pci0000:00/0000:00:01.1/0000:03:00.0' },
        [`${dev}/vendor`]: '0x1002\n',
        [`${dev}/device`]: '0x740f\n',
        [`${dev}/class`]: '0x038000\n',
        [`${dev}/revision`]: '0x02\n',
        [`${dev}/numa_node`]: '1\n',
        [`${dev}/driver`]: { link: '../../../../bus/pci/drivers/amdgpu' },
        [`${dev}/iommu_group`]: { link: '../../../../kernel/iommu_groups/42' },
        [`${dev}/iommu`]: { link: '../../0000:00:00.2/iommu/ivhd0' },
        [`${dev}/config`]: configSpace(),
      }),
    )
    expect(report.pci[0]).toMatchObject({
      address: '0000:03:00.0',
      vendorId: '0x1002',
      vendorName: 'AMD (ATI)',
      deviceId: '0x740f',
      className: 'display controller',
      driver: 'amdgpu',
      numaNode: 1,
      iommuGroup: 42,
      iommu: 'ivhd0',
      ats: { state: 'present' },
      pasid: { state: 'present', maxPasidWidth: 16 },
    })
  })
})
