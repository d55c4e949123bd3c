/**
 * Fuzzed sysfs values never crash the probe; each value the kernel would never print gives a
 * finding that names the file.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProbeReport } from '../../src/shared/probe'
import { probeSysroot } from '../../src/main/services/probe'
import { MemoryFs } from './helpers'
import { FUZZ_RUNS } from '../fuzz/fuzz-runs'

const DMAR = '/sys/devices/virtual/iommu/dmar0'
const IVHD = '/sys/devices/pci0000:00/0000:00:00.2/iommu/ivhd0'
const NODE = '/sys/devices/virtual/kfd/kfd/topology/nodes/1'
const PCI = '/sys/devices/pci0000:00/0000:03:00.0'

const hex = (max: number) => new RegExp(`^\\s*(0x)?[0-9a-fA-F]{1,${max}}\\s*$`)
/** Oracles: what a well-formed value looks like, per file. */
const WELL_FORMED: Record<string, (v: string) => boolean> = {
  [`${DMAR}/intel-iommu/cap`]: (v) => hex(16).test(v),
  [`${DMAR}/intel-iommu/ecap`]: (v) => hex(16).test(v),
  [`${DMAR}/intel-iommu/version`]: (v) => /^\s*\d+:\d+\s*$/.test(v),
  [`${DMAR}/intel-iommu/address`]: (v) => hex(16).test(v),
  [`${DMAR}/intel-iommu/domains_supported`]: (v) => /^\s*-?\d{1,15}\s*$/.test(v),
  [`${IVHD}/amd-iommu/cap`]: (v) => hex(8).test(v),
  [`${IVHD}/amd-iommu/features`]: (v) => hex(16).test(v) || /^\s*(0x)?[0-9a-fA-F]{1,16}:(0x)?[0-9a-fA-F]{1,16}\s*$/.test(v),
  ['/sys/kernel/iommu_groups/7/type']: (v) => ['DMA', 'DMA-FQ', 'identity', 'blocked', 'unmanaged', 'unknown', 'auto'].includes(v.trim()),
  [`${PCI}/numa_node`]: (v) => /^\s*-?\d+\s*$/.test(v),
  [`${PCI}/vendor`]: (v) => /^\s*0x[0-9a-fA-F]{1,4}\s*$/.test(v),
  [`${NODE}/gpu_id`]: (v) => /^\s*\d+\s*$/.test(v) && Number(v.trim()) <= 0xffffffff,
  [`${NODE}/properties`]: (v) =>
    v.split('\n').some((l) => l.trim() !== '') && v.split('\n').every((l) => l.trim() === '' || /^[A-Za-z0-9_]+\s+\d+$/.test(l.trim())),
  ['/sys/devices/virtual/kfd/kfd/topology/generation_id']: (v) => /^\s*\d+\s*$/.test(v),
  ['/sys/module/nvidia_uvm/parameters/uvm_disable_hmm']: (v) => ['Y', 'N', '0', '1'].includes(v.trim()),
}

const base = (): Record<string, string | { link: string }> => ({
  '/proc/sys/kernel/osrelease': '6.8.0\n',
  '/proc/cmdline': 'root=/dev/sda1 intel_iommu=on\n',
  '/sys/class/iommu/dmar0': { link: '../../devices/virtual/iommu/dmar0' },
  [`${DMAR}/intel-iommu/cap`]: 'd2008c40660462\n',
  [`${DMAR}/intel-iommu/ecap`]: 'f050da\n',
  [`${DMAR}/intel-iommu/version`]: '1:0\n',
  [`${DMAR}/intel-iommu/address`]: 'fed91000\n',
  [`${DMAR}/intel-iommu/domains_supported`]: '256\n',
  '/sys/class/iommu/ivhd0': { link: '../../devices/pci0000:00/0000:00:00.2/iommu/ivhd0' },
  [`${IVHD}/amd-iommu/cap`]: '190b640f\n',
  [`${IVHD}/amd-iommu/features`]: '25bf732fa2295afe:53d\n',
  '/sys/kernel/iommu_groups/7/type': 'DMA-FQ\n',
  '/sys/kernel/iommu_groups/7/devices/0000:03:00.0': { link: '../../../../devices/pci0000:00/0000:03:00.0' },
  '/sys/bus/pci/devices/0000:03:00.0': { link: '../../../devices/pci0000:00/0000:03:00.0' },
  [`${PCI}/numa_node`]: '0\n',
  [`${PCI}/vendor`]: '0x1002\n',
  [`${PCI}/iommu_group`]: { link: '../../../kernel/iommu_groups/7' },
  ['/sys/devices/virtual/kfd/kfd/topology/generation_id']: '1\n',
  [`${NODE}/gpu_id`]: '13261\n',
  [`${NODE}/properties`]: 'simd_count 256\nsimd_per_cu 4\ngfx_target_version 90010\nlocation_id 768\ncapability 134217728\n',
  ['/sys/module/nvidia_uvm/parameters/uvm_disable_hmm']: 'N\n',
})

const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[0-9a-fA-Fx:\- ]{0,24}$/),
  fc.constantFrom('', ' ', '\n', '\0', 'ffffffffffffffffff', '0x', '-1', '１２', '1:2:3', 'DMA-FQ', 'N', 'simd_count\n', 'a 1\nb x\n', '4294967296'),
)
const FILES = Object.keys(WELL_FORMED)

describe('fuzzed sysfs values', () => {
  it('never crash, always validate, and a malformed value always has a finding naming its file', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FILES), value, fc.constantFrom(...FILES), value, (f1, v1, f2, v2) => {
        const files = { ...base(), [f1]: v1, [f2]: v2 }
        const { report } = probeSysroot(new MemoryFs(files))
        ProbeReport.parse(report)
        // when both picks hit the same file, the second value is the one on "disk"
        const written =
          f1 === f2
            ? ([[f2, v2]] as const)
            : ([
                [f1, v1],
                [f2, v2],
              ] as const)
        for (const [f, v] of written) {
          const logical = f
            .replace('/sys/devices/virtual/iommu/dmar0', '/sys/class/iommu/dmar0')
            .replace(IVHD, '/sys/class/iommu/ivhd0')
            .replace(PCI, '/sys/bus/pci/devices/0000:03:00.0')
          if (!WELL_FORMED[f]?.(v)) {
            const named = report.findings.some((x) => x.file === f || x.file === logical)
            if (!named) throw new Error(`no finding names ${f} for ${JSON.stringify(v)}`)
          }
        }
      }),
      { numRuns: Math.max(400, FUZZ_RUNS) },
    )
  })

  it('the untouched base tree gives no error findings (the oracles are not vacuous)', () => {
    const { report } = probeSysroot(new MemoryFs(base()))
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([])
    expect(report.iommu.units).toHaveLength(2)
    expect(report.kfd.nodes[0]?.derived.gfxTarget).toBe('gfx90a')
  })

  it('any read error code on any probed file is a finding, never a throw', () => {
    const codes = ['EACCES', 'EPERM', 'EIO', 'EINVAL', 'ENXIO', 'EBUSY']
    fc.assert(
      fc.property(fc.constantFrom(...FILES, '/proc/cmdline', '/proc/sys/kernel/osrelease'), fc.constantFrom(...codes), (f, code) => {
        const { report } = probeSysroot(new MemoryFs({ ...base(), [f]: { error: code } }))
        ProbeReport.parse(report)
        const logical = f
          .replace('/sys/devices/virtual/iommu/dmar0', '/sys/class/iommu/dmar0')
          .replace(IVHD, '/sys/class/iommu/ivhd0')
          .replace(PCI, '/sys/bus/pci/devices/0000:03:00.0')
        if (!report.findings.some((x) => (x.file === f || x.file === logical) && x.message.includes(code))) throw new Error(`no finding for ${code} on ${f}`)
      }),
      { numRuns: Math.max(100, FUZZ_RUNS) },
    )
  })
})

describe('fuzzed config space', () => {
  it('any byte image (loops, wild pointers, truncation) parses without throwing', async () => {
    const { parseConfigSpace } = await import('../../src/main/services/probe/pci')
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), fc.boolean(), (bytes, withCaps) => {
        const b = Buffer.from(bytes)
        if (withCaps && b.length > 0x40) {
          b[0x06] = 0x10 // capability list present
          b[0x34] = 0x40
        }
        const r = parseConfigSpace(b, [])
        for (const c of [r.ats, r.pri, r.pasid]) expect(['present', 'absent', 'unknown']).toContain(c.state)
      }),
      { numRuns: Math.max(300, FUZZ_RUNS) },
    )
  })
})

describe('fuzzed trees', () => {
  // Paths the probe visits, as files or as symlinks to anywhere (loops, .., absolute, dangling).
  const PATHS = [
    '/sys/class/iommu/dmar0',
    '/sys/class/iommu/ivhd0',
    '/sys/class/iommu/smmu3.0x1',
    `${DMAR}/intel-iommu/cap`,
    `${DMAR}/intel-iommu/ecap`,
    `${DMAR}/devices/0000:00:02.0`,
    `${IVHD}/amd-iommu/features`,
    '/sys/kernel/iommu_groups/1/type',
    '/sys/kernel/iommu_groups/1/devices/0000:03:00.0',
    '/sys/bus/pci/devices/0000:03:00.0',
    `${PCI}/config`,
    `${PCI}/iommu_group`,
    `${PCI}/driver`,
    '/sys/devices/virtual/kfd/kfd/topology/nodes/0/properties',
    '/sys/devices/virtual/kfd/kfd/topology/nodes/0/io_links/0/properties',
    '/sys/devices/virtual/kfd/kfd/topology/nodes/1/mem_banks/0/properties',
    '/sys/class/kfd/kfd',
    '/sys/class/drm/card0',
    '/sys/class/drm/renderD128/device',
    '/proc/driver/nvidia/gpus/0000:03:00.0/information',
    '/sys/module/nvidia_uvm/parameters/uvm_ats_mode',
    '/proc/cmdline',
    '/proc/config.gz',
    '/dev/kfd',
  ]
  const target = fc.oneof(
    fc.constantFrom('.', '..', '/', '../..', '../../../../../../etc', '/sys', '/sys/class/iommu', 'self', '../self', ''),
    fc.constantFrom(...PATHS),
    fc.string({ maxLength: 12 }),
  )
  const entry = fc.oneof(
    fc.string({ maxLength: 30 }).map((v) => v as string | { link: string } | { error: string }),
    target.map((t) => ({ link: t })),
    fc.constantFrom('EACCES', 'EPERM', 'EIO').map((e) => ({ error: e })),
  )
  it('any mix of files, symlinks and errors at the paths the probe visits: no throw, valid report', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...PATHS), entry, { maxKeys: 12 }), (files) => {
        const { report } = probeSysroot(new MemoryFs(files))
        ProbeReport.parse(report)
      }),
      { numRuns: Math.max(500, FUZZ_RUNS) },
    )
  })
})
