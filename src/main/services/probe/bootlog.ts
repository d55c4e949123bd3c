/**
 * The kernel log as a second witness: the IOMMU lines of `/dev/kmsg` (live, read-only,
 * non-blocking), of a capture, or of a saved `dmesg` given with `--dmesg`. Intel units that the
 * kernel ignored (graphics unit with `intel_iommu=igfx_off`, "No supported address widths") print
 * their CAP/ECAP at boot but never appear in sysfs; the default domain type and the invalidation
 * policy are stated there in words. Only IOMMU-related lines are kept (never the command line).
 */
import type { BootLogSection } from '../../../shared/probe'
import { parseAmdBootLine } from './amd'
import type { ProbeContext } from './context'
import { parseDmarBootLine } from './intel'
import { DMESG_PATH } from './sysroot'

const KEEP = /DMAR|AMD-Vi|iommu|IOMMU|dmar|ivhd/
const DROP = /Kernel command line|Command line:|BOOT_IMAGE/

/** Strips kmsg/dmesg/syslog prefixes and keeps the IOMMU lines (joining mail soft breaks and the 5.0–5.10 split feature line). */
export function iommuLogLines(text: string): string[] {
  const raw = text.replace(/=\r?\n/g, '').split(/\r?\n/)
  const clean = raw.map((l) => {
    if (/^ [A-Z]+=/.test(l)) return '' // kmsg dictionary continuation
    let x = l.replace(/^\d+,\d+,\d+,[^;]*;/, '') // /dev/kmsg record header
    x = x.replace(/^.*?\bkernel: /, '') // syslog / journal prefix
    x = x.replace(/^\s*\[\s*[\d.]+\]\s?/, '') // dmesg timestamp
    return x.replace(/\s+$/, '')
  })
  const out: string[] = []
  for (let i = 0; i < clean.length; i++) {
    const l = clean[i] as string
    if (!l || !KEEP.test(l) || DROP.test(l)) continue
    const next = clean[i + 1]
    if (/Extended features \(0x[0-9a-fA-F]+\):\s*$/.test(l) && next !== undefined && /^\s+[A-Za-z0-9_[\] ]+$/.test(next) && !KEEP.test(next)) {
      out.push(`${l} ${next.trim()}`)
      i++
      continue
    }
    out.push(l.trim())
  }
  return out
}

export function parseBootLog(lines: string[], source: string | null, note: string | null, sysfsUnits: Set<string>): BootLogSection {
  const dmarUnits: BootLogSection['dmarUnits'] = []
  const amdFeatures: BootLogSection['amdFeatures'] = []
  let defaultDomainType: string | null = null
  let invalidationPolicy: string | null = null
  for (const l of lines) {
    const d = parseDmarBootLine(l)
    if (d && !dmarUnits.some((u) => u.unit === d.unit)) {
      dmarUnits.push({
        unit: d.unit,
        address: d.address,
        version: `${d.major}:${d.minor}`,
        cap: '0x' + d.cap.toString(16),
        ecap: '0x' + d.ecap.toString(16),
        inSysfs: sysfsUnits.has(d.unit),
      })
      continue
    }
    const a = parseAmdBootLine(l)
    if (a) {
      amdFeatures.push({ efr: '0x' + a.efr.toString(16), efr2: a.efr2 === null ? null : '0x' + a.efr2.toString(16), names: a.names })
      continue
    }
    const dt = /Default domain type: (\w+)/.exec(l)
    if (dt) defaultDomainType = dt[1] as string
    const ip = /TLB invalidation policy: (\w+) mode/.exec(l)
    if (ip) invalidationPolicy = ip[1] as string
  }
  return { source, note, lines, defaultDomainType, invalidationPolicy, dmarUnits, amdFeatures }
}

/**
 * Reads the kernel log of the sysroot (or uses `external`), keeps the IOMMU lines for the report
 * and for a capture (`ctx.bootLogLines`).
 */
export function readBootLog(ctx: ProbeContext, sysfsUnits: Set<string>, external?: { source: string; text: string }): BootLogSection {
  let text: string | null = null
  let source: string | null = null
  let note: string | null = null
  if (external) {
    text = external.text
    source = external.source
  } else if (ctx.fs.readKernelLog) {
    try {
      text = ctx.fs.readKernelLog()
      source = ctx.fs.kind === 'live' ? '/dev/kmsg' : DMESG_PATH
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'EIO'
      if (code === 'EPERM' || code === 'EACCES') note = `kernel log not readable (${code}): kernel.dmesg_restrict needs CAP_SYSLOG`
      else if (code !== 'ENOENT') note = `kernel log not readable (${code})`
    }
  }
  const lines = text === null ? [] : iommuLogLines(text)
  if (text !== null) ctx.bootLogLines = lines
  return parseBootLog(lines, source, note, sysfsUnits)
}
