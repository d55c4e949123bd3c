/**
 * The simulator checked against THIS machine's kernel (issue 13). native/hostcheck/patterns.c runs
 * memory patterns natively and prints, per task and phase, what the kernel reports; the same
 * patterns are built here as scenarios (same addresses, same steps) and the simulator's numbers
 * are read at the same points from its page tables. `compareAll` pairs them metric by metric.
 *
 * Numbers compared, per region of the pattern (4 KiB pages unless said):
 *   present, swapped, exclusive   pagemap PM_PRESENT / PM_SWAP / PM_MMAP_EXCLUSIVE
 *   zero                          pages mapping the (huge) zero page (kpageflags KPF_ZERO_PAGE; root)
 *   cow                           pages whose PFN changed since the task's previous checkpoint (root)
 *   rss_kb, anon_kb, anon_huge_kb smaps Rss, Anonymous, AnonHugePages of the region's VMAs
 * and per task:
 *   pt_bytes                      VmPTE now minus VmPTE after the task unmapped every region
 *   minflt                        ru_minflt of the phase's own action (null for fork phases)
 * Recorded, not compared: soft_dirty (the model has no soft-dirty bit), lazyfree_kb (per-CPU LRU
 * batches make it approximate; present/rss show MADV_FREE already), the whole-process RssAnon /
 * RssFile / RssShmem of /proc/self/status (percpu counters, approximate, and they include libc).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { runScenario, type Scenario } from '../../src/sim/index'
import type { World } from '../../src/sim/world'
import type { MmStruct } from '../../src/sim/kernel/objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_ZERO } from '../../src/sim/kernel/pagetable'
import { ZERO_PFN } from '../../src/sim/kernel/frames'
import type { StepT } from '../../src/shared/scenario'

export const HELPER_SOURCE = 'native/hostcheck/patterns.c'
const PG = 4096
const GIB = 2 ** 30
/** 10 TiB: the helper's BASE (below the simulator's 16 TiB limit). */
export const BASE = 0x0a0000000000
const SLOT = (k: number): number => BASE + k * GIB
const N = 1024

// ---- the patterns, as scenario steps (native/hostcheck/patterns.c has the same ones) --------

interface RegionPos {
  addr: number
  pages: number
}

export interface Phase {
  task: string
  name: string
  steps: StepT[]
  /** Regions that move in this phase (mremap): their new address. */
  moves?: Record<string, number>
}

export interface Pattern {
  name: string
  regions: Record<string, RegionPos>
  phases: Phase[]
  /** Host facts the pattern needs to be comparable. */
  needs?: Array<'zero_page_read' | 'huge_zero_page_read' | 'thp'>
}

const self = 'self'
const child = 'child'

function mmap(region: string, pages: number, o: { shared?: boolean; huge?: boolean; prot?: 'r' | 'rw'; fd?: string; at?: number } = {}): StepT {
  return {
    mmap: {
      task: self,
      region,
      size: pages * PG,
      at: o.at ?? SLOT(1),
      ...(o.prot ? { prot: o.prot } : {}),
      ...(o.shared ? { shared: true } : {}),
      ...(o.huge ? { huge: true } : {}),
      ...(o.fd ? { fd: o.fd } : {}),
    },
  }
}
function touch(task: string, region: string, first: number, count: number, write: boolean): StepT {
  return { touch: { task, region, offset: first * PG, size: count * PG, write } }
}
const fork: StepT = { fork: { task: self, child } }
const exitChild: StepT = { exit: { task: child } }

export const PATTERNS: Pattern[] = [
  {
    name: 'dense',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'write', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'read', steps: [touch(self, 'buf', 0, N, false)] },
    ],
  },
  {
    name: 'sparse',
    regions: { buf: { addr: SLOT(1), pages: 4096 } },
    phases: [
      { task: self, name: 'write_every_64th', steps: [mmap('buf', 4096), ...Array.from({ length: 64 }, (_, i) => touch(self, 'buf', i * 64, 1, true))] },
    ],
  },
  {
    name: 'read_zero',
    needs: ['zero_page_read'],
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'read', steps: [mmap('buf', N), touch(self, 'buf', 0, N, false)] },
      { task: self, name: 'write', steps: [touch(self, 'buf', 0, N, true)] },
    ],
  },
  {
    name: 'fork_child_writes',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'fork', steps: [fork] },
      { task: child, name: 'after_fork', steps: [] },
      { task: child, name: 'write', steps: [touch(child, 'buf', 0, N, true)] },
      { task: self, name: 'child_exit', steps: [exitChild] },
      { task: self, name: 'write', steps: [touch(self, 'buf', 0, N, true)] },
    ],
  },
  {
    name: 'fork_parent_writes',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'fork', steps: [fork] },
      { task: self, name: 'write', steps: [touch(self, 'buf', 0, N, true)] },
      { task: child, name: 'after_parent_write', steps: [] },
      { task: self, name: 'child_exit', steps: [exitChild] },
    ],
  },
  {
    name: 'dontneed_half',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      {
        task: self,
        name: 'dontneed_second_half',
        steps: [{ madvise: { task: self, region: 'buf', offset: (N / 2) * PG, size: (N / 2) * PG, advice: 'dontneed' } }],
      },
      { task: self, name: 'dontneed_first_half', steps: [{ madvise: { task: self, region: 'buf', offset: 0, size: (N / 2) * PG, advice: 'dontneed' } }] },
    ],
  },
  {
    name: 'madv_free',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'free', steps: [{ madvise: { task: self, region: 'buf', advice: 'free' } }] },
      { task: self, name: 'write', steps: [touch(self, 'buf', 0, N, true)] },
    ],
  },
  {
    name: 'pageout',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'pageout', steps: [{ madvise: { task: self, region: 'buf', advice: 'pageout' } }] },
      {
        task: self,
        name: 'free_rewrite',
        steps: [{ madvise: { task: self, region: 'buf', size: (N / 2) * PG, advice: 'free' } }, touch(self, 'buf', N / 4, N / 4, true)],
      },
      { task: self, name: 'pageout_lazyfree', steps: [{ madvise: { task: self, region: 'buf', advice: 'pageout' } }] },
    ],
  },
  {
    name: 'mprotect_ro_rw',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'ro', steps: [{ mprotect: { task: self, region: 'buf', prot: 'r' } }] },
      { task: self, name: 'rw', steps: [{ mprotect: { task: self, region: 'buf', prot: 'rw' } }] },
      { task: self, name: 'write', steps: [touch(self, 'buf', 0, N, true)] },
    ],
  },
  {
    name: 'mremap',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'mremap', steps: [{ mremap: { task: self, region: 'buf', at: SLOT(2) } }], moves: { buf: SLOT(2) } },
      { task: self, name: 'read', steps: [touch(self, 'buf', 0, N, false)] },
    ],
  },
  {
    name: 'munmap_half',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'munmap_second_half', steps: [{ munmap: { task: self, region: 'buf', offset: (N / 2) * PG, size: (N / 2) * PG } }] },
      { task: self, name: 'munmap_first_half', steps: [{ munmap: { task: self, region: 'buf', offset: 0, size: (N / 2) * PG } }] },
    ],
  },
  {
    name: 'shared_fork',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'fill', steps: [mmap('buf', N, { shared: true }), touch(self, 'buf', 0, N, true)] },
      { task: self, name: 'fork', steps: [fork] },
      { task: child, name: 'after_fork', steps: [] },
      { task: child, name: 'read', steps: [touch(child, 'buf', 0, N, false)] },
      { task: child, name: 'write', steps: [touch(child, 'buf', 0, N, true)] },
      { task: self, name: 'child_exit', steps: [exitChild] },
    ],
  },
  {
    name: 'thp',
    needs: ['thp'],
    regions: { thp: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'write_one_page_first_pmd', steps: [mmap('thp', N, { huge: true }), touch(self, 'thp', 0, 1, true)] },
      { task: self, name: 'write_second_pmd', steps: [touch(self, 'thp', 512, 512, true)] },
      { task: self, name: 'fork', steps: [fork] },
      { task: child, name: 'after_fork', steps: [] },
      { task: child, name: 'write_one_page_second_pmd', steps: [touch(child, 'thp', 512, 1, true)] },
      { task: self, name: 'child_exit', steps: [exitChild] },
      { task: self, name: 'write_one_page_second_pmd', steps: [touch(self, 'thp', 513, 1, true)] },
    ],
  },
  {
    name: 'thp_zero',
    needs: ['thp', 'huge_zero_page_read'],
    regions: { thp: { addr: SLOT(1), pages: N } },
    phases: [
      { task: self, name: 'read_first_pmd', steps: [mmap('thp', N, { huge: true }), touch(self, 'thp', 0, 512, false)] },
      { task: self, name: 'write_one_page', steps: [touch(self, 'thp', 0, 1, true)] },
    ],
  },
  {
    name: 'file_read',
    regions: { buf: { addr: SLOT(1), pages: N } },
    phases: [
      {
        task: self,
        name: 'read',
        steps: [
          { open_tmpfile: { task: self, fd: 'memfd', size: N * PG } },
          { pwrite: { task: self, fd: 'memfd', pattern: 'index' } },
          mmap('buf', N, { prot: 'r', fd: 'memfd' }),
          touch(self, 'buf', 0, N, false),
        ],
      },
    ],
  },
]

// ---- what one side measured --------------------------------------------------------------

export interface RegionNumbers {
  present: number
  swapped: number
  exclusive: number
  soft_dirty: number | null
  zero: number | null
  cow: number | null
  rss_kb: number
  anon_kb: number
  anon_huge_kb: number
  lazyfree_kb: number | null
}

export interface Checkpoint {
  task: string
  phase: string
  pt_bytes: number
  minflt: number | null
  regions: Record<string, RegionNumbers>
}

/** Metrics compared, in table order. Task-level first, then per region ("<region>.<metric>"). */
export const TASK_METRICS = ['pt_bytes', 'minflt'] as const
export const REGION_METRICS = ['present', 'swapped', 'exclusive', 'zero', 'cow', 'rss_kb', 'anon_kb', 'anon_huge_kb'] as const

// ---- the simulator side --------------------------------------------------------------------

function mapcounts(w: World): Map<string, number> {
  const m = new Map<string, number>()
  for (const mm of w.mms) {
    if (mm.phase === 'freed' || mm.phase === 'released') continue
    for (const k of mm.pt.pmds.keys()) {
      const base = (k << 18) >>> 0
      mm.pt.forEach(base, base + 262144, (_pg, f, pfn, huge) => {
        if (!(f & PTE_PRESENT) || pfn === ZERO_PFN) return
        const key = (huge ? 'h' : 's') + pfn
        m.set(key, (m.get(key) ?? 0) + 1)
      })
    }
  }
  return m
}

function simRegion(w: World, mm: MmStruct, pos: RegionPos, cow: number, counts: Map<string, number>): RegionNumbers {
  const s = pos.addr / PG
  const e = s + pos.pages
  const r: RegionNumbers = { present: 0, swapped: 0, exclusive: 0, soft_dirty: null, zero: 0, cow, rss_kb: 0, anon_kb: 0, anon_huge_kb: 0, lazyfree_kb: 0 }
  mm.pt.forEach(s, e, (pg, f, pfn, huge) => {
    const n = huge ? Math.min(e, pg + 512) - Math.max(s, pg) : 1
    if (f & (PTE_DEVPRIV | PTE_EXCL)) r.swapped += n
    if (!(f & PTE_PRESENT)) return
    r.present += n
    if (f & PTE_ZERO) {
      r.zero = (r.zero ?? 0) + n
      return
    }
    if ((counts.get((huge ? 'h' : 's') + pfn) ?? 0) === 1) r.exclusive += n
    r.rss_kb += n * 4
    const v = mm.vmas.find((x) => x.start <= pg && pg < x.end)
    const anon = v !== undefined && !v.shared && !(f & PTE_FILE)
    if (anon) r.anon_kb += n * 4
    if (anon && huge && (w.frames.hugetlb[pfn] as number) === 0) r.anon_huge_kb += n * 4
  })
  return r
}

/** Runs a pattern in the simulator and returns its checkpoints (one per phase). */
export function simulate(p: Pattern): Checkpoint[] {
  const steps: StepT[] = [{ spawn: { task: self } }]
  for (const [i, ph] of p.phases.entries()) steps.push(...ph.steps, { expect: { label: `checkpoint ${i}: ${ph.task} ${ph.name}` } })
  const sc: Scenario = { name: `hostcheck ${p.name}`, designs: ['D1'], steps }
  let world: World | null = null
  const pos: Record<string, RegionPos> = structuredClone(p.regions)
  const last = new Map<string, { minflt: number; cow: number }>()
  const out: Checkpoint[] = []
  let k = 0
  const take = (): void => {
    const ph = p.phases[k++]
    if (!ph || !world) throw new Error(`${p.name}: more checkpoints than phases`)
    for (const [name, addr] of Object.entries(ph.moves ?? {})) (pos[name] as RegionPos).addr = addr
    const w: World = world
    const mm = w.tasks.get(ph.task)?.mm
    if (!mm) throw new Error(`${p.name} ${ph.name}: task ${ph.task} has no mm in the simulator`)
    const prev = last.get(ph.task) ?? { minflt: 0, cow: 0 }
    last.set(ph.task, { minflt: mm.min_flt, cow: mm.cow_pages })
    const counts = mapcounts(w)
    const regions: Record<string, RegionNumbers> = {}
    for (const [name, rp] of Object.entries(pos)) regions[name] = simRegion(w, mm, rp, mm.cow_pages - prev.cow, counts)
    out.push({ task: ph.task, phase: ph.name, pt_bytes: mm.pt.tables * PG, minflt: mm.min_flt - prev.minflt, regions })
  }
  const r = runScenario(sc, {
    design: 'D1',
    hooks: {
      world: (w) => {
        world = w
      },
      step: (s) => {
        if (s.op === 'expect') take()
      },
    },
  })
  const bad = r.findings.rows.filter((f) => f.kind !== 'warn' || !/leak/i.test(f.message))
  if (r.outcome.status !== 'passed' || bad.length > 0)
    throw new Error(`${p.name}: the simulator run ${r.outcome.status}: ${bad.map((f) => f.message).join('; ')}`)
  const failedSteps = r.steps.rows.filter((s) => typeof s.ret === 'number' && s.ret < 0)
  if (failedSteps.length > 0) throw new Error(`${p.name}: simulator steps failed: ${failedSteps.map((s) => `${s.op} → ${s.ret}`).join(', ')}`)
  if (k !== p.phases.length) throw new Error(`${p.name}: ${k} checkpoints for ${p.phases.length} phases`)
  return out
}

// ---- the kernel side -----------------------------------------------------------------------

export interface HostEnv {
  release: string
  thp_enabled: string | null
  thp_use_zero_page: boolean | null
  /** CONFIG_PT_RECLAIM (MADV_DONTNEED frees empty PTE tables), from the kernel config; null if unknown. */
  pt_reclaim: boolean | null
  /** Swap is on (/proc/swaps lists a device); null if unknown. The patterns model a machine without. */
  swap: boolean | null
  page_size: number
  root: boolean
  pfn_visible: boolean
  kpageflags: boolean
  zero_page_read: boolean
  huge_zero_page_read: boolean | null
}

/** ok, or why not: `skip` (no compiler, not Linux / x86-64) or `error` (the compiler failed on our source). */
export type Build = { ok: true; binary: string; how: string } | { ok: false; kind: 'skip' | 'error'; why: string }

/** The first executable `cmd` on PATH, or null. */
function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const f = join(dir, cmd)
    try {
      accessSync(f, constants.X_OK)
      return f
    } catch {
      // not here
    }
  }
  return null
}

/** Compiles the helper into a cache folder keyed by its source hash (static if libc.a exists). */
export function buildHelper(): Build {
  if (process.platform !== 'linux')
    return { ok: false, kind: 'skip', why: `not Linux (${process.platform}): /proc/self/pagemap and the patterns need a Linux kernel` }
  if (process.arch !== 'x64')
    return { ok: false, kind: 'skip', why: `the patterns assume x86-64 page tables (4 KiB pages, 512-entry tables, 2 MiB PMD); this is ${process.arch}` }
  const cc = which('cc')
  if (!cc) return { ok: false, kind: 'skip', why: 'no C compiler: `cc` is not on PATH (install gcc or clang to run this comparison)' }
  const src = readFileSync(HELPER_SOURCE)
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), 'hmmlab-hostcheck', hash)
  const bin = join(dir, 'patterns')
  if (existsSync(bin)) return { ok: true, binary: bin, how: `cached ${bin}` }
  mkdirSync(dir, { recursive: true })
  const tmp = `${bin}.${process.pid}`
  const base = ['-O2', '-std=gnu11', '-Wall', '-o', tmp, HELPER_SOURCE]
  let r = spawnSync(cc, ['-static', ...base], { encoding: 'utf8' })
  let how = 'cc -static'
  if (r.status !== 0) {
    r = spawnSync(cc, base, { encoding: 'utf8' })
    how = 'cc (dynamic: no static libc)'
  }
  if (r.status !== 0) return { ok: false, kind: 'error', why: `cc failed to build ${HELPER_SOURCE}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}` }
  renameSync(tmp, bin)
  return { ok: true, binary: bin, how }
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

function kernelConfig(release: string): string | null {
  try {
    return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8')
  } catch {
    return readOr(`/boot/config-${release}`)
  }
}

/** Kernel facts the comparisons depend on (the helper adds root, PFN visibility and the zero-page probe). */
export function hostFacts(): Omit<HostEnv, 'page_size' | 'root' | 'pfn_visible' | 'kpageflags' | 'zero_page_read' | 'huge_zero_page_read'> {
  const release = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()
  const thp = readOr('/sys/kernel/mm/transparent_hugepage/enabled')
  const zp = readOr('/sys/kernel/mm/transparent_hugepage/use_zero_page')
  const cfg = kernelConfig(release)
  const swaps = readOr('/proc/swaps')
  return {
    release,
    thp_enabled: thp ? (/\[(\w+)\]/.exec(thp)?.[1] ?? null) : null,
    thp_use_zero_page: zp === null ? null : zp.trim() === '1',
    pt_reclaim: cfg === null ? null : /^CONFIG_PT_RECLAIM=y$/m.test(cfg),
    swap: swaps === null ? null : swaps.trim().split('\n').length > 1,
  }
}

interface RawLine {
  t: string
  [k: string]: unknown
}

/** Runs one pattern natively; returns its checkpoints and the helper's env line. */
export function runNative(binary: string, pattern: string): { env: Record<string, unknown>; cps: Checkpoint[]; noise: Record<string, number> } {
  const r = spawnSync(binary, [pattern], { encoding: 'utf8', timeout: 120_000 })
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '')
  const parsed: RawLine[] = lines.map((l, i) => {
    try {
      return JSON.parse(l) as RawLine
    } catch {
      throw new Error(`${binary} ${pattern}: output line ${i + 1} is not JSON: ${l.slice(0, 200)}`)
    }
  })
  const err = parsed.find((x) => x.t === 'error')
  if (err) throw new Error(`${binary} ${pattern}: ${String(err.msg)} (task ${String(err.task)})`)
  if (r.status !== 0 || !parsed.some((x) => x.t === 'done'))
    throw new Error(`${binary} ${pattern}: exit ${r.status ?? r.signal}, no "done" line; stderr: ${(r.stderr ?? '').slice(0, 1000)}`)
  const env = parsed.find((x) => x.t === 'env') ?? {}
  const ends = new Map<string, number>()
  const starts = new Map<string, number>()
  for (const x of parsed) {
    if (x.t !== 'base') continue
    ;(x.when === 'end' ? ends : starts).set(String(x.task), Number(x.vm_pte_kb))
  }
  const cps: Checkpoint[] = []
  for (const x of parsed) {
    if (x.t !== 'cp') continue
    const task = String(x.task)
    const end = ends.get(task)
    if (end === undefined) throw new Error(`${pattern}: no end baseline for task ${task}`)
    const regions: Record<string, RegionNumbers> = {}
    for (const g of x.regions as Array<Record<string, number | null>>) {
      regions[String(g.name)] = {
        present: g.present as number,
        swapped: g.swapped as number,
        exclusive: g.exclusive as number,
        soft_dirty: g.soft_dirty ?? null,
        zero: g.zero ?? null,
        cow: g.cow ?? null,
        rss_kb: g.rss_kb as number,
        anon_kb: g.anon_kb as number,
        anon_huge_kb: g.anon_huge_kb as number,
        lazyfree_kb: g.lazyfree_kb ?? null,
      }
    }
    cps.push({ task, phase: String(x.phase), pt_bytes: (Number(x.vm_pte_kb) - end) * 1024, minflt: x.minflt === null ? null : Number(x.minflt), regions })
  }
  // the parent's VmPTE before its first region and after unmapping them all: the same when the
  // helper's own page tables did not change while it ran (the noise the pt_bytes tolerance covers)
  const noise: Record<string, number> = {}
  const s = starts.get('self')
  const e = ends.get('self')
  if (s !== undefined && e !== undefined) noise.self = (e - s) * 1024
  return { env, cps, noise }
}

// ---- comparison ----------------------------------------------------------------------------

export interface Row {
  pattern: string
  task: string
  phase: string
  /** "pt_bytes", "minflt" or "<region>.<metric>". */
  metric: string
  kernel: number | null
  sim: number | null
  /** agree | differ | skipped (with why). */
  status: 'agree' | 'differ' | 'skipped'
  why?: string
}

/** Why a pattern cannot be compared on this host, or null. */
export function patternSkip(p: Pattern, env: HostEnv): string | null {
  for (const n of p.needs ?? []) {
    if (n === 'thp' && (env.thp_enabled === null || env.thp_enabled === 'never'))
      return `THP is ${env.thp_enabled ?? 'not built'} here (/sys/kernel/mm/transparent_hugepage/enabled): the pattern's MADV_HUGEPAGE region gets no THP, the scenario's huge: true region does`
    if (n === 'zero_page_read' && !env.zero_page_read)
      return `this kernel (${env.release}) maps a new private page on an anonymous read fault instead of the shared zero page (probe: smaps Rss grew after a read; e.g. the pvm_no_zero_page=1 boot option); the model follows mainline do_anonymous_page`
    if (n === 'huge_zero_page_read' && env.huge_zero_page_read !== true)
      return `an anonymous read fault in a MADV_HUGEPAGE region does not map the huge zero page here (probe: ${env.huge_zero_page_read === false ? 'a THP was allocated' : 'no THP at all'}; use_zero_page = ${String(env.thp_use_zero_page)}); the model maps the huge zero page (do_huge_pmd_anonymous_page)`
  }
  return null
}

/** Pairs kernel and simulator checkpoints of one pattern, metric by metric. */
export function compare(p: Pattern, env: HostEnv, kernel: Checkpoint[], sim: Checkpoint[], ptTolerance: number): Row[] {
  const rows: Row[] = []
  const key = (c: Checkpoint): string => `${c.task} ${c.phase}`
  const simBy = new Map(sim.map((c) => [key(c), c]))
  const kBy = new Map(kernel.map((c) => [key(c), c]))
  for (const ph of p.phases) {
    const k = kBy.get(`${ph.task} ${ph.name}`)
    const s = simBy.get(`${ph.task} ${ph.name}`)
    if (!k || !s) throw new Error(`${p.name}: phase ${ph.task} ${ph.name} missing on the ${k ? 'simulator' : 'kernel'} side`)
    const push = (metric: string, kv: number | null, sv: number | null, skipWhy: string | null, tol = 0): void => {
      if (skipWhy !== null || kv === null || sv === null) {
        rows.push({ pattern: p.name, task: ph.task, phase: ph.name, metric, kernel: kv, sim: sv, status: 'skipped', why: skipWhy ?? 'not measured' })
        return
      }
      rows.push({ pattern: p.name, task: ph.task, phase: ph.name, metric, kernel: kv, sim: sv, status: Math.abs(kv - sv) <= tol ? 'agree' : 'differ' })
    }
    push('pt_bytes', k.pt_bytes, s.pt_bytes, null, ptTolerance)
    push(
      'minflt',
      k.minflt,
      s.minflt,
      k.minflt === null
        ? "no action of the pattern in this phase is measured (fork, or waiting for the child): stack and data are copy-on-write around fork, so the faults there are the helper's own"
        : null,
    )
    for (const name of Object.keys(p.regions)) {
      const kr = k.regions[name]
      const sr = s.regions[name]
      if (!kr || !sr) throw new Error(`${p.name} ${ph.name}: region ${name} missing`)
      for (const m of REGION_METRICS) {
        let why: string | null = null
        if (m === 'cow' && !env.pfn_visible) why = 'PFNs are hidden from non-root readers of pagemap (run as root to compare COW copies)'
        if (m === 'zero' && (!env.kpageflags || !env.pfn_visible)) why = '/proc/kpageflags needs root'
        if (p.name === 'pageout' && env.swap !== false)
          why = `swap is ${env.swap === null ? 'unknown' : 'on'} here: MADV_PAGEOUT swaps the pages out; the pattern is the machine without swap (the model's default)`
        push(`${name}.${m}`, kr[m], sr[m], why)
      }
    }
  }
  return rows
}

// ---- declared disagreements ----------------------------------------------------------------

export interface Known {
  pattern: string
  task: string
  phase: string
  metric: string
  kernel: number
  sim: number
  /** The kernel function that decides the kernel's number. */
  decided_by: string
  /** The issue-13 item it belongs to. */
  item: string
  /**
   * Host facts under which this is the kernel's number (absent: any host): CONFIG_PT_RECLAIM, and
   * `since`, the first kernel release ("major.minor") with the behaviour that decides it.
   */
  when?: { pt_reclaim?: boolean; since?: string }
}

/** "6.18.44-fc" → [6, 18]; null if unparsable. */
export function releaseVersion(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release)
  return m ? [Number(m[1]), Number(m[2])] : null
}

export function knownApplies(k: Known, env: HostEnv): boolean | null {
  if (k.when?.since !== undefined) {
    const have = releaseVersion(env.release)
    const want = releaseVersion(k.when.since)
    if (!want) throw new Error(`host-kernel.known.ts: since "${k.when.since}" is not a major.minor release`)
    if (!have) return null
    if (have[0] < want[0] || (have[0] === want[0] && have[1] < want[1])) return false
  }
  if (k.when?.pt_reclaim !== undefined) {
    if (env.pt_reclaim === null) return null
    if (env.pt_reclaim !== k.when.pt_reclaim) return false
  }
  return true
}

export interface Verdict {
  /** Differences no entry declares. */
  undeclared: Row[]
  /** Entries whose disagreement no longer occurs, or occurs with other numbers. */
  stale: Array<{ known: Known; row: Row | undefined; why: string }>
  /** Entries matched. */
  declared: Array<{ known: Known; row: Row }>
  /** Entries not checked here (pattern or metric skipped, or a host fact unknown). */
  unchecked: Array<{ known: Known; why: string }>
}

export function judge(rows: Row[], known: Known[], env: HostEnv): Verdict {
  const v: Verdict = { undeclared: [], stale: [], declared: [], unchecked: [] }
  const id = (x: { pattern: string; task: string; phase: string; metric: string }): string => `${x.pattern}|${x.task}|${x.phase}|${x.metric}`
  const rowBy = new Map(rows.map((r) => [id(r), r]))
  const active = new Map<string, Known>()
  for (const k of known) {
    const a = knownApplies(k, env)
    if (a === false) continue
    const row = rowBy.get(id(k))
    if (a === null) {
      v.unchecked.push({ known: k, why: 'a host fact it depends on is unknown here (kernel config not readable, or the release unparsable)' })
      if (row) active.set(id(k), k)
      continue
    }
    if (active.has(id(k))) throw new Error(`host-kernel.known.ts: two entries for ${id(k)} apply on this host`)
    active.set(id(k), k)
    if (!row) {
      v.stale.push({ known: k, row, why: 'no such pattern / task / phase / metric is compared any more' })
      continue
    }
    if (row.status === 'skipped') {
      v.unchecked.push({ known: k, why: row.why ?? 'skipped' })
      continue
    }
    if (row.status === 'agree') v.stale.push({ known: k, row, why: 'the kernel and the simulator agree now: remove the entry' })
    else if (row.kernel !== k.kernel || row.sim !== k.sim)
      v.stale.push({ known: k, row, why: `declared kernel ${k.kernel} / simulator ${k.sim}, measured kernel ${row.kernel} / simulator ${row.sim}` })
    else v.declared.push({ known: k, row })
  }
  for (const r of rows) if (r.status === 'differ' && !active.has(id(r))) v.undeclared.push(r)
  return v
}

/** The markdown table of declared disagreements kept in docs/fidelity.md. */
export function knownTable(known: Known[]): string {
  const out = ['| Pattern | Task | Phase | Metric | Kernel | Simulator | Decided by | Issue 13 |', '|---|---|---|---|---|---|---|---|']
  for (const k of known) {
    const cond = [
      ...(k.when?.pt_reclaim !== undefined ? [`CONFIG_PT_RECLAIM=${k.when.pt_reclaim ? 'y' : 'n'}`] : []),
      ...(k.when?.since !== undefined ? [`since ${k.when.since}`] : []),
    ]
    const when = cond.length > 0 ? ` (${cond.join(', ')})` : ''
    out.push(`| ${k.pattern} | ${k.task} | ${k.phase} | ${k.metric} | ${k.kernel}${when} | ${k.sim} | \`${k.decided_by}\` | ${k.item} |`)
  }
  return out.join('\n')
}

export const DOC = 'docs/fidelity.md'
export const DOC_BEGIN = '<!-- host-kernel-known:begin (generated from test/fidelity/host-kernel.known.ts) -->'
export const DOC_END = '<!-- host-kernel-known:end -->'

/** The declared-disagreement table currently in docs/fidelity.md, or null. */
export function docTable(text = readFileSync(DOC, 'utf8')): string | null {
  const a = text.indexOf(DOC_BEGIN)
  const b = text.indexOf(DOC_END)
  if (a < 0 || b < a) return null
  return text.slice(a + DOC_BEGIN.length, b).trim()
}

/** Formats rows as an aligned text table (printed by the test, for people and CI logs). */
export function formatRows(rows: Row[]): string {
  const head = ['pattern', 'task', 'phase', 'metric', 'kernel', 'sim', 'status']
  const cells = rows.map((r) => [
    r.pattern,
    r.task,
    r.phase,
    r.metric,
    r.kernel === null ? '-' : String(r.kernel),
    r.sim === null ? '-' : String(r.sim),
    r.status === 'skipped' ? `skipped: ${r.why ?? ''}` : r.status,
  ])
  const wd = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (i < 6 ? (c[i] as string).length : 0))))
  const line = (c: string[]): string => c.map((x, i) => (i < 6 ? x.padEnd(wd[i] as number) : x)).join('  ')
  return [line(head), ...cells.map(line)].join('\n')
}
