/**
 * VT-d decoding checked field by field against independent sources:
 *  - worked decodes of real CAP/ECAP values from Intel datasheet register tables (shared/probe.md §1.1),
 *  - QEMU's vIOMMU, which composes its CAP/ECAP from named field macros (hw/i386/intel_iommu_internal.h),
 *  - the kernel's own boot log ("IOMMU feature fl1gp_support inconsistent" on the Alder Lake pair).
 */
import fc from 'fast-check'
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
    expect(v).toMatchObject({
      domains: 65536,
      faultRecordingRegisters: 8,
      faultRecordingOffset: 0x100,
      coherent: true,
      deviceTlb: true,
      postedInterrupts: false,
    })
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
    (0x2n << 8n) |
    (0x4n << 8n) | // SAGAW 39 and 48 bit
    (((48n - 1n) & 0x3fn) << 16n) | // MGAW(48)
    (1n << 7n) | // CM
    (1n << 56n) // FS1GP
  // ecap = QI | DT | IR | EIM | PT | SC | MHMV | SRS | PSS(7) | PASID | SMTS | SSTS | FSTS
  const ecap =
    (1n << 1n) |
    (1n << 2n) |
    (1n << 3n) |
    (1n << 4n) |
    (1n << 6n) |
    (1n << 7n) |
    (15n << 20n) |
    (1n << 31n) |
    (7n << 35n) |
    (1n << 40n) |
    (1n << 43n) |
    (1n << 46n) |
    (1n << 47n)

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

describe("against the kernel's accessors (drivers/iommu/intel/iommu.h), for any register value", () => {
  // The kernel's macros, transcribed: field name in our decode → kernel expression.
  const CAP: [string, (c: bigint) => bigint][] = [
    ['ND', (c) => c & 7n], // cap_ndoms(c) = 1 << (4 + 2 * (c & 7))
    ['AFL', (c) => (c >> 3n) & 1n],
    ['RWBF', (c) => (c >> 4n) & 1n],
    ['PLMR', (c) => (c >> 5n) & 1n],
    ['PHMR', (c) => (c >> 6n) & 1n],
    ['CM', (c) => (c >> 7n) & 1n],
    ['SAGAW', (c) => (c >> 8n) & 0x1fn],
    ['MGAW', (c) => (c >> 16n) & 0x3fn], // cap_mgaw adds 1
    ['ZLR', (c) => (c >> 22n) & 1n],
    ['ISOCH', (c) => (c >> 23n) & 1n],
    ['FRO', (c) => (c >> 24n) & 0x3ffn], // cap_fault_reg_offset multiplies by 16
    ['SLLPS', (c) => (c >> 34n) & 0xfn],
    ['PSI', (c) => (c >> 39n) & 1n],
    ['NFR', (c) => (c >> 40n) & 0xffn], // cap_num_fault_regs adds 1
    ['MAMV', (c) => (c >> 48n) & 0x3fn],
    ['DWD', (c) => (c >> 54n) & 1n],
    ['DRD', (c) => (c >> 55n) & 1n],
    ['FL1GP', (c) => (c >> 56n) & 1n],
    ['PI', (c) => (c >> 59n) & 1n],
    ['FL5LP', (c) => (c >> 60n) & 1n],
    ['ECMDS', (c) => (c >> 61n) & 1n],
    ['ESIRTPS', (c) => (c >> 62n) & 1n],
    ['ESRTPS', (c) => (c >> 63n) & 1n],
  ]
  const ECAP: [string, (e: bigint) => bigint][] = [
    ['C', (e) => e & 1n],
    ['QI', (e) => (e >> 1n) & 1n],
    ['DT', (e) => (e >> 2n) & 1n],
    ['IR', (e) => (e >> 3n) & 1n],
    ['EIM', (e) => (e >> 4n) & 1n],
    ['PT', (e) => (e >> 6n) & 1n],
    ['SC', (e) => (e >> 7n) & 1n],
    ['IRO', (e) => (e >> 8n) & 0x3ffn],
    ['MHMV', (e) => (e >> 20n) & 0xfn],
    ['ECS', (e) => (e >> 24n) & 1n],
    ['MTS', (e) => (e >> 25n) & 1n],
    ['NEST', (e) => (e >> 26n) & 1n],
    ['DIS', (e) => (e >> 27n) & 1n],
    ['PASID(2.x)', (e) => (e >> 28n) & 1n],
    ['PRS', (e) => (e >> 29n) & 1n],
    ['ERS', (e) => (e >> 30n) & 1n],
    ['SRS', (e) => (e >> 31n) & 1n],
    ['NWFS', (e) => (e >> 33n) & 1n],
    ['EAFS', (e) => (e >> 34n) & 1n],
    ['PSS', (e) => (e >> 35n) & 0x1fn],
    ['PASID', (e) => (e >> 40n) & 1n],
    ['DIT', (e) => (e >> 41n) & 1n],
    ['PDS', (e) => (e >> 42n) & 1n],
    ['SMTS', (e) => (e >> 43n) & 1n],
    ['VCS', (e) => (e >> 44n) & 1n],
    ['SLADS', (e) => (e >> 45n) & 1n],
    ['SLTS', (e) => (e >> 46n) & 1n],
    ['FLTS', (e) => (e >> 47n) & 1n],
    ['SMPWCS', (e) => (e >> 48n) & 1n],
    ['RPS', (e) => (e >> 49n) & 1n],
    ['PMS', (e) => (e >> 51n) & 1n],
  ]
  it('every field equals the kernel macro', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (cap, ecap) => {
        const c = decodeIntelCap(cap)
        const e = decodeIntelEcap(ecap)
        for (const [n, k] of CAP) expect(BigInt(f(c, n)), n).toBe(k(cap))
        for (const [n, k] of ECAP) expect(BigInt(f(e, n)), n).toBe(k(ecap))
        const d = deriveIntel(cap, ecap)
        expect(d.domains).toBe(2 ** (4 + 2 * Number(cap & 7n)))
        expect(d.mgaw).toBe(Number((cap >> 16n) & 0x3fn) + 1)
        expect(d.faultRecordingOffset).toBe(Number((cap >> 24n) & 0x3ffn) * 16)
        expect(d.faultRecordingRegisters).toBe(Number((cap >> 40n) & 0xffn) + 1)
        expect(d.iotlbRegisterOffset).toBe(Number((ecap >> 8n) & 0x3ffn) * 16)
      }),
      { numRuns: 300 },
    )
  })
})
