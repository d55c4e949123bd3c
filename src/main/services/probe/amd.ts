/**
 * AMD-Vi: `/sys/class/iommu/ivhdN/amd-iommu/{cap,features}`.
 *
 * `cap` is the IOMMU's PCI capability header dword (`%x`). `features` changed format twice:
 * ≤ 5.19 `%llx` (EFR of this unit); 6.0 `%llx:%llx` as EFR2:EFR; after the global
 * `amd_iommu_efr`/`amd_iommu_efr2` refactor `%llx:%llx` as EFR:EFR2 (global, ANDed over units).
 * Feature names are the strings `print_iommu_info()` in `drivers/iommu/amd/init.c` prints.
 */
import type { AmdDerived, AmdFeatures, AmdIommu, DecodedRegister, RegisterField, SvaVerdict } from '../../../shared/probe'
import { bit, field, hex, parseHex, yesNo } from './bits'
import type { ProbeContext } from './context'
import type { KernelFacts } from './kernel'

interface FieldSpec {
  name: string
  hi: number
  lo: number
  meaning: (v: number) => string
  kernel?: string
}
const flag = (name: string, n: number, what: string, kernel?: string): FieldSpec => ({
  name,
  hi: n,
  lo: n,
  kernel,
  meaning: (v) => `${what}: ${yesNo(v === 1)}`,
})

/** Capability header (PCI config space at the IVHD's cap_ptr). */
export const AMD_CAP_FIELDS: FieldSpec[] = [
  { name: 'CapID', hi: 7, lo: 0, meaning: (v) => (v === 0x0f ? 'secure device capability (0x0F)' : `capability id ${hex(v)} (expected 0x0F)`) },
  { name: 'CapPtr', hi: 15, lo: 8, meaning: (v) => `next capability at ${hex(v)}` },
  { name: 'CapType', hi: 18, lo: 16, meaning: (v) => (v === 3 ? 'IOMMU (type 3)' : `type ${v}`) },
  { name: 'CapRev', hi: 23, lo: 19, meaning: (v) => `revision ${v}` },
  flag('IotlbSup', 24, 'remote IOTLB (device ATS)', 'IOMMU_CAP_IOTLB'),
  flag('HtTunnel', 25, 'HyperTransport tunnel translation'),
  {
    name: 'NpCache',
    hi: 26,
    lo: 26,
    kernel: 'IOMMU_CAP_NPCACHE',
    meaning: (v) => (v ? 'caches not-present entries (virtualized IOMMU): strict flushing, flush on map' : 'does not cache not-present entries'),
  },
  flag('EFRSup', 27, 'extended feature register present', 'IOMMU_CAP_EFR'),
  flag('CapExt', 28, 'miscellaneous information register 1 present'),
]

/** Extended Feature Register (MMIO 0x30). */
export const AMD_EFR_FIELDS: FieldSpec[] = [
  flag('PreFSup', 0, 'prefetch IOMMU pages command', 'FEATURE_PREFETCH'),
  flag('PPRSup', 1, 'peripheral page requests (PRI / I/O page faults)', 'FEATURE_PPR'),
  flag('XTSup', 2, 'x2APIC interrupt remapping', 'FEATURE_X2APIC'),
  flag('NXSup', 3, 'no-execute protection', 'FEATURE_NX'),
  flag('GTSup', 4, 'guest (v2, PASID) translation', 'FEATURE_GT'),
  flag('[5]', 5, 'bit 5 (printed as "[5]" by Linux)'),
  flag('IASup', 6, 'INVALIDATE_IOMMU_ALL command', 'FEATURE_IA'),
  flag('GASup', 7, 'guest virtual APIC (128-bit IRTE)', 'FEATURE_GA'),
  flag('HESup', 8, 'hardware error registers', 'FEATURE_HE'),
  flag('PCSup', 9, 'performance counters', 'FEATURE_PC'),
  { name: 'HATS', hi: 11, lo: 10, kernel: 'FEATURE_HATS', meaning: (v) => `host page-table levels: ${[4, 5, 6][v] ?? 'reserved'} max` },
  { name: 'GATS', hi: 13, lo: 12, kernel: 'FEATURE_GATS', meaning: (v) => `guest page-table levels: ${v === 0 ? 4 : v === 1 ? 5 : 'reserved'}` },
  { name: 'GLXSup', hi: 15, lo: 14, kernel: 'FEATURE_GLX', meaning: (v) => `guest CR3 table levels: ${v + 1}` },
  { name: 'SmiFSup', hi: 17, lo: 16, meaning: (v) => `SMI filter support ${v}` },
  { name: 'SmiFRC', hi: 20, lo: 18, meaning: (v) => `SMI filter register count ${v}` },
  flag('GAMSup (GA_vAPIC)', 21, 'guest virtual APIC mode', 'FEATURE_GAM_VAPIC'),
  { name: 'PASmax', hi: 36, lo: 32, kernel: 'FEATURE_PASID_MASK', meaning: (v) => `PASID width ${v + 1} bits` },
  flag('MsiCapMmioSup', 46, 'MSI capability via MMIO'),
  flag('GIOSup', 48, 'guest I/O protection', 'FEATURE_GIOSUP'),
  flag('HASup', 49, 'host access bit', 'FEATURE_HASUP'),
  flag('EPHSup', 50, 'enhanced PPR handling', 'FEATURE_EPHSUP'),
  flag('HDSup', 52, 'host dirty tracking', 'FEATURE_HDSUP'),
  flag('SNPSup', 63, 'SEV-SNP', 'FEATURE_SNP'),
]

/** Extended Feature 2 Register (MMIO 0x1A0): the fields Linux names. */
export const AMD_EFR2_FIELDS: FieldSpec[] = [
  flag('SEVSNPIOSup', 1, 'SEV-SNP trusted I/O', 'FEATURE_SEVSNPIO_SUP'),
  flag('GCR3TRPMode', 3, 'guest CR3 table trap mode', 'FEATURE_GCR3TRPMODE'),
  {
    name: 'SNPAVICSup',
    hi: 7,
    lo: 5,
    kernel: 'FEATURE_SNPAVICSUP',
    meaning: (v) => (v === 1 ? 'SNP AVIC: guest APIC mode supported' : `SNP AVIC support ${v}`),
  },
  {
    name: 'NumIntRemapSup',
    hi: 9,
    lo: 8,
    kernel: 'FEATURE_NUM_INT_REMAP_SUP',
    meaning: (v) => (v === 1 ? '2048 interrupt-remapping entries per device' : v === 0 ? '512 interrupt-remapping entries per device' : `reserved (${v})`),
  },
  flag('HtRangeIgnore', 11, 'HyperTransport range not reserved', 'FEATURE_HT_RANGE_IGNORE'),
]

/** Names printed for bits 0..9 by `print_iommu_info()`. */
const FEAT_STR = ['PreF', 'PPR', 'X2APIC', 'NX', 'GT', '[5]', 'IA', 'GA', 'HE', 'PC']

function decode(name: string, raw: bigint, specs: FieldSpec[], widthBits: number): DecodedRegister {
  const fields: RegisterField[] = specs.map((s) => {
    const value = field(raw, s.hi, s.lo)
    const f: RegisterField = { name: s.name, bits: s.hi === s.lo ? `${s.hi}` : `${s.hi}:${s.lo}`, value, meaning: s.meaning(value) }
    if (s.kernel) f.kernel = s.kernel
    return f
  })
  return { name, raw: hex(raw), widthBits, fields, reservedSet: [] }
}

export const decodeAmdCap = (cap: bigint): DecodedRegister => decode('CAP header', cap, AMD_CAP_FIELDS, 32)
export const decodeAmdEfr = (efr: bigint): DecodedRegister => decode('EFR', efr, AMD_EFR_FIELDS, 64)
export const decodeAmdEfr2 = (efr2: bigint): DecodedRegister => decode('EFR2', efr2, AMD_EFR2_FIELDS, 64)

/**
 * The feature names as `print_iommu_info()` prints them after "Extended features (0x…):".
 * `withSnp` false reproduces kernels that predate the SNP name.
 */
export function amdFeatureNames(efr: bigint, opts: { withSnp?: boolean } = {}): string[] {
  const out: string[] = []
  FEAT_STR.forEach((s, i) => {
    if (bit(efr, i)) out.push(s)
  })
  if (bit(efr, 21)) out.push('GA_vAPIC')
  if ((opts.withSnp ?? true) && bit(efr, 63)) out.push('SNP')
  return out
}

/** `6.18.44-fc` → [6, 18]; null if it does not start with two numbers. */
export function releaseVersion(release: string | null | undefined): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '')
  return m ? [Number(m[1]), Number(m[2])] : null
}
const atLeast = (v: [number, number], maj: number, min: number) => v[0] > maj || (v[0] === maj && v[1] >= min)

/**
 * Parses the `features` file in all three formats. For `A:B` the order is decided by the values
 * (a zero or small part is EFR2; EFR has the PASmax field above bit 32 on real parts), and only
 * when both look alike by the kernel release.
 */
export function parseAmdFeatures(text: string, release: string | null): { ok: true; value: AmdFeatures } | { ok: false; why: string } {
  const raw = text.trim()
  const parts = raw.split(':')
  if (parts.length === 1) {
    const p = parseHex(raw, 64)
    if (!p.ok) return p
    return { ok: true, value: { raw, format: 'efr', formatReason: 'single value: kernels up to 5.19 print the EFR alone', efr: hex(p.value), efr2: null } }
  }
  if (parts.length !== 2) return { ok: false, why: `expected "efr" or "a:b", got ${JSON.stringify(raw.slice(0, 60))}` }
  const a = parseHex(parts[0] ?? '', 64)
  const b = parseHex(parts[1] ?? '', 64)
  if (!a.ok) return { ok: false, why: `first value: ${a.why}` }
  if (!b.ok) return { ok: false, why: `second value: ${b.why}` }
  const big = (v: bigint) => v >= 1n << 32n
  const rel = releaseVersion(release)
  let format: 'efr2:efr' | 'efr:efr2'
  let reason: string
  if (a.value === 0n && b.value !== 0n) {
    format = 'efr2:efr'
    reason = 'first value is 0 and second is not: EFR2:EFR (6.0-era order)'
  } else if (b.value === 0n && a.value !== 0n) {
    format = 'efr:efr2'
    reason = 'second value is 0 and first is not: EFR:EFR2 (global-EFR order)'
  } else if (big(a.value) && !big(b.value)) {
    format = 'efr:efr2'
    reason = 'first value has bits above 31 (PASmax etc.) and the second does not: EFR:EFR2'
  } else if (big(b.value) && !big(a.value)) {
    format = 'efr2:efr'
    reason = 'second value has bits above 31 (PASmax etc.) and the first does not: EFR2:EFR'
  } else if (rel && !atLeast(rel, 6, 6)) {
    format = 'efr2:efr'
    reason = `values alike; kernel ${rel.join('.')} predates the global-EFR refactor (~6.6): EFR2:EFR`
  } else {
    format = 'efr:efr2'
    reason = rel ? `values alike; kernel ${rel.join('.')} prints EFR:EFR2` : 'values alike and kernel release unknown: assumed EFR:EFR2 (current kernels)'
  }
  const [efr, efr2] = format === 'efr:efr2' ? [a.value, b.value] : [b.value, a.value]
  return { ok: true, value: { raw, format, formatReason: reason, efr: hex(efr), efr2: hex(efr2) } }
}

export function deriveAmd(cap: bigint | null, efr: bigint): AmdDerived {
  const gt = bit(efr, 4)
  const pasmax = field(efr, 36, 32)
  const gats = field(efr, 13, 12)
  return {
    featureNames: amdFeatureNames(efr),
    iotlb: cap === null ? null : bit(cap, 24),
    notPresentCache: cap === null ? null : bit(cap, 26),
    guestTranslation: gt,
    peripheralPageRequests: bit(efr, 1),
    pasidBits: gt ? pasmax + 1 : null,
    maxPasids: gt ? 2 ** (pasmax + 1) - 1 : null,
    guestPageTableLevels: gt ? (gats === 0 ? 4 : gats === 1 ? 5 : null) : null,
    hostDirtyTracking: bit(efr, 52),
    snp: bit(efr, 63),
  }
}

/** SVA on AMD needs GT and PPR (`amd_iommu_gt_ppr_supported`) and a kernel built for it. */
export function amdSvaVerdict(d: AmdDerived, k: KernelFacts | null): SvaVerdict {
  const blockers: string[] = []
  const unknowns: string[] = []
  if (!d.guestTranslation) blockers.push('EFR.GTSup=0: no guest (v2) translation, so no PASID-tagged page tables')
  if (!d.peripheralPageRequests) blockers.push('EFR.PPRSup=0: no peripheral page requests (I/O page faults)')
  if (d.pasidBits !== null && d.pasidBits > 16) unknowns.push(`PASmax gives ${d.pasidBits} bits; Linux asserts at most 16`)
  if (k) {
    const rel = releaseVersion(k.release)
    if (k.configSource === null) unknowns.push('kernel config not readable: SVA options unknown')
    else if (rel && !atLeast(rel, 6, 7)) {
      if (k.config.get('CONFIG_AMD_IOMMU_V2') === undefined || k.config.get('CONFIG_AMD_IOMMU_V2') === 'n')
        blockers.push('CONFIG_AMD_IOMMU_V2 is not set (needed for PASID/PPR before 6.7)')
    } else if (k.config.get('CONFIG_IOMMU_SVA') !== 'y') blockers.push('CONFIG_IOMMU_SVA is not set in this kernel')
    if (k.cmdline.amdIommu.includes('off')) blockers.push('amd_iommu=off on the command line')
  } else unknowns.push('kernel facts not available')
  if (blockers.length) return { verdict: 'not-capable', reasons: [...blockers, ...unknowns] }
  if (unknowns.length) return { verdict: 'unknown', reasons: unknowns }
  return { verdict: 'capable', reasons: [`GT and PPR supported, ${d.pasidBits ?? '?'}-bit PASIDs`] }
}

/**
 * Parses the boot-log line `AMD-Vi: Extended features (0x…[, 0x…]): NAMES` (5.11+ style; the 5.0–5.10
 * style puts the names on the next line: pass both lines joined with a space).
 */
export function parseAmdBootLine(line: string): { efr: bigint; efr2: bigint | null; names: string[] } | null {
  const m = /Extended features \(0x([0-9a-fA-F]+)(?:,\s*0x([0-9a-fA-F]+))?\):\s*(.*)$/.exec(line)
  if (!m) return null
  return {
    efr: BigInt('0x' + (m[1] ?? '0')),
    efr2: m[2] ? BigInt('0x' + m[2]) : null,
    names: (m[3] ?? '')
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0),
  }
}

/** Reads `/sys/class/iommu/<name>/amd-iommu/*`. */
export function readAmdUnit(ctx: ProbeContext, name: string, base: string, linkTarget: string | null, endpoints: string[], k: KernelFacts | null): AmdIommu {
  const dir = `${base}/amd-iommu`
  const bdf = linkTarget ? /([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\/iommu\//i.exec(linkTarget) : null
  let cap: bigint | null = null
  const capText = ctx.text(`${dir}/cap`, name)
  if (capText !== null) {
    const p = parseHex(capText, 32)
    if (p.ok) cap = p.value
    else ctx.malformed(`${dir}/cap`, name, p.why)
  }
  let features: AmdFeatures | null = null
  const ft = ctx.text(`${dir}/features`, name)
  if (ft !== null) {
    const p = parseAmdFeatures(ft, k?.release ?? null)
    if (p.ok) features = p.value
    else ctx.malformed(`${dir}/features`, name, p.why)
  }
  const efr = features ? BigInt(features.efr) : null
  const efr2 = features?.efr2 ? BigInt(features.efr2) : null
  const derived = efr === null ? null : deriveAmd(cap, efr)
  const sva: SvaVerdict = derived ? amdSvaVerdict(derived, k) : { verdict: 'unknown', reasons: ['features not readable'] }
  if (cap !== null && field(cap, 7, 0) !== 0x0f) ctx.malformed(`${dir}/cap`, name, `capability id is ${hex(field(cap, 7, 0))}, not 0x0F`)
  if (cap !== null && bit(cap, 26))
    ctx.warn('amd.npcache', name, `${name}: NpCache=1 (virtualized IOMMU): "Using strict mode due to virtualization", flush on map`, `${dir}/cap`)
  if (derived) {
    if (!derived.guestTranslation) ctx.info('amd.no-gt', name, `${name}: no GT (guest translation): no PASID/SVA on this unit`, `${dir}/features`)
    else if (!derived.peripheralPageRequests) ctx.info('amd.no-ppr', name, `${name}: GT without PPR: PASID tables but no I/O page faults`, `${dir}/features`)
    if (features?.format === 'efr:efr2')
      ctx.info('amd.global-efr', name, `${name}: features shows the global EFR (AND of all units), not this unit's own register`, `${dir}/features`)
  }
  return {
    kind: 'amd-vi',
    name,
    path: base,
    endpoints,
    pciAddress: bdf?.[1] ?? null,
    cap: cap === null ? null : decodeAmdCap(cap),
    features,
    efr: efr === null ? null : decodeAmdEfr(efr),
    efr2: efr2 === null ? null : decodeAmdEfr2(efr2),
    derived,
    sva,
  }
}
