/**
 * Kernel facts: release (`/proc/sys/kernel/osrelease`), command line (`/proc/cmdline`), build
 * configuration (`/proc/config.gz`, `/boot/config-<release>`, ...) and the CPU paging features the
 * Intel SVA gate depends on (`/proc/cpuinfo` flags `pdpe1gb`, `la57`).
 */
import { gunzipSync } from 'node:zlib'
import type { CmdlineIommu, KconfigOption, KernelSection } from '../../../shared/probe'
import type { ProbeContext } from './context'

export interface KernelFacts {
  release: string | null
  /** Which file the config came from, or null. */
  configSource: string | null
  /** `CONFIG_FOO` → `y` | `m` | `n` | value (quotes removed). Absent options are not in the map. */
  config: Map<string, string>
  cmdlineRaw: string | null
  cmdline: CmdlineIommu
  cpu: KernelSection['cpu']
}

interface OptionSpec {
  name: string
  meaning: string
  /** Whether this project wants it set (a missing wanted option is a finding). */
  wanted: boolean
  /** Finding text when wanted and not set. */
  consequence?: string
  severity?: 'warning' | 'info'
}

/** The options of `probe.md` §7, in the order the report lists them. */
export const KCONFIG_OPTIONS: OptionSpec[] = [
  {
    name: 'MMU_NOTIFIER',
    wanted: true,
    meaning: 'callbacks on CPU page-table changes: the base of every secondary-MMU mirror',
    consequence: 'no mmu_notifier: no device can mirror an address space coherently',
  },
  {
    name: 'HMM_MIRROR',
    wanted: true,
    meaning: 'hmm_range_fault + interval notifiers: mirror a process address space into a device',
    consequence: 'HMM mirroring unavailable (no hmm_range_fault, no interval notifiers for drivers)',
  },
  {
    name: 'DEVICE_PRIVATE',
    wanted: true,
    meaning: 'device memory as unaddressable struct pages; migration to VRAM',
    consequence: 'no device-private pages: no migration of anonymous memory to device memory',
  },
  {
    name: 'ZONE_DEVICE',
    wanted: true,
    meaning: 'struct pages for device/persistent memory (memremap_pages)',
    consequence: 'no ZONE_DEVICE: device-private and P2P pages impossible',
  },
  { name: 'HSA_AMD', wanted: false, meaning: 'builds KFD (/dev/kfd); selects HMM_MIRROR, MMU_NOTIFIER, DRM_AMDGPU_USERPTR' },
  { name: 'HSA_AMD_SVM', wanted: false, meaning: 'KFD shared virtual memory via HMM (capability bit SVMAPI_SUPPORTED)' },
  { name: 'HSA_AMD_P2P', wanted: false, meaning: 'PCIe peer-to-peer between AMD GPUs (needs PCI_P2PDMA)' },
  { name: 'DRM_AMDGPU_USERPTR', wanted: false, meaning: 'amdgpu userptr BOs kept valid by MMU notifiers' },
  {
    name: 'IOMMU_SVA',
    wanted: true,
    meaning: 'shared virtual addressing: the IOMMU walks a process page table through a PASID',
    consequence: 'no IOMMU SVA: devices cannot share CPU page tables through PASIDs',
    severity: 'info',
  },
  { name: 'INTEL_IOMMU_SVM', wanted: false, meaning: 'Intel SVA (selects IOMMU_SVA; needs PCI PASID/PRI/ATS)' },
  { name: 'AMD_IOMMU_V2', wanted: false, meaning: 'old AMD PASID/PPR module (≤ 6.6); SVA is in AMD_IOMMU + IOMMU_SVA from 6.7' },
  {
    name: 'IOMMUFD',
    wanted: true,
    meaning: 'the iommufd user API (/dev/iommu): user-managed IO page tables, nesting, dirty tracking',
    consequence: 'no iommufd: no user-space managed IO page tables',
    severity: 'info',
  },
  {
    name: 'TEST_HMM',
    wanted: true,
    meaning: 'lib/test_hmm.c dmirror driver (/dev/hmm_dmirror*): the reference mirror for tests',
    consequence: 'no test_hmm: the dmirror reference driver (hmm-tests) is not available',
    severity: 'info',
  },
  { name: 'TRANSPARENT_HUGEPAGE', wanted: false, meaning: 'THP: 2 MiB notifier ranges and migration granularity' },
  { name: 'KSM', wanted: false, meaning: 'page merging: CPU PTE changes and notifier invalidations on mapped pages' },
  { name: 'INTEL_IOMMU', wanted: false, meaning: 'Intel VT-d driver' },
  { name: 'INTEL_IOMMU_DEFAULT_ON', wanted: false, meaning: 'VT-d enabled unless intel_iommu=off' },
  { name: 'INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON', wanted: false, meaning: 'VT-d scalable mode on unless intel_iommu=sm_off (needed for PASID/SVA)' },
  { name: 'AMD_IOMMU', wanted: false, meaning: 'AMD-Vi driver' },
  { name: 'IOMMU_DEFAULT_DMA_STRICT', wanted: false, meaning: 'default DMA domains flush the IOTLB synchronously on unmap' },
  { name: 'IOMMU_DEFAULT_DMA_LAZY', wanted: false, meaning: 'default DMA domains batch IOTLB flushes (flush queue, DMA-FQ)' },
  { name: 'IOMMU_DEFAULT_PASSTHROUGH', wanted: false, meaning: 'default domains are identity (no translation)' },
  { name: 'PCI_ATS', wanted: false, meaning: 'PCIe Address Translation Services (device TLBs)' },
  { name: 'PCI_PRI', wanted: false, meaning: 'PCIe Page Request Interface (I/O page faults)' },
  { name: 'PCI_PASID', wanted: false, meaning: 'PCIe PASID capability' },
  { name: 'VFIO', wanted: false, meaning: 'VFIO device assignment' },
  { name: 'IOMMU_DEBUGFS', wanted: false, meaning: 'IOMMU state in /sys/kernel/debug/iommu (root)' },
]

/** Parses a kernel .config text: `CONFIG_FOO=y|m|n|<value>` and `# CONFIG_FOO is not set`. */
export function parseKconfig(text: string): { options: Map<string, string>; bad: { line: number; text: string }[] } {
  const options = new Map<string, string>()
  const bad: { line: number; text: string }[] = []
  text.split('\n').forEach((line, i) => {
    const l = line.trim()
    if (l === '') return
    const notSet = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(l)
    if (notSet) {
      options.set(notSet[1] as string, 'n')
      return
    }
    if (l.startsWith('#')) return
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(l)
    if (!m) {
      bad.push({ line: i + 1, text: l.slice(0, 80) })
      return
    }
    let v = m[2] as string
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1)
    options.set(m[1] as string, v)
  })
  return { options, bad }
}

/** Splits a kernel command line like the kernel does (double quotes group), stopping at `--`. */
export function splitCmdline(raw: string): string[] {
  const out: string[] = []
  let cur = ''
  let inQuote = false
  let has = false
  for (const ch of raw) {
    if (ch === '"') {
      inQuote = !inQuote
      has = true
      continue
    }
    if (!inQuote && /\s/.test(ch)) {
      if (has) out.push(cur)
      cur = ''
      has = false
      continue
    }
    cur += ch
    has = true
  }
  if (has) out.push(cur)
  const dd = out.indexOf('--')
  return dd >= 0 ? out.slice(0, dd) : out
}

const boolParam = (v: string): boolean | null => (/^(1|y|yes|on|true)$/i.test(v) ? true : /^(0|n|no|off|false)$/i.test(v) ? false : null)

const INTEL_OPTS = new Set(['on', 'off', 'igfx_off', 'forcedac', 'strict', 'sp_off', 'sm_on', 'sm_off', 'tboot_noforce'])
// `amd_iommu=on` is not among them: the driver logs "Unknown option - 'on'" (it is on by default).
const AMD_OPTS = new Set(['off', 'force_enable', 'force_isolation', 'fullflush', 'pgtbl_v1', 'pgtbl_v2', 'irtcachedis', 'nohugepages', 'v2_pgsizes_only'])
const IOMMU_OPTS = new Set([
  'off',
  'force',
  'noforce',
  'pt',
  'nopt',
  'soft',
  'forcesac',
  'allowdac',
  'nodac',
  'usedac',
  'panic',
  'nopanic',
  'merge',
  'nomerge',
  'memaper',
  'noagp',
  'noaperture',
  'calgary',
  'biomerge',
  'fullflush',
  'nofullflush',
  'leak',
])

export interface CmdlineProblem {
  /** `unknown-option`: the kernel ignores it (and says so); `bad-value`: not a value it can parse. */
  kind: 'unknown-option' | 'bad-value'
  text: string
}

/** The IOMMU-relevant part of the command line; `problems` collects what the kernel would ignore or reject. */
export function parseCmdlineIommu(raw: string | null, problems: CmdlineProblem[] = []): CmdlineIommu {
  const res: CmdlineIommu = { intelIommu: [], amdIommu: [], iommu: [], passthrough: null, strict: null, tokens: [] }
  if (raw === null) return res
  for (const tok of splitCmdline(raw)) {
    const eq = tok.indexOf('=')
    const key = eq >= 0 ? tok.slice(0, eq) : tok
    const val = eq >= 0 ? tok.slice(eq + 1) : ''
    const list = val.split(',').filter((s) => s.length > 0)
    switch (key) {
      case 'intel_iommu':
        for (const o of list)
          if (!INTEL_OPTS.has(o))
            problems.push({
              kind: 'unknown-option',
              text: `intel_iommu=${o}: not an option of the VT-d driver; the kernel logs "Unknown option" and ignores it`,
            })
        res.intelIommu.push(...list)
        if (list.includes('strict')) res.strict = true
        break
      case 'amd_iommu':
        for (const o of list)
          if (!AMD_OPTS.has(o))
            problems.push({
              kind: 'unknown-option',
              text: `amd_iommu=${o}: not an option of the AMD-Vi driver; the kernel logs "Unknown option - '${o}'" and ignores it${o === 'on' ? ' (AMD-Vi is on by default)' : ''}`,
            })
        res.amdIommu.push(...list)
        if (list.includes('fullflush')) res.strict = true
        break
      case 'iommu':
        for (const o of list)
          if (!IOMMU_OPTS.has(o) && !/^\d+/.test(o)) problems.push({ kind: 'unknown-option', text: `iommu=${o}: not an x86 iommu= option; ignored` })
        res.iommu.push(...list)
        if (list.includes('pt')) res.passthrough = true
        if (list.includes('nopt')) res.passthrough = false
        break
      case 'iommu.passthrough':
        res.passthrough = boolParam(val)
        if (res.passthrough === null) problems.push({ kind: 'bad-value', text: `iommu.passthrough=${val}: not a boolean` })
        break
      case 'iommu.strict':
        res.strict = boolParam(val)
        if (res.strict === null) problems.push({ kind: 'bad-value', text: `iommu.strict=${val}: not a boolean` })
        break
      case 'pci':
        if (!list.some((s) => /^(noats|nopasid|nopri)$/.test(s))) continue
        break
      default:
        if (!/^(amd_iommu_intr|amd_iommu_dump|iommu\.forcedac|intremap|intel_iommu_.*|iommu_.*|ivrs_.*|dmar_.*)$/.test(key)) continue
    }
    res.tokens.push(tok)
  }
  return res
}

/** Candidate config files, first hit wins. */
export function configCandidates(release: string | null): string[] {
  const c = ['/proc/config.gz']
  if (release) c.push(`/boot/config-${release}`, `/lib/modules/${release}/build/.config`, `/usr/lib/modules/${release}/config`)
  return c
}

/** Reads release, cmdline, config and cpuinfo; emits findings for unreadable or malformed files. */
export function readKernel(ctx: ProbeContext): KernelFacts {
  const relText = ctx.text('/proc/sys/kernel/osrelease', 'kernel release')
  let release: string | null = null
  if (relText !== null) {
    const t = relText.trim()
    if (/^[\x21-\x7e]{1,64}$/.test(t)) release = t
    else ctx.malformed('/proc/sys/kernel/osrelease', 'kernel release', 'not a printable release string')
  }
  const cmdRaw = ctx.text('/proc/cmdline', 'kernel command line')
  const cmdlineRaw = cmdRaw === null ? null : cmdRaw.replace(/\0/g, ' ').trim()

  let configSource: string | null = null
  let config = new Map<string, string>()
  const candidates = configCandidates(release)
  if (release === null) {
    // Without a release, a lone /boot/config-* is still this kernel's most likely config.
    const boot = (ctx.list('/boot', 'kernel config') ?? []).filter((n) => /^config-/.test(n))
    if (boot.length === 1) candidates.push(`/boot/${boot[0]}`)
  }
  // What became of each candidate, for the one statement made when none is usable.
  const tried: string[] = []
  // Files that are there but cannot be used.
  const unusable: { file: string; why: string; code: 'file.unreadable' | 'file.malformed' }[] = []
  for (const cand of candidates) {
    const r = ctx.readBytes(cand, 8 << 20)
    if (!r.ok) {
      if (r.code === 'ENOENT') tried.push(`${cand} absent${cand === '/proc/config.gz' ? ' (needs CONFIG_IKCONFIG_PROC)' : ''}`)
      else {
        tried.push(`${cand} unreadable (${r.code})`)
        unusable.push({ file: cand, why: `unreadable (${r.code})`, code: 'file.unreadable' })
      }
      continue
    }
    let text: string
    if (cand.endsWith('.gz')) {
      try {
        text = gunzipSync(r.value, { maxOutputLength: 64 << 20 }).toString('utf8')
      } catch (err) {
        const why = `not a valid gzip stream (${err instanceof Error ? err.message : String(err)})`
        tried.push(`${cand} is ${why}`)
        unusable.push({ file: cand, why, code: 'file.malformed' })
        continue
      }
    } else text = r.value.toString('utf8')
    const parsed = parseKconfig(text)
    if (parsed.options.size === 0) {
      tried.push(`${cand} has no CONFIG_ lines`)
      unusable.push({ file: cand, why: 'no CONFIG_ lines found', code: 'file.malformed' })
      continue
    }
    if (parsed.bad.length > 0) {
      const b = parsed.bad[0] as { line: number; text: string }
      ctx.malformed(
        cand,
        'kernel config',
        `${parsed.bad.length} line(s) are neither CONFIG_X=... nor comments (first: line ${b.line}: ${JSON.stringify(b.text)})`,
      )
    }
    config = parsed.options
    configSource = cand
    break
  }
  if (configSource === null) {
    // One statement for every candidate: a damaged /proc/config.gz is not also called missing.
    const what = `no usable kernel config (${tried.join('; ') || 'no candidate file'}): option verdicts unknown`
    const bad = unusable[0]
    if (bad) ctx.error('kconfig.unavailable', 'kernel config', what, bad.file)
    else ctx.warn('kconfig.unavailable', 'kernel config', what)
  } else for (const u of unusable) ctx.error(u.code, 'kernel config', `${u.file}: ${u.why}; the config was read from ${configSource} instead`, u.file)

  const cpu: KernelSection['cpu'] = { vendor: null, modelName: null, gbPages: null, la57: null }
  const ci = ctx.text('/proc/cpuinfo', 'cpu')
  if (ci !== null) {
    const get = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(ci)?.[1]?.trim() ?? null
    cpu.vendor = get('vendor_id')
    cpu.modelName = get('model name')
    const flags = get('flags')
    if (flags !== null) {
      const set = new Set(flags.split(/\s+/))
      cpu.gbPages = set.has('pdpe1gb')
      cpu.la57 = set.has('la57')
    }
  }
  const problems: CmdlineProblem[] = []
  const cmdline = parseCmdlineIommu(cmdlineRaw, problems)
  for (const pr of problems)
    if (pr.kind === 'bad-value') ctx.error('file.malformed', 'kernel command line', `/proc/cmdline: ${pr.text}`, '/proc/cmdline')
    else ctx.info('cmdline.unknown-option', 'kernel command line', pr.text, '/proc/cmdline')
  return { release, configSource, config, cmdlineRaw, cmdline, cpu }
}

/** The options table with verdicts, plus findings for wanted options that are not set. */
export function kconfigSection(ctx: ProbeContext, k: KernelFacts): KconfigOption[] {
  return KCONFIG_OPTIONS.map((o) => {
    const name = `CONFIG_${o.name}`
    const raw = k.config.get(name)
    const value = raw === undefined ? null : raw
    const set = value !== null && value !== 'n'
    let verdict: KconfigOption['verdict'] = 'info'
    if (k.configSource !== null && o.wanted) {
      verdict = set ? 'ok' : 'missing'
      if (!set)
        ctx.add(
          o.severity ?? 'warning',
          `kconfig.${o.name.toLowerCase().replace(/_/g, '-')}-not-set`,
          name,
          `${name} not set: ${o.consequence ?? o.meaning}`,
          k.configSource,
        )
    } else if (set) verdict = 'ok'
    return { name, value, meaning: o.meaning, verdict }
  })
}
