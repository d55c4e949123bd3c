/**
 * Intel VT-d: decode of VER_REG, CAP_REG and ECAP_REG as exported by
 * `/sys/class/iommu/dmarN/intel-iommu/{version,address,cap,ecap,domains_supported,domains_used}`.
 *
 * Field names are the VT-d specification's abbreviations as printed in Intel datasheets; the
 * kernel accessor from `drivers/iommu/intel/iommu.h` is given for each. Bits whose meaning
 * changed between spec revisions (ECS, DIS, the 2.x PASID bit 28, POT, VCS) are decoded but
 * marked `legacy` and never used for verdicts.
 */
import type { DecodedRegister, IntelDerived, IntelIommu, RegisterField, SvaVerdict } from '../../../shared/probe'
import { bit, field, formatBytes, hex, parseHex, yesNo } from './bits'
import type { ProbeContext } from './context'
import type { KernelFacts } from './kernel'

interface FieldSpec {
  name: string
  hi: number
  lo: number
  kernel?: string
  legacy?: boolean
  meaning: (v: number) => string
}

const flag = (name: string, n: number, kernel: string | undefined, what: string, legacy = false): FieldSpec => ({
  name,
  hi: n,
  lo: n,
  kernel,
  legacy,
  meaning: (v) => `${what}: ${yesNo(v === 1)}`,
})

const SAGAW_LEVELS: Record<number, { levels: number; width: number }> = {
  1: { levels: 3, width: 39 },
  2: { levels: 4, width: 48 },
  3: { levels: 5, width: 57 },
}

export const INTEL_CAP_FIELDS: FieldSpec[] = [
  {
    name: 'ND',
    hi: 2,
    lo: 0,
    kernel: 'cap_ndoms',
    meaning: (v) => (v === 7 ? 'reserved value 7' : `${2 ** (4 + 2 * v)} domains (${4 + 2 * v}-bit domain id)`),
  },
  flag('AFL', 3, 'cap_afl', 'advanced fault logging'),
  flag('RWBF', 4, 'cap_rwbf', 'required write-buffer flushing'),
  flag('PLMR', 5, 'cap_plmr', 'protected low-memory region'),
  flag('PHMR', 6, 'cap_phmr', 'protected high-memory region'),
  {
    name: 'CM',
    hi: 7,
    lo: 7,
    kernel: 'cap_caching_mode',
    meaning: (v) => (v ? 'caching mode: not-present entries may be cached (virtual IOMMU); flush on map, strict flushing' : 'caching mode off'),
  },
  {
    name: 'SAGAW',
    hi: 12,
    lo: 8,
    kernel: 'cap_sagaw',
    meaning: (v) => {
      const parts: string[] = []
      for (const b of [1, 2, 3]) {
        const s = SAGAW_LEVELS[b]
        if (s && (v >> b) & 1) parts.push(`${s.levels}-level (${s.width}-bit)`)
      }
      if (v & 1) parts.push('bit 0 (2-level/30-bit, reserved in current spec)')
      if (v & 16) parts.push('bit 4 (6-level/64-bit, reserved in current spec)')
      return parts.length ? parts.join(', ') : 'no supported second-stage walk'
    },
  },
  { name: 'MGAW', hi: 21, lo: 16, kernel: 'cap_mgaw', meaning: (v) => `${v + 1}-bit maximum guest address width` },
  flag('ZLR', 22, 'cap_zlr', 'zero-length reads'),
  flag('ISOCH', 23, 'cap_isoch', 'isochronous unit (reserved in the spec; Linux uses it only for a Tylersburg quirk)', true),
  { name: 'FRO', hi: 33, lo: 24, kernel: 'cap_fault_reg_offset', meaning: (v) => `fault-recording registers at offset ${hex(v * 16)}` },
  {
    name: 'SLLPS',
    hi: 37,
    lo: 34,
    kernel: 'cap_super_page_val',
    meaning: (v) => {
      const sizes = superpageSizes(v)
      return sizes.length ? `second-level superpages: ${sizes.map(formatBytes).join(', ')}` : 'no second-level superpages'
    },
  },
  {
    name: 'PSI',
    hi: 39,
    lo: 39,
    kernel: 'cap_pgsel_inv',
    meaning: (v) => (v ? 'page-selective IOTLB invalidation supported' : 'no page-selective invalidation: every flush is domain-selective'),
  },
  { name: 'NFR', hi: 47, lo: 40, kernel: 'cap_num_fault_regs', meaning: (v) => `${v + 1} fault-recording register${v === 0 ? '' : 's'}` },
  {
    name: 'MAMV',
    hi: 53,
    lo: 48,
    kernel: 'cap_max_amask_val',
    meaning: (v) => `largest invalidation mask 2^${v} pages (${formatBytes(4096 * 2 ** v)}); valid only with PSI`,
  },
  flag('DWD', 54, 'cap_write_drain', 'write draining'),
  flag('DRD', 55, 'cap_read_drain', 'read draining'),
  flag('FL1GP', 56, 'cap_fl1gp_support', 'first-stage 1 GiB pages'),
  {
    name: 'FL64KP/SL64KP',
    hi: 58,
    lo: 57,
    legacy: true,
    meaning: (v) => (v ? `reserved bits set (${v}); labelled FL64KP/SL64KP in some datasheets, unused by Linux` : 'reserved'),
  },
  flag('PI', 59, 'cap_pi_support', 'posted interrupts'),
  flag('FL5LP', 60, 'cap_fl5lp_support', 'first-stage 5-level paging'),
  flag('ECMDS', 61, 'cap_ecmds', 'enhanced command interface'),
  flag('ESIRTPS', 62, 'cap_esirtps', 'enhanced set interrupt root table pointer'),
  flag('ESRTPS', 63, 'cap_esrtps', 'enhanced set root table pointer'),
]
const CAP_RESERVED_BITS = [13, 14, 15, 38]

export const INTEL_ECAP_FIELDS: FieldSpec[] = [
  {
    name: 'C',
    hi: 0,
    lo: 0,
    kernel: 'ecap_coherent',
    meaning: (v) => (v ? 'page walks snoop caches (coherent)' : 'page walks not coherent: every table update is clflushed'),
  },
  flag('QI', 1, 'ecap_qis', 'queued invalidation'),
  flag('DT', 2, 'ecap_dev_iotlb_support', 'device-TLB (ATS) invalidation'),
  flag('IR', 3, 'ecap_ir_support', 'interrupt remapping'),
  flag('EIM', 4, 'ecap_eim_support', 'extended interrupt mode (x2APIC)'),
  flag('CH', 5, undefined, 'caching hints (VT-d 1.x; reserved now)', true),
  flag('PT', 6, 'ecap_pass_through', 'hardware pass-through'),
  flag('SC', 7, 'ecap_sc_support', 'snoop control'),
  { name: 'IRO', hi: 17, lo: 8, kernel: 'ecap_iotlb_offset', meaning: (v) => `IOTLB registers at offset ${hex(v * 16)}` },
  { name: 'MHMV', hi: 23, lo: 20, kernel: 'ecap_max_handle_mask', meaning: (v) => `interrupt-entry-cache max handle mask ${v}` },
  flag('ECS', 24, 'ecap_ecs', 'extended context (VT-d 2.x legacy PASID mode, removed in 3.0)', true),
  flag('MTS', 25, 'ecap_mts', 'memory type support'),
  flag('NEST', 26, 'ecap_nest', 'nested translation (used only in scalable mode)'),
  flag('DIS', 27, 'ecap_dis', 'deferred invalidate (VT-d 2.x legacy)', true),
  flag('PASID(2.x)', 28, 'ecap_broken_pasid', 'VT-d 2.x PASID bit, treated as broken by Linux; not PASID', true),
  flag('PRS', 29, 'ecap_prs', 'page requests (PCIe PRI, I/O page faults)'),
  flag('ERS', 30, 'ecap_ers', 'execute requests'),
  flag('SRS', 31, 'ecap_srs', 'supervisor requests'),
  flag('POT', 32, undefined, 'PASID-only translation (VT-d 2.x legacy)', true),
  flag('NWFS', 33, 'ecap_nwfs', 'no-write flag in translation requests'),
  flag('EAFS', 34, 'ecap_eafs', 'extended-accessed flag'),
  { name: 'PSS', hi: 39, lo: 35, kernel: 'ecap_pss', meaning: (v) => `PASID size ${v + 1} bits (valid only with PASID=1)` },
  flag('PASID', 40, 'ecap_pasid', 'process address space IDs'),
  flag('DIT', 41, 'ecap_dit', 'device-TLB invalidation throttling'),
  flag('PDS', 42, 'ecap_pds', 'page-request drain'),
  flag('SMTS', 43, 'ecap_smts', 'scalable-mode translation'),
  flag('VCS', 44, 'ecap_vcs', 'virtual command (vIOMMU PASID allocation; dropped by newer kernels)', true),
  flag('SLADS', 45, 'ecap_slads', 'second-stage accessed/dirty bits'),
  flag('SLTS', 46, 'ecap_slts', 'second-stage translation in scalable mode'),
  flag('FLTS', 47, 'ecap_flts', 'first-stage translation in scalable mode'),
  flag('SMPWCS', 48, 'ecap_smpwc', 'scalable-mode page walks coherent'),
  flag('RPS', 49, 'ecap_rps', 'RID_PASID in scalable-mode context entries'),
  flag('TDXIO', 50, undefined, 'TDX-IO (datasheet name; not used by Linux)'),
  flag('PMS', 51, 'ecap_pms', 'performance monitoring'),
  flag('ADMS', 52, undefined, 'abort-DMA mode (datasheet name)'),
  flag('RPRIVS', 53, undefined, 'RID-PRIV in scalable-mode context (datasheet name)'),
]
const ECAP_RESERVED_BITS = [18, 19, ...Array.from({ length: 10 }, (_, i) => 54 + i)]

function superpageSizes(sllps: number): number[] {
  const out: number[] = []
  // bit 0 → 2 MiB (21 bits), bit 1 → 1 GiB (30), bit 2 → 512 GiB (39), bit 3 → 1 TiB (40; spec)
  const shifts = [21, 30, 39, 40]
  shifts.forEach((s, i) => {
    if ((sllps >> i) & 1) out.push(2 ** s)
  })
  return out
}

function decode(name: string, raw: bigint, specs: FieldSpec[], reserved: number[], widthBits: number): DecodedRegister {
  const fields: RegisterField[] = specs.map((s) => {
    const value = field(raw, s.hi, s.lo)
    const f: RegisterField = { name: s.name, bits: s.hi === s.lo ? `${s.hi}` : `${s.hi}:${s.lo}`, value, meaning: s.meaning(value) }
    if (s.kernel) f.kernel = s.kernel
    if (s.legacy) f.legacy = true
    return f
  })
  const reservedSet = reserved.filter((b) => bit(raw, b)).map((b) => `bit ${b}`)
  return { name, raw: hex(raw), widthBits, fields, reservedSet }
}

/** Decodes CAP_REG (offset 0x08). */
export function decodeIntelCap(cap: bigint): DecodedRegister {
  return decode('CAP_REG', cap, INTEL_CAP_FIELDS, CAP_RESERVED_BITS, 64)
}

/** Decodes ECAP_REG (offset 0x10). */
export function decodeIntelEcap(ecap: bigint): DecodedRegister {
  return decode('ECAP_REG', ecap, INTEL_ECAP_FIELDS, ECAP_RESERVED_BITS, 64)
}

/** The values a simulator and a kernel engineer care about, computed from CAP and ECAP. */
export function deriveIntel(cap: bigint, ecap: bigint): IntelDerived {
  const nd = field(cap, 2, 0)
  const sagaw = field(cap, 12, 8)
  const levels: number[] = []
  const widths: number[] = []
  for (const b of [1, 2, 3]) {
    const s = SAGAW_LEVELS[b]
    if (s && (sagaw >> b) & 1) {
      levels.push(s.levels)
      widths.push(s.width)
    }
  }
  const psi = bit(cap, 39)
  const mamv = field(cap, 53, 48)
  const pasid = bit(ecap, 40)
  const pss = field(ecap, 39, 35)
  const smts = bit(ecap, 43)
  return {
    domainIdBits: 4 + 2 * nd,
    domains: 2 ** (4 + 2 * nd),
    mgaw: field(cap, 21, 16) + 1,
    pageWalkLevels: levels,
    addressWidths: widths,
    superpageSizes: superpageSizes(field(cap, 37, 34)),
    psi,
    mamv,
    largestPsiBytes: psi ? 4096 * 2 ** mamv : null,
    faultRecordingRegisters: field(cap, 47, 40) + 1,
    faultRecordingOffset: field(cap, 33, 24) * 16,
    iotlbRegisterOffset: field(ecap, 17, 8) * 16,
    cachingMode: bit(cap, 7),
    writeBufferFlush: bit(cap, 4),
    coherent: bit(ecap, 0),
    queuedInvalidation: bit(ecap, 1),
    deviceTlb: bit(ecap, 2),
    interruptRemapping: bit(ecap, 3),
    extendedInterruptMode: bit(ecap, 4),
    passThrough: bit(ecap, 6),
    snoopControl: bit(ecap, 7),
    nested: bit(ecap, 26) && smts,
    scalableMode: smts,
    firstStage: bit(ecap, 47),
    secondStage: bit(ecap, 46),
    secondStageDirty: bit(ecap, 45),
    scalableModeCoherent: bit(ecap, 48),
    pasid,
    pasidBits: pasid ? pss + 1 : null,
    maxPasids: pasid ? 2 * 2 ** pss : null,
    pageRequests: bit(ecap, 29),
    pageRequestDrain: bit(ecap, 42),
    firstStage1GiB: bit(cap, 56),
    firstStage5Level: bit(cap, 60),
    postedInterrupts: bit(cap, 59),
  }
}

/**
 * Would Linux allow SVA on this unit? Hardware gates from `intel_svm_check()` and
 * `sm_supported()`/`pasid_supported()`, then kernel gates (config, command line).
 */
export function intelSvaVerdict(d: IntelDerived, k: KernelFacts | null): SvaVerdict {
  const blockers: string[] = []
  const unknowns: string[] = []
  const notes: string[] = []
  if (!d.scalableMode) blockers.push('ECAP.SMTS=0: no scalable-mode translation, so Linux cannot use PASIDs on this unit')
  if (!d.pasid) blockers.push('ECAP.PASID=0: no PASID support (firmware may have disabled it)')
  if (!d.firstStage && d.scalableMode) blockers.push('ECAP.FLTS=0: no first-stage translation, so CPU page tables cannot be used')
  const gb = k?.cpu.gbPages ?? null
  if (!d.firstStage1GiB) {
    if (gb === true) blockers.push('CAP.FL1GP=0 while the CPU has 1 GiB pages: "SVM disabled, incompatible 1GB page capability"')
    else if (gb === null) unknowns.push('CAP.FL1GP=0: SVA is refused if the CPU has 1 GiB pages (pdpe1gb), which is not known here')
  }
  const la57 = k?.cpu.la57 ?? null
  if (!d.firstStage5Level) {
    if (la57 === true) blockers.push('CAP.FL5LP=0 while the CPU runs 5-level paging (la57): SVA refused')
    else if (la57 === null) unknowns.push('CAP.FL5LP=0: SVA is refused on CPUs with 5-level paging (la57), which is not known here')
  }
  if (!d.pageRequests) notes.push('ECAP.PRS=0: no page requests, so devices cannot take I/O page faults; memory must be present before DMA')
  if (k) {
    const svm = k.config.get('CONFIG_INTEL_IOMMU_SVM')
    if (k.configSource === null) unknowns.push('kernel config not readable: CONFIG_INTEL_IOMMU_SVM unknown')
    else if (svm !== 'y') blockers.push('CONFIG_INTEL_IOMMU_SVM is not set in this kernel')
    const intelOpts = k.cmdline.intelIommu
    if (intelOpts.includes('off')) blockers.push('intel_iommu=off on the command line')
    if (intelOpts.includes('sm_off')) blockers.push('intel_iommu=sm_off on the command line: scalable mode disabled')
    else if (!intelOpts.includes('sm_on')) {
      const def = k.config.get('CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON')
      if (k.configSource === null) unknowns.push('whether scalable mode is on by default is unknown (no kernel config)')
      else if (def !== 'y') blockers.push('scalable mode is off: neither intel_iommu=sm_on nor CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON')
    }
  } else {
    unknowns.push('kernel facts not available')
  }
  if (blockers.length) return { verdict: 'not-capable', reasons: [...blockers, ...unknowns, ...notes] }
  if (unknowns.length) return { verdict: 'unknown', reasons: [...unknowns, ...notes] }
  return { verdict: 'capable', reasons: ['scalable mode, PASID and first-stage translation available', ...notes] }
}

/** Parses the dmesg line `DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap … ecap …`. */
export function parseDmarBootLine(line: string): { unit: string; address: string; major: number; minor: number; cap: bigint; ecap: bigint } | null {
  const m = /dmar(\d+): reg_base_addr (\S+) ver (\d+):(\d+) cap (\S+) ecap (\S+)/.exec(line)
  if (!m) return null
  const cap = parseHex(m[5] ?? '', 64)
  const ecap = parseHex(m[6] ?? '', 64)
  if (!cap.ok || !ecap.ok) return null
  return { unit: `dmar${m[1]}`, address: '0x' + (m[2] ?? ''), major: Number(m[3]), minor: Number(m[4]), cap: cap.value, ecap: ecap.value }
}

/** Reads `/sys/class/iommu/<name>/intel-iommu/*`. */
export function readIntelUnit(ctx: ProbeContext, name: string, base: string, endpoints: string[], k: KernelFacts | null): IntelIommu {
  const dir = `${base}/intel-iommu`
  const file = (f: string) => `${dir}/${f}`
  let version: IntelIommu['version'] = null
  const vt = ctx.text(file('version'), name)
  if (vt !== null) {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(vt)
    if (m) version = { major: Number(m[1]), minor: Number(m[2]) }
    else ctx.malformed(file('version'), name, `expected "major:minor", got ${JSON.stringify(vt.trim().slice(0, 40))}`)
  }
  let address: string | null = null
  const at = ctx.text(file('address'), name)
  if (at !== null) {
    const p = parseHex(at, 64)
    if (p.ok) address = hex(p.value)
    else ctx.malformed(file('address'), name, p.why)
  }
  const readReg = (f: 'cap' | 'ecap'): bigint | null => {
    const t = ctx.text(file(f), name)
    if (t === null) {
      if (!ctx.exists(file(f))) ctx.error('intel.missing-register', name, `${file(f)} is missing: cannot decode ${f.toUpperCase()}_REG`, file(f))
      return null
    }
    const p = parseHex(t, 64)
    if (!p.ok) {
      ctx.malformed(file(f), name, p.why)
      return null
    }
    return p.value
  }
  const cap = readReg('cap')
  const ecap = readReg('ecap')
  const num = (f: string): number | null => {
    const t = ctx.text(file(f), name)
    if (t === null) return null
    const n = Number(t.trim())
    if (!/^-?\d+$/.test(t.trim()) || !Number.isSafeInteger(n)) {
      ctx.malformed(file(f), name, `expected a decimal number, got ${JSON.stringify(t.trim().slice(0, 40))}`)
      return null
    }
    return n
  }
  const domainsSupported = num('domains_supported')
  const domainsUsed = num('domains_used')

  const allOnes = (1n << 64n) - 1n
  let derived: IntelDerived | null = null
  let sva: SvaVerdict = { verdict: 'unknown', reasons: ['CAP/ECAP not readable'] }
  if (cap !== null && ecap !== null) {
    if (cap === allOnes && ecap === allOnes) {
      ctx.error('intel.all-ones', name, `${name}: CAP and ECAP read all ones: firmware bug ("Your BIOS is broken"); the kernel drops such a unit`, file('cap'))
    } else {
      derived = deriveIntel(cap, ecap)
      sva = intelSvaVerdict(derived, k)
      intelFindings(ctx, name, derived, cap, ecap, domainsSupported, file)
    }
  }
  return {
    kind: 'intel-vt-d',
    name,
    path: base,
    endpoints,
    version,
    address,
    cap: cap === null ? null : decodeIntelCap(cap),
    ecap: ecap === null ? null : decodeIntelEcap(ecap),
    domainsSupported,
    domainsUsed,
    derived,
    sva,
  }
}

function intelFindings(
  ctx: ProbeContext,
  name: string,
  d: IntelDerived,
  cap: bigint,
  ecap: bigint,
  domainsSupported: number | null,
  file: (f: string) => string,
): void {
  if (!d.psi)
    ctx.warn('intel.no-psi', name, `${name}: no PSI: every invalidation flushes the whole domain (domain-selective IOTLB flush on each unmap)`, file('cap'))
  else if (d.mamv < 9)
    ctx.warn(
      'intel.small-mamv',
      name,
      `${name}: MAMV=${d.mamv}: ranges above ${formatBytes(4096 * 2 ** d.mamv)} fall back to a domain-selective flush (spec recommends MAMV ≥ 9)`,
      file('cap'),
    )
  if (d.cachingMode)
    ctx.warn(
      'intel.caching-mode',
      name,
      `${name}: CM=1 (virtual IOMMU): the kernel flushes on map as well as unmap and forces strict invalidation`,
      file('cap'),
    )
  if (!d.coherent && !d.scalableModeCoherent)
    ctx.info('intel.not-coherent', name, `${name}: page walks are not coherent (C=0): every page-table update is followed by clflush`, file('ecap'))
  if (!d.queuedInvalidation)
    ctx.warn(
      'intel.no-qi',
      name,
      `${name}: no queued invalidation (QI=0): register-based invalidation only, no device-TLB or PASID invalidations`,
      file('ecap'),
    )
  if (d.writeBufferFlush) ctx.info('intel.rwbf', name, `${name}: RWBF=1: the write buffer is flushed before each invalidation`, file('cap'))
  if (bit(ecap, 40) && !d.scalableMode)
    ctx.info('intel.pasid-without-sm', name, `${name}: PASID bit set but SMTS=0: no scalable mode, so Linux cannot use PASIDs here`, file('ecap'))
  if (bit(ecap, 28))
    ctx.info('intel.legacy-pasid-bit', name, `${name}: ECAP bit 28 (VT-d 2.x PASID, "broken" in Linux) is set; it is not treated as PASID`, file('ecap'))
  if (field(cap, 2, 0) === 7) ctx.malformed(file('cap'), name, 'CAP.ND=7 is a reserved value')
  if (d.pageWalkLevels.length === 0)
    ctx.warn('intel.no-sagaw', name, `${name}: SAGAW has no supported walk: "No supported address widths", the kernel ignores this unit`, file('cap'))
  if (domainsSupported !== null && domainsSupported !== d.domains && domainsSupported !== d.domains / 2)
    ctx.warn(
      'intel.domains-mismatch',
      name,
      `${name}: domains_supported=${domainsSupported} but CAP.ND gives ${d.domains}; the sysfs value and the cap file disagree`,
      file('domains_supported'),
    )
}
