/**
 * The probe report: what `hmmlab probe --json` prints, what the Hardware view shows and what a
 * capture is read back into. Pure zod, no Node imports (the browser renderer validates with it).
 *
 * Names follow the kernel and the Intel VT-d specification (CAP_REG, ECAP_REG, ND, SAGAW, PSI,
 * MAMV, ...; AMD EFR feature names as `amd/init.c` prints them; KFD property keys as
 * `kfd_topology.c` prints them). `docs/probe.md` documents every section.
 */
import { z } from 'zod'

/** Bumped when a field changes meaning or is removed (adding optional fields does not bump it). */
export const PROBE_SCHEMA_VERSION = 1 as const

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/**
 * `error`: the probe could not read or parse something (a file, a value); the section is partial.
 * `warning`: a fact that limits or changes mirroring (no PSI, passthrough, option not set).
 * `info`: a fact worth reading first (SVA possible, SVMAPI supported, no IOMMU at all).
 */
export const FindingSeverity = z.enum(['error', 'warning', 'info'])
export type FindingSeverity = z.infer<typeof FindingSeverity>

export const Finding = z.object({
  severity: FindingSeverity,
  /** Stable identifier, e.g. `intel.no-psi`, `file.malformed`, `kconfig.hmm-mirror-not-set`. */
  code: z.string(),
  /** What the finding is about: `dmar0`, `0000:03:00.0`, `kfd node 2`, `CONFIG_HMM_MIRROR`, ... */
  subject: z.string(),
  /** One sentence in words, starting with the fact, then what it means. */
  message: z.string(),
  /** The file (absolute path as on the probed machine) that the finding is about, if any. */
  file: z.string().optional(),
})
export type Finding = z.infer<typeof Finding>

// ---------------------------------------------------------------------------------------------
// Registers
// ---------------------------------------------------------------------------------------------

export const RegisterField = z.object({
  /** Spec abbreviation: `ND`, `SAGAW`, `PSI`, `PASID`, or the AMD EFR name `PPRSup` etc. */
  name: z.string(),
  /** Bit range as in the spec tables: `2:0`, `39`. */
  bits: z.string(),
  /** Raw field value (fields are at most 10 bits wide). */
  value: z.number().int().nonnegative(),
  /** What the value means, in words (`256 domains`, `supported`, `2 MiB, 1 GiB`). */
  meaning: z.string(),
  /** Kernel accessor for this field (`cap_pgsel_inv`), when the kernel has one. */
  kernel: z.string().optional(),
  /** Bit changed meaning across spec revisions; shown, but not used for verdicts. */
  legacy: z.boolean().optional(),
})
export type RegisterField = z.infer<typeof RegisterField>

export const DecodedRegister = z.object({
  /** `CAP_REG`, `ECAP_REG`, `EFR`, `EFR2`, `CAP header`. */
  name: z.string(),
  /** `0x` + lowercase hex, as read (no padding). */
  raw: z.string(),
  widthBits: z.number().int(),
  fields: z.array(RegisterField),
  /** Bits set that the decoder knows as reserved: `bit 38`. */
  reservedSet: z.array(z.string()),
})
export type DecodedRegister = z.infer<typeof DecodedRegister>

/** Whether Linux would (or could) use SVA on this unit, and why not. */
export const SvaVerdict = z.object({
  verdict: z.enum(['capable', 'not-capable', 'unknown']),
  reasons: z.array(z.string()),
})
export type SvaVerdict = z.infer<typeof SvaVerdict>

// ---------------------------------------------------------------------------------------------
// IOMMUs
// ---------------------------------------------------------------------------------------------

export const IntelDerived = z.object({
  domainIdBits: z.number().int(),
  domains: z.number().int(),
  /** Maximum guest address width in bits (MGAW + 1). */
  mgaw: z.number().int(),
  /** Second-stage page-walk levels from SAGAW (3, 4, 5). */
  pageWalkLevels: z.array(z.number().int()),
  /** Address widths matching those levels (39, 48, 57). */
  addressWidths: z.array(z.number().int()),
  /** Second-level superpage sizes in bytes from SLLPS (2 MiB, 1 GiB, ...). */
  superpageSizes: z.array(z.number()),
  psi: z.boolean(),
  mamv: z.number().int(),
  /** Largest range one page-selective invalidation covers (4 KiB << MAMV), null without PSI. */
  largestPsiBytes: z.number().nullable(),
  faultRecordingRegisters: z.number().int(),
  faultRecordingOffset: z.number().int(),
  iotlbRegisterOffset: z.number().int(),
  cachingMode: z.boolean(),
  writeBufferFlush: z.boolean(),
  coherent: z.boolean(),
  queuedInvalidation: z.boolean(),
  deviceTlb: z.boolean(),
  interruptRemapping: z.boolean(),
  extendedInterruptMode: z.boolean(),
  passThrough: z.boolean(),
  snoopControl: z.boolean(),
  nested: z.boolean(),
  scalableMode: z.boolean(),
  firstStage: z.boolean(),
  secondStage: z.boolean(),
  secondStageDirty: z.boolean(),
  scalableModeCoherent: z.boolean(),
  pasid: z.boolean(),
  /** PASID width in bits (PSS + 1); only meaningful when `pasid`. */
  pasidBits: z.number().int().nullable(),
  /** Linux's `max_pasids` (2 << PSS) when `pasid`. */
  maxPasids: z.number().int().nullable(),
  pageRequests: z.boolean(),
  pageRequestDrain: z.boolean(),
  firstStage1GiB: z.boolean(),
  firstStage5Level: z.boolean(),
  postedInterrupts: z.boolean(),
})
export type IntelDerived = z.infer<typeof IntelDerived>

const IommuBase = z.object({
  /** `dmar0`, `ivhd0`, `smmu3.0x0000000009050000`, `virtio0`. */
  name: z.string(),
  /** `/sys/class/iommu/<name>`. */
  path: z.string(),
  /** Endpoint device names from `devices/`. */
  endpoints: z.array(z.string()),
})

export const IntelIommu = IommuBase.extend({
  kind: z.literal('intel-vt-d'),
  version: z.object({ major: z.number().int(), minor: z.number().int() }).nullable(),
  /** Register base (DRHD base) as `0x` hex. */
  address: z.string().nullable(),
  cap: DecodedRegister.nullable(),
  ecap: DecodedRegister.nullable(),
  domainsSupported: z.number().int().nullable(),
  domainsUsed: z.number().int().nullable(),
  derived: IntelDerived.nullable(),
  sva: SvaVerdict,
})
export type IntelIommu = z.infer<typeof IntelIommu>

export const AmdFeatures = z.object({
  /** The `features` file as read (trimmed). */
  raw: z.string(),
  /** `efr` (≤ 5.19), `efr2:efr` (6.0 until the global-EFR refactor), `efr:efr2` (later). */
  format: z.enum(['efr', 'efr2:efr', 'efr:efr2']),
  /** Why this format was chosen. */
  formatReason: z.string(),
  efr: z.string(),
  efr2: z.string().nullable(),
})
export type AmdFeatures = z.infer<typeof AmdFeatures>

export const AmdDerived = z.object({
  /** Feature names in the order `print_iommu_info` prints them (`PPR X2APIC NX GT IA GA PC GA_vAPIC SNP`). */
  featureNames: z.array(z.string()),
  iotlb: z.boolean().nullable(),
  notPresentCache: z.boolean().nullable(),
  guestTranslation: z.boolean(),
  peripheralPageRequests: z.boolean(),
  /** PASID width (PASMAX + 1) when GT is supported. */
  pasidBits: z.number().int().nullable(),
  /** Linux's `max_pasids` ((1 << (PASMAX+1)) − 1). */
  maxPasids: z.number().int().nullable(),
  /** Guest (v2) page-table levels from GATS: 4 or 5. */
  guestPageTableLevels: z.number().int().nullable(),
  hostDirtyTracking: z.boolean(),
  snp: z.boolean(),
})
export type AmdDerived = z.infer<typeof AmdDerived>

export const AmdIommu = IommuBase.extend({
  kind: z.literal('amd-vi'),
  /** PCI address of the IOMMU function (`0000:00:00.2`), from the sysfs path. */
  pciAddress: z.string().nullable(),
  cap: DecodedRegister.nullable(),
  features: AmdFeatures.nullable(),
  efr: DecodedRegister.nullable(),
  efr2: DecodedRegister.nullable(),
  derived: AmdDerived.nullable(),
  sva: SvaVerdict,
})
export type AmdIommu = z.infer<typeof AmdIommu>

export const OtherIommu = IommuBase.extend({
  kind: z.enum(['arm-smmu-v3', 'arm-smmu', 'virtio-iommu', 'unknown']),
  /** MMIO base parsed from an SMMU name, as `0x` hex. */
  address: z.string().nullable(),
  /** What sysfs cannot tell about this unit. */
  note: z.string(),
})
export type OtherIommu = z.infer<typeof OtherIommu>

export const IommuUnit = z.discriminatedUnion('kind', [IntelIommu, AmdIommu, OtherIommu])
export type IommuUnit = z.infer<typeof IommuUnit>

// ---------------------------------------------------------------------------------------------
// Groups and PCI
// ---------------------------------------------------------------------------------------------

export const ReservedRegion = z.object({ start: z.string(), end: z.string(), type: z.string() })
export type ReservedRegion = z.infer<typeof ReservedRegion>

export const IommuGroup = z.object({
  id: z.number().int(),
  /** Default domain type: `DMA`, `DMA-FQ`, `identity`, `blocked`, `unmanaged`, `unknown`; null before 5.11. */
  type: z.string().nullable(),
  devices: z.array(z.string()),
  reservedRegions: z.array(ReservedRegion),
  name: z.string().nullable(),
})
export type IommuGroup = z.infer<typeof IommuGroup>

export const PciCapabilityState = z.enum(['present', 'absent', 'unknown'])

export const PciAts = z.object({
  state: PciCapabilityState,
  /** Why it is unknown (`unknown (needs root)`), or where it was found (`ext cap at 0x2b0`). */
  detail: z.string(),
  invalidateQueueDepth: z.number().int().optional(),
  pageAlignedRequest: z.boolean().optional(),
  globalInvalidate: z.boolean().optional(),
  enabled: z.boolean().optional(),
  smallestTranslationUnit: z.number().int().optional(),
})
export const PciPri = z.object({
  state: PciCapabilityState,
  detail: z.string(),
  enabled: z.boolean().optional(),
  outstandingPageRequestCapacity: z.number().int().optional(),
  outstandingPageRequestAllocation: z.number().int().optional(),
})
export const PciPasid = z.object({
  state: PciCapabilityState,
  detail: z.string(),
  maxPasidWidth: z.number().int().optional(),
  executePermission: z.boolean().optional(),
  privilegedMode: z.boolean().optional(),
  enabled: z.boolean().optional(),
})

export const PciDevice = z.object({
  address: z.string(),
  vendorId: z.string().nullable(),
  deviceId: z.string().nullable(),
  vendorName: z.string().nullable(),
  classCode: z.string().nullable(),
  className: z.string().nullable(),
  revision: z.string().nullable(),
  driver: z.string().nullable(),
  numaNode: z.number().int().nullable(),
  iommuGroup: z.number().int().nullable(),
  iommu: z.string().nullable(),
  /** Bytes of config space this process could read (64 for non-root, 256/4096 for root). */
  configBytesReadable: z.number().int().nullable(),
  ats: PciAts,
  pri: PciPri,
  pasid: PciPasid,
})
export type PciDevice = z.infer<typeof PciDevice>

// ---------------------------------------------------------------------------------------------
// KFD
// ---------------------------------------------------------------------------------------------

/** A KFD `properties` map: unsigned decimals as numbers (strings above 2^53 or non-numeric). */
export const KfdProperties = z.record(z.string(), z.union([z.number(), z.string()]))
export type KfdProperties = z.infer<typeof KfdProperties>

export const KfdMemBank = z.object({
  id: z.number().int(),
  properties: KfdProperties,
  /** `system`, `fb public`, `fb private`, `gds`, `lds`, `scratch`. */
  heapType: z.string().nullable(),
  sizeBytes: z.number().nullable(),
})
export const KfdCache = z.object({ id: z.number().int(), properties: KfdProperties })
export const KfdLink = z.object({
  id: z.number().int(),
  properties: KfdProperties,
  /** `PCIe`, `XGMI`, `QPI`, `HyperTransport`, ... */
  typeName: z.string().nullable(),
  nodeFrom: z.number().int().nullable(),
  nodeTo: z.number().int().nullable(),
  weight: z.number().int().nullable(),
  /** Flag names: `enabled`, `non-coherent`, `no-atomics-32bit`, `no-atomics-64bit`, `no-peer-to-peer-dma`. */
  flags: z.array(z.string()),
})
export type KfdLink = z.infer<typeof KfdLink>

export const KfdNodeDerived = z.object({
  kind: z.enum(['cpu', 'gpu', 'apu']),
  computeUnits: z.number().int().nullable(),
  gfxTargetVersion: z.number().int().nullable(),
  /** `gfx90a`, `gfx1100`; null for CPU nodes or when the key is absent. */
  gfxTarget: z.string().nullable(),
  /** `DDDD:BB:DD.F` from `domain` and `location_id`. */
  pciAddress: z.string().nullable(),
  renderNode: z.string().nullable(),
  /** Sum of FB heaps (`mem_banks/*`), else `local_mem_size` on old kernels. */
  vramBytes: z.number().nullable(),
  /** `capability` bit names as in `kfd_sysfs.h` (`ATS_PRESENT`, `SVMAPI_SUPPORTED`, ...). */
  capabilityFlags: z.array(z.string()),
  svmApiSupported: z.boolean().nullable(),
  atsPresent: z.boolean().nullable(),
  /** XGMI hive as decimal string; null if 0 or absent. */
  hiveId: z.string().nullable(),
  waveFrontSize: z.number().int().nullable(),
})
export type KfdNodeDerived = z.infer<typeof KfdNodeDerived>

export const KfdNode = z.object({
  id: z.number().int(),
  path: z.string(),
  gpuId: z.number().int().nullable(),
  name: z.string().nullable(),
  properties: KfdProperties,
  derived: KfdNodeDerived,
  memBanks: z.array(KfdMemBank),
  caches: z.array(KfdCache),
  ioLinks: z.array(KfdLink),
  p2pLinks: z.array(KfdLink),
  /** `ok`, or `denied` (EPERM/EACCES: hidden by the device cgroup), or `malformed`. */
  status: z.enum(['ok', 'denied', 'malformed']),
})
export type KfdNode = z.infer<typeof KfdNode>

export const DevNode = z.object({
  path: z.string(),
  present: z.boolean(),
  /** `c` for char device, `b`, `file` (capture without manifest), `other`. */
  type: z.string().nullable(),
  /** Octal permission bits, e.g. `0666`. */
  mode: z.string().nullable(),
  /** `major:minor`. */
  rdev: z.string().nullable(),
  /** Open for read/write by this process: true/false, or null when not tried (captures). */
  accessible: z.boolean().nullable(),
})
export type DevNode = z.infer<typeof DevNode>

export const KfdSection = z.object({
  dev: DevNode,
  topologyPresent: z.boolean(),
  generationId: z.number().int().nullable(),
  systemProperties: KfdProperties,
  nodes: z.array(KfdNode),
})
export type KfdSection = z.infer<typeof KfdSection>

// ---------------------------------------------------------------------------------------------
// DRM, NVIDIA
// ---------------------------------------------------------------------------------------------

export const DrmNode = z.object({
  /** `card0`, `renderD128`. */
  name: z.string(),
  kind: z.enum(['card', 'render']),
  pciAddress: z.string().nullable(),
  driver: z.string().nullable(),
  vendorId: z.string().nullable(),
  deviceId: z.string().nullable(),
})
export type DrmNode = z.infer<typeof DrmNode>

export const NvidiaGpu = z.object({
  address: z.string(),
  model: z.string().nullable(),
  uuid: z.string().nullable(),
  busType: z.string().nullable(),
  dmaSizeBits: z.number().int().nullable(),
  deviceMinor: z.number().int().nullable(),
  information: z.record(z.string(), z.string()),
})
export const NvidiaSection = z.object({
  driverPresent: z.boolean(),
  version: z.string().nullable(),
  gpus: z.array(NvidiaGpu),
  devNodes: z.array(DevNode),
  uvm: z.object({
    loaded: z.boolean(),
    parameters: z.record(z.string(), z.string()),
    /** UVM uses HMM: `uvm_disable_hmm` is N (null when unknown). */
    hmmEnabled: z.boolean().nullable(),
    atsMode: z.number().int().nullable(),
  }),
})
export type NvidiaSection = z.infer<typeof NvidiaSection>

// ---------------------------------------------------------------------------------------------
// Kernel
// ---------------------------------------------------------------------------------------------

export const KconfigOption = z.object({
  /** Full name, `CONFIG_HMM_MIRROR`. */
  name: z.string(),
  /** `y`, `m`, a number or string value, `n` (is not set), or null (absent from the file). */
  value: z.string().nullable(),
  meaning: z.string(),
  /** `ok`, `missing` (not set / absent where this project wants it), `info` (reported only). */
  verdict: z.enum(['ok', 'missing', 'info']),
})
export type KconfigOption = z.infer<typeof KconfigOption>

export const CmdlineIommu = z.object({
  intelIommu: z.array(z.string()),
  amdIommu: z.array(z.string()),
  /** `iommu=` values (pt, nopt, off, force, soft). */
  iommu: z.array(z.string()),
  /** `iommu.passthrough=` as boolean. */
  passthrough: z.boolean().nullable(),
  /** `iommu.strict=` as boolean (deprecated intel_iommu=strict / amd_iommu=fullflush count too). */
  strict: z.boolean().nullable(),
  /** Every IOMMU-related token as written. */
  tokens: z.array(z.string()),
})
export type CmdlineIommu = z.infer<typeof CmdlineIommu>

export const KernelSection = z.object({
  release: z.string().nullable(),
  cmdline: z.object({ raw: z.string().nullable(), iommu: CmdlineIommu }),
  config: z.object({
    /** `/proc/config.gz`, `/boot/config-<release>`, ... or null if none was readable. */
    source: z.string().nullable(),
    options: z.array(KconfigOption),
  }),
  /** `/proc/cpuinfo` facts the SVA verdict needs. */
  cpu: z.object({
    vendor: z.string().nullable(),
    modelName: z.string().nullable(),
    gbPages: z.boolean().nullable(),
    la57: z.boolean().nullable(),
  }),
})
export type KernelSection = z.infer<typeof KernelSection>

// ---------------------------------------------------------------------------------------------
// systeminformation
// ---------------------------------------------------------------------------------------------

export const SystemSection = z.object({
  status: z.enum(['ok', 'partial', 'unavailable', 'skipped']),
  note: z.string().nullable(),
  cpu: z.object({ manufacturer: z.string(), brand: z.string(), cores: z.number(), physicalCores: z.number() }).nullable(),
  memory: z.object({ totalBytes: z.number() }).nullable(),
  os: z.object({ platform: z.string(), distro: z.string(), release: z.string(), kernel: z.string(), arch: z.string() }).nullable(),
  gpus: z.array(
    z.object({
      vendor: z.string(),
      model: z.string(),
      bus: z.string(),
      busAddress: z.string().nullable(),
      vramMiB: z.number().nullable(),
    }),
  ),
})
export type SystemSection = z.infer<typeof SystemSection>

// ---------------------------------------------------------------------------------------------
// Boot log
// ---------------------------------------------------------------------------------------------

export const BootLogSection = z.object({
  /** `/dev/kmsg`, a capture's `/.hmmlab-dmesg.txt`, a file given with `--dmesg`, or null. */
  source: z.string().nullable(),
  /** Why there is no log (`EPERM: kernel.dmesg_restrict`), when there is none. */
  note: z.string().nullable(),
  /** The IOMMU-related lines kept (DMAR, AMD-Vi, iommu), without timestamps. */
  lines: z.array(z.string()),
  /** `iommu: Default domain type: Translated|Passthrough|Blocked`. */
  defaultDomainType: z.string().nullable(),
  /** `iommu: DMA domain TLB invalidation policy: lazy|strict mode`. */
  invalidationPolicy: z.string().nullable(),
  /** Intel units printed at boot: `dmar0` with its registers, and whether sysfs has it. */
  dmarUnits: z.array(z.object({ unit: z.string(), address: z.string(), version: z.string(), cap: z.string(), ecap: z.string(), inSysfs: z.boolean() })),
  /** AMD `Extended features` lines: EFR (and EFR2) with the names that kernel printed. */
  amdFeatures: z.array(z.object({ efr: z.string(), efr2: z.string().nullable(), names: z.array(z.string()) })),
})
export type BootLogSection = z.infer<typeof BootLogSection>

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

export const ProbeReport = z.object({
  schema: z.literal('hmmlab.probe'),
  schemaVersion: z.literal(PROBE_SCHEMA_VERSION),
  /** ISO time the probe ran. */
  probedAt: z.string(),
  /** `live` (the running machine), `directory` or `archive` (a captured sysroot). */
  source: z.object({ kind: z.enum(['live', 'directory', 'archive']), path: z.string() }),
  /** Findings first: errors, then warnings, then info. */
  findings: z.array(Finding),
  /** A one-line summary per area (`IOMMU: 2 Intel VT-d units`, ...). */
  summary: z.array(z.string()),
  kernel: KernelSection,
  iommu: z.object({
    /** `/sys/class/iommu` exists (even if empty). */
    classPresent: z.boolean(),
    units: z.array(IommuUnit),
  }),
  iommuGroups: z.array(IommuGroup),
  pci: z.array(PciDevice),
  kfd: KfdSection,
  drm: z.array(DrmNode),
  nvidia: NvidiaSection,
  system: SystemSection,
  bootLog: BootLogSection,
  /** Every path the probe tried, with the outcome; a capture copies exactly the `ok` ones. */
  files: z.object({
    read: z.number().int(),
    errors: z.array(z.object({ path: z.string(), code: z.string() })),
  }),
})
export type ProbeReport = z.infer<typeof ProbeReport>
