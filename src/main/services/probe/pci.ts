/**
 * PCI functions: `/sys/bus/pci/devices/<DDDD:BB:DD.F>/` attributes and links, and ATS / PRI /
 * PASID from config space. Non-root readers get only the first 64 bytes of `config`
 * (`pci_read_config`), which hides every capability: those are reported "unknown (needs root)",
 * never "absent".
 */
import type { PciDevice } from '../../../shared/probe'
import type { ProbeContext } from './context'

const DEVICES = '/sys/bus/pci/devices'

const VENDORS: Record<string, string> = {
  '0x8086': 'Intel',
  '0x1002': 'AMD (ATI)',
  '0x1022': 'AMD',
  '0x10de': 'NVIDIA',
  '0x1af4': 'Red Hat (virtio)',
  '0x1b36': 'Red Hat (QEMU)',
  '0x15ad': 'VMware',
  '0x1d0f': 'Amazon',
  '0x15b3': 'Mellanox / NVIDIA Networking',
  '0x14e4': 'Broadcom',
  '0x144d': 'Samsung',
  '0x1e0f': 'KIOXIA',
  '0x1414': 'Microsoft',
  '0x1ae0': 'Google',
  '0x19e5': 'Huawei',
  '0x1db7': 'Phytium',
  '0x13b5': 'ARM',
}

const CLASSES: Record<string, string> = {
  '0000': 'unclassified device',
  '0100': 'SCSI controller',
  '0101': 'IDE controller',
  '0104': 'RAID controller',
  '0106': 'SATA controller',
  '0108': 'NVMe controller',
  '0180': 'mass storage controller',
  '0200': 'Ethernet controller',
  '0207': 'InfiniBand controller',
  '0280': 'network controller',
  '0300': 'VGA compatible controller',
  '0302': '3D controller',
  '0380': 'display controller',
  '0403': 'audio device',
  '0480': 'multimedia controller',
  '0500': 'RAM memory',
  '0580': 'memory controller',
  '0600': 'host bridge',
  '0601': 'ISA bridge',
  '0604': 'PCI bridge',
  '0680': 'bridge',
  '0700': 'serial controller',
  '0780': 'communication controller',
  '0800': 'PIC',
  '0805': 'SD host controller',
  '0806': 'IOMMU',
  '0880': 'system peripheral',
  '0c03': 'USB controller',
  '0c05': 'SMBus',
  '0c80': 'serial bus controller',
  '1080': 'encryption controller',
  '1101': 'signal processing controller',
  '1180': 'signal processing controller',
  '1200': 'processing accelerator',
  '1300': 'non-essential instrumentation',
  ff00: 'unassigned class',
}

const EXT_ATS = 0x0f
const EXT_PRI = 0x13
const EXT_PASID = 0x1b
const CAP_PCIE = 0x10

type CapReport = Pick<PciDevice, 'ats' | 'pri' | 'pasid' | 'configBytesReadable'>

const u16 = (b: Buffer, o: number) => (o + 2 <= b.length ? b.readUInt16LE(o) : 0)
const u32 = (b: Buffer, o: number) => (o + 4 <= b.length ? b.readUInt32LE(o) : 0)

/**
 * Finds ATS, PRI and PASID in a config-space image. `problems` collects structural defects
 * (loops, pointers out of range) for findings.
 */
export function parseConfigSpace(cfg: Buffer, problems: string[] = []): CapReport {
  const len = cfg.length
  const unknown = (detail: string) => ({
    configBytesReadable: len,
    ats: { state: 'unknown' as const, detail },
    pri: { state: 'unknown' as const, detail },
    pasid: { state: 'unknown' as const, detail },
  })
  const absent = (detail: string) => ({
    configBytesReadable: len,
    ats: { state: 'absent' as const, detail },
    pri: { state: 'absent' as const, detail },
    pasid: { state: 'absent' as const, detail },
  })
  if (len < 64) {
    problems.push(`config space is ${len} bytes, shorter than the 64-byte header`)
    return unknown(`unknown (config space truncated to ${len} bytes)`)
  }
  if (u16(cfg, 0) === 0xffff) return unknown('unknown (config space reads all ones: device not responding)')
  const status = u16(cfg, 0x06)
  if (!(status & 0x10)) return absent('no capability list (status bit 4 clear)')
  if (len <= 64) return unknown('unknown (needs root): only the 64-byte header is readable without CAP_SYS_ADMIN')
  // Standard capability list: find PCI Express.
  let ptr = cfg[0x34] ?? 0
  let isPcie = false
  const seen = new Set<number>()
  while (ptr !== 0) {
    ptr &= 0xfc
    if (ptr < 0x40 || ptr + 2 > Math.min(len, 256)) {
      problems.push(`capability pointer 0x${ptr.toString(16)} out of range`)
      break
    }
    if (seen.has(ptr)) {
      problems.push(`capability list loops at 0x${ptr.toString(16)}`)
      break
    }
    seen.add(ptr)
    if (cfg[ptr] === CAP_PCIE) isPcie = true
    ptr = cfg[ptr + 1] ?? 0
  }
  if (!isPcie) return absent('conventional PCI function: no PCIe extended capabilities')
  if (len <= 256) return unknown('unknown (needs root): extended configuration space (≥ 0x100) not readable')
  const out: CapReport = {
    configBytesReadable: len,
    ats: { state: 'absent', detail: 'no ATS extended capability' },
    pri: { state: 'absent', detail: 'no Page Request extended capability' },
    pasid: { state: 'absent', detail: 'no PASID extended capability' },
  }
  let off = 0x100
  const seenExt = new Set<number>()
  while (off !== 0) {
    if (off < 0x100 || off + 4 > len || off & 3) {
      problems.push(`extended capability offset 0x${off.toString(16)} out of range`)
      break
    }
    if (seenExt.has(off)) {
      problems.push(`extended capability list loops at 0x${off.toString(16)}`)
      break
    }
    seenExt.add(off)
    const h = u32(cfg, off)
    if (h === 0 || h === 0xffffffff) break
    const id = h & 0xffff
    const at = `extended capability at 0x${off.toString(16)}`
    if (id === EXT_ATS) {
      const cap = u16(cfg, off + 4)
      const ctl = u16(cfg, off + 6)
      const q = cap & 0x1f
      out.ats = {
        state: 'present',
        detail: at,
        invalidateQueueDepth: q === 0 ? 32 : q,
        pageAlignedRequest: !!(cap & 0x20),
        globalInvalidate: !!(cap & 0x40),
        enabled: !!(ctl & 0x8000),
        smallestTranslationUnit: ctl & 0x1f,
      }
    } else if (id === EXT_PRI) {
      out.pri = {
        state: 'present',
        detail: at,
        enabled: !!(u16(cfg, off + 4) & 1),
        outstandingPageRequestCapacity: u32(cfg, off + 8),
        outstandingPageRequestAllocation: u32(cfg, off + 12),
      }
    } else if (id === EXT_PASID) {
      const cap = u16(cfg, off + 4)
      const ctl = u16(cfg, off + 6)
      out.pasid = {
        state: 'present',
        detail: at,
        maxPasidWidth: (cap >> 8) & 0x1f,
        executePermission: !!(cap & 2),
        privilegedMode: !!(cap & 4),
        enabled: !!(ctl & 1),
      }
    }
    off = h >>> 20
  }
  return out
}

const BDF = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/

/** Reads every PCI function. */
export function readPci(ctx: ProbeContext): PciDevice[] {
  const names = ctx.list(DEVICES, 'pci')
  if (names === null) return []
  const out: PciDevice[] = []
  for (const address of names) {
    const dir = `${DEVICES}/${address}`
    if (!BDF.test(address)) {
      ctx.malformed(dir, address, 'not a PCI address (DDDD:BB:DD.F)')
      continue
    }
    const hexAttr = (f: string, digits: number): string | null => {
      const t = ctx.text(`${dir}/${f}`, address)
      if (t === null) return null
      const v = t.trim()
      if (!new RegExp(`^0x[0-9a-fA-F]{1,${digits}}$`).test(v)) {
        ctx.malformed(`${dir}/${f}`, address, `expected 0x-prefixed hex, got ${JSON.stringify(v.slice(0, 40))}`)
        return null
      }
      return v.toLowerCase()
    }
    const vendorId = hexAttr('vendor', 4)
    const deviceId = hexAttr('device', 4)
    const classCode = hexAttr('class', 6)
    const revision = hexAttr('revision', 2)
    let numaNode: number | null = null
    const nt = ctx.text(`${dir}/numa_node`, address)
    if (nt !== null) {
      const v = nt.trim()
      if (/^-?\d+$/.test(v)) numaNode = Number(v) < 0 ? null : Number(v)
      else ctx.malformed(`${dir}/numa_node`, address, `expected a decimal node number, got ${JSON.stringify(v.slice(0, 40))}`)
    }
    const groupName = ctx.linkName(`${dir}/iommu_group`)
    const iommuGroup = groupName !== null && /^\d+$/.test(groupName) ? Number(groupName) : null
    const cfg = ctx.readBytes(`${dir}/config`, 4096)
    let caps: CapReport
    if (cfg.ok) {
      const problems: string[] = []
      caps = parseConfigSpace(cfg.value, problems)
      for (const p of problems) ctx.malformed(`${dir}/config`, address, p)
    } else {
      const detail =
        cfg.code === 'EACCES' || cfg.code === 'EPERM' ? 'unknown (needs root)' : cfg.code === 'ENOENT' ? 'unknown (no config file)' : `unknown (${cfg.code})`
      if (cfg.code !== 'ENOENT' && cfg.code !== 'EACCES' && cfg.code !== 'EPERM') ctx.unreadable(`${dir}/config`, address, cfg.code)
      caps = {
        configBytesReadable: null,
        ats: { state: 'unknown', detail },
        pri: { state: 'unknown', detail },
        pasid: { state: 'unknown', detail },
      }
    }
    const cls = classCode ? classCode.slice(2).padStart(6, '0').slice(0, 4) : null
    out.push({
      address,
      vendorId,
      deviceId,
      vendorName: vendorId ? (VENDORS[vendorId] ?? null) : null,
      classCode,
      className: cls ? (CLASSES[cls] ?? CLASSES[cls.slice(0, 2) + '80'] ?? CLASSES[cls.slice(0, 2) + '00'] ?? null) : null,
      revision,
      driver: ctx.linkName(`${dir}/driver`),
      numaNode,
      iommuGroup,
      iommu: ctx.linkName(`${dir}/iommu`),
      ...caps,
    })
  }
  return out
}

/** True for display controllers (class 03xx) and processing accelerators (12xx). */
export function isGpuLike(d: PciDevice): boolean {
  return !!d.classCode && /^0x(03|12)/.test(d.classCode)
}
