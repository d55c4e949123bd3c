/**
 * Running the oracle: scenarios are read and checked (the kernel side says which steps it cannot
 * perform), the kernel is found or built, all expressible scenarios run in guests (several per
 * boot), each also runs in the simulator, and the two sides are compared.
 *
 * The kernel side is passed in (`KernelSide`, the functions of ./kernel) so that tests can give
 * recorded observations instead of a QEMU guest.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import { readRegularFileSync, SafeReadError } from '../safe-read'
import { SCENARIO_FILE_MAX_BYTES } from '../../../shared/text-limits'
import { parseScenario, ScenarioError, DESIGNS, type DesignId, type LoadedScenario } from '../../../sim/index'
import { APP_VERSION } from '../../../shared/version'
import type * as KernelModule from './kernel/index'
import { compareSides } from './compare'
import type { Declarations } from './declarations'
import type { RecordedEntry, RecordedKernel } from './recorded'
import { runSimulatorSideWithRegions } from './simulator-side'
import { ORACLE_RESULTS_FORMAT, summarise, type OracleResults, type ScenarioOutcome, type SimulatedKernel } from './results'
import { kernelRules, kernelVersionOfRelease, type KernelVersionT } from '../../../sim/kernel/version'

/**
 * The rules the simulator follows for a guest: the version its release maps to (kernel/version.ts;
 * a user's patched tree reports its own release), with every row of the table.
 */
export function simulatedKernel(release: string): SimulatedKernel {
  const { version, note } = kernelVersionOfRelease(release)
  return {
    version,
    release,
    note,
    rules: kernelRules(version).map((r) => ({ id: r.behaviour, since: r.since, has: r.has, decided_by: r.decidedBy })),
  }
}

type OracleRunOutcomeSide = Extract<ScenarioOutcome, { status: 'compared' }>['kernel']

export type KernelSide = Pick<
  typeof KernelModule,
  'checkHostTools' | 'checkExpressible' | 'findCachedKernel' | 'buildKernel' | 'runScenariosOnKernel' | 'runHmmTests'
>

export interface OracleRunOptions {
  files: string[]
  design: string
  /** A prebuilt bzImage, or a kernel tree to build (default: Debian's linux-source-6.12). */
  kernelImage?: string
  kernelTree?: string
  /** List scenarios the kernel cannot express as skipped instead of failing (npm run test:kernel). */
  skipInexpressible?: boolean
  /**
   * Kernel sides recorded by an earlier run (--kernel-results): compared with the simulator
   * without booting. With no `files`, every scenario of the recordings is compared.
   */
  recorded?: RecordedKernel[]
  declarations: Declarations
  kernel: KernelSide
  onProgress?: (message: string) => void
  signal?: AbortSignal
}

/** Thrown for a problem with the whole run (exit 2): missing tools, an unknown design, a failed build. */
export class OracleSetupError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** The largest kernel image taken (an x86 bzImage with everything built in is tens of MiB). */
export const KERNEL_IMAGE_MAX_BYTES = 512 << 20

/**
 * Checks a `--kernel` image before QEMU is started on it: a regular file (a symlink is followed,
 * as a kernel tree's arch/x86_64/boot/bzImage is one, but must lead to a regular file), at most
 * 512 MiB, opened without blocking, carrying the x86 boot protocol's "HdrS" signature at offset
 * 0x202 (arch/x86/boot/header.S; Documentation/arch/x86/boot.rst). A FIFO, a device or
 * anything else is refused with the path, so QEMU never waits on it. Answers the real path.
 */
export function checkKernelImage(path: string): string {
  const what = `kernel image ${path}`
  let real: string
  try {
    real = realpathSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new OracleSetupError(`${what}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : `cannot open (${code ?? 'EIO'})`}`)
  }
  const via = real === path ? '' : ` (a link to ${real})`
  let fd: number
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
  } catch (e) {
    throw new OracleSetupError(`${what}${via}: cannot open (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new OracleSetupError(`${what}${via}: not a regular file`)
    if (st.size > KERNEL_IMAGE_MAX_BYTES)
      throw new OracleSetupError(`${what}${via}: ${st.size} bytes, more than the ${KERNEL_IMAGE_MAX_BYTES >> 20} MiB a kernel image may have`)
    const head = Buffer.alloc(0x206)
    let n = 0
    while (n < head.length) {
      const r = readSync(fd, head, n, head.length - n, n)
      if (r === 0) break
      n += r
    }
    if (n < head.length || head.toString('latin1', 0x202, 0x206) !== 'HdrS') {
      throw new OracleSetupError(
        `${what}${via}: not an x86 bzImage (no "HdrS" boot header at offset 0x202)`,
        'give the bzImage of a kernel built by `hmmlab oracle build` (or arch/x86/boot/bzImage of your tree)',
      )
    }
  } finally {
    closeSync(fd)
  }
  return real
}

export function checkDesign(design: string): DesignId {
  const d = design.trim().toUpperCase()
  if (!DESIGNS.some((x) => x.id === d)) throw new OracleSetupError(`unknown design "${design}"; expected one of ${DESIGNS.map((x) => x.id).join(', ')}`)
  return d as DesignId
}

/** Reads and parses each file; an unreadable or invalid one becomes an `invalid` outcome. */
export function loadScenarios(files: readonly string[]): Array<{ file: string; sc: LoadedScenario } | { file: string; error: string }> {
  return files.map((file) => {
    let text: string
    try {
      // a regular file, bounded, never a wait on a FIFO (safe-read.ts); the parser checks the text limits
      text = readRegularFileSync(file, { maxBytes: SCENARIO_FILE_MAX_BYTES, what: 'scenario' }).toString('utf8')
    } catch (e) {
      return { file, error: e instanceof SafeReadError ? `cannot read ${e.message}` : `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}` }
    }
    try {
      return { file, sc: parseScenario(text, file) }
    } catch (e) {
      return { file, error: e instanceof ScenarioError ? e.message : `${file}: ${e instanceof Error ? e.message : String(e)}` }
    }
  })
}

/** The files of the recorded scenarios, in recording order, each once. */
export function recordedFiles(rec: readonly RecordedKernel[]): string[] {
  return [...new Set(rec.flatMap((r) => r.entries.map((e) => e.file)))]
}

/** Checks that recordings can stand for one kernel under `design`; the kernel they describe. */
function recordedKernelInfo(rec: readonly RecordedKernel[], design: DesignId): NonNullable<OracleResults['kernel']> {
  const first = rec[0]
  if (!first) throw new OracleSetupError('no recorded kernel side given')
  const releases = [...new Set(rec.map((r) => r.kernel.release))]
  if (releases.length > 1)
    throw new OracleSetupError(
      `the recordings come from different kernels (${rec.map((r) => `${r.source}: ${r.kernel.release}`).join(', ')}): compare them one kernel at a time`,
    )
  for (const r of rec) {
    if (r.design.toUpperCase() !== design)
      throw new OracleSetupError(`${r.source} was recorded under design ${r.design}; this run compares ${design} (pass --design ${r.design})`)
  }
  return { ...first.kernel, source: rec.length === 1 ? first.kernel.source : `${first.kernel.source} and ${rec.length - 1} more recording(s)` }
}

/** Runs the oracle over `files`; never throws for one scenario's problem (it becomes its outcome). */
export async function runOracle(o: OracleRunOptions): Promise<OracleResults> {
  const design = checkDesign(o.design)
  const say = o.onProgress ?? (() => {})
  const outcomes: Array<ScenarioOutcome | null> = []
  const toRun: Array<{ slot: number; file: string; sc: LoadedScenario }> = []
  const recordedInfo = o.recorded ? recordedKernelInfo(o.recorded, design) : null
  const files = o.files.length === 0 && o.recorded ? recordedFiles(o.recorded) : o.files
  for (const l of loadScenarios(files)) {
    if ('error' in l) {
      outcomes.push({ status: 'invalid', file: l.file, name: null, message: l.error })
      continue
    }
    const u = o.kernel.checkExpressible(l.sc, design)
    if (u) {
      outcomes.push({ status: 'inexpressible', file: l.file, name: l.sc.name, unsupported: { index: u.index, line: u.line, op: u.op, why: u.why } })
      continue
    }
    toRun.push({ slot: outcomes.length, file: l.file, sc: l.sc })
    outcomes.push(null)
  }
  let simulated: SimulatedKernel | null = null
  const compare = (r: { slot: number; file: string; sc: LoadedScenario }, kernelSide: OracleRunOutcomeSide, kernel: SimulatedKernel): void => {
    say(`simulator: ${r.sc.name}`)
    simulated = kernel
    const version = kernel.version as KernelVersionT
    const own = r.sc.machine?.kernel
    if (own !== undefined && own !== version)
      say(`note: ${r.sc.name} sets machine.kernel ${own}; compared under the guest's ${version} rules (release ${kernel.release})`)
    const { side: sim, live, after } = runSimulatorSideWithRegions(r.sc, { design, kernel: version })
    const comparison = compareSides(kernelSide, sim, o.declarations, { live, after })
    outcomes[r.slot] = { status: 'compared', file: r.file, name: r.sc.name, comparison, kernel: kernelSide, simulator: sim }
  }
  let kernelInfo: OracleResults['kernel'] = null
  // an invalid file stops the run before anything boots (fix it first); a scenario the kernel cannot
  // express does not: the others still run and it is listed with its step, line and why (exit 2
  // unless --skip-inexpressible), so `hmmlab oracle scenarios/selftests/*.yaml` reports them all
  const stop = outcomes.some((x) => x !== null && x.status === 'invalid')
  if (o.recorded && recordedInfo && toRun.length > 0) {
    kernelInfo = recordedInfo
    const byName = new Map<string, RecordedEntry>()
    for (const rec of o.recorded) for (const e of rec.entries) if (!byName.has(e.name)) byName.set(e.name, e)
    for (const r of toRun) {
      const e = byName.get(r.sc.name)
      const name = r.sc.name
      if (!e) {
        const held = [...byName.keys()]
        outcomes[r.slot] = {
          status: 'invalid',
          file: r.file,
          name,
          message: `no kernel side of "${name}" was recorded in ${o.recorded.map((x) => x.source).join(', ')} (it holds ${held.length > 6 ? `${held.slice(0, 6).join(', ')} and ${held.length - 6} more` : held.join(', ')})`,
        }
      } else if (e.kind === 'inexpressible') outcomes[r.slot] = { status: 'inexpressible', file: r.file, name, unsupported: e.unsupported }
      else if (e.kind === 'guest_failed')
        outcomes[r.slot] = { status: 'guest_failed', file: r.file, name, message: `(recorded) ${e.message}`, console_tail: e.console_tail }
      else {
        const hash = r.sc.source?.hash ?? ''
        if (e.side.scenario.hash && hash && e.side.scenario.hash !== hash)
          say(
            `note: ${name}: ${r.file} changed since the kernel side was recorded (hash ${e.side.scenario.hash} → ${hash}); the steps are compared where they still line up`,
          )
        compare(r, e.side, simulatedKernel(recordedInfo.release))
      }
    }
  } else if (toRun.length > 0 && !stop) {
    const tools = o.kernel.checkHostTools({ debianSource: !o.kernelTree && !o.kernelImage })
    if (!tools.ok) throw new OracleSetupError(`missing host tools: ${tools.missing.join(', ')}`, `install them with: ${tools.install}`)
    let kernel: KernelModule.KernelBuild | { bzImage: string }
    let source: string
    if (o.kernelImage) {
      kernel = { bzImage: o.kernelImage }
      source = o.kernelImage
    } else {
      const opts = { ...(o.kernelTree ? { tree: o.kernelTree } : {}), onProgress: say, ...(o.signal ? { signal: o.signal } : {}) }
      const cached = await o.kernel.findCachedKernel(opts)
      if (cached) say(`kernel: cached build ${cached.release} (${cached.dir})`)
      else say(`kernel: building from ${o.kernelTree ?? "Debian's linux-source-6.12"} (minutes; cached afterwards)`)
      const b = cached ?? (await o.kernel.buildKernel(opts))
      kernel = b
      source = b.source
    }
    say(`guest: running ${toRun.length} scenario${toRun.length === 1 ? '' : 's'}`)
    const run = await o.kernel.runScenariosOnKernel(
      toRun.map((r) => ({ scenario: r.sc, design })),
      { kernel, onProgress: say, ...(o.signal ? { signal: o.signal } : {}) },
    )
    kernelInfo = { release: run.release, accel: run.accel, source, image: kernel.bzImage }
    toRun.forEach((r, i) => {
      const out = run.outcomes[i]
      const name = r.sc.name
      if (!out)
        outcomes[r.slot] = { status: 'guest_failed', file: r.file, name, message: 'the kernel side returned no outcome for this scenario', console_tail: '' }
      else if (!out.ok && out.kind === 'unsupported') outcomes[r.slot] = { status: 'inexpressible', file: r.file, name, unsupported: out.unsupported }
      else if (!out.ok) outcomes[r.slot] = { status: 'guest_failed', file: r.file, name, message: out.message, console_tail: out.consoleTail }
      else compare(r, out.side, simulatedKernel(run.release))
    })
  }
  const done = outcomes.filter((x): x is ScenarioOutcome => x !== null)
  const seen = new Set(
    done.flatMap((x) => (x.status === 'compared' ? x.comparison.differences.map((d) => d.known).filter((k): k is string => k !== null) : [])),
  )
  return {
    format: ORACLE_RESULTS_FORMAT,
    created: new Date().toISOString(),
    design,
    kernel: kernelInfo,
    simulator: { version: APP_VERSION, ...(simulated ? { kernel: simulated } : {}) },
    declarations: {
      files: o.declarations.files,
      tolerances: o.declarations.tolerances.map((t) => ({ id: t.id, rule: t.rule, field: t.field, kernel: t.kernel, evidence: t.evidence })),
      known: o.declarations.known.map((k) => ({ id: k.id, field: k.field, kernel: k.kernel, evidence: k.evidence, why: k.why, seen: seen.has(k.id) })),
    },
    scenarios: done,
    hmm_tests: null,
    summary: summarise(done),
  }
}
