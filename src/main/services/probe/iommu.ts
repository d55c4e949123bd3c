/**
 * `/sys/class/iommu` (one entry per registered IOMMU) and `/sys/kernel/iommu_groups`.
 * Units are recognised by name (`dmarN`, `ivhdN`, `smmu3.0x…`, `smmu.0x…`, virtio bus names)
 * and, for Intel/AMD, by their vendor attribute group.
 */
import type { IommuGroup, IommuUnit, OtherIommu, ReservedRegion } from '../../../shared/probe'
import { readAmdUnit } from './amd'
import type { ProbeContext } from './context'
import { readIntelUnit } from './intel'
import type { KernelFacts } from './kernel'

const CLASS = '/sys/class/iommu'

function kindByName(name: string): IommuUnit['kind'] {
  if (/^dmar\d+$/.test(name)) return 'intel-vt-d'
  if (/^ivhd\d+$/.test(name)) return 'amd-vi'
  if (/^smmu3\./.test(name)) return 'arm-smmu-v3'
  if (/^smmu\./.test(name)) return 'arm-smmu'
  if (/^virtio\d+$/.test(name)) return 'virtio-iommu'
  return 'unknown'
}

/** Reads every unit under `/sys/class/iommu`. */
export function readIommus(ctx: ProbeContext, k: KernelFacts | null): { classPresent: boolean; units: IommuUnit[] } {
  const names = ctx.list(CLASS, 'iommu')
  if (names === null) return { classPresent: false, units: [] }
  const units: IommuUnit[] = []
  for (const name of names) {
    const base = `${CLASS}/${name}`
    const target = ctx.link(base)
    const endpoints = ctx.list(`${base}/devices`, name) ?? []
    let kind = kindByName(name)
    // Attribute groups settle it when the name does not.
    if (ctx.exists(`${base}/intel-iommu`)) kind = 'intel-vt-d'
    else if (ctx.exists(`${base}/amd-iommu`)) kind = 'amd-vi'
    if (kind === 'intel-vt-d') {
      if (!ctx.exists(`${base}/intel-iommu`)) {
        ctx.error('intel.no-attributes', name, `${base}/intel-iommu is missing: cannot read the unit's registers`, `${base}/intel-iommu`)
      }
      units.push(readIntelUnit(ctx, name, base, endpoints, k))
    } else if (kind === 'amd-vi') {
      units.push(readAmdUnit(ctx, name, base, target, endpoints, k))
    } else {
      const addr = /^smmu3?\.(0x[0-9a-fA-F]+)$/.exec(name)?.[1] ?? null
      const note =
        kind === 'arm-smmu-v3' || kind === 'arm-smmu'
          ? 'ARM SMMU: feature registers (IDR0..5) are not exported in sysfs; see dmesg or debugfs'
          : kind === 'virtio-iommu'
            ? 'virtio-iommu (paravirtual): no capability registers in sysfs; groups and reserved regions only'
            : 'unrecognised IOMMU driver: only its endpoints are known'
      const unit: OtherIommu = { kind, name, path: base, endpoints, address: addr ? addr.toLowerCase() : null, note }
      units.push(unit)
    }
  }
  intelConsistency(ctx, units)
  for (const u of units)
    if ((u.kind === 'intel-vt-d' || u.kind === 'amd-vi') && u.sva.verdict === 'capable')
      ctx.info(
        'iommu.sva-capable',
        u.name,
        `${u.name}: SVA possible: devices behind it can share a process's page tables through a PASID (${u.sva.reasons.join('; ')})`,
      )
  if (units.length === 0)
    ctx.info('iommu.none', 'iommu', 'no IOMMU registered (/sys/class/iommu is empty): DMA is not translated; no SVA, no ATS, no device isolation')
  return { classPresent: true, units }
}

const GROUPS = '/sys/kernel/iommu_groups'
const GROUP_TYPES = new Set(['DMA', 'DMA-FQ', 'identity', 'blocked', 'unmanaged', 'unknown', 'auto'])

/** Parses `reserved_regions` lines `0x%016llx 0x%016llx %s`. */
export function parseReservedRegions(text: string): { regions: ReservedRegion[]; bad: string[] } {
  const regions: ReservedRegion[] = []
  const bad: string[] = []
  for (const line of text.split('\n')) {
    const l = line.trim()
    if (!l) continue
    const m = /^(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(\S+)$/.exec(l)
    if (m) regions.push({ start: (m[1] as string).toLowerCase(), end: (m[2] as string).toLowerCase(), type: m[3] as string })
    else bad.push(l)
  }
  return { regions, bad }
}

/** Reads `/sys/kernel/iommu_groups/N/{devices,type,reserved_regions,name}`. */
export function readIommuGroups(ctx: ProbeContext): IommuGroup[] {
  const ids = ctx.list(GROUPS, 'iommu groups')
  if (ids === null) return []
  const groups: IommuGroup[] = []
  for (const id of ids) {
    const dir = `${GROUPS}/${id}`
    if (!/^\d+$/.test(id)) {
      ctx.malformed(dir, `group ${id}`, 'group directory name is not a decimal number')
      continue
    }
    const subject = `iommu group ${id}`
    const t = ctx.text(`${dir}/type`, subject)
    let type: string | null = null
    if (t !== null) {
      type = t.trim()
      if (!GROUP_TYPES.has(type)) {
        ctx.malformed(`${dir}/type`, subject, `unknown domain type ${JSON.stringify(type.slice(0, 40))}`)
      }
    }
    const rr = ctx.text(`${dir}/reserved_regions`, subject)
    let reservedRegions: ReservedRegion[] = []
    if (rr !== null) {
      const p = parseReservedRegions(rr)
      reservedRegions = p.regions
      if (p.bad.length) ctx.malformed(`${dir}/reserved_regions`, subject, `unparsable line ${JSON.stringify((p.bad[0] ?? '').slice(0, 60))}`)
    }
    const nameText = ctx.text(`${dir}/name`, subject)
    groups.push({
      id: Number(id),
      type,
      devices: ctx.list(`${dir}/devices`, subject) ?? [],
      reservedRegions,
      name: nameText === null ? null : nameText.trim(),
    })
  }
  return groups.sort((a, b) => a.id - b.id)
}

/**
 * The kernel compares some features across all DMAR units and prints
 * "IOMMU feature <name> inconsistent" when they differ; SVA then follows the weakest unit.
 */
function intelConsistency(ctx: ProbeContext, units: IommuUnit[]): void {
  const intel = units.filter((u): u is Extract<IommuUnit, { kind: 'intel-vt-d' }> => u.kind === 'intel-vt-d' && u.derived !== null)
  if (intel.length < 2) return
  const checks: [string, (d: NonNullable<(typeof intel)[number]['derived']>) => boolean][] = [
    ['fl1gp_support', (d) => d.firstStage1GiB],
    ['fl5lp_support', (d) => d.firstStage5Level],
    ['pi_support', (d) => d.postedInterrupts],
    ['eim_support', (d) => d.extendedInterruptMode],
    ['pasid', (d) => d.pasid],
    ['prs', (d) => d.pageRequests],
  ]
  for (const [name, get] of checks) {
    const vals = intel.map((u) => get(u.derived as NonNullable<typeof u.derived>))
    if (vals.some((v) => v) && vals.some((v) => !v)) {
      const has = intel.filter((_, i) => vals[i]).map((u) => u.name)
      const lacks = intel.filter((_, i) => !vals[i]).map((u) => u.name)
      ctx.info(
        'intel.inconsistent',
        name,
        `units disagree on ${name} (${has.join(', ')} yes; ${lacks.join(', ')} no): the kernel prints "IOMMU feature ${name} inconsistent"`,
      )
    }
  }
}
