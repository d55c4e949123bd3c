/**
 * Writes an imported scenario as YAML a human can read: one flow mapping per step, each with the
 * log line (or maps line) it came from as a comment, and the list of what was not mapped as
 * comments at the top. The YAML is what `parseScenario` reads back (the import tests check it).
 */
import type { Scenario, StepT } from '../../../shared/scenario'
import { lineRanges } from './addr-map'

export interface Unmapped {
  line: number
  what: string
  reason: string
}

export interface Item {
  step?: StepT
  comment?: string
}

function scalar(v: unknown, key = ''): string {
  // addresses in hex (YAML 1.2 reads 0x… as an integer)
  if (typeof v === 'number' && key === 'at') return '0x' + v.toString(16)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') {
    // names and sizes are plain-safe; anything else is quoted
    if (/^[A-Za-z][A-Za-z0-9_.-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(v)) return v
    return JSON.stringify(v)
  }
  if (Array.isArray(v)) return `[${v.map((x) => scalar(x)).join(', ')}]`
  if (v !== null && typeof v === 'object') {
    const es = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined)
    return `{ ${es.map(([k, x]) => `${k}: ${scalar(x, k)}`).join(', ')} }`
  }
  return 'null'
}

/** Reasons that concern calls with no memory effect at all: listed after the others. */
function routine(reason: string): boolean {
  return /^(no effect on the address space|metadata only|failed \(|close-on-exec|of an fd that is not|an fd that is not a file)/.test(reason)
}

/** Groups unmapped lines by what and why: "read ×259 (lines 9, 17-19): reason". */
/** The machine of an imported scenario: one device, behind an IOMMU with ATS when one is named. */
export function importedMachine(device: 'dmirror' | 'gpu', iommu: 'intel' | 'amd' | 'arm' | undefined): NonNullable<Scenario['machine']> {
  return {
    ...(iommu ? { iommus: [{ name: 'iommu0', vendor: iommu }] } : {}),
    devices: [{ name: 'dev0', kind: device, ...(iommu ? { iommu: 'iommu0', ats: true } : {}) }],
  }
}

export function unmappedSummary(list: Unmapped[]): string[] {
  const groups = new Map<string, { what: string; reason: string; lines: number[] }>()
  for (const u of list) {
    const k = `${u.what}\u0000${u.reason}`
    const g = groups.get(k) ?? { what: u.what, reason: u.reason, lines: [] }
    g.lines.push(u.line)
    groups.set(k, g)
  }
  return [...groups.values()]
    .sort((a, b) => Number(routine(a.reason)) - Number(routine(b.reason)) || b.lines.length - a.lines.length || a.what.localeCompare(b.what))
    .map((g) => `${g.what} ×${g.lines.length}: ${g.reason}; line${g.lines.length > 1 ? 's' : ''} ${lineRanges(g.lines)}`)
}

function wrapComment(text: string, indent: string, width = 110): string[] {
  const out: string[] = []
  for (const para of text.split('\n')) {
    let cur = ''
    for (const word of para.split(' ')) {
      if (cur.length > 0 && indent.length + 2 + cur.length + 1 + word.length > width) {
        out.push(`${indent}# ${cur}`)
        cur = '    ' + word
      } else cur = cur.length > 0 ? `${cur} ${word}` : word
    }
    out.push(`${indent}# ${cur}`.trimEnd())
  }
  return out
}

/** The YAML text of an imported scenario. */
export function writeScenarioYaml(header: string[], sc: Omit<Scenario, 'steps'>, items: Item[], unmapped: Unmapped[]): string {
  const out: string[] = []
  for (const h of header) out.push(...wrapComment(h, ''))
  if (unmapped.length > 0) {
    out.push('#')
    out.push(`# Not mapped (${unmapped.length} lines; docs/workloads.md says why):`)
    for (const s of unmappedSummary(unmapped)) out.push(...wrapComment('  ' + s, ''))
  }
  out.push(`name: ${JSON.stringify(sc.name)}`)
  if (sc.description !== undefined) {
    out.push('description: >')
    for (const l of sc.description.split('\n')) out.push(`  ${l}`)
  }
  if (sc.seed !== undefined) out.push(`seed: ${sc.seed}`)
  if (sc.designs !== undefined) out.push(`designs: ${scalar(sc.designs)}`)
  if (sc.machine !== undefined) {
    out.push('machine:')
    if (sc.machine.cpus !== undefined) out.push(`  cpus: ${sc.machine.cpus}`)
    if (sc.machine.iommus !== undefined) out.push(`  iommus: ${scalar(sc.machine.iommus)}`)
    if (sc.machine.devices !== undefined) out.push(`  devices: ${scalar(sc.machine.devices)}`)
  }
  if (sc.trace !== undefined) out.push(`trace: ${scalar(sc.trace)}`)
  out.push('steps:')
  for (const it of items) {
    if (it.step) {
      const [k, v] = Object.entries(it.step)[0] as [string, unknown]
      const line = `  - ${k}: ${scalar(v)}`
      out.push(it.comment ? `${line}  # ${it.comment.replace(/\n/g, ' ')}` : line)
    } else if (it.comment !== undefined) out.push(...wrapComment(it.comment, '  '))
  }
  return out.join('\n') + '\n'
}
