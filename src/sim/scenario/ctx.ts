/**
 * The interpreter's state for one run (Ctx: the previous step's return code and device counters,
 * the step log, buffers, pins, expects) and the helpers every step shares: resolving a task, a
 * range of one of its regions, a device by name, and the target of a device request (task, fd or
 * device, then the design's resolve).
 */
import type { World } from '../world'
import type { ProcHandle } from '../engine/engine'
import type { Device } from '../devices/device'
import type { File, MmStruct, Task } from '../kernel/objects'
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../kernel/types'
import type { DeviceOpResult } from '../drivers/dmirror'
import type { TeardownDesign } from '../teardown/design'
import type { FileOperations } from '../kernel/types'
import { EBADF, EINVAL, ESRCH } from '../kernel/errno'
import { PAGE_SIZE } from '../kernel/page'
import { parseSize, type Scenario } from '../../shared/scenario'
import type { ExpectResult } from '../../shared/result'

export interface StepLogEntry {
  op: string
  line: number
  t0: number
  t1: number
  ret: number | null
  cpages: number | null
  faults: number | null
}

/**
 * One sequence of scenario steps running as a simulated process: the scenario's own list (`main`)
 * or a `background` block. A run reaches its end when `main` has done its last top-level step;
 * a sequence still in a step when nothing more can happen waits forever (run.ts).
 */
export interface StepSequence {
  readonly kind: 'main' | 'background'
  /** Line of the `background` step that started it; 0 for main. */
  readonly line: number
  /** The step it is in (the innermost, inside repeat and when), or null between steps. */
  at: { op: string; line: number; task: string | null } | null
  /** Set once the engine started it. */
  proc: ProcHandle | null
}

/** Steps kept in the step log; later ones are counted in stepsDropped. */
const MAX_STEP_LOG = 5000
/** Steps a run may execute (nested repeats can ask for more than any host can do). */
export const MAX_STEPS = 300_000

export class Ctx {
  ret: number | null = null
  cpages: number | null = null
  faults: number | null = null
  snapshot: number[] | null = null
  readonly expects: ExpectResult[] = []
  readonly steps: StepLogEntry[] = []
  stepsDropped = 0
  readonly mmOf = new Map<string, MmStruct>()
  /** Buffers filled by device_read.into: region page index of element 0, and the tokens. */
  readonly buffers = new Map<string, { first: number; data: Int32Array }>()
  /** Page references kept by gup.hold, by name, until unpin. */
  readonly pins = new Map<string, number[]>()
  stopped = false
  topDone = 0
  /** The main sequence and every background one, in the order they started. */
  readonly sequences: StepSequence[] = []
  onStepDone: ((index: number, op: string) => void) | null = null
  private stepIndex = 0
  /** The device files' file_operations: release is the design's. */
  readonly fops: FileOperations
  constructor(
    readonly w: World,
    readonly design: TeardownDesign,
    readonly sc: Scenario,
    /** Counter values for `expect.counter` (the metrics collector). */
    readonly counters: { get(name: string): number },
  ) {
    this.fops = { name: design.id, release: (k, f, p) => design.release(k, f, p) }
  }
  nextIndex(): number {
    return this.stepIndex++
  }
}

export function protBits(p: string | undefined): number {
  switch (p ?? 'rw') {
    case 'none':
      return 0
    case 'r':
      return PROT_READ
    case 'rw':
      return PROT_READ | PROT_WRITE
    case 'rx':
      return PROT_READ | PROT_EXEC
    default:
      return PROT_READ | PROT_WRITE | PROT_EXEC
  }
}

export function liveTask(ctx: Ctx, name: string): Task | number {
  const t = ctx.w.tasks.get(name)
  if (!t || t.state !== 'running') return ESRCH
  return t
}

export interface RangeArgs {
  region: string
  offset?: number | string | undefined
  size?: number | string | undefined
}

export function rangeOf(task: Task, a: RangeArgs): { start: number; end: number; mm: MmStruct } | number {
  const mm = task.mm
  if (!mm) return ESRCH
  return regionRange(mm, a)
}

/** The pages of (part of) a region of `mm`, or EINVAL: no such region, or a bad offset or size. */
export function regionRange(mm: MmStruct, a: RangeArgs): { start: number; end: number; mm: MmStruct } | number {
  const r = mm.regions.get(a.region)
  if (!r) return EINVAL
  const off = a.offset === undefined ? 0 : parseSize(a.offset) / PAGE_SIZE
  const size = a.size === undefined ? r.pages - off : parseSize(a.size) / PAGE_SIZE
  if (!Number.isInteger(off) || !Number.isInteger(size) || size <= 0 || off < 0) return EINVAL
  return { start: r.start + off, end: r.start + off + size, mm }
}

export function deviceByName(w: World, name: string | undefined): Device | undefined {
  return w.devices.find((d) => d.name === name)
}

export function setResult(ctx: Ctx, ret: number | null, r?: DeviceOpResult): void {
  ctx.ret = ret
  if (r) {
    ctx.cpages = r.cpages
    ctx.faults = r.faults
    if (r.snapshot) ctx.snapshot = r.snapshot
  }
}

export function logStep(ctx: Ctx, op: string, line: number, t0: number, ret: number | null, dev?: DeviceOpResult): void {
  if (ctx.steps.length >= MAX_STEP_LOG) {
    ctx.stepsDropped++
    return
  }
  ctx.steps.push({ op, line, t0, t1: ctx.w.engine.now, ret, cpages: dev ? dev.cpages : null, faults: dev ? dev.faults : null })
}

/** The device file or device a request names, and the task making it (ESRCH, EBADF, EINVAL). */
export function resolveDevice(
  ctx: Ctx,
  b: { task: string; fd?: string | undefined; device?: string | undefined },
): { t: Task; file: File | null; d: Device } | number {
  const t = liveTask(ctx, b.task)
  if (typeof t === 'number') return t
  const file = b.fd !== undefined ? t.fds.get(b.fd) : null
  if (file === undefined) return EBADF
  const d = file ? file.dev : deviceByName(ctx.w, b.device)
  if (!d) return EINVAL
  return { t, file, d }
}
