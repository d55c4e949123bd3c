/**
 * "Simulate this machine": the simulator-facing description of a probed machine, and the pure
 * function that derives it from a probe report. No Node imports (the renderer uses it too).
 *
 * The shape is what the simulator needs to model invalidation cost and mirror behaviour: IOMMU
 * mode (off / passthrough / strict / lazy), page-selective invalidation (PSI, MAMV), device-TLB
 * (ATS), page-table depth and superpage sizes, PASID/SVA, and the devices with their mirror path.
 * The simulator team adopts this schema; until then it lives here beside the probe report.
 */
import { z } from 'zod'
import type { IommuUnit, KfdNode, PciDevice, ProbeReport } from './probe'

export const PROBE_MACHINE_VERSION = 1 as const

export const MachineIommuMode = z.enum(['none', 'passthrough', 'translated-strict', 'translated-lazy'])
export type MachineIommuMode = z.infer<typeof MachineIommuMode>

export const MachineIommu = z.object({
  /** Driver family of the unit translating the devices (`none` when no IOMMU). */
  vendor: z.enum(['none', 'intel-vt-d', 'amd-vi', 'arm-smmu', 'virtio-iommu', 'other']),
  mode: MachineIommuMode,
  units: z.number().int().nonnegative(),
  invalidation: z.object({
    /** Page-selective IOTLB invalidation (Intel PSI; AMD always ranges). */
    pageSelective: z.boolean(),
    /** Largest address mask (log2 of 4 KiB pages) one invalidation may carry; null = unbounded/unknown. */
    maxAddressMask: z.number().int().nullable(),
    queued: z.boolean(),
    deviceTlb: z.boolean(),
    /** Not-present entries may be cached (virtual IOMMU): invalidate on map too. */
    flushOnMap: z.boolean(),
  }),
  pageTable: z.object({
    levels: z.number().int(),
    addressWidth: z.number().int(),
    /** Superpage sizes in bytes usable in IOMMU tables. */
    superpageSizes: z.array(z.number()),
  }),
  pasid: z.object({ supported: z.boolean(), bits: z.number().int().nullable() }),
  /** Linux would allow SVA (shared CPU page tables through a PASID). */
  sva: z.boolean(),
  /** Devices can take I/O page faults (Intel PRS / AMD PPR). */
  pageRequests: z.boolean(),
})
export type MachineIommu = z.infer<typeof MachineIommu>

export const MachineDevice = z.object({
  /** Stable id within the machine: `gpu0`, `gpu1`, `dev0`. */
  id: z.string(),
  kind: z.enum(['gpu', 'apu', 'accelerator', 'other']),
  name: z.string(),
  pciAddress: z.string().nullable(),
  vendorId: z.string().nullable(),
  driver: z.string().nullable(),
  numaNode: z.number().int().nullable(),
  iommuGroup: z.number().int().nullable(),
  /** Device-side TLB: `yes`/`no` from config space, `unknown` when it could not be read. */
  ats: z.enum(['yes', 'no', 'unknown']),
  /** How this device mirrors a process address space on this machine. */
  mirror: z.enum(['kfd-svm', 'kfd', 'nvidia-uvm-hmm', 'nvidia-uvm', 'sva', 'none']),
  vramBytes: z.number().nullable(),
  computeUnits: z.number().int().nullable(),
  gfxTarget: z.string().nullable(),
  xgmiHive: z.string().nullable(),
})
export type MachineDevice = z.infer<typeof MachineDevice>

export const ProbeMachine = z.object({
  schema: z.literal('hmmlab.machine'),
  version: z.literal(PROBE_MACHINE_VERSION),
  /** Where it came from: `probed <kernel release> at <time>`. */
  origin: z.string(),
  /** CPU page size in bytes (x86-64: 4096). */
  pageSize: z.number().int(),
  cpu: z.object({ pageTableLevels: z.number().int(), hugePageSizes: z.array(z.number()) }),
  kernel: z.object({
    release: z.string().nullable(),
    mmuNotifier: z.boolean().nullable(),
    hmmMirror: z.boolean().nullable(),
    devicePrivate: z.boolean().nullable(),
    iommuSva: z.boolean().nullable(),
    testHmm: z.boolean().nullable(),
    transparentHugepage: z.boolean().nullable(),
  }),
  iommu: MachineIommu,
  devices: z.array(MachineDevice),
  /** Assumptions made where the probe could not tell. */
  notes: z.array(z.string()),
})
export type ProbeMachine = z.infer<typeof ProbeMachine>

const MiB2 = 2 * 1024 * 1024
const GiB1 = 1024 * 1024 * 1024

function optionSet(r: ProbeReport, name: string): boolean | null {
  if (r.kernel.config.source === null) return null
  const o = r.kernel.config.options.find((x) => x.name === name)
  if (!o) return null
  return o.value !== null && o.value !== 'n'
}

function unitFor(r: ProbeReport, dev: { address: string; iommu: string | null } | null): IommuUnit | null {
  if (dev?.iommu) {
    const u = r.iommu.units.find((x) => x.name === dev.iommu)
    if (u) return u
  }
  if (dev) {
    const u = r.iommu.units.find((x) => x.endpoints.includes(dev.address))
    if (u) return u
  }
  return r.iommu.units[0] ?? null
}

function iommuFrom(r: ProbeReport, unit: IommuUnit | null, groupType: string | null, notes: string[]): MachineIommu {
  const units = r.iommu.units.length
  const none: MachineIommu = {
    vendor: 'none',
    mode: 'none',
    units,
    invalidation: { pageSelective: false, maxAddressMask: null, queued: false, deviceTlb: false, flushOnMap: false },
    pageTable: { levels: 0, addressWidth: 0, superpageSizes: [] },
    pasid: { supported: false, bits: null },
    sva: false,
    pageRequests: false,
  }
  if (!unit) return none
  const c = r.kernel.cmdline.iommu
  let mode: MachineIommuMode
  if (groupType === 'identity' || (groupType === null && c.passthrough === true)) mode = 'passthrough'
  else if (groupType === 'DMA') mode = 'translated-strict'
  else if (groupType === 'DMA-FQ') mode = 'translated-lazy'
  else if (r.bootLog.defaultDomainType === 'Passthrough') mode = 'passthrough'
  else if (r.bootLog.defaultDomainType === 'Translated' && r.bootLog.invalidationPolicy)
    mode = r.bootLog.invalidationPolicy === 'strict' ? 'translated-strict' : 'translated-lazy'
  else {
    mode = c.strict === true ? 'translated-strict' : 'translated-lazy'
    notes.push(`IOMMU mode not visible in iommu_groups or the boot log: assumed ${mode} from the command line and defaults`)
  }
  if (unit.kind === 'intel-vt-d') {
    const d = unit.derived
    if (!d) {
      notes.push(`${unit.name}: registers unreadable; IOMMU modelled with 4-level tables and no PSI`)
      return { ...none, vendor: 'intel-vt-d', mode, pageTable: { levels: 4, addressWidth: 48, superpageSizes: [] } }
    }
    const levels = d.pageWalkLevels.length ? Math.max(...d.pageWalkLevels.filter((l) => l <= 4), Math.min(...d.pageWalkLevels)) : 4
    return {
      vendor: 'intel-vt-d',
      mode,
      units,
      invalidation: {
        pageSelective: d.psi,
        maxAddressMask: d.psi ? d.mamv : null,
        queued: d.queuedInvalidation,
        deviceTlb: d.deviceTlb,
        flushOnMap: d.cachingMode,
      },
      pageTable: { levels, addressWidth: d.addressWidths[d.pageWalkLevels.indexOf(levels)] ?? d.mgaw, superpageSizes: d.superpageSizes },
      pasid: { supported: d.pasid && d.scalableMode, bits: d.pasid && d.scalableMode ? d.pasidBits : null },
      sva: unit.sva.verdict === 'capable',
      pageRequests: d.pageRequests,
    }
  }
  if (unit.kind === 'amd-vi') {
    const d = unit.derived
    notes.push(`${unit.name}: AMD-Vi invalidates by address range (no PSI/MAMV field); modelled as page-selective without a mask limit, v1 tables 4-level`)
    return {
      vendor: 'amd-vi',
      mode,
      units,
      invalidation: { pageSelective: true, maxAddressMask: null, queued: true, deviceTlb: d?.iotlb ?? false, flushOnMap: d?.notPresentCache ?? false },
      pageTable: { levels: 4, addressWidth: 48, superpageSizes: [MiB2, GiB1] },
      pasid: { supported: d?.guestTranslation ?? false, bits: d?.pasidBits ?? null },
      sva: unit.sva.verdict === 'capable',
      pageRequests: d?.peripheralPageRequests ?? false,
    }
  }
  notes.push(`${unit.name}: ${unit.kind} exposes no capability registers in sysfs; modelled with 4-level tables, range invalidation`)
  return {
    ...none,
    vendor: unit.kind === 'arm-smmu-v3' || unit.kind === 'arm-smmu' ? 'arm-smmu' : unit.kind === 'virtio-iommu' ? 'virtio-iommu' : 'other',
    mode,
    invalidation: { pageSelective: true, maxAddressMask: null, queued: true, deviceTlb: false, flushOnMap: unit.kind === 'virtio-iommu' },
    pageTable: { levels: 4, addressWidth: 48, superpageSizes: [MiB2] },
  }
}

function atsOf(p: PciDevice | undefined): MachineDevice['ats'] {
  if (!p) return 'unknown'
  return p.ats.state === 'present' ? 'yes' : p.ats.state === 'absent' ? 'no' : 'unknown'
}

/**
 * Turns a probe report into a simulator machine. Pure and deterministic: the same report gives
 * the same machine. Devices are the KFD GPU nodes, NVIDIA GPUs and other display/accelerator PCI
 * functions; the IOMMU is the unit translating the first of them.
 */
export function machineFromProbe(r: ProbeReport): ProbeMachine {
  const notes: string[] = []
  const pciBy = new Map(r.pci.map((p) => [p.address, p]))
  const devices: MachineDevice[] = []
  const svmKernel = optionSet(r, 'CONFIG_HSA_AMD_SVM')
  const kfdNodes: KfdNode[] = r.kfd.nodes.filter((n) => n.status === 'ok' && n.derived.kind !== 'cpu')
  for (const n of kfdNodes) {
    const p = n.derived.pciAddress ? pciBy.get(n.derived.pciAddress) : undefined
    devices.push({
      id: `gpu${devices.length}`,
      kind: n.derived.kind === 'apu' ? 'apu' : 'gpu',
      name: `${n.derived.gfxTarget ?? 'AMD GPU'} (kfd node ${n.id})`,
      pciAddress: n.derived.pciAddress,
      vendorId: '0x1002',
      driver: p?.driver ?? 'amdgpu',
      numaNode: p?.numaNode ?? null,
      iommuGroup: p?.iommuGroup ?? null,
      ats: atsOf(p),
      mirror: n.derived.svmApiSupported === true && svmKernel !== false ? 'kfd-svm' : 'kfd',
      vramBytes: n.derived.vramBytes,
      computeUnits: n.derived.computeUnits,
      gfxTarget: n.derived.gfxTarget,
      xgmiHive: n.derived.hiveId,
    })
  }
  for (const g of r.nvidia.gpus) {
    const p = pciBy.get(g.address.toLowerCase())
    devices.push({
      id: `gpu${devices.length}`,
      kind: 'gpu',
      name: g.model ?? 'NVIDIA GPU',
      pciAddress: g.address.toLowerCase(),
      vendorId: '0x10de',
      driver: p?.driver ?? 'nvidia',
      numaNode: p?.numaNode ?? null,
      iommuGroup: p?.iommuGroup ?? null,
      ats: atsOf(p),
      mirror: !r.nvidia.uvm.loaded ? 'none' : r.nvidia.uvm.hmmEnabled === true ? 'nvidia-uvm-hmm' : 'nvidia-uvm',
      vramBytes: null,
      computeUnits: null,
      gfxTarget: null,
      xgmiHive: null,
    })
  }
  const taken = new Set(devices.map((d) => d.pciAddress))
  for (const p of r.pci) {
    if (taken.has(p.address) || !p.classCode || !/^0x(03|12)/.test(p.classCode)) continue
    devices.push({
      id: `${p.classCode.startsWith('0x12') ? 'acc' : 'gpu'}${devices.length}`,
      kind: p.classCode.startsWith('0x12') ? 'accelerator' : 'gpu',
      name: `${p.vendorName ?? p.vendorId ?? '?'} ${p.className ?? ''} ${p.deviceId ?? ''}`.replace(/\s+/g, ' ').trim(),
      pciAddress: p.address,
      vendorId: p.vendorId,
      driver: p.driver,
      numaNode: p.numaNode,
      iommuGroup: p.iommuGroup,
      ats: atsOf(p),
      mirror: 'none',
      vramBytes: null,
      computeUnits: null,
      gfxTarget: null,
      xgmiHive: null,
    })
  }
  const first = devices[0]
  const firstPci = first?.pciAddress ? pciBy.get(first.pciAddress) : undefined
  const unit = unitFor(r, firstPci ? { address: firstPci.address, iommu: firstPci.iommu } : null)
  const group = firstPci?.iommuGroup !== undefined && firstPci?.iommuGroup !== null ? r.iommuGroups.find((g) => g.id === firstPci.iommuGroup) : undefined
  const groupType = group?.type ?? r.iommuGroups[0]?.type ?? null
  const iommu = iommuFrom(r, unit, groupType, notes)
  if (iommu.sva) for (const d of devices) if (d.mirror === 'none' && d.ats !== 'no') d.mirror = 'sva'
  for (const d of devices)
    if (d.ats === 'unknown' && iommu.vendor !== 'none') notes.push(`${d.id}: ATS unknown (config space needs root); modelled without a device TLB`)
  if (devices.length === 0) notes.push('no GPU or accelerator found: add devices in the scenario')
  const gb = r.kernel.cpu.gbPages
  return {
    schema: 'hmmlab.machine',
    version: PROBE_MACHINE_VERSION,
    origin: `probed ${r.kernel.release ?? 'unknown kernel'} at ${r.probedAt}`,
    pageSize: 4096,
    cpu: { pageTableLevels: r.kernel.cpu.la57 ? 5 : 4, hugePageSizes: gb === false ? [MiB2] : [MiB2, GiB1] },
    kernel: {
      release: r.kernel.release,
      mmuNotifier: optionSet(r, 'CONFIG_MMU_NOTIFIER'),
      hmmMirror: optionSet(r, 'CONFIG_HMM_MIRROR'),
      devicePrivate: optionSet(r, 'CONFIG_DEVICE_PRIVATE'),
      iommuSva: optionSet(r, 'CONFIG_IOMMU_SVA'),
      testHmm: optionSet(r, 'CONFIG_TEST_HMM'),
      transparentHugepage: optionSet(r, 'CONFIG_TRANSPARENT_HUGEPAGE'),
    },
    iommu,
    devices: devices.map((d) => ({ ...d, ats: iommu.vendor === 'none' && d.ats === 'unknown' ? 'unknown' : d.ats })),
    notes,
  }
}
