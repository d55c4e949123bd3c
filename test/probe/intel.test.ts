/**
 * VT-d decoding checked field by field against independent sources:
 *  - worked decodes of real CAP/ECAP values from Intel datasheet register tables (shared/probe.md §1.1),
 *  - QEMU's vIOMMU, which composes its CAP/ECAP from named field macros (hw/i386/intel_iommu_internal.h),
 *  - the kernel's own boot log ("IOMMU feature fl1gp_support inconsistent" on the Alder Lake pair).
 */
import { describe, expect, it } from 'vitest'
import { decodeIntelCap, decodeIntelEcap, deriveIntel, intelSvaVerdict, parseDmarBootLine } from '../../src/main/services/probe/intel'
import type { KernelFacts } from '../../src/main/services/probe/kernel'
import { parseCmdlineIommu } from '../../src/main/services/probe/kernel'

const f = (reg: ReturnType<typeof decodeIntelCap>, name: string) => {
  const x = reg.fields.find((y) => y.name === name)
  if (!x) throw new Error(`no field ${name}`)
  return x.value
}
const d = (cap: string, ecap: string) => deriveIntel(BigInt('0x' + cap), BigInt('0x' + ecap))

describe('CAP_REG / ECAP_REG decode (datasheet worked decodes)', () => {
  it('d2008c40660462 / f050da: Skylake…Raptor Lake non-graphics unit', () => {
    const cap = decodeIntelCap(0xd2008c40660462n)
    expect(f(cap, 'ND')).toBe(2)
    expect(f(cap, 'SAGAW')).toBe(0b00100)
    expect(f(cap, 'MGAW')).toBe(38)
    expect(f(cap, 'ZLR')).toBe(1)
    expect(f(cap, 'SLLPS')).toBe(0b0011)
    expect(f(cap, 'PSI')).toBe(1)
    expect(f(cap, 'NFR')).toBe(0)
    expect(f(cap, 'MAMV')).toBe(18)
    expect(f(cap, 'FL1GP')).toBe(0)
    const v = d('d2008c40660462', 'f050da')
    expect(v).toMatchObject({
      domains: 256,
      domainIdBits: 8,
      pageWalkLevels: [4],
      addressWidths: [48],
      mgaw: 39,
      superpageSizes: [2 ** 21, 2 ** 30],
      psi: true,
      mamv: 18,
      largestPsiBytes: 2 ** 30,
      faultRecordingRegisters: 1,
      coherent: false,
      queuedInvalidation: true,
      deviceTlb: false,
      interruptRemapping: true,
      extendedInterruptMode: true,
      passThrough: true,
      snoopControl: true,
      pasid: false,
      scalableMode: false,
    })
  })

  it('1c0000c40660462 / 19e2ff0505e: Kaby Lake-R graphics unit (legacy 2.x bits labelled, not trusted)', () => {
    const v = d('1c0000c40660462', '19e2ff0505e')
    expect(v.psi).toBe(false)
    expect(v.largestPsiBytes).toBeNull()
    expect(v.firstStage1GiB).toBe(true)
    expect(v.deviceTlb).toBe(true)
    expect(v.pageRequests).toBe(true)
    expect(v.scalableMode).toBe(false)
    const ecap = decodeIntelEcap(0x19e2ff0505en)
    expect(f(ecap, 'ECS')).toBe(1)
    expect(f(ecap, 'NEST')).toBe(1)
    expect(f(ecap, 'DIS')).toBe(1)
    expect(f(ecap, 'PASID')).toBe(1)
    expect(f(ecap, 'PASID(2.x)')).toBe(0)
    expect(ecap.fields.find((x) => x.name === 'ECS')?.legacy).toBe(true)
    // PASID bit set but no scalable mode: Linux cannot use it
    expect(v.pasid).toBe(true)
    expect(v.nested).toBe(false)
    expect(intelSvaVerdict(v, null).verdict).toBe('not-capable')
  })

  it('1c0000c40660462 / 29a00f0505e: Tiger/Alder/Raptor Lake graphics unit', () => {
    const ecap = decodeIntelEcap(0x29a00f0505en)
    expect(f(ecap, 'PSS')).toBe(19)
    expect(f(ecap, 'PASID')).toBe(0)
    expect(f(ecap, 'SMTS')).toBe(0)
    expect(f(ecap, 'DIT')).toBe(1)
    expect(f(ecap, 'NWFS')).toBe(1)
    expect(d('1c0000c40660462', '29a00f0505e').pasidBits).toBeNull()
  })

  it('d2078c106f0466 / f020df: Haswell-EP', () => {
    const cap = decodeIntelCap(0xd2078c106f0466n)
    expect(f(cap, 'ND')).toBe(6)
    expect(f(cap, 'NFR')).toBe(7)
    expect(f(cap, 'FRO')).toBe(0x10)
    expect(cap.fields.find((x) => x.name === 'FRO')?.meaning).toContain('0x100')
    const v = d('d2078c106f0466', 'f020df')
    expect(v).toMatchObject({ domains: 65536, faultRecordingRegisters: 8, faultRecordingOffset: 0x100, coherent: true, deviceTlb: true, postedInterrupts: false })
  })

  it('8d2078c106f0466 / f020df: later Xeon adds PI (bit 59)', () => {
    expect(d('8d2078c106f0466', 'f020df').postedInterrupts).toBe(true)
  })

  it('19ed008c40780c66 / 3ee9e86f050df: Sapphire Rapids', () => {
    const v = d('19ed008c40780c66', '3ee9e86f050df')
    expect(v).toMatchObject({
      pageWalkLevels: [4, 5],
      addressWidths: [48, 57],
      mgaw: 57,
      mamv: 45,
      postedInterrupts: true,
      firstStage5Level: true,
      firstStage1GiB: true,
      scalableMode: true,
      firstStage: true,
      secondStage: true,
      secondStageDirty: true,
      pasid: false,
      pageRequests: false,
    })
    expect(f(decodeIntelEcap(0x3ee9e86f050dfn), 'NEST')).toBe(1)
    expect(f(decodeIntelEcap(0x3ee9e86f050dfn), 'RPS')).toBe(1)
  })

  it('c9008020660262 / f010da: Ivy Bridge Xeon E3 (3rd-gen datasheet decode)', () => {
    const v = d('c9008020660262', 'f010da')
    expect(v.pageWalkLevels).toEqual([3])
    expect(v.addressWidths).toEqual([39])
    expect(v.mamv).toBe(9)
  })
})

describe("QEMU's vIOMMU composition (hw/i386/intel_iommu_internal.h)", () => {
  // cap = VTD_CAP_FRO | VTD_CAP_NFR | VTD_CAP_ND | VTD_CAP_MAMV | VTD_CAP_PSI | VTD_CAP_SLLPS
  //       | VTD_CAP_SAGAW_39bit | VTD_CAP_SAGAW_48bit | VTD_CAP_MGAW(48) | VTD_CAP_CM | VTD_CAP_FS1GP
  const DMAR_FRCD_REG_OFFSET = 0x220n
  const cap =
    (DMAR_FRCD_REG_OFFSET << 20n) | // FRO: (offset >> 4) << 24
    ((1n - 1n) << 40n) | // NFR: DMAR_FRCD_REG_NR - 1
    BigInt((16 - 4) / 2) | // ND for a 16-bit domain id
    (18n << 48n) | // MAMV
    (1n << 39n) | // PSI
    ((1n << 34n) | (1n << 35n)) | // SLLPS: 2M, 1G
    (0x2n << 8n) | (0x4n << 8n) | // SAGAW 39 and 48 bit
    (((48n - 1n) & 0x3fn) << 16n) | // MGAW(48)
    (1n << 7n) | // CM
    (1n << 56n) // FS1GP
  // ecap = QI | DT | IR | EIM | PT | SC | MHMV | SRS | PSS(7) | PASID | SMTS | SSTS | FSTS
  const ecap = (1n << 1n) | (1n << 2n) | (1n << 3n) | (1n << 4n) | (1n << 6n) | (1n << 7n) | (15n << 20n) | (1n << 31n) | (7n << 35n) | (1n << 40n) | (1n << 43n) | (1n << 46n) | (1n << 47n)

  it('every field comes back as QEMU put it in', () => {
    const c = decodeIntelCap(cap)
    expect(f(c, 'FRO') * 16).toBe(0x220)
    expect(f(c, 'NFR')).toBe(0)
    expect(f(c, 'ND')).toBe(6)
    expect(f(c, 'MAMV')).toBe(18)
    expect(f(c, 'PSI')).toBe(1)
    expect(f(c, 'SLLPS')).toBe(3)
    expect(f(c, 'SAGAW')).toBe(6)
    expect(f(c, 'MGAW') + 1).toBe(48)
    expect(f(c, 'CM')).toBe(1)
    expect(f(c, 'FL1GP')).toBe(1)
    const e = decodeIntelEcap(ecap)
    for (const name of ['QI', 'DT', 'IR', 'EIM', 'PT', 'SC', 'SRS', 'PASID', 'SMTS', 'SLTS', 'FLTS']) expect(f(e, name), name).toBe(1)
    expect(f(e, 'MHMV')).toBe(15)
    expect(f(e, 'PSS')).toBe(7)
    expect(f(e, 'C')).toBe(0)
    const v = deriveIntel(cap, ecap)
    expect(v.cachingMode).toBe(true)
    expect(v.pasidBits).toBe(8)
    expect(v.maxPasids).toBe(256) // Linux: max_pasids = 2 << PSS
    expect(v.pageWalkLevels).toEqual([3, 4])
  })
})

describe('SVA verdict', () => {
  const facts = (over: Partial<KernelFacts> = {}): KernelFacts => ({
    release: '6.8.0',
    configSource: '/boot/config-6.8.0',
    config: new Map([
      ['CONFIG_INTEL_IOMMU_SVM', 'y'],
      ['CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON', 'y'],
    ]),
    cmdlineRaw: '',
    cmdline: parseCmdlineIommu(''),
    cpu: { vendor: 'GenuineIntel', modelName: 'x', gbPages: true, la57: false },
    ...over,
  })
  const qemuLike = deriveIntel(0x1d2008c40660462n | (1n << 56n), (1n << 40n) | (1n << 43n) | (1n << 47n) | (1n << 29n) | (19n << 35n) | 0x2n)

  it('capable when scalable mode, PASID, first stage, FL1GP and the kernel agree', () => {
    expect(intelSvaVerdict(qemuLike, facts()).verdict).toBe('capable')
  })
  it('refused without FL1GP on a CPU with 1 GiB pages, as intel_svm_check() does', () => {
    const v = { ...qemuLike, firstStage1GiB: false }
    const r = intelSvaVerdict(v, facts())
    expect(r.verdict).toBe('not-capable')
    expect(r.reasons.join(' ')).toContain('incompatible 1GB page capability')
    expect(intelSvaVerdict(v, facts({ cpu: { vendor: null, modelName: null, gbPages: false, la57: false } })).verdict).toBe('capable')
  })
  it('refused with intel_iommu=sm_off or without CONFIG_INTEL_IOMMU_SVM', () => {
    expect(intelSvaVerdict(qemuLike, facts({ cmdline: parseCmdlineIommu('intel_iommu=sm_off') })).verdict).toBe('not-capable')
    expect(intelSvaVerdict(qemuLike, facts({ config: new Map([['CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON', 'y']]) })).verdict).toBe('not-capable')
  })
  it('unknown when the kernel config cannot be read', () => {
    expect(intelSvaVerdict(qemuLike, facts({ configSource: null, config: new Map() })).verdict).toBe('unknown')
  })
})

describe('boot log lines', () => {
  it('parses the DMAR line, also after mail soft line breaks are joined', () => {
    const wrapped = 'DMAR: dmar0: reg_base_addr fed90000 ver 4:0 cap 1c0000c40660=\n462 ecap 29a00f0505e'
    const p = parseDmarBootLine(wrapped.replace(/=\n/g, ''))
    expect(p).toMatchObject({ unit: 'dmar0', address: '0xfed90000', major: 4, minor: 0, cap: 0x1c0000c40660462n, ecap: 0x29a00f0505en })
    expect(parseDmarBootLine('DMAR: Host address width 39')).toBeNull()
  })
})
