/**
 * The real-kernel side of the oracle: builds a guest kernel with test_hmm, boots it under QEMU and
 * runs scenarios in it with every mmu_notifier invalidation traced.
 *
 * THIS FILE IS THE INTERFACE between the kernel side (owned by the oracle-guest work) and the
 * comparison (src/main/services/oracle/*.ts, the CLI). The modules beside it do the work:
 * build.ts (kernel, hmm-tests, executor, initramfs, cache), program.ts (scenario → executor
 * program), qemu.ts (boots, accelerator), trace.ts (records + ftrace → OracleSide), probes.ts
 * (kprobe definitions with offsets measured from the tree), kconfig.ts (fragment verification).
 */
import { join } from 'node:path'
import type { LoadedScenario } from '../../../../sim/index'
import type { OracleSide } from '../../../../shared/oracle'
import { buildFeatures, buildGuest, defaultCacheRoot, findGuest, readBuildMeta, type BuildMeta } from './build'
import { compileProgram, findUnexpressible, type CompiledProgram, type GuestFeatures } from './program'
import { bootGuest, checkBzImage, checkTools, chooseAccel, readOut, type Accel } from './qemu'
import { buildSide, describeKhugepaged, parseCalibration, parseKhugepaged } from './trace'
import { parseHmmTestsTap } from './tap'

export interface KernelBuild {
  /** Folder of this cached build (kernel image, guest programs, metadata). */
  dir: string
  bzImage: string
  /** `uname -r` of the built kernel. */
  release: string
  /** Where the source came from: "linux-source-6.12 (Debian)" or the user's tree path. */
  source: string
  /** The image key: sha256 of the kernel key and the guest programs' sources. */
  cacheKey: string
  /** The kernel key (kernel version, source identity, config fragment) and its folder; absent for a legacy build. */
  kernelKey?: string
  kernelDir?: string
  /** Static hmm-tests built from the same tree, or null when the tree has none. */
  hmmTests: string | null
  /** The initramfs (busybox, executor, hmm-tests, init). */
  initramfs?: string
  /** Short hash of the kernel's .config. */
  configHash?: string
  /** Fragment options that did not land, with why (optional ones only: required ones stop the build). */
  missingOptions?: Array<{ name: string; want: string; got: string; why: string | null }>
  /** Seconds the build took (0 when it came from the cache). */
  buildSeconds?: number
  /** kprobe_events lines installed in the guest. */
  probes?: string[]
  /** TEST_F names of the tree's hmm-tests.c (its version of the selftests). */
  hmmTestsList?: Array<{ fixture: string | null; test: string }>
  /** What its test_hmm offers beyond 6.12's (HMM_DMIRROR_FLAGS). */
  dmirrorFlags?: boolean
}

export interface KernelBuildOptions {
  /** A kernel tree to build instead of Debian's linux-source-6.12. */
  tree?: string
  /** Default: $XDG_CACHE_HOME/hmm-lab/oracle (~/.cache/hmm-lab/oracle). */
  cacheRoot?: string
  onProgress?: (message: string) => void
  signal?: AbortSignal
}

/** A scenario step the guest executor cannot perform (the CLI exits 2 naming it). */
export interface Unsupported {
  index: number
  line: number
  op: string
  why: string
}

export type KernelRunOutcome =
  | { ok: true; side: OracleSide }
  | { ok: false; kind: 'unsupported'; unsupported: Unsupported }
  | { ok: false; kind: 'guest_failed'; message: string; consoleTail: string }

export interface KernelRunOptions {
  kernel: KernelBuild | { bzImage: string }
  /**
   * QEMU CPU time per boot (default generous: TCG is slow), so a loaded host does not stop a
   * healthy guest; a wall-clock backstop of 8 × this (at least 10 min) ends one that gets no CPU.
   */
  cpuLimitMs?: number
  /** The wall-clock backstop per boot (default: from cpuLimitMs). */
  wallLimitMs?: number
  accel?: 'auto' | 'kvm' | 'tcg'
  onProgress?: (message: string) => void
  signal?: AbortSignal
  /** Scenarios per boot (default 12): a guest that fails costs only its batch. */
  perBoot?: number
}

export interface HmmTestCase {
  fixture: string
  test: string
  status: 'pass' | 'fail' | 'skip'
  message?: string
  /** The FIXTURE_VARIANT (hmm_device_private, hmm_device_coherent, ...) when the test has variants. */
  variant?: string
  /** TAP test number. */
  number?: number
}

/**
 * Host tools the kernel side needs (qemu-system-x86_64, cc, make, ...); `install` is the apt command.
 * Debian's linux-source-6.12 only when the guest is built from it (not for --kernel-tree or --kernel).
 */
export function checkHostTools(opts: { debianSource?: boolean } = {}): { ok: true } | { ok: false; missing: string[]; install: string } {
  return checkTools(process.env.PATH ?? '', opts.debianSource ?? true)
}

/** The first step of `sc` under `design` that the guest executor cannot run, or null. */
export function checkExpressible(sc: LoadedScenario, design: string): Unsupported | null {
  return findUnexpressible(sc, design)
}

function toBuild(dir: string, m: BuildMeta, fresh: boolean): KernelBuild {
  return {
    dir,
    bzImage: join(dir, 'bzImage'),
    release: m.release,
    source: m.source,
    cacheKey: m.cacheKey,
    ...(m.kernelKey !== undefined ? { kernelKey: m.kernelKey } : {}),
    ...(m.kernelDir !== undefined ? { kernelDir: m.kernelDir } : {}),
    hmmTests: m.hmmTests ? join(dir, 'hmm-tests') : null,
    initramfs: join(dir, 'initramfs.cpio'),
    configHash: m.configHash,
    missingOptions: m.options.filter((o) => !o.ok).map((o) => ({ name: o.name, want: o.want, got: o.got, why: o.why })),
    buildSeconds: fresh ? m.seconds.total : 0,
    probes: m.probes,
    hmmTestsList: m.hmmTestsList ?? [],
    dmirrorFlags: buildFeatures(m).dmirrorFlags,
  }
}

/** The cached build for these options, or null (never builds). */
export async function findCachedKernel(opts: KernelBuildOptions): Promise<KernelBuild | null> {
  const g = findGuest({ tree: opts.tree, cacheRoot: opts.cacheRoot ?? defaultCacheRoot(), onProgress: opts.onProgress })
  return g ? toBuild(g.dir, g.meta, false) : null
}

/** Builds (or reuses from the cache) the guest kernel, hmm-tests and the executor. */
export async function buildKernel(opts: KernelBuildOptions): Promise<KernelBuild> {
  const tools = checkTools(process.env.PATH ?? '', opts.tree === undefined)
  if (!tools.ok) throw new Error(`missing host tools: ${tools.missing.join(', ')}\ninstall them with: ${tools.install}`)
  const cached = await findCachedKernel(opts)
  if (cached) {
    opts.onProgress?.(`cached guest ${cached.dir} (${cached.release})`)
    return cached
  }
  const { dir, meta } = await buildGuest({ tree: opts.tree, cacheRoot: opts.cacheRoot, onProgress: opts.onProgress, signal: opts.signal })
  return toBuild(dir, meta, true)
}

interface GuestParts {
  bzImage: string
  initramfs: string
  probes: string[]
  release: string | null
  configHash: string
  features: GuestFeatures
}

/** What a run needs from `kernel`: a cached build, or a bare bzImage next to an HMM Lab build folder. */
function guestParts(k: KernelBuild | { bzImage: string }): GuestParts {
  checkBzImage(k.bzImage)
  const dir = 'dir' in k ? k.dir : join(k.bzImage, '..')
  const m = readBuildMeta(dir)
  if (!m) {
    if (!('dir' in k))
      throw new Error(
        `${k.bzImage}: a bare kernel image needs the guest's initramfs and probes: pass a kernel built by \`hmmlab oracle build\` (its folder holds bzImage, initramfs.cpio and build.json)`,
      )
    throw new Error(`${dir}: not a complete oracle build (build.json, bzImage, initramfs.cpio)`)
  }
  return {
    bzImage: k.bzImage,
    initramfs: join(dir, 'initramfs.cpio'),
    probes: m.probes,
    release: m.release,
    configHash: m.configHash,
    features: { release: m.release, ...buildFeatures(m) },
  }
}

const CALIBRATE = ['hmm_dmirror0', 'hmm_dmirror1', 'hmm_dmirror2', 'hmm_dmirror3']

/** Runs the scenarios in guests (several per boot), in order; one outcome per request. */
export async function runScenariosOnKernel(
  reqs: ReadonlyArray<{ scenario: LoadedScenario; design: string }>,
  opts: KernelRunOptions,
): Promise<{ accel: 'kvm' | 'tcg'; release: string; outcomes: KernelRunOutcome[] }> {
  const parts = guestParts(opts.kernel)
  const { accel, why } = await chooseAccel(opts.accel ?? 'auto', parts.bzImage, parts.initramfs, opts.onProgress)
  const outcomes: KernelRunOutcome[] = new Array<KernelRunOutcome>(reqs.length)
  const runnable: Array<{ i: number; program: CompiledProgram }> = []
  reqs.forEach((r, i) => {
    // with what this kernel's test_hmm offers (a step of a newer test_hmm is refused here)
    const u = findUnexpressible(r.scenario, r.design, parts.features)
    if (u) outcomes[i] = { ok: false, kind: 'unsupported', unsupported: u }
    else runnable.push({ i, program: compileProgram(r.scenario, r.design, `p${i}`, parts.features) })
  })
  let release = parts.release ?? ''
  const perBoot = Math.max(1, opts.perBoot ?? 12)
  for (let b = 0; b < runnable.length; b += perBoot) {
    const batch = runnable.slice(b, b + perBoot)
    const input = [...parts.probes.map((p) => `probe ${p}`), `calibrate ${CALIBRATE.join(' ')}`, ...batch.map((x) => x.program.text)].join('\n')
    const steps = batch.reduce((n, x) => n + x.program.steps.length, 0)
    const cpuLimitMs = opts.cpuLimitMs ?? 90_000 + 40_000 * batch.length + 50 * steps
    opts.onProgress?.(`boot ${Math.floor(b / perBoot) + 1}: ${batch.length} scenario(s), ${steps} steps (${accel})`)
    const boot = await bootGuest({
      bzImage: parts.bzImage,
      initramfs: parts.initramfs,
      mode: 'scenarios',
      input,
      accel,
      cpuLimitMs,
      ...(opts.wallLimitMs !== undefined ? { wallLimitMs: opts.wallLimitMs } : {}),
      signal: opts.signal,
    })
    try {
      if (!boot.ok) {
        for (const x of batch) outcomes[x.i] = { ok: false, kind: 'guest_failed', message: boot.message, consoleTail: boot.consoleTail }
        continue
      }
      release = (readOut(boot.outDir, 'release') ?? release).trim()
      const owners = parseCalibration(readOut(boot.outDir, 'calibrate.txt') ?? '')
      const bootNotes: string[] = []
      const bootTxt = readOut(boot.outDir, 'boot.txt') ?? ''
      for (const l of bootTxt.split('\n')) if (/failed|no hmmlab|no input/.test(l)) bootNotes.push(`guest: ${l}`)
      if (owners.size === 0) bootNotes.push('no device owner pointers were learned at boot: owners show as unknown')
      // the simulator has no background khugepaged; the guest parks its scan (executor.c khugepaged_park)
      const khugepaged = describeKhugepaged(parseKhugepaged(readOut(boot.outDir, 'khugepaged.txt')))
      if (khugepaged.note) bootNotes.push(khugepaged.note)
      opts.onProgress?.(`boot ${Math.floor(b / perBoot) + 1}: ${boot.seconds.toFixed(1)} s${cpuNote(boot.cpuSeconds)}`)
      for (const x of batch) {
        const req = reqs[x.i] as { scenario: LoadedScenario; design: string }
        const records = readOut(boot.outDir, `${x.program.id}/steps.txt`)
        const trace = readOut(boot.outDir, `${x.program.id}/trace.txt`)
        if (records === null || trace === null) {
          outcomes[x.i] = {
            ok: false,
            kind: 'guest_failed',
            message: `the guest left no results for ${req.scenario.name} (the executor stopped: ${lastLines(readOut(boot.outDir, 'executor.log') ?? '', 3)})`,
            consoleTail: boot.consoleTail,
          }
          continue
        }
        const stats = readOut(boot.outDir, `${x.program.id}/trace-stats.txt`) ?? ''
        const notes = [...bootNotes]
        const overrun = [...stats.matchAll(/overrun:\s*(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
        if (overrun > 0) notes.push(`the trace ring buffer overran: ${overrun} events lost`)
        try {
          const side = buildSide({
            program: x.program,
            scenario: { name: req.scenario.name, file: req.scenario.source?.file ?? '', hash: req.scenario.source?.hash ?? '' },
            design: req.design,
            version: { release, config: parts.configHash, accel, accel_why: why, khugepaged: khugepaged.version },
            records,
            trace,
            owners,
            notes,
          })
          outcomes[x.i] = { ok: true, side }
        } catch (e) {
          outcomes[x.i] = {
            ok: false,
            kind: 'guest_failed',
            message: `the guest's results for ${req.scenario.name} could not be read: ${(e as Error).message}`,
            consoleTail: boot.consoleTail,
          }
        }
      }
    } finally {
      boot.cleanup()
    }
  }
  return { accel, release, outcomes }
}

function cpuNote(cpu: number | null): string {
  return cpu === null ? '' : `, ${cpu.toFixed(1)} s of QEMU CPU`
}

function lastLines(s: string, n: number): string {
  return s.trim().split('\n').slice(-n).join(' | ') || 'no output'
}

/** Runs the kernel's own hmm-tests in a guest; TAP text and the parsed cases. */
export async function runHmmTests(opts: KernelRunOptions): Promise<{ accel: 'kvm' | 'tcg'; release: string; tap: string; cases: HmmTestCase[] }> {
  const parts = guestParts(opts.kernel)
  const { accel } = await chooseAccel(opts.accel ?? 'auto', parts.bzImage, parts.initramfs, opts.onProgress)
  opts.onProgress?.(`booting for hmm-tests (${accel})`)
  const boot = await bootGuest({
    bzImage: parts.bzImage,
    initramfs: parts.initramfs,
    mode: 'hmmtests',
    input: '',
    accel,
    cpuLimitMs: opts.cpuLimitMs ?? 300_000,
    ...(opts.wallLimitMs !== undefined ? { wallLimitMs: opts.wallLimitMs } : {}),
    signal: opts.signal,
  })
  try {
    if (!boot.ok) throw new Error(`hmm-tests guest failed: ${boot.message}\n${boot.consoleTail}`)
    const tap = readOut(boot.outDir, 'hmm-tests.tap')
    if (tap === null) throw new Error(`the guest ran no hmm-tests (${(readOut(boot.outDir, 'boot.txt') ?? '').trim()}): the build has none`)
    opts.onProgress?.(`hmm-tests: ${boot.seconds.toFixed(1)} s${cpuNote(boot.cpuSeconds)}`)
    return { accel, release: (readOut(boot.outDir, 'release') ?? parts.release ?? '').trim(), tap, cases: parseHmmTestsTap(tap) }
  } finally {
    boot.cleanup()
  }
}

export type { Accel }
