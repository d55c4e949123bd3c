/** Human-readable rendering of a probe report: findings first, then one section per area. */
import type { DecodedRegister, IommuUnit, ProbeReport } from '../../../shared/probe'
import { formatBytes } from './bits'

const SEV = { error: 'ERROR', warning: 'WARN ', info: 'info ' } as const

function register(r: DecodedRegister, indent: string): string[] {
  const lines = [`${indent}${r.name} = ${r.raw}`]
  for (const f of r.fields) {
    const tag = f.legacy ? ' [legacy]' : ''
    lines.push(`${indent}  ${f.name.padEnd(16)} [${f.bits.padStart(5)}] = ${String(f.value).padStart(4)}  ${f.meaning}${tag}`)
  }
  if (r.reservedSet.length) lines.push(`${indent}  reserved bits set: ${r.reservedSet.join(', ')}`)
  return lines
}

function unit(u: IommuUnit, verbose: boolean): string[] {
  const out: string[] = []
  if (u.kind === 'intel-vt-d') {
    out.push(`  ${u.name}: Intel VT-d ${u.version ? `${u.version.major}:${u.version.minor}` : '?'} at ${u.address ?? '?'}, ${u.endpoints.length} endpoint(s)`)
    const d = u.derived
    if (d) {
      out.push(
        `    ${d.domains} domains, MGAW ${d.mgaw}, walks ${d.pageWalkLevels.join('/') || 'none'}-level, superpages ${d.superpageSizes.map(formatBytes).join(', ') || 'none'}`,
        `    PSI ${d.psi ? `yes, MAMV ${d.mamv} (up to ${formatBytes(d.largestPsiBytes ?? 0)} per flush)` : 'no (domain-selective only)'}; QI ${d.queuedInvalidation ? 'yes' : 'no'}; DT ${d.deviceTlb ? 'yes' : 'no'}; CM ${d.cachingMode ? 'yes' : 'no'}; PT ${d.passThrough ? 'yes' : 'no'}; C ${d.coherent ? 'yes' : 'no'}`,
        `    scalable mode ${d.scalableMode ? 'yes' : 'no'}; PASID ${d.pasid ? (d.scalableMode ? `${d.pasidBits}-bit` : 'bit set, unusable without scalable mode') : 'no'}; PRS ${d.pageRequests ? 'yes' : 'no'}; FL1GP ${d.firstStage1GiB ? 'yes' : 'no'}; FL5LP ${d.firstStage5Level ? 'yes' : 'no'}`,
      )
    }
    out.push(`    SVA: ${u.sva.verdict}${u.sva.reasons.length ? ' — ' + u.sva.reasons.join('; ') : ''}`)
    if (verbose) {
      if (u.cap) out.push(...register(u.cap, '    '))
      if (u.ecap) out.push(...register(u.ecap, '    '))
    }
  } else if (u.kind === 'amd-vi') {
    out.push(`  ${u.name}: AMD-Vi${u.pciAddress ? ` at ${u.pciAddress}` : ''}, ${u.endpoints.length} endpoint(s)`)
    if (u.features) out.push(`    features ${u.features.raw} → ${u.features.format} (${u.features.formatReason})`)
    if (u.derived)
      out.push(
        `    Extended features: ${u.derived.featureNames.join(' ')}; PASID ${u.derived.pasidBits ?? 'n/a'} bits; IOTLB ${u.derived.iotlb === null ? '?' : u.derived.iotlb ? 'yes' : 'no'}`,
      )
    out.push(`    SVA: ${u.sva.verdict}${u.sva.reasons.length ? ' — ' + u.sva.reasons.join('; ') : ''}`)
    if (verbose) {
      if (u.cap) out.push(...register(u.cap, '    '))
      if (u.efr) out.push(...register(u.efr, '    '))
      if (u.efr2) out.push(...register(u.efr2, '    '))
    }
  } else {
    out.push(`  ${u.name}: ${u.kind}${u.address ? ` at ${u.address}` : ''}, ${u.endpoints.length} endpoint(s) — ${u.note}`)
  }
  return out
}

/** Renders the report as text for a terminal. `verbose` adds every register field. */
export function formatProbeReport(r: ProbeReport, opts: { verbose?: boolean } = {}): string {
  const v = opts.verbose ?? false
  const L: string[] = []
  L.push(`HMM Lab probe of ${r.source.kind === 'live' ? 'this machine' : r.source.path} (${r.probedAt})`)
  L.push('')
  L.push(`Findings (${r.findings.length})`)
  if (r.findings.length === 0) L.push('  none')
  for (const f of r.findings) L.push(`  ${SEV[f.severity]} ${f.message}`)
  L.push('')
  L.push('Summary')
  for (const s of r.summary) L.push(`  ${s}`)
  L.push('')
  L.push('Kernel')
  L.push(`  release  ${r.kernel.release ?? 'unknown'}`)
  L.push(`  cmdline  ${r.kernel.cmdline.raw ?? 'unreadable'}`)
  L.push(`  IOMMU cmdline tokens: ${r.kernel.cmdline.iommu.tokens.join(' ') || 'none'}`)
  L.push(`  cpu      ${r.kernel.cpu.modelName ?? '?'} (1 GiB pages: ${r.kernel.cpu.gbPages ?? '?'}, la57: ${r.kernel.cpu.la57 ?? '?'})`)
  const noConfig = r.kernel.config.source === null
  L.push(`  config   ${r.kernel.config.source ?? 'none usable: every option below is unknown'}`)
  for (const o of r.kernel.config.options) {
    // Without a config nothing says whether an option is set: never print "absent" then.
    const val = noConfig ? 'unknown' : o.value === null ? 'absent' : o.value === 'n' ? 'not set' : o.value
    const mark = o.verdict === 'ok' ? 'ok' : o.verdict === 'missing' ? 'MISSING' : '  '
    L.push(`    ${mark.padEnd(7)} ${o.name.padEnd(45)} ${val}`)
  }
  L.push('')
  L.push(`IOMMU (${r.iommu.units.length} unit(s))`)
  if (!r.iommu.classPresent) L.push('  /sys/class/iommu absent')
  for (const u of r.iommu.units) L.push(...unit(u, v))
  if (r.iommuGroups.length) {
    L.push('')
    L.push(`IOMMU groups (${r.iommuGroups.length})`)
    for (const g of r.iommuGroups)
      L.push(
        `  ${String(g.id).padStart(3)} ${String(g.type ?? '?').padEnd(9)} ${g.devices.join(' ')}${g.reservedRegions.length ? `  [${g.reservedRegions.map((x) => x.type).join(',')}]` : ''}`,
      )
  }
  L.push('')
  L.push(`PCI (${r.pci.length})`)
  for (const d of r.pci) {
    const caps = d.ats.state === 'unknown' ? d.ats.detail : `ATS ${d.ats.state}, PRI ${d.pri.state}, PASID ${d.pasid.state}`
    L.push(
      `  ${d.address} ${d.vendorId ?? '?'}:${d.deviceId ?? '?'} ${d.className ?? d.classCode ?? ''} driver=${d.driver ?? '-'} numa=${d.numaNode ?? '-'} group=${d.iommuGroup ?? '-'}; ${caps}`,
    )
  }
  L.push('')
  L.push(
    `KFD: /dev/kfd ${r.kfd.dev.present ? `present (mode ${r.kfd.dev.mode}${r.kfd.dev.accessible === false ? ', not accessible' : ''})` : 'absent'}, topology ${r.kfd.topologyPresent ? `generation ${r.kfd.generationId ?? '?'}` : 'absent'}`,
  )
  for (const n of r.kfd.nodes) {
    const d = n.derived
    if (d.kind === 'cpu') L.push(`  node ${n.id}: CPU, ${n.properties['cpu_cores_count'] ?? '?'} cores${n.status !== 'ok' ? ` (${n.status})` : ''}`)
    else
      L.push(
        `  node ${n.id}: ${d.kind.toUpperCase()} ${d.gfxTarget ?? '?'} at ${d.pciAddress ?? '?'}, ${d.computeUnits ?? '?'} CUs, VRAM ${d.vramBytes ? formatBytes(d.vramBytes) : '?'}, ${d.renderNode ?? 'no render node'}${d.hiveId ? `, hive ${d.hiveId}` : ''}${n.status !== 'ok' ? ` (${n.status})` : ''}`,
        `    capability: ${d.capabilityFlags.join(' ') || 'none'}`,
        `    links: ${[...n.ioLinks, ...n.p2pLinks].map((l) => `${l.typeName ?? '?'}→${l.nodeTo ?? '?'}(w${l.weight ?? '?'})`).join(' ') || 'none'}`,
      )
  }
  if (r.drm.length) {
    L.push('')
    L.push('DRM')
    for (const d of r.drm) L.push(`  ${d.name.padEnd(11)} ${d.pciAddress ?? '?'} ${d.vendorId ?? '?'}:${d.deviceId ?? '?'} ${d.driver ?? '-'}`)
  }
  L.push('')
  L.push(
    `NVIDIA: ${r.nvidia.driverPresent ? `driver ${r.nvidia.version ?? '?'}` : 'no driver'}${r.nvidia.uvm.loaded ? `; nvidia_uvm HMM ${r.nvidia.uvm.hmmEnabled === null ? '?' : r.nvidia.uvm.hmmEnabled ? 'on' : 'off'}, ATS mode ${r.nvidia.uvm.atsMode ?? '?'}` : ''}`,
  )
  for (const g of r.nvidia.gpus) L.push(`  ${g.address} ${g.model ?? '?'} DMA ${g.dmaSizeBits ?? '?'} bits`)
  L.push('')
  L.push(`System (systeminformation): ${r.system.status}${r.system.note ? ` — ${r.system.note}` : ''}`)
  if (r.system.cpu) L.push(`  CPU ${r.system.cpu.manufacturer} ${r.system.cpu.brand}, ${r.system.cpu.cores} threads`)
  if (r.system.memory) L.push(`  memory ${formatBytes(r.system.memory.totalBytes)}`)
  if (r.system.os) L.push(`  OS ${r.system.os.distro} ${r.system.os.release}, kernel ${r.system.os.kernel} ${r.system.os.arch}`)
  for (const g of r.system.gpus) L.push(`  GPU ${g.vendor} ${g.model} ${g.busAddress ?? ''}`)
  L.push('')
  const b = r.bootLog
  L.push(`Boot log: ${b.source ?? 'none'}${b.note ? ` — ${b.note}` : ''}${b.source ? `, ${b.lines.length} IOMMU line(s)` : ''}`)
  if (b.defaultDomainType) L.push(`  default domain type ${b.defaultDomainType}${b.invalidationPolicy ? `, ${b.invalidationPolicy} invalidation` : ''}`)
  for (const u of b.dmarUnits) L.push(`  ${u.unit} at ${u.address} ver ${u.version} cap ${u.cap} ecap ${u.ecap}${u.inSysfs ? '' : '  (not in sysfs)'}`)
  for (const a of b.amdFeatures) L.push(`  AMD-Vi EFR ${a.efr}${a.efr2 ? `, EFR2 ${a.efr2}` : ''}: ${a.names.join(' ')}`)
  L.push('')
  L.push(`Files: ${r.files.read} read, ${r.files.errors.length} error(s)`)
  return L.join('\n') + '\n'
}
