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
import { crossFindings } from './findings'

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
  crossFindings(ctx, { k, iommu, groups, pci, kfd, bootLog, live: sysfs.kind === 'live' })

  const findings = [...ctx.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])
  const intel = iommu.units.filter((u) => u.kind === 'intel-vt-d').length
  const amd = iommu.units.filter((u) => u.kind === 'amd-vi').length
  const other = iommu.units.length - intel - amd
  const gpuNodes = kfd.nodes.filter((n) => n.derived.kind !== 'cpu')
  const summary = [
    `kernel ${k.release ?? 'unknown'}; config ${k.configSource ?? 'none usable'}`,
    iommu.units.length === 0
      ? 'IOMMU: none registered'
      : `IOMMU: ${[intel && `${intel} Intel VT-d`, amd && `${amd} AMD-Vi`, other && `${other} other`].filter(Boolean).join(', ')} unit(s); ${groups.length} group(s)`,
    `PCI: ${pci.length} function(s), ${pci.filter(isGpuLike).length} display/accelerator`,
    kfd.topologyPresent
      ? `KFD: ${kfd.nodes.length} node(s), ${gpuNodes.length} GPU${gpuNodes.length ? ` (${countList(gpuNodes.map((n) => n.derived.gfxTarget ?? '?'))})` : ''}`
      : 'KFD: absent',
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
