/**
 * The hardware probe: reads `/sys`, `/dev` and `/proc` of a sysroot (the live machine by default),
 * decodes IOMMUs, groups, PCI functions, KFD topology, DRM/NVIDIA and kernel facts, and returns a
 * `ProbeReport` (src/shared/probe.ts) with findings in words. It only reads.
 *
 *   const { report } = await runProbe()                       // this machine
 *   const { report } = await runProbe({ sysroot: 'snap.tar.gz' }) // a capture
 */
import * as fs from 'node:fs'
import { ProbeReport, PROBE_SCHEMA_VERSION, type Finding, type SystemSection } from '../../../shared/probe'
import { ProbeContext } from './context'
import { readDrm, readNvidia } from './gpu'
import { readIommuGroups, readIommus } from './iommu'
import { kconfigSection, readKernel } from './kernel'
import { readKfd } from './kfd'
import { isGpuLike, readPci } from './pci'
import { openSysroot, type SysrootFs } from './sysroot'
import { openArchiveSysroot } from './capture'
import { collectSystemInformation } from './sysinfo'
import { readBootLog } from './bootlog'
import { countList } from './bits'
import { amdFeatureNames } from './amd'

export { ProbeContext } from './context'
export { openSysroot, DirectoryFs, LiveFs, FaultInjectingFs, SysrootError, type SysrootFs } from './sysroot'

export interface ProbeOptions {
  /** `/` (default), a directory, or a `.tar.gz` capture. Ignored when `fs` is given. */
  sysroot?: string
  /** An already-open sysroot (tests inject fault-injecting ones). */
  fs?: SysrootFs
  /**
   * systeminformation: `auto` runs it (in a worker thread) for the live machine only, `skip`
   * never runs it, or pass a section to use as is.
   */
  system?: 'auto' | 'skip' | SystemSection
  /** Clock for `probedAt` (tests pin it). */
  now?: () => Date
  /** A saved kernel log (`dmesg` output) to use instead of the sysroot's own. */
  bootLog?: { source: string; text: string }
}

export interface ProbeResult {
  report: ProbeReport
  /** Everything read, for `--capture`. */
  ctx: ProbeContext
}

const SEVERITY_ORDER: Record<Finding['severity'], number> = { error: 0, warning: 1, info: 2 }

const SKIPPED: SystemSection = { status: 'skipped', note: 'not collected for a captured sysroot', cpu: null, memory: null, os: null, gpus: [] }

/**
 * Probes one sysroot synchronously (no systeminformation). Pure reading: never throws for bad
 * input; every problem is a finding.
 */
export function probeSysroot(
  sysfs: SysrootFs,
  opts: { source?: ProbeReport['source']; system?: SystemSection; now?: () => Date; bootLog?: { source: string; text: string } } = {},
): ProbeResult {
  const ctx = new ProbeContext(sysfs)
  const k = readKernel(ctx)
  const options = kconfigSection(ctx, k)
  const iommu = readIommus(ctx, k)
  const groups = readIommuGroups(ctx)
  const pci = readPci(ctx)
  const kfd = readKfd(ctx)
  const drm = readDrm(ctx)
  const hmm = k.configSource === null ? null : k.config.get('CONFIG_HMM_MIRROR') === 'y'
  const nvidia = readNvidia(ctx, hmm)
  const bootLog = readBootLog(ctx, new Set(iommu.units.map((u) => u.name)), opts.bootLog)
  for (const u of bootLog.dmarUnits) {
    const unit = iommu.units.find((x) => x.name === u.unit)
    if (!u.inSysfs)
      ctx.warn(
        'intel.boot-log-only',
        u.unit,
        `${u.unit} at ${u.address} (cap ${u.cap.slice(2)} ecap ${u.ecap.slice(2)}) printed at boot but is not in /sys/class/iommu: the kernel ignored it (intel_iommu=igfx_off, "No supported address widths", or VT-d off); its devices are untranslated`,
      )
    else if (unit?.kind === 'intel-vt-d' && ((unit.cap && unit.cap.raw !== u.cap) || (unit.ecap && unit.ecap.raw !== u.ecap)))
      ctx.warn('intel.boot-log-mismatch', u.unit, `${u.unit}: sysfs cap/ecap (${unit.cap?.raw}/${unit.ecap?.raw}) differ from the boot log (${u.cap}/${u.ecap})`)
  }
  for (const a of bootLog.amdFeatures) {
    const ours = amdFeatureNames(BigInt(a.efr)).filter((n) => n !== 'SNP')
    const theirs = a.names.filter((n) => n !== 'SNP' && n !== 'SEV-TIO')
    if (theirs.length > 0 && ours.join(' ') !== theirs.join(' '))
      ctx.info('amd.boot-log-names', 'AMD-Vi', `boot log names EFR ${a.efr} "${theirs.join(' ')}" but the decode gives "${ours.join(' ')}"`)
  }

  // Cross-section findings: the IOMMU mode and what a mirror sees.
  const identity = groups.filter((g) => g.type === 'identity')
  if (k.cmdline.passthrough === true || identity.length > 0 || bootLog.defaultDomainType === 'Passthrough') {
    const why =
      k.cmdline.passthrough === true
        ? `command line (${k.cmdline.tokens.filter((t) => /iommu(=|\.passthrough)/.test(t)).join(' ')})`
        : identity.length > 0
          ? `${identity.length} group(s) of type identity`
          : 'boot log: "Default domain type: Passthrough"'
    ctx.warn('iommu.passthrough', 'iommu', `IOMMU in passthrough (${why}): device DMA, and so device mirrors, bypass translation; no IOTLB invalidation to model`)
  }
  if (groups.some((g) => g.type === 'DMA-FQ'))
    ctx.info('iommu.lazy', 'iommu', 'DMA-FQ groups: lazy IOTLB invalidation (flush queue); an unmapped IOVA stays reachable until the queue is flushed')
  if (k.cmdline.strict === true) ctx.info('iommu.strict', 'iommu', 'iommu.strict=1: every unmap waits for the IOTLB invalidation to complete')
  if (k.cmdline.intelIommu.includes('off') || k.cmdline.amdIommu.includes('off') || k.cmdline.iommu.includes('off'))
    ctx.warn('iommu.disabled-cmdline', 'iommu', `IOMMU disabled on the command line (${k.cmdline.tokens.join(' ')})`, '/proc/cmdline')
  if (k.cmdline.intelIommu.includes('igfx_off'))
    ctx.info('iommu.igfx-off', 'iommu', 'intel_iommu=igfx_off: the integrated-graphics unit is not used, its devices are untranslated')
  if (k.cmdline.tokens.some((t) => /^pci=.*noats/.test(t))) ctx.warn('pci.noats', 'pci', 'pci=noats: ATS disabled for every device: no device-TLB, every translation goes to the IOMMU', '/proc/cmdline')
  const gpusNeedingRoot = pci.filter((d) => isGpuLike(d) && d.ats.state === 'unknown' && d.ats.detail.includes('needs root'))
  if (gpusNeedingRoot.length)
    ctx.info('pci.needs-root', 'pci', `ATS/PRI/PASID of ${gpusNeedingRoot.map((d) => d.address).join(', ')} unknown: config space beyond 64 bytes needs root`)
  if (iommu.units.length > 0) {
    for (const d of pci.filter((x) => isGpuLike(x) && x.iommuGroup === null))
      ctx.info('pci.gpu-untranslated', d.address, `${d.address}: GPU without an IOMMU group: its DMA is not translated`, `/sys/bus/pci/devices/${d.address}`)
  }
  if (!kfd.topologyPresent && !kfd.dev.present) ctx.info('kfd.absent', 'kfd', 'no KFD: /dev/kfd and the KFD topology are absent (no amdgpu with CONFIG_HSA_AMD loaded)')

  const findings = [...ctx.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])
  const intel = iommu.units.filter((u) => u.kind === 'intel-vt-d').length
  const amd = iommu.units.filter((u) => u.kind === 'amd-vi').length
  const other = iommu.units.length - intel - amd
  const gpuNodes = kfd.nodes.filter((n) => n.derived.kind !== 'cpu')
  const summary = [
    `kernel ${k.release ?? 'unknown'}; config ${k.configSource ?? 'not found'}`,
    iommu.units.length === 0
      ? 'IOMMU: none registered'
      : `IOMMU: ${[intel && `${intel} Intel VT-d`, amd && `${amd} AMD-Vi`, other && `${other} other`].filter(Boolean).join(', ')} unit(s); ${groups.length} group(s)`,
    `PCI: ${pci.length} function(s), ${pci.filter(isGpuLike).length} display/accelerator`,
    kfd.topologyPresent ? `KFD: ${kfd.nodes.length} node(s), ${gpuNodes.length} GPU${gpuNodes.length ? ` (${countList(gpuNodes.map((n) => n.derived.gfxTarget ?? '?'))})` : ''}` : 'KFD: absent',
    `DRM: ${drm.filter((d) => d.kind === 'card').length} card(s), ${drm.filter((d) => d.kind === 'render').length} render node(s)`,
    nvidia.driverPresent ? `NVIDIA: driver ${nvidia.version ?? '?'}, ${nvidia.gpus.length} GPU(s)` : 'NVIDIA: no driver',
  ]
  const report: ProbeReport = {
    schema: 'hmmlab.probe',
    schemaVersion: PROBE_SCHEMA_VERSION,
    probedAt: (opts.now ?? (() => new Date()))().toISOString(),
    source: opts.source ?? { kind: sysfs.kind, path: sysfs.root },
    findings,
    summary,
    kernel: {
      release: k.release,
      cmdline: { raw: k.cmdlineRaw, iommu: k.cmdline },
      config: { source: k.configSource, options },
      cpu: k.cpu,
    },
    iommu,
    iommuGroups: groups,
    pci,
    kfd,
    drm,
    nvidia,
    system: opts.system ?? SKIPPED,
    bootLog,
    files: { read: ctx.filesRead(), errors: ctx.fileErrors() },
  }
  return { report, ctx }
}

/** Probes the live machine or a sysroot (directory or `.tar.gz`); systeminformation off-thread. */
export async function runProbe(opts: ProbeOptions = {}): Promise<ProbeResult> {
  const now = opts.now
  if (opts.fs) {
    const system = typeof opts.system === 'object' ? opts.system : SKIPPED
    return probeSysroot(opts.fs, { system, now, bootLog: opts.bootLog })
  }
  const root = opts.sysroot ?? '/'
  if (root !== '/' && fs.existsSync(root) && fs.statSync(root).isFile()) {
    const archive = await openArchiveSysroot(root)
    try {
      const system = typeof opts.system === 'object' ? opts.system : SKIPPED
      return probeSysroot(archive.fs, { source: { kind: 'archive', path: root }, system, now, bootLog: opts.bootLog })
    } finally {
      archive.dispose()
    }
  }
  const sysfs = openSysroot(root)
  let system: SystemSection = SKIPPED
  if (typeof opts.system === 'object') system = opts.system
  else if (opts.system !== 'skip' && sysfs.kind === 'live') system = await collectSystemInformation()
  return probeSysroot(sysfs, { system, now, source: { kind: sysfs.kind, path: sysfs.root }, bootLog: opts.bootLog })
}

/** Validates an unknown value as a probe report (e.g. a saved JSON file). */
export function parseProbeReport(value: unknown): ProbeReport {
  return ProbeReport.parse(value)
}
