/**
 * AMD-Vi decoding checked against the kernel's own decode: boot logs that print the EFR value
 * together with the feature names (`print_iommu_info()` in drivers/iommu/amd/init.c).
 */
import { describe, expect, it } from 'vitest'
import { amdFeatureNames, decodeAmdCap, decodeAmdEfr2, deriveAmd, parseAmdBootLine, parseAmdFeatures } from '../../src/main/services/probe/amd'

/** Boot-log lines as published (sources in test/fixtures/sysroots/README.md, "AMD boot logs"). */
const BOOT_LOGS: { line: string; snpNamed: boolean }[] = [
  // 6.x, Ryzen 5000 APU
  { line: 'AMD-Vi: Extended features (0x206d73ef22254ade, 0x0): PPR X2APIC NX GT IA GA PC GA_vAPIC', snpNamed: true },
  // 5.0–5.10 style: names on the next line (joined)
  { line: 'pci 0000:00:00.2: AMD-Vi: Extended features (0x206d73ef22254ade): PPR X2APIC NX GT IA GA PC GA_vAPIC', snpNamed: false },
  // 5.11–5.19 style, Zen 2 desktop
  { line: 'AMD-Vi: Extended features (0x58f77ef22294a5a): PPR NX GT IA PC GA_vAPIC', snpNamed: false },
  // 6.x with EFR2 = 0x10
  { line: 'AMD-Vi: Extended features (0x246577efa2254afa, 0x10): PPR NX GT [5] IA GA PC GA_vAPIC', snpNamed: true },
  // 6.9 SNP host: GT cleared, SNP printed
  { line: 'AMD-Vi: Extended features (0xa5bf7320a2294aee, 0x1d): PPR X2APIC NX [5] IA GA PC GA_vAPIC SNP', snpNamed: true },
  // 5.15 EPYC: SNP bit 63 set but that kernel does not print SNP
  { line: 'AMD-Vi: Extended features (0xa5bf732fa2295afe): PPR X2APIC NX GT [5] IA GA PC GA_vAPIC', snpNamed: false },
  // the example in the kernel's Documentation/arch/x86/iommu.rst
  { line: 'AMD-Vi: Extended features (0x4f77ef22294ada): PPR NX GT IA GA PC GA_vAPIC', snpNamed: true },
]

describe('EFR feature names match the kernel boot log', () => {
  for (const { line, snpNamed } of BOOT_LOGS) {
    it(line.replace(/^.*\((0x[0-9a-f]+).*$/, '$1'), () => {
      const p = parseAmdBootLine(line)
      expect(p).not.toBeNull()
      if (!p) return
      expect(amdFeatureNames(p.efr, { withSnp: snpNamed })).toEqual(p.names)
    })
  }
})

describe('features file formats', () => {
  it('≤ 5.19: one value, the EFR', () => {
    const r = parseAmdFeatures('a5bf732fa2295afe\n', '5.15.0')
    expect(r.ok && r.value).toMatchObject({ format: 'efr', efr: '0xa5bf732fa2295afe', efr2: null })
  })
  it('6.0–6.5: EFR2:EFR, decided by the values', () => {
    const r = parseAmdFeatures('10:246577efa2254afa', '6.1.0')
    expect(r.ok && r.value).toMatchObject({ format: 'efr2:efr', efr: '0x246577efa2254afa', efr2: '0x10' })
    const z = parseAmdFeatures('0:58f77ef22294a5a', null)
    expect(z.ok && z.value).toMatchObject({ format: 'efr2:efr', efr: '0x58f77ef22294a5a', efr2: '0x0' })
  })
  it('6.6+: EFR:EFR2 (value published by AMD on the KVM list: "25bf732fa2295afe:53d")', () => {
    const r = parseAmdFeatures('25bf732fa2295afe:53d', '6.6.0')
    expect(r.ok && r.value).toMatchObject({ format: 'efr:efr2', efr: '0x25bf732fa2295afe', efr2: '0x53d' })
  })
  it('alike values fall back to the kernel release', () => {
    const a = parseAmdFeatures('1:2', '6.2.0')
    const b = parseAmdFeatures('1:2', '6.8.0')
    expect(a.ok && a.value.format).toBe('efr2:efr')
    expect(b.ok && b.value.format).toBe('efr:efr2')
  })
  it('rejects what no kernel prints, with a reason', () => {
    for (const bad of ['', 'xyz', '1:2:3', '0x:1', '1'.repeat(17)]) {
      const r = parseAmdFeatures(bad, null)
      expect(r.ok, bad).toBe(false)
    }
  })
})

describe('derived values', () => {
  it('Ryzen 5000 APU 0x206d73ef22254ade: GT, PPR, PASmax 15 → 16-bit PASIDs', () => {
    const d = deriveAmd(null, 0x206d73ef22254aden)
    expect(d).toMatchObject({ guestTranslation: true, peripheralPageRequests: true, pasidBits: 16, maxPasids: 65535, snp: false })
  })
  it('AWS m6a.metal 0x841f77e022094ace: no GT (no v2 translation), SNP bit set', () => {
    const d = deriveAmd(null, 0x841f77e022094acen)
    expect(d.guestTranslation).toBe(false)
    expect(d.pasidBits).toBeNull()
    expect(d.snp).toBe(true)
  })
  it('EFR2 0x53d: "Bit 9-8 of efr2 shows the support for 2048 interrupts" (AMD, KVM list)', () => {
    const e = decodeAmdEfr2(0x53dn)
    const nir = e.fields.find((x) => x.name === 'NumIntRemapSup')
    expect(nir?.value).toBe(1)
    expect(nir?.meaning).toContain('2048')
  })
  it('capability header bits used by Linux: IOTLB 24, NpCache 26, EFRSup 27', () => {
    const c = decodeAmdCap(0x190b640fn)
    const v = (n: string) => c.fields.find((x) => x.name === n)?.value
    expect(v('CapID')).toBe(0x0f)
    expect(v('CapType')).toBe(3)
    expect(v('IotlbSup')).toBe(1)
    expect(v('NpCache')).toBe(0)
    expect(v('EFRSup')).toBe(1)
    expect(deriveAmd(0x190b640fn, 0n)).toMatchObject({ iotlb: true, notPresentCache: false })
  })
})
