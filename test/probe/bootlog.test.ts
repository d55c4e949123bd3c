/** The kernel log as a second witness: parsing every format it is found in, and what it adds. */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { iommuLogLines, parseBootLog } from '../../src/main/services/probe/bootlog'
import { probeSysroot } from '../../src/main/services/probe'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'
import { fixture, MemoryFs } from './helpers'

describe('log formats', () => {
  it('dmesg, /dev/kmsg records, syslog prefixes and mail soft breaks all give the same lines', () => {
    const want = 'DMAR: dmar0: reg_base_addr fed90000 ver 4:0 cap 1c0000c40660462 ecap 29a00f0505e'
    for (const text of [
      `[    0.151439] ${want}\n`,
      `6,339,151439,-;${want}\n SUBSYSTEM=pci\n`,
      `jan 13 14:17:13 localhost kernel: ${want}\n`,
      '[    0.137296] DMAR: dmar0: reg_base_addr fed90000 ver 4:0 cap 1c0000c40660=\n462 ecap 29a00f0505e\n',
    ])
      expect(iommuLogLines(text)).toEqual([want])
  })
  it('joins the 5.0–5.10 feature line split over two records and never keeps the command line', () => {
    const text = [
      '[    2.361839] pci 0000:00:00.2: AMD-Vi: Extended features (0x206d73ef22254ade):',
      '[    2.361846]  PPR X2APIC NX GT IA GA PC GA_vAPIC',
      '[    0.000000] Kernel command line: BOOT_IMAGE=/vmlinuz amd_iommu=on password=x',
    ].join('\n')
    const lines = iommuLogLines(text)
    expect(lines).toEqual(['pci 0000:00:00.2: AMD-Vi: Extended features (0x206d73ef22254ade): PPR X2APIC NX GT IA GA PC GA_vAPIC'])
    expect(parseBootLog(lines, 'x', null, new Set()).amdFeatures[0]?.names).toEqual(['PPR', 'X2APIC', 'NX', 'GT', 'IA', 'GA', 'PC', 'GA_vAPIC'])
  })
  it('reads the default domain type and invalidation policy', () => {
    const b = parseBootLog(
      iommuLogLines('iommu: Default domain type: Translated\niommu: DMA domain TLB invalidation policy: strict mode\n'),
      'x',
      null,
      new Set(),
    )
    expect(b).toMatchObject({ defaultDomainType: 'Translated', invalidationPolicy: 'strict' })
  })
})

describe('in the probe', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmmlab-bootlog-'))
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it('Gemini Lake: the published boot-log line matches sysfs', () => {
    const r = probeSysroot(new DirectoryFs(fixture('intel-glk'))).report
    expect(r.bootLog.dmarUnits).toEqual([
      { unit: 'dmar0', address: '0xfed64000', version: '1:0', cap: '0x1c0000c40660462', ecap: '0x9e2ff0505e', inSysfs: true },
    ])
    expect(r.findings.some((f) => f.code.startsWith('intel.boot-log'))).toBe(false)
  })
  it('a graphics unit ignored with intel_iommu=igfx_off is seen only in the log', () => {
    const root = path.join(tmp, 'igfx-off')
    fs.cpSync(fixture('intel-glk'), root, { recursive: true, verbatimSymlinks: true })
    fs.rmSync(path.join(root, 'sys/class/iommu/dmar0'))
    fs.rmSync(path.join(root, 'sys/devices/virtual/iommu/dmar0'), { recursive: true })
    fs.writeFileSync(path.join(root, 'proc/cmdline'), 'root=/dev/sda1 intel_iommu=on,igfx_off\n')
    const r = probeSysroot(new DirectoryFs(root)).report
    expect(r.iommu.units.map((u) => u.name)).toEqual(['dmar1'])
    expect(r.bootLog.dmarUnits[0]?.inSysfs).toBe(false)
    const f = r.findings.find((x) => x.code === 'intel.boot-log-only')
    expect(f?.message).toContain('dmar0 at 0xfed64000')
    expect(r.findings.some((x) => x.code === 'iommu.igfx-off')).toBe(true)
  })
  it('AMD 5.15: the names in the log agree with the decode (SNP not printed by that kernel)', () => {
    const r = probeSysroot(new DirectoryFs(fixture('amd-epyc-5.15'))).report
    expect(r.bootLog.amdFeatures).toHaveLength(1)
    expect(r.findings.some((x) => x.code === 'amd.boot-log-names')).toBe(false)
  })
  it('a saved dmesg can be given for any sysroot, and a passthrough default is a finding', () => {
    const r = probeSysroot(new MemoryFs({ '/proc/cmdline': 'root=/dev/sda1\n' }), {
      bootLog: { source: 'saved.txt', text: '[    0.3] iommu: Default domain type: Passthrough (set via kernel command line)\n' },
    }).report
    expect(r.bootLog.source).toBe('saved.txt')
    expect(r.findings.some((x) => x.code === 'iommu.passthrough' && x.message.includes('Default domain type: Passthrough'))).toBe(true)
  })
  it('no log at all is not an error', () => {
    const r = probeSysroot(new MemoryFs({})).report
    expect(r.bootLog).toMatchObject({ source: null, lines: [], dmarUnits: [] })
  })
})
