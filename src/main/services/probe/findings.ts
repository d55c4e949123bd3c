/**
 * Findings that need more than one section: the IOMMU mode a device mirror sees (groups, command
 * line, boot log), units the kernel ignored, command-line switches, GPUs outside translation.
 */
import type { IommuGroup, IommuUnit, KfdSection, PciDevice, BootLogSection } from '../../../shared/probe'
import { amdFeatureNames } from './amd'
import type { ProbeContext } from './context'
import type { KernelFacts } from './kernel'
import { isGpuLike } from './pci'

export interface ProbeSections {
  k: KernelFacts
  iommu: { classPresent: boolean; units: IommuUnit[] }
  groups: IommuGroup[]
  pci: PciDevice[]
  kfd: KfdSection
  bootLog: BootLogSection
  live: boolean
}

/** Adds the cross-section findings to `ctx`. */
export function crossFindings(ctx: ProbeContext, s: ProbeSections): void {
  const { k, iommu, groups, pci, kfd, bootLog } = s
  if (s.live && process.platform !== 'linux')
    ctx.info(
      'host.not-linux',
      'host',
      `this host runs ${process.platform}, not Linux: there is no /sys or /proc to probe; use --sysroot with a capture from the lab machine`,
    )
  for (const u of bootLog.dmarUnits) {
    const unit = iommu.units.find((x) => x.name === u.unit)
    if (!u.inSysfs)
      ctx.warn(
        'intel.boot-log-only',
        u.unit,
        `${u.unit} at ${u.address} (cap ${u.cap.slice(2)} ecap ${u.ecap.slice(2)}) printed at boot but is not in /sys/class/iommu: the kernel ignored it (intel_iommu=igfx_off, "No supported address widths", or VT-d off); its devices are untranslated`,
      )
    else if (unit?.kind === 'intel-vt-d' && ((unit.cap && unit.cap.raw !== u.cap) || (unit.ecap && unit.ecap.raw !== u.ecap)))
      ctx.warn(
        'intel.boot-log-mismatch',
        u.unit,
        `${u.unit}: sysfs cap/ecap (${unit.cap?.raw}/${unit.ecap?.raw}) differ from the boot log (${u.cap}/${u.ecap})`,
      )
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
    ctx.warn(
      'iommu.passthrough',
      'iommu',
      `IOMMU in passthrough (${why}): device DMA, and so device mirrors, bypass translation; no IOTLB invalidation to model`,
    )
  }
  if (groups.some((g) => g.type === 'DMA-FQ'))
    ctx.info('iommu.lazy', 'iommu', 'DMA-FQ groups: lazy IOTLB invalidation (flush queue); an unmapped IOVA stays reachable until the queue is flushed')
  if (k.cmdline.strict === true) ctx.info('iommu.strict', 'iommu', 'iommu.strict=1: every unmap waits for the IOTLB invalidation to complete')
  if (k.cmdline.intelIommu.includes('off') || k.cmdline.amdIommu.includes('off') || k.cmdline.iommu.includes('off'))
    ctx.warn('iommu.disabled-cmdline', 'iommu', `IOMMU disabled on the command line (${k.cmdline.tokens.join(' ')})`, '/proc/cmdline')
  if (k.cmdline.intelIommu.includes('igfx_off'))
    ctx.info('iommu.igfx-off', 'iommu', 'intel_iommu=igfx_off: the integrated-graphics unit is not used, its devices are untranslated')
  if (k.cmdline.tokens.some((t) => /^pci=.*noats/.test(t)))
    ctx.warn('pci.noats', 'pci', 'pci=noats: ATS disabled for every device: no device-TLB, every translation goes to the IOMMU', '/proc/cmdline')
  const gpusNeedingRoot = pci.filter((d) => isGpuLike(d) && d.ats.state === 'unknown' && d.ats.detail.includes('needs root'))
  if (gpusNeedingRoot.length)
    ctx.info('pci.needs-root', 'pci', `ATS/PRI/PASID of ${gpusNeedingRoot.map((d) => d.address).join(', ')} unknown: config space beyond 64 bytes needs root`)
  if (iommu.units.length > 0) {
    for (const d of pci.filter((x) => isGpuLike(x) && x.iommuGroup === null))
      ctx.info('pci.gpu-untranslated', d.address, `${d.address}: GPU without an IOMMU group: its DMA is not translated`, `/sys/bus/pci/devices/${d.address}`)
  }
  if (!kfd.topologyPresent && !kfd.dev.present)
    ctx.info('kfd.absent', 'kfd', 'no KFD: /dev/kfd and the KFD topology are absent (no amdgpu with CONFIG_HSA_AMD loaded)')
}
