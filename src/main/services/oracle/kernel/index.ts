/**
 * The real-kernel side of the oracle: builds a guest kernel with test_hmm, boots it under QEMU and
 * runs scenarios in it with every mmu_notifier invalidation traced.
 *
 * THIS FILE IS THE INTERFACE between the kernel side (owned by the oracle-guest work) and the
 * comparison (src/main/services/oracle/*.ts, the CLI). Until the kernel side lands, every function
 * throws; the types are the contract.
 */
import type { LoadedScenario } from '../../../../sim/index'
import type { OracleSide } from '../../../../shared/oracle'

export interface KernelBuild {
  /** Folder of this cached build (kernel image, guest programs, metadata). */
  dir: string
  bzImage: string
  /** `uname -r` of the built kernel. */
  release: string
  /** Where the source came from: "linux-source-6.12 (Debian)" or the user's tree path. */
  source: string
  /** sha256 of the config fragment + test sources + kernel version: the cache key. */
  cacheKey: string
  /** Static hmm-tests built from the same tree, or null when the tree has none. */
  hmmTests: string | null
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
  /** Per boot; default generous (TCG is slow). */
  timeoutMs?: number
  accel?: 'auto' | 'kvm' | 'tcg'
  onProgress?: (message: string) => void
  signal?: AbortSignal
}

export interface HmmTestCase {
  fixture: string
  test: string
  status: 'pass' | 'fail' | 'skip'
  message?: string
}

const notYet = (): never => {
  throw new Error('the kernel side of the oracle is not built yet')
}

/** Host tools the kernel side needs (qemu-system-x86_64, cc, make, ...); `install` is the apt command. */
export function checkHostTools(): { ok: true } | { ok: false; missing: string[]; install: string } {
  return notYet()
}

/** The first step of `sc` under `design` that the guest executor cannot run, or null. */
export function checkExpressible(_sc: LoadedScenario, _design: string): Unsupported | null {
  return notYet()
}

/** The cached build for these options, or null (never builds). */
export async function findCachedKernel(_opts: KernelBuildOptions): Promise<KernelBuild | null> {
  return notYet()
}

/** Builds (or reuses from the cache) the guest kernel, hmm-tests and the executor. */
export async function buildKernel(_opts: KernelBuildOptions): Promise<KernelBuild> {
  return notYet()
}

/** Runs the scenarios in guests (several per boot), in order; one outcome per request. */
export async function runScenariosOnKernel(
  _reqs: ReadonlyArray<{ scenario: LoadedScenario; design: string }>,
  _opts: KernelRunOptions,
): Promise<{ accel: 'kvm' | 'tcg'; release: string; outcomes: KernelRunOutcome[] }> {
  return notYet()
}

/** Runs the kernel's own hmm-tests in a guest; TAP text and the parsed cases. */
export async function runHmmTests(_opts: KernelRunOptions): Promise<{ accel: 'kvm' | 'tcg'; release: string; tap: string; cases: HmmTestCase[] }> {
  return notYet()
}
