/**
 * DRM nodes (`/sys/class/drm/cardN`, `renderDN`) and NVIDIA (`/proc/driver/nvidia`,
 * `/dev/nvidia*`, `/sys/module/nvidia_uvm/parameters`).
 */
import type { DevNode, DrmNode, NvidiaSection } from '../../../shared/probe'
import type { ProbeContext } from './context'

const DRM = '/sys/class/drm'

/** Reads DRM primary and render nodes (connectors such as `card0-DP-1` are skipped). */
export function readDrm(ctx: ProbeContext): DrmNode[] {
  const names = ctx.list(DRM, 'drm')
  if (names === null) return []
  const out: DrmNode[] = []
  for (const name of names) {
    const m = /^(card|renderD)(\d+)$/.exec(name)
    if (!m) continue
    const dev = `${DRM}/${name}/device`
    try {
      ctx.resolve(`${DRM}/${name}`)
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EIO'
      if (code === 'ELOOP') ctx.malformed(`${DRM}/${name}`, name, 'symlink loop')
      else if (code !== 'ENOENT') ctx.unreadable(`${DRM}/${name}`, name, code)
    }
    const target = ctx.link(dev)
    const bdf = target ? (/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/i.exec(target)?.[1] ?? null) : null
    const attr = (f: string): string | null => {
      const t = ctx.text(`${dev}/${f}`, name)
      if (t === null) return null
      const v = t.trim()
      if (!/^0x[0-9a-fA-F]{1,4}$/.test(v)) {
        ctx.malformed(`${dev}/${f}`, name, `expected 0x-prefixed hex, got ${JSON.stringify(v.slice(0, 40))}`)
        return null
      }
      return v.toLowerCase()
    }
    out.push({
      name,
      kind: m[1] === 'card' ? 'card' : 'render',
      pciAddress: bdf,
      driver: target ? ctx.linkName(`${dev}/driver`) : null,
      vendorId: target ? attr('vendor') : null,
      deviceId: target ? attr('device') : null,
    })
  }
  return out
}

/** Splits `Key: \t value` lines on the first colon. */
export function parseNvidiaInformation(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i <= 0) continue
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim()
  }
  return out
}

const NV_DEV = ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia-modeset']

export function readNvidia(ctx: ProbeContext, hmmMirror: boolean | null): NvidiaSection {
  const versionText = ctx.text('/proc/driver/nvidia/version', 'nvidia')
  const moduleVersion = versionText === null ? ctx.text('/sys/module/nvidia/version', 'nvidia')?.trim() || null : null
  const version = versionText === null ? moduleVersion : (/NVRM version:\s*(.*)/.exec(versionText)?.[1]?.trim() ?? versionText.split('\n')[0]?.trim() ?? null)
  const gpus: NvidiaSection['gpus'] = []
  for (const addr of ctx.list('/proc/driver/nvidia/gpus', 'nvidia') ?? []) {
    const file = `/proc/driver/nvidia/gpus/${addr}/information`
    const t = ctx.text(file, `nvidia ${addr}`)
    if (t === null) continue
    const info = parseNvidiaInformation(t)
    const int = (k: string, re: RegExp): number | null => {
      const v = info[k]
      if (v === undefined) return null
      const m = re.exec(v)
      if (!m) {
        ctx.malformed(file, `nvidia ${addr}`, `${k}: unexpected value ${JSON.stringify(v.slice(0, 40))}`)
        return null
      }
      return Number(m[1])
    }
    gpus.push({
      address: addr,
      model: info['Model'] ?? null,
      uuid: info['GPU UUID'] ?? null,
      busType: info['Bus Type'] ?? null,
      dmaSizeBits: int('DMA Size', /^(\d+)\s*bits?$/),
      deviceMinor: int('Device Minor', /^(\d+)$/),
      information: info,
    })
  }
  const devNodes: DevNode[] = []
  for (const p of NV_DEV) {
    const d = ctx.dev(p)
    if (d.present) devNodes.push(d)
  }
  for (const g of gpus) {
    if (g.deviceMinor !== null) {
      const d = ctx.dev(`/dev/nvidia${g.deviceMinor}`)
      if (d.present) devNodes.push(d)
    }
  }
  const paramDir = '/sys/module/nvidia_uvm/parameters'
  const names = ctx.list(paramDir, 'nvidia_uvm')
  const parameters: Record<string, string> = {}
  for (const n of names ?? []) {
    // The two parameters the report interprets must be readable; others may be root-only.
    const t = ctx.text(`${paramDir}/${n}`, 'nvidia_uvm', { quiet: n !== 'uvm_disable_hmm' && n !== 'uvm_ats_mode' })
    if (t !== null) parameters[n] = t.trim()
  }
  const dh = parameters['uvm_disable_hmm']
  const hmmEnabled = dh === undefined ? null : dh === 'N' || dh === '0' ? true : dh === 'Y' || dh === '1' ? false : null
  if (dh !== undefined && hmmEnabled === null)
    ctx.malformed(`${paramDir}/uvm_disable_hmm`, 'nvidia_uvm', `expected Y or N, got ${JSON.stringify(dh.slice(0, 20))}`)
  const atsText = parameters['uvm_ats_mode']
  const atsMode = atsText !== undefined && /^-?\d+$/.test(atsText) ? Number(atsText) : null
  const section: NvidiaSection = {
    driverPresent: versionText !== null || moduleVersion !== null || gpus.length > 0,
    version,
    gpus,
    devNodes,
    uvm: { loaded: names !== null, parameters, hmmEnabled, atsMode },
  }
  if (section.uvm.loaded) {
    if (hmmEnabled === false)
      ctx.info(
        'nvidia.uvm-hmm-disabled',
        'nvidia_uvm',
        'nvidia_uvm: uvm_disable_hmm=Y: UVM does not use HMM; system-allocated memory is not GPU-accessible through HMM',
        `${paramDir}/uvm_disable_hmm`,
      )
    else if (hmmEnabled === true && hmmMirror === false)
      ctx.warn(
        'nvidia.uvm-hmm-no-kernel',
        'nvidia_uvm',
        'nvidia_uvm wants HMM (uvm_disable_hmm=N) but the kernel lacks CONFIG_HMM_MIRROR: UVM falls back to no HMM',
        `${paramDir}/uvm_disable_hmm`,
      )
    else if (hmmEnabled === true)
      ctx.info(
        'nvidia.uvm-hmm',
        'nvidia_uvm',
        'nvidia_uvm uses HMM (uvm_disable_hmm=N): GPU access to malloc memory through hmm_range_fault and device-private pages',
        `${paramDir}/uvm_disable_hmm`,
      )
  } else if (section.driverPresent) ctx.info('nvidia.no-uvm', 'nvidia', 'NVIDIA driver present but nvidia_uvm is not loaded: no unified memory')
  return section
}
