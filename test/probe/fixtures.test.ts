/**
 * Every fixture sysroot probes without throwing, validates against the report schema, and gives
 * the findings its hardware calls for. Bad input gives a finding naming the file.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ProbeReport } from '../../src/shared/probe'
import { probeSysroot } from '../../src/main/services/probe'
import { DirectoryFs, FaultInjectingFs } from '../../src/main/services/probe/sysroot'
import { fixture, FIXTURES } from './helpers'

const ALL = fs.readdirSync(FIXTURES).filter((n) => fs.statSync(path.join(FIXTURES, n)).isDirectory())
const probe = (name: string) => probeSysroot(new DirectoryFs(fixture(name))).report
const codes = (r: ProbeReport) => r.findings.map((f) => f.code)

describe('every fixture', () => {
  it('has at least the required set', () => {
    expect(ALL.filter((n) => n.startsWith('intel-')).length).toBeGreaterThanOrEqual(6)
    expect(ALL.filter((n) => n.startsWith('amd-')).length).toBeGreaterThanOrEqual(3)
    expect(ALL.filter((n) => n.startsWith('kfd-')).length).toBeGreaterThanOrEqual(3)
  })
  for (const name of ALL) {
    it(`${name}: probes, validates, findings sorted by severity`, () => {
      const r = probe(name)
      expect(() => ProbeReport.parse(r)).not.toThrow()
      const order = { error: 0, warning: 1, info: 2 }
      const sev = r.findings.map((f) => order[f.severity])
      expect([...sev].sort((a, b) => a - b)).toEqual(sev)
      expect(JSON.parse(JSON.stringify(r))).toEqual(r)
    })
  }
})

describe('Intel fixtures', () => {
  it('Kaby Lake-R: no PSI on the graphics unit, PSI with MAMV 18 on the other', () => {
    const r = probe('intel-kbl-r')
    expect(codes(r)).toContain('intel.no-psi')
    const [gfx, other] = r.iommu.units
    expect(gfx?.kind === 'intel-vt-d' && gfx.derived?.psi).toBe(false)
    expect(other?.kind === 'intel-vt-d' && other.derived?.mamv).toBe(18)
    expect(gfx?.endpoints).toEqual(['0000:00:02.0'])
    expect(r.pci.find((p) => p.address === '0000:00:02.0')).toMatchObject({
      driver: 'i915',
      iommuGroup: 0,
      iommu: 'dmar0',
      className: 'VGA compatible controller',
    })
  })
  it('Kaby Lake-R: groups with reserved regions, DRM card to its PCI function', () => {
    const r = probe('intel-kbl-r')
    expect(r.iommuGroups[0]).toEqual({
      id: 0,
      type: 'DMA-FQ',
      devices: ['0000:00:02.0'],
      reservedRegions: [
        { start: '0x00000000fee00000', end: '0x00000000feefffff', type: 'msi' },
        { start: '0x000000007c000000', end: '0x00000000803fffff', type: 'direct-relaxable' },
      ],
      name: null,
    })
    expect(r.drm).toEqual([{ name: 'card0', kind: 'card', pciAddress: '0000:00:02.0', driver: 'i915', vendorId: '0x8086', deviceId: '0x5917' }])
    expect(r.pci.find((p) => p.address === '0000:00:02.0')?.ats).toMatchObject({ state: 'unknown', detail: expect.stringContaining('needs root') })
  })
  it('Alder Lake: the kernel would print "IOMMU feature fl1gp_support inconsistent"', () => {
    const r = probe('intel-adl')
    expect(r.findings.some((f) => f.code === 'intel.inconsistent' && f.subject === 'fl1gp_support')).toBe(true)
    expect(r.kernel.cmdline.iommu).toMatchObject({ intelIommu: ['on', 'sm_on'], strict: true })
    const u0 = r.iommu.units[0]
    expect(u0?.kind === 'intel-vt-d' && u0.version).toEqual({ major: 4, minor: 0 })
  })
  it('Sapphire Rapids: scalable mode but PASID off → SVA not capable, with the reason', () => {
    const r = probe('intel-spr')
    const u = r.iommu.units[1]
    expect(u?.kind).toBe('intel-vt-d')
    if (u?.kind !== 'intel-vt-d') return
    expect(u.sva.verdict).toBe('not-capable')
    expect(u.sva.reasons.join(' ')).toContain('ECAP.PASID=0')
  })
  it('Ivy Bridge with iommu=pt: passthrough finding', () => {
    expect(codes(probe('intel-ivb-e3'))).toContain('iommu.passthrough')
  })
  it('Haswell-EP: NVIDIA driver and nvidia_uvm with HMM', () => {
    const r = probe('intel-hsw-ep')
    expect(r.nvidia).toMatchObject({ driverPresent: true, uvm: { loaded: true, hmmEnabled: true, atsMode: 1 } })
    expect(r.nvidia.gpus[0]).toMatchObject({ model: 'Tesla V100-PCIE-16GB', dmaSizeBits: 47, deviceMinor: 0 })
    expect(r.nvidia.version).toContain('535.104.05')
  })
  it('Gemini Lake on an old kernel: HMM options missing are findings', () => {
    const c = codes(probe('intel-glk'))
    expect(c).toContain('kconfig.hmm-mirror-not-set')
    expect(c).toContain('kconfig.device-private-not-set')
  })
})

describe('AMD fixtures: the three features formats', () => {
  it.each([
    ['amd-epyc-5.15', 'efr', '0xa5bf732fa2295afe'],
    ['amd-ryzen-6.1', 'efr2:efr', '0x246577efa2254afa'],
    ['amd-epyc-6.6', 'efr:efr2', '0x25bf732fa2295afe'],
  ])('%s → %s', (name, format, efr) => {
    const u = probe(name).iommu.units[0]
    expect(u?.kind).toBe('amd-vi')
    if (u?.kind !== 'amd-vi') return
    expect(u.features).toMatchObject({ format, efr })
    expect(u.pciAddress).toBe('0000:00:00.2')
    expect(u.derived?.featureNames).toContain('GT')
    expect(u.derived?.pasidBits).toBe(16)
    expect(u.endpoints).toEqual(['0000:c1:00.0'])
  })
})

describe('NVIDIA without /proc/driver/nvidia', () => {
  it('takes the version from /sys/module/nvidia/version', async () => {
    const { MemoryFs } = await import('./helpers')
    const r = probeSysroot(new MemoryFs({ '/sys/module/nvidia/version': '550.54.14\n' })).report
    expect(r.nvidia).toMatchObject({ driverPresent: true, version: '550.54.14', uvm: { loaded: false } })
    expect(r.findings.some((f) => f.code === 'nvidia.no-uvm')).toBe(true)
  })
})

describe('command line', () => {
  it('amd_iommu=on is an option the driver does not know (it logs "Unknown option - \'on\'")', () => {
    const f = probe('amd-epyc-6.6').findings.find((x) => x.code === 'cmdline.unknown-option')
    expect(f?.severity).toBe('info')
    expect(f?.message).toContain("Unknown option - 'on'")
    expect(f?.file).toBe('/proc/cmdline')
  })
})

describe('broken tree', () => {
  const r = probe('broken')
  const byFile = (suffix: string) => r.findings.filter((f) => f.file?.endsWith(suffix))
  it('every bad value is a finding naming its file', () => {
    for (const s of [
      '/proc/sys/kernel/osrelease',
      '/proc/config.gz',
      'dmar0/intel-iommu/version',
      'dmar0/intel-iommu/address',
      'dmar0/intel-iommu/cap',
      'dmar0/intel-iommu/ecap',
      'dmar0/intel-iommu/domains_supported',
      'dmar2/intel-iommu/ecap',
      'ivhd0/amd-iommu/features',
      'ivhd1/amd-iommu/cap',
      'iommu_groups/3/type',
      'iommu_groups/3/reserved_regions',
      '0000:00:02.0/device',
      '0000:00:02.0/numa_node',
      '0000:00:02.0/config',
      'topology/generation_id',
      'nodes/1/properties',
      'nodes/1/gpu_id',
      'nodes/2/properties',
      'nodes/3/properties',
      'nodes/abc',
      'uvm_disable_hmm',
      '/proc/cmdline',
    ])
      expect(byFile(s).length, s).toBeGreaterThan(0)
  })
  it('all-ones registers are the firmware bug the kernel names', () => {
    expect(r.findings.some((f) => f.code === 'intel.all-ones' && f.subject === 'dmar1')).toBe(true)
  })
  it('a malformed KFD node does not stop the others', () => {
    expect(r.kfd.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3, 4])
    expect(r.kfd.nodes.find((n) => n.id === 4)?.derived.gfxTarget).toBe('gfx90a')
    expect(r.kfd.nodes.find((n) => n.id === 2)?.status).toBe('malformed')
  })
  it('symlink loops and links pointing outside the sysroot neither hang nor escape', () => {
    expect(r.drm.map((d) => d.name)).toEqual(['card0', 'card1'])
    expect(r.drm.every((d) => d.pciAddress === null)).toBe(true)
    expect(r.findings.some((f) => f.file === '/sys/class/drm/card0' && f.message.includes('symlink loop'))).toBe(true)
  })
})

describe('empty tree', () => {
  it('reports nothing present and a missing config, no errors', () => {
    const r = probe('empty')
    expect(r.iommu).toEqual({ classPresent: false, units: [] })
    expect(r.kfd.topologyPresent).toBe(false)
    expect(r.pci).toEqual([])
    expect(r.kernel.release).toBeNull()
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([])
    expect(codes(r)).toContain('kconfig.unavailable')
  })
})

describe('permission denied', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmmlab-eacces-'))
  afterAll(() => {
    for (const p of denied) fs.chmodSync(path.join(tmp, p), 0o644)
    fs.rmSync(tmp, { recursive: true, force: true })
  })
  fs.cpSync(fixture('kfd-apu-renoir'), tmp, { recursive: true, verbatimSymlinks: true })
  const denied = ['proc/cmdline', 'sys/devices/virtual/kfd/kfd/topology/nodes/1/properties']
  for (const p of denied) fs.chmodSync(path.join(tmp, p), 0)
  // Root ignores file modes: inject EACCES/EPERM for the same files so the test means the same as root.
  const rootIgnoresModes = typeof process.getuid === 'function' && process.getuid() === 0
  const sysfs = rootIgnoresModes
    ? new FaultInjectingFs(new DirectoryFs(tmp), (p) => (p === '/proc/cmdline' ? 'EACCES' : p.endsWith('/nodes/1/properties') ? 'EPERM' : null))
    : new DirectoryFs(tmp)
  const r = probeSysroot(sysfs).report

  it('an unreadable file is a finding naming it, with the reason', () => {
    const f = r.findings.find((x) => x.file === '/proc/cmdline')
    expect(f?.severity).toBe('error')
    expect(f?.message).toMatch(/permission denied \(EACCES\)/)
    expect(r.kernel.cmdline.raw).toBeNull()
  })
  it('a KFD node hidden by the device cgroup is reported, not fatal', () => {
    const n = r.kfd.nodes.find((x) => x.id === 1)
    expect(n?.status).toBe('denied')
    expect(r.findings.some((x) => x.code === 'kfd.node-denied')).toBe(true)
    expect(r.files.errors.map((e) => e.path)).toContain('/sys/devices/virtual/kfd/kfd/topology/nodes/1/properties')
  })
})

describe('IOMMUs without attribute groups are recognised by name', () => {
  it('SMMUv3, SMMUv2, virtio-iommu and an unknown driver', async () => {
    const { MemoryFs } = await import('./helpers')
    const unit = (n: string) => ({
      [`/sys/class/iommu/${n}`]: { link: `../../devices/virtual/iommu/${n}` },
      [`/sys/devices/virtual/iommu/${n}/devices/0000:00:01.0`]: { link: '../../../../pci0000:00/0000:00:01.0' },
    })
    const r = probeSysroot(
      new MemoryFs({ ...unit('smmu3.0x0000000009050000'), ...unit('smmu.0x000000002b400000'), ...unit('virtio0'), ...unit('apple-dart.0') }),
    ).report
    const byName = Object.fromEntries(r.iommu.units.map((u) => [u.name, u]))
    expect(byName['smmu3.0x0000000009050000']).toMatchObject({ kind: 'arm-smmu-v3', address: '0x0000000009050000', endpoints: ['0000:00:01.0'] })
    expect(byName['smmu.0x000000002b400000']).toMatchObject({ kind: 'arm-smmu', address: '0x000000002b400000' })
    expect(byName['virtio0']).toMatchObject({ kind: 'virtio-iommu', address: null })
    expect(byName['apple-dart.0']).toMatchObject({ kind: 'unknown' })
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([])
  })
})

describe('kernel config without a release', () => {
  it('a lone /boot/config-* is used', async () => {
    const { MemoryFs } = await import('./helpers')
    const r = probeSysroot(new MemoryFs({ '/boot/config-6.1.0-13-amd64': 'CONFIG_HMM_MIRROR=y\n# CONFIG_TEST_HMM is not set\n' })).report
    expect(r.kernel.config.source).toBe('/boot/config-6.1.0-13-amd64')
    expect(r.kernel.config.options.find((o) => o.name === 'CONFIG_HMM_MIRROR')?.value).toBe('y')
    expect(r.kernel.config.options.find((o) => o.name === 'CONFIG_TEST_HMM')?.value).toBe('n')
  })
})
