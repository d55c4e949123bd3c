/**
 * AMD KFD: `/dev/kfd` and the topology under `/sys/devices/virtual/kfd/kfd/topology` (the path
 * the thunk reads; `/sys/class/kfd/kfd` links to it). Property files are `<key> <decimal>` lines
 * (`kfd_topology.c`); they are parsed into maps, never by position, and unknown keys are kept.
 * A node that cannot be read (EPERM from the device cgroup) or parsed is reported and skipped
 * over, never fatal.
 */
import type { KfdLink, KfdNode, KfdNodeDerived, KfdProperties, KfdSection } from '../../../shared/probe'
import { idRanges } from './bits'
import type { ProbeContext } from './context'

export const KFD_TOPOLOGY = '/sys/devices/virtual/kfd/kfd/topology'
const KFD_TOPOLOGY_CLASS = '/sys/class/kfd/kfd/topology'

/** Keys whose values are not numbers. */
const STRING_KEYS = new Set(['sibling_map', 'gpu_family', 'marketing_name'])

/**
 * Keys `kfd_topology.c` prints with `sysfs_show_64bit_prop` (`%llu`); every other numeric key is a
 * `sysfs_show_32bit_prop` (`%u`), so a value above 2^32-1 cannot come from the kernel.
 */
const U64_KEYS = new Set(['platform_oem', 'platform_id', 'platform_rev', 'size_in_bytes', 'hive_id', 'local_mem_size', 'debug_prop', 'unique_id'])
const U32_MAX = 0xffffffffn
const U64_MAX = 0xffffffffffffffffn

/**
 * Parses a KFD properties file into a map. Values above 2^53 stay decimal strings. `bad`: lines
 * that are not `<key> <value>` or whose value is not a number; `outOfRange`: numeric values wider
 * than the kernel's type for that key (u32, or u64 for the keys above), as `key value`.
 */
export function parseKfdProperties(text: string): { props: KfdProperties; bad: string[]; outOfRange: string[] } {
  const props: KfdProperties = {}
  const bad: string[] = []
  const outOfRange: string[] = []
  for (const line of text.split('\n')) {
    const l = line.trim()
    if (!l) continue
    const m = /^([A-Za-z0-9_]+)\s+(\S.*)$/.exec(l)
    if (!m) {
      bad.push(l)
      continue
    }
    const key = m[1] as string
    const val = (m[2] as string).trim()
    if (/^\d+$/.test(val)) {
      const n = Number(val)
      props[key] = Number.isSafeInteger(n) ? n : BigInt(val).toString()
      if (val.length > 20 || BigInt(val) > (U64_KEYS.has(key) ? U64_MAX : U32_MAX)) outOfRange.push(`${key} ${val}`)
    } else {
      props[key] = val
      if (!STRING_KEYS.has(key)) bad.push(l)
    }
  }
  return { props, bad, outOfRange }
}

const num = (p: KfdProperties, k: string): number | null => {
  const v = p[k]
  return typeof v === 'number' ? v : null
}
const big = (p: KfdProperties, k: string): bigint | null => {
  const v = p[k]
  if (typeof v === 'number') return BigInt(v)
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v)
  return null
}

/** `capability` bits of `include/uapi/linux/kfd_sysfs.h` (HSA_CAP_ prefix dropped). */
const CAP_FLAGS: [number, string][] = [
  [0x1, 'HOT_PLUGGABLE'],
  [0x2, 'ATS_PRESENT'],
  [0x4, 'SHARED_WITH_GRAPHICS'],
  [0x8, 'QUEUE_SIZE_POW2'],
  [0x10, 'QUEUE_SIZE_32BIT'],
  [0x20, 'QUEUE_IDLE_EVENT'],
  [0x40, 'VA_LIMIT'],
  [0x80, 'WATCH_POINTS_SUPPORTED'],
  [0x4000, 'AQL_QUEUE_DOUBLE_MAP'],
  [0x8000, 'TRAP_DEBUG_SUPPORT'],
  [0x10000, 'TRAP_DEBUG_WAVE_LAUNCH_TRAP_OVERRIDE_SUPPORTED'],
  [0x20000, 'TRAP_DEBUG_WAVE_LAUNCH_MODE_SUPPORTED'],
  [0x40000, 'TRAP_DEBUG_PRECISE_MEMORY_OPERATIONS_SUPPORTED'],
  [0x80000, 'RESERVED_WAS_SRAM_EDCSUPPORTED'],
  [0x100000, 'MEM_EDCSUPPORTED'],
  [0x200000, 'RASEVENTNOTIFY'],
  [0x4000000, 'SRAM_EDCSUPPORTED'],
  [0x8000000, 'SVMAPI_SUPPORTED'],
  [0x10000000, 'FLAGS_COHERENTHOSTACCESS'],
  [0x20000000, 'TRAP_DEBUG_FIRMWARE_SUPPORTED'],
  [0x40000000, 'TRAP_DEBUG_PRECISE_ALU_OPERATIONS_SUPPORTED'],
  [0x80000000, 'PER_QUEUE_RESET_SUPPORTED'],
]

/** Capability flag names; multi-bit fields as `NAME=value`. */
export function kfdCapabilityFlags(cap: number): string[] {
  const out: string[] = []
  for (const [mask, name] of CAP_FLAGS) if ((cap & mask) >>> 0 === mask) out.push(name)
  const wp = (cap >>> 8) & 0xf
  if (wp) out.push(`WATCH_POINTS_TOTALBITS=${wp}`)
  const db = (cap >>> 12) & 0x3
  if (db) out.push(`DOORBELL_TYPE=${db}`)
  const rev = (cap >>> 22) & 0xf
  if (rev) out.push(`ASIC_REVISION=${rev}`)
  return out
}

/** `gfx_target_version` (decimal MMmmss) → ISA name: 90010 → gfx90a, 110000 → gfx1100. */
export function gfxTargetName(v: number): string | null {
  if (!Number.isInteger(v) || v <= 0) return null
  const major = Math.floor(v / 10000)
  const minor = Math.floor(v / 100) % 100
  const step = v % 100
  if (minor > 15 || step > 15) return null
  return `gfx${major}${minor.toString(16)}${step.toString(16)}`
}

/** Thunk-style fallback for kernels without `gfx_target_version`: PCI device id → version. */
const DEVICE_GFX: [number, number, number][] = [
  [0x6860, 0x687f, 90000], // Vega10
  [0x15dd, 0x15dd, 90002], // Raven
  [0x15d8, 0x15d8, 90002], // Picasso
  [0x66a0, 0x66af, 90006], // Vega20
  [0x738c, 0x738c, 90008], // Arcturus (MI100)
  [0x7388, 0x7388, 90008],
  [0x740c, 0x740f, 90010], // Aldebaran (MI200)
  [0x1636, 0x1636, 90012], // Renoir
  [0x1638, 0x1638, 90012], // Cezanne
  [0x73a0, 0x73bf, 100300], // Navi21
  [0x744c, 0x744c, 110000], // Navi31
]
export function gfxVersionFromDeviceId(id: number): number | null {
  for (const [lo, hi, v] of DEVICE_GFX) if (id >= lo && id <= hi) return v
  return null
}

/** PCI device ids of AMD APU graphics (Raven … Strix Halo): their GPU nodes share system memory. */
const APU_DEVICE_IDS = new Set([
  0x15dd, 0x15d8, 0x1636, 0x1638, 0x164c, 0x1681, 0x15e7, 0x163f, 0x15bf, 0x15c8, 0x1900, 0x1901, 0x150e, 0x1586, 0x1114, 0x13c0, 0x164e,
])

const HEAP_TYPES = ['system', 'fb public', 'fb private', 'gds', 'lds', 'scratch']
const LINK_TYPES: Record<number, string> = {
  0: 'undefined',
  1: 'HyperTransport',
  2: 'PCIe',
  3: 'AMBA',
  4: 'MIPI',
  5: 'QPI',
  8: 'RapidIO',
  9: 'InfiniBand',
  11: 'XGMI',
  12: 'XGOP',
  13: 'GZ',
  14: 'Ethernet RDMA',
  15: 'RDMA other',
  16: 'other',
}
const LINK_FLAGS: [number, string][] = [
  [1, 'enabled'],
  [2, 'non-coherent'],
  [4, 'no-atomics-32bit'],
  [8, 'no-atomics-64bit'],
  [16, 'no-peer-to-peer-dma'],
  [0x80000000, 'bi-directional'],
]

function pciFromLocation(domain: number | null, loc: number | null): string | null {
  if (loc === null || loc <= 0) return null
  const bus = (loc >> 8) & 0xff
  const devfn = loc & 0xff
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0')
  return `${h(domain ?? 0, 4)}:${h(bus, 2)}:${h(devfn >> 3, 2)}.${devfn & 7}`
}

export function deriveKfdNode(p: KfdProperties, memBanks: KfdNode['memBanks']): KfdNodeDerived {
  const simd = num(p, 'simd_count') ?? 0
  const cores = num(p, 'cpu_cores_count') ?? 0
  const dev = num(p, 'device_id')
  const kind: KfdNodeDerived['kind'] = simd > 0 && (cores > 0 || (dev !== null && APU_DEVICE_IDS.has(dev))) ? 'apu' : simd > 0 ? 'gpu' : 'cpu'
  const perCu = num(p, 'simd_per_cu')
  let gfxVersion = num(p, 'gfx_target_version')
  if ((gfxVersion === null || gfxVersion === 0) && kind !== 'cpu') {
    gfxVersion = dev === null ? null : gfxVersionFromDeviceId(dev)
  }
  if (kind === 'cpu') gfxVersion = gfxVersion === 0 ? null : gfxVersion
  const cap = num(p, 'capability')
  const flags = cap === null ? [] : kfdCapabilityFlags(cap)
  const minor = num(p, 'drm_render_minor')
  const fb = memBanks.filter((b) => b.heapType === 'fb public' || b.heapType === 'fb private').reduce((s, b) => s + (b.sizeBytes ?? 0), 0)
  const lms = num(p, 'local_mem_size')
  const hive = big(p, 'hive_id')
  return {
    kind,
    computeUnits: kind !== 'cpu' && perCu ? Math.floor(simd / perCu) : null,
    gfxTargetVersion: kind === 'cpu' ? null : gfxVersion,
    gfxTarget: kind === 'cpu' || gfxVersion === null ? null : gfxTargetName(gfxVersion),
    pciAddress: kind === 'cpu' ? null : pciFromLocation(num(p, 'domain'), num(p, 'location_id')),
    renderNode: kind !== 'cpu' && minor ? `/dev/dri/renderD${minor}` : null,
    vramBytes: kind === 'cpu' ? null : fb > 0 ? fb : lms && lms > 0 ? lms : null,
    capabilityFlags: flags,
    svmApiSupported: cap === null || kind === 'cpu' ? null : flags.includes('SVMAPI_SUPPORTED'),
    atsPresent: cap === null || kind === 'cpu' ? null : flags.includes('ATS_PRESENT'),
    hiveId: hive === null || hive === 0n ? null : hive.toString(),
    waveFrontSize: kind === 'cpu' ? null : num(p, 'wave_front_size'),
  }
}

function linkFrom(id: number, props: KfdProperties): KfdLink {
  const type = num(props, 'type')
  const f = num(props, 'flags') ?? 0
  return {
    id,
    properties: props,
    typeName: type === null ? null : (LINK_TYPES[type] ?? `type ${type}`),
    nodeFrom: num(props, 'node_from'),
    nodeTo: num(props, 'node_to'),
    weight: num(props, 'weight'),
    flags: LINK_FLAGS.filter(([m]) => (f & m) >>> 0 === m).map(([, n]) => n),
  }
}

function numericDirs(ctx: ProbeContext, dir: string, subject: string): number[] {
  const names = ctx.list(dir, subject)
  if (names === null) return []
  const ids: number[] = []
  for (const n of names) {
    if (/^\d+$/.test(n)) ids.push(Number(n))
    else ctx.malformed(`${dir}/${n}`, subject, 'entry name is not a decimal index')
  }
  return ids.sort((a, b) => a - b)
}

/** `a, b, c and 4 more` of at most `n` items (each cut to 60 characters). */
function someOf(items: string[], n = 4): string {
  const shown = items.slice(0, n).map((x) => JSON.stringify(x.length > 60 ? `${x.slice(0, 60)}…` : x))
  return shown.join(', ') + (items.length > n ? ` and ${items.length - n} more` : '')
}

/**
 * Reads one `properties` file; every bad line or out-of-range value is named in one finding for the
 * file (the rest is kept). `problems`: how many lines were bad.
 */
function readProps(ctx: ProbeContext, file: string, subject: string): { props: KfdProperties | null; code: string | null; problems: number } {
  const r = ctx.read(file, subject)
  if (!r.ok) return { props: null, code: r.code, problems: 0 }
  const { props, bad, outOfRange } = parseKfdProperties(r.value)
  if (bad.length) ctx.malformed(file, subject, `${bad.length} unparsable line(s) (not "<key> <decimal>"): ${someOf(bad)}`)
  if (outOfRange.length)
    ctx.malformed(file, subject, `${outOfRange.length} value(s) out of range (kfd_topology.c prints these keys as u32 %u, or u64 %llu): ${someOf(outOfRange)}`)
  return { props, code: null, problems: bad.length + outOfRange.length }
}

function readNode(ctx: ProbeContext, topo: string, id: number): KfdNode {
  const dir = `${topo}/nodes/${id}`
  const subject = `kfd node ${id}`
  const { props, code, problems } = readProps(ctx, `${dir}/properties`, subject)
  let status: KfdNode['status'] = 'ok'
  // A node whose properties hold values the kernel cannot print is not classified as ok: with a
  // garbled simd_count it is not even known whether it is a CPU or a GPU.
  if (problems > 0) status = 'malformed'
  if (props === null) {
    if (code === 'EPERM' || code === 'EACCES') {
      status = 'denied'
      ctx.warn(
        'kfd.node-denied',
        subject,
        `${dir}/properties: ${code}: node hidden from this process (device cgroup); the thunk treats it as unsupported`,
        `${dir}/properties`,
      )
    } else {
      status = 'malformed'
      if (code === 'ENOENT') ctx.malformed(`${dir}/properties`, subject, 'node has no properties file')
      else ctx.unreadable(`${dir}/properties`, subject, code ?? 'EIO')
    }
  } else if (Object.keys(props).length === 0) {
    status = 'malformed'
    ctx.malformed(`${dir}/properties`, subject, 'properties file is empty')
  }
  const p: KfdProperties = props ?? {}
  const gpuIdText = ctx.text(`${dir}/gpu_id`, subject)
  let gpuId: number | null = null
  if (gpuIdText !== null) {
    const t = gpuIdText.trim()
    if (/^\d+$/.test(t) && Number(t) <= 0xffffffff) gpuId = Number(t)
    else ctx.malformed(`${dir}/gpu_id`, subject, `expected a decimal u32, got ${JSON.stringify(t.slice(0, 40))}`)
  }
  const nameText = ctx.text(`${dir}/name`, subject)
  const memBanks = numericDirs(ctx, `${dir}/mem_banks`, subject).map((m) => {
    const r = readProps(ctx, `${dir}/mem_banks/${m}/properties`, subject)
    const props2 = r.props ?? {}
    const ht = num(props2, 'heap_type')
    return { id: m, properties: props2, heapType: ht === null ? null : (HEAP_TYPES[ht] ?? `heap ${ht}`), sizeBytes: num(props2, 'size_in_bytes') }
  })
  const caches = numericDirs(ctx, `${dir}/caches`, subject).map((c) => ({
    id: c,
    properties: readProps(ctx, `${dir}/caches/${c}/properties`, subject).props ?? {},
  }))
  const links = (sub: string) =>
    numericDirs(ctx, `${dir}/${sub}`, subject).map((l) => linkFrom(l, readProps(ctx, `${dir}/${sub}/${l}/properties`, subject).props ?? {}))
  const derived = deriveKfdNode(p, memBanks)
  if (status === 'ok' && derived.kind !== 'cpu' && num(p, 'simd_per_cu') === 0)
    ctx.malformed(`${dir}/properties`, subject, 'simd_count > 0 but simd_per_cu is 0: compute-unit count unknown')
  return {
    id,
    path: dir,
    gpuId,
    name: nameText === null ? null : nameText.trim(),
    properties: p,
    derived,
    memBanks,
    caches,
    ioLinks: links('io_links'),
    p2pLinks: links('p2p_links'),
    status,
  }
}

/** Reads `/dev/kfd` and the KFD topology (re-reading if `generation_id` changes underneath). */
export function readKfd(ctx: ProbeContext): KfdSection {
  const dev = ctx.dev('/dev/kfd')
  let topo = KFD_TOPOLOGY
  if (!ctx.exists(topo) && ctx.exists(KFD_TOPOLOGY_CLASS)) topo = KFD_TOPOLOGY_CLASS
  const present = ctx.exists(topo)
  const section: KfdSection = { dev, topologyPresent: present, generationId: null, systemProperties: {}, nodes: [] }
  if (!present) {
    if (dev.present) ctx.warn('kfd.no-topology', 'kfd', '/dev/kfd exists but the KFD topology is missing from sysfs')
    return section
  }
  const gen = (): number | null => {
    const t = ctx.text(`${topo}/generation_id`, 'kfd')
    if (t === null) return null
    if (!/^\s*\d+\s*$/.test(t)) {
      ctx.malformed(`${topo}/generation_id`, 'kfd', `expected a decimal counter, got ${JSON.stringify(t.trim().slice(0, 40))}`)
      return null
    }
    return Number(t.trim())
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = gen()
    const sys = readProps(ctx, `${topo}/system_properties`, 'kfd')
    const nodes = numericDirs(ctx, `${topo}/nodes`, 'kfd').map((id) => readNode(ctx, topo, id))
    const after = gen()
    section.generationId = after
    section.systemProperties = sys.props ?? {}
    section.nodes = nodes
    if (before === after) break
    if (attempt === 2)
      ctx.warn(
        'kfd.topology-changing',
        'kfd',
        `KFD topology generation changed while reading (${before} → ${after}); the snapshot may be inconsistent`,
        `${topo}/generation_id`,
      )
  }
  kfdFindings(ctx, section)
  return section
}

function kfdFindings(ctx: ProbeContext, s: KfdSection): void {
  if (!s.dev.present) ctx.warn('kfd.no-dev', 'kfd', 'KFD topology present but /dev/kfd is missing: ROCm cannot open the device', '/dev/kfd')
  else if (s.dev.accessible === false)
    ctx.warn(
      'kfd.dev-denied',
      'kfd',
      `/dev/kfd (mode ${s.dev.mode}) is not readable and writable by this user: add the user to the render/video group`,
      '/dev/kfd',
    )
  const gpus = s.nodes.filter((n) => n.status === 'ok' && n.derived.kind !== 'cpu')
  // One finding per (fact, target) so that eight identical GPUs give one line.
  const byKey = new Map<string, KfdNode[]>()
  for (const n of gpus) {
    const facts = [n.derived.svmApiSupported === false ? 'no-svm' : n.derived.svmApiSupported === true ? 'svm' : null, n.derived.atsPresent ? 'ats' : null]
    for (const f of facts) if (f) byKey.set(`${f}|${n.derived.gfxTarget ?? '?'}`, [...(byKey.get(`${f}|${n.derived.gfxTarget ?? '?'}`) ?? []), n])
  }
  for (const [key, nodes] of byKey) {
    const [fact, target] = key.split('|') as [string, string]
    const what = `kfd node${nodes.length > 1 ? 's' : ''} ${idRanges(nodes.map((n) => n.id))} (${target})`
    const file = `${(nodes[0] as KfdNode).path}/properties`
    if (fact === 'no-svm')
      ctx.warn(
        'kfd.no-svm',
        what,
        `${what}: SVMAPI_SUPPORTED not set: KFD SVM (HMM-based shared virtual memory, hipMallocManaged with XNACK) unavailable`,
        file,
      )
    else if (fact === 'svm')
      ctx.info('kfd.svm', what, `${what}: SVMAPI_SUPPORTED: KFD mirrors process memory through HMM (mmu interval notifiers, hmm_range_fault)`, file)
    else ctx.info('kfd.ats', what, `${what}: ATS_PRESENT: the GPU translates through the IOMMU (IOMMUv2/ATS path, APU style)`, file)
  }
  // The thunk drops GPU nodes whose render node it cannot open; look (never open) where /dev/dri exists.
  if (ctx.exists('/dev/dri')) {
    for (const n of gpus) {
      if (!n.derived.renderNode) continue
      const d = ctx.dev(n.derived.renderNode)
      if (!d.present)
        ctx.warn(
          'kfd.no-render-node',
          `kfd node ${n.id}`,
          `kfd node ${n.id}: ${n.derived.renderNode} does not exist: ROCm skips this GPU`,
          n.derived.renderNode,
        )
      else if (d.accessible === false)
        ctx.warn(
          'kfd.render-node-denied',
          `kfd node ${n.id}`,
          `kfd node ${n.id}: ${n.derived.renderNode} (mode ${d.mode}) is not accessible to this user: ROCm skips this GPU`,
          n.derived.renderNode,
        )
    }
  }
  const hives = new Map<string, number[]>()
  for (const n of gpus) if (n.derived.hiveId) hives.set(n.derived.hiveId, [...(hives.get(n.derived.hiveId) ?? []), n.id])
  for (const [h, ids] of hives) {
    const xgmi = gpus
      .filter((n) => ids.includes(n.id))
      .flatMap((n) => [...n.ioLinks, ...n.p2pLinks])
      .filter((l) => l.typeName === 'XGMI').length
    ctx.info('kfd.xgmi-hive', `xgmi hive ${h}`, `XGMI hive ${h}: nodes ${idRanges(ids)} (${xgmi} XGMI link entries): peer access bypasses PCIe`)
  }
  if (s.nodes.length > 0 && gpus.length === 0 && !s.nodes.some((n) => n.status !== 'ok'))
    ctx.info('kfd.cpu-only', 'kfd', 'KFD topology has CPU nodes only: no GPU is visible to KFD')
}
