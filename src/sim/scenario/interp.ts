/**
 * The step interpreter: runs scenario steps as the "main thread" process of the simulation (and
 * `background` / storm steps as concurrent processes), records a step log, the previous step's
 * return code and device counters, and evaluates `expect` steps.
 */
import { sleep, WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { World } from '../world'
import type { Device } from '../devices/device'
import type { MmStruct, Task } from '../kernel/objects'
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../kernel/objects'
import type { MemType } from '../ledger/ledger'
import { spawnTask, doFork, doExit, doClose } from '../kernel/task'
import { allocFile, openTmpfile, preadTmpfile, pwriteTmpfile } from '../kernel/files'
import { doGup, gupRelease } from '../kernel/gup'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT } from '../kernel/pagetable'
import { doMmap, doMunmap, doMprotect, doMadvise, doMremap, doThpSplit, doNumaMigrate, faultIn, findVma, peekData, writeData, oomReap, doWriteProtect, type Advice } from '../kernel/vmops'
import {
  dmirrorReadWrite,
  dmirrorMigrateToDev,
  dmirrorMigrateToSys,
  dmirrorSnapshot,
  dmirrorExclusive,
  dmirrorCheckExclusive,
  dmirrorReleaseDevmem,
  svaAccess,
  type DeviceOpResult,
  type DataIo,
} from '../drivers/dmirror'
import { allocBo, createQueue } from '../drivers/driver'
import { kfdRegisterUserptr, kfdWaitRunnable } from '../drivers/kfd-evict'
import type { TeardownDesign } from '../teardown/design'
import { lineOf } from './parse'
import {
  parseDuration,
  parseErrno,
  parseSize,
  patternValue,
  errnoName,
  type PatternT,
  type CmpT,
  type ExpectT,
  type Scenario,
  type StepT,
} from '../../shared/scenario'
import type { ExpectResult } from '../../shared/result'

const ESRCH = -3
const EBADF = -9
const EINVAL = -22

export interface StepLogEntry {
  op: string
  line: number
  t0: number
  t1: number
  ret: number | null
  cpages: number | null
  faults: number | null
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
  onStepDone: ((index: number, op: string) => void) | null = null
  private stepIndex = 0
  constructor(
    readonly w: World,
    readonly design: TeardownDesign,
    readonly sc: Scenario,
    /** Counter values for `expect.counter` (the metrics collector). */
    readonly counters: { get(name: string): number },
  ) {}
  nextIndex(): number {
    return this.stepIndex++
  }
}

function protBits(p: string | undefined): number {
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

function liveTask(ctx: Ctx, name: string): Task | number {
  const t = ctx.w.tasks.get(name)
  if (!t || t.state !== 'running') return ESRCH
  return t
}

interface RangeArgs {
  region: string
  offset?: number | string | undefined
  size?: number | string | undefined
}

function rangeOf(task: Task, a: RangeArgs): { start: number; end: number } | number {
  const mm = task.mm
  if (!mm) return ESRCH
  const r = mm.regions.get(a.region)
  if (!r) return EINVAL
  const off = a.offset === undefined ? 0 : parseSize(a.offset) / 4096
  const size = a.size === undefined ? r.pages - off : parseSize(a.size) / 4096
  if (!Number.isInteger(off) || !Number.isInteger(size) || size <= 0 || off < 0) return EINVAL
  return { start: r.start + off, end: r.start + off + size }
}

function deviceByName(w: World, name: string | undefined): Device | undefined {
  return w.devices.find((d) => d.name === name)
}

/** Runs a list of steps in order; `round` is the iteration of the innermost `repeat` (patterns' per_round). */
export function* runSteps(ctx: Ctx, steps: StepT[], top: boolean, round = 0): Proc<void> {
  for (const s of steps) {
    if (ctx.stopped) return
    yield* execStep(ctx, s, round)
    if (top) {
      ctx.onStepDone?.(ctx.topDone, Object.keys(s)[0] as string)
      ctx.topDone++
    }
  }
}

function setResult(ctx: Ctx, ret: number | null, r?: DeviceOpResult): void {
  ctx.ret = ret
  if (r) {
    ctx.cpages = r.cpages
    ctx.faults = r.faults
    if (r.snapshot) ctx.snapshot = r.snapshot
  }
}

function* execStep(ctx: Ctx, s: StepT, round: number): Proc<void> {
  const w = ctx.w
  const op = Object.keys(s)[0] as string
  const line = lineOf(s)
  const t0 = w.engine.now
  const idx = ctx.nextIndex()
  if (idx >= MAX_STEPS) {
    if (!ctx.stopped) w.finding({ kind: 'warn', message: `run stopped after ${MAX_STEPS} steps (step cap)` })
    ctx.stopped = true
    return
  }
  const path = [`step ${op} (line ${line})`]
  w.log('step', op, `line ${line}`)
  if (w.hooks.has('step')) {
    const body = (s as Record<string, unknown>)[op]
    const task = body !== null && typeof body === 'object' && typeof (body as { task?: unknown }).task === 'string' ? (body as { task: string }).task : null
    w.hooks.emit('step', { index: idx, line, op, task, round, t: t0, view: ctx })
  }
  let dev: DeviceOpResult | undefined
  if ('expect' in s) {
    evalExpect(ctx, s.expect, idx, line, round)
    return
  }
  if ('repeat' in s) {
    for (let i = 0; i < s.repeat.times && !ctx.stopped; i++) yield* runSteps(ctx, s.repeat.steps, false, i)
    return
  }
  if ('background' in s) {
    w.engine.spawn('background', runSteps(ctx, s.background.steps, false, round))
    return
  }
  if ('when' in s) {
    const ds = Array.isArray(s.when.design) ? s.when.design : [s.when.design]
    if (ds.includes(ctx.design.id)) yield* runSteps(ctx, s.when.steps, false, round)
    return
  }
  if ('sleep' in s) {
    yield sleep(parseDuration(s.sleep))
    logStep(ctx, op, line, t0, null)
    return
  }
  yield sleep(w.costs.syscall)
  let ret: number = 0
  if ('spawn' in s) {
    if (w.tasks.has(s.spawn.task)) ret = EINVAL
    else {
      const t = spawnTask(w, s.spawn.task, path)
      if (t.mm) ctx.mmOf.set(t.name, t.mm)
    }
  } else if ('fork' in s) {
    const t = liveTask(ctx, s.fork.task)
    if (typeof t === 'number') ret = t
    else if (w.tasks.has(s.fork.child)) ret = EINVAL
    else {
      const c = yield* doFork(w, t, s.fork.child, path)
      if (c.mm) ctx.mmOf.set(c.name, c.mm)
    }
  } else if ('exit' in s) {
    const t = liveTask(ctx, s.exit.task)
    if (typeof t === 'number') ret = t
    else yield* doExit(w, t, path)
  } else if ('oom_kill' in s) {
    const t = liveTask(ctx, s.oom_kill.task)
    if (typeof t === 'number') ret = t
    else {
      // the oom_reaper thread reaps the victim's mm while the victim exits on SIGKILL; the step
      // ends when both are done
      let reaping = false
      const reaped = new WaitQueue('oom_reaper')
      if (t.mm) {
        reaping = true
        w.engine.spawn('oom_reaper', oomReap(w, t.mm, path), () => {
          reaping = false
          w.engine.wakeUpAll(reaped)
        })
      }
      yield* doExit(w, t, [...path, 'SIGKILL'])
      while (reaping) yield waitOn(reaped)
    }
  } else if ('close' in s) {
    const t = liveTask(ctx, s.close.task)
    ret = typeof t === 'number' ? t : yield* doClose(w, t, s.close.fd, path)
  } else if ('open' in s) {
    const t = liveTask(ctx, s.open.task)
    const d = deviceByName(w, s.open.device)
    if (typeof t === 'number') ret = t
    else if (!d) ret = EINVAL
    else if (t.fds.has(s.open.fd) || t.tmpfiles.has(s.open.fd)) ret = EINVAL
    else {
      const f = allocFile(w, t, d, s.open.fd, path)
      ret = ctx.design.open(w, t, f, [...path, 'chrdev_open'])
      if (ret < 0) w.ledger.free(f.ledgerId, path)
      else {
        t.fds.set(s.open.fd, f)
        w.mark('open', `${t.name} opens ${d.name} as ${s.open.fd}`)
      }
    }
  } else if ('mmap' in s) {
    const a = s.mmap
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number' || !t.mm) ret = typeof t === 'number' ? t : ESRCH
    else {
      const file = a.fd !== undefined ? t.fds.get(a.fd) ?? null : null
      const tmp = a.fd !== undefined ? t.tmpfiles.get(a.fd) ?? null : null
      if (a.fd !== undefined && !file && !tmp) ret = EBADF
      else {
        const at = a.at !== undefined ? parseSize(a.at) / 4096 : null
        const r = doMmap(
          w,
          t.mm,
          { pages: Math.ceil(parseSize(a.size) / 4096), prot: protBits(a.prot), shared: a.shared ?? false, huge: a.huge ?? false, file, at, hugetlb: a.hugetlb ?? false, pagecache: tmp ? tmp.cache : null },
          path,
        )
        if (r < 0) ret = r
        else t.mm.regions.set(a.region, { start: r, pages: Math.ceil(parseSize(a.size) / 4096) })
      }
    }
  } else if ('touch' in s) {
    const t = liveTask(ctx, s.touch.task)
    if (typeof t === 'number') ret = t
    else {
      const r = rangeOf(t, s.touch)
      ret = typeof r === 'number' ? r : yield* faultIn(w, t.mm as MmStruct, r.start, r.end, s.touch.write ?? false, -1, [...path, 'exc_page_fault'])
    }
  } else if ('write_data' in s) {
    const t = liveTask(ctx, s.write_data.task)
    if (typeof t === 'number') ret = t
    else {
      const r = rangeOf(t, s.write_data)
      const base = t.mm?.regions.get(s.write_data.region)?.start ?? 0
      const pat = s.write_data.pattern
      ret = typeof r === 'number' ? r : yield* writeData(w, t.mm as MmStruct, r.start, r.end, (pg) => patternValue(pat, pg - base, round), path)
    }
  } else if ('munmap' in s || 'mprotect' in s || 'madvise' in s || 'thp_split' in s || 'reclaim' in s || 'numa_migrate' in s || 'mremap' in s || 'clear_refs' in s || 'writeback' in s) {
    const body = (s as unknown as Record<string, RangeArgs & { task: string }>)[op] as RangeArgs & { task: string }
    const t = liveTask(ctx, body.task)
    if (typeof t === 'number') ret = t
    else {
      const r = rangeOf(t, body)
      const mm = t.mm as MmStruct
      if (typeof r === 'number') ret = r
      else if ('munmap' in s) ret = yield* doMunmap(w, mm, r.start, r.end, path)
      else if ('mprotect' in s) ret = yield* doMprotect(w, mm, r.start, r.end, protBits(s.mprotect.prot), path)
      else if ('madvise' in s) ret = yield* doMadvise(w, mm, r.start, r.end, s.madvise.advice as Advice, path)
      else if ('thp_split' in s) ret = yield* doThpSplit(w, mm, r.start, r.end, path)
      else if ('reclaim' in s) ret = yield* doMadvise(w, mm, r.start, r.end, 'pageout', path)
      else if ('numa_migrate' in s) ret = yield* doNumaMigrate(w, mm, r.start, r.end, path)
      else if ('clear_refs' in s) ret = yield* doWriteProtect(w, mm, r.start, r.end, 'SOFT_DIRTY', path)
      else if ('writeback' in s) ret = yield* doWriteProtect(w, mm, r.start, r.end, 'PROTECTION_PAGE', path)
      else if ('mremap' in s) {
        const at = s.mremap.at !== undefined ? parseSize(s.mremap.at) / 4096 : null
        const dst = yield* doMremap(w, mm, r.start, r.end, at, s.mremap.dontunmap ?? false, path)
        if (dst < 0) ret = dst
        else {
          const name = s.mremap.to_region ?? s.mremap.region
          mm.regions.set(name, { start: dst, pages: r.end - r.start })
        }
      }
    }
  } else if ('mirror' in s || 'release_device_memory' in s || 'alloc_bo' in s || 'create_queue' in s || 'dmirror_flags' in s) {
    const b = ((s as unknown as Record<string, { task: string; fd?: string; device?: string; size?: number | string }>)[op]) as { task: string; fd?: string; device?: string; size?: number | string }
    const t = liveTask(ctx, b.task)
    if (typeof t === 'number') ret = t
    else {
      const file = b.fd !== undefined ? t.fds.get(b.fd) : null
      const d = file ? file.dev : deviceByName(w, b.device)
      if (file === undefined) ret = EBADF
      else if (!d) ret = EINVAL
      else if ('mirror' in s) ret = yield* ctx.design.mirror(w, t, d, file, path)
      else {
        const tg = ctx.design.resolve(w, t, d, file, path)
        if (typeof tg === 'number') ret = tg
        else if ('alloc_bo' in s) allocBo(w, tg.obj, parseSize(s.alloc_bo.size), path)
        else if ('create_queue' in s) createQueue(w, tg.obj, parseSize(s.create_queue.ring ?? '64K'), path)
        else if ('dmirror_flags' in s) {
          if (tg.kind === 'mirror') tg.m.failAlloc = s.dmirror_flags.fail_alloc
          else ret = EINVAL
        }
        else if (tg.kind === 'mirror') {
          dev = yield* dmirrorReleaseDevmem(w, tg.m, path)
          ret = dev.ret
        } else ret = EINVAL
      }
    }
  } else if ('userptr' in s) {
    const b = s.userptr
    const t = liveTask(ctx, b.task)
    const file = typeof t === 'number' ? null : b.fd !== undefined ? t.fds.get(b.fd) : null
    const d = file ? file.dev : deviceByName(w, b.device)
    if (typeof t === 'number') ret = t
    else if (file === undefined) ret = EBADF
    else if (!d) ret = EINVAL
    else {
      const r = rangeOf(t, b)
      const tg = ctx.design.resolve(w, t, d, file, path)
      if (typeof r === 'number') ret = r
      else if (typeof tg === 'number') ret = tg
      else if (tg.kind !== 'mirror') ret = EINVAL
      else ret = yield* kfdRegisterUserptr(w, tg.obj, r.start, r.end, b.write ?? true, [...path, 'kfd_ioctl_alloc_memory_of_gpu'])
    }
  } else if ('device_read' in s || 'device_write' in s || 'migrate_to_device' in s || 'migrate_to_system' in s || 'snapshot' in s || 'exclusive' in s || 'check_exclusive' in s) {
    const b = (s as unknown as Record<string, DevArgs>)[op] as DevArgs
    const r = yield* deviceOp(ctx, op, b, path, round)
    ret = r.ret
    dev = r
  } else if ('user_buffer' in s) {
    const b = s.user_buffer
    const data = new Int32Array(Math.ceil(parseSize(b.size) / 4096))
    const pat: PatternT = b.pattern ?? 'zero'
    for (let i = 0; i < data.length; i++) data[i] = patternValue(pat, i, round)
    ctx.buffers.set(b.name, { first: 0, data })
  } else if ('nr_hugepages' in s) {
    // hugetlb_sysctl_handler → set_max_huge_pages: the pool never shrinks below the pages in use
    w.frames.hugetlbTotal = Math.max(s.nr_hugepages, w.frames.hugetlbInUse)
  } else if ('open_tmpfile' in s) {
    const a = s.open_tmpfile
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') ret = t
    else if (t.fds.has(a.fd) || t.tmpfiles.has(a.fd)) ret = EINVAL
    else {
      t.tmpfiles.set(a.fd, openTmpfile(w, t, a.fd, a.size !== undefined ? parseSize(a.size) / 4096 : 0, path))
      w.mark('open', `${t.name} opens a tmpfile as ${a.fd}`)
    }
  } else if ('pwrite' in s || 'pread' in s) {
    const a = 'pwrite' in s ? s.pwrite : s.pread
    const t = liveTask(ctx, a.task)
    const f = typeof t === 'number' ? undefined : t.tmpfiles.get(a.fd)
    if (typeof t === 'number') ret = t
    else if (!f) ret = EBADF
    else {
      const off = a.offset !== undefined ? parseSize(a.offset) / 4096 : 0
      const pages = a.size !== undefined ? parseSize(a.size) / 4096 : Math.max(0, f.size - off)
      if ('pwrite' in s) {
        const pat = s.pwrite.pattern
        ret = pwriteTmpfile(w, f, off, pages, (i) => patternValue(pat, i, round))
      } else {
        const out = new Int32Array(pages)
        ret = preadTmpfile(w, f, off, pages, out)
        ctx.buffers.set(s.pread.into, { first: off, data: out.slice(0, ret / 4096) })
      }
      yield sleep(pages * w.costs.pte_op * 8)
    }
  } else if ('gup' in s) {
    const a = s.gup
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') ret = t
    else {
      const r = rangeOf(t, a)
      if (typeof r === 'number') ret = r
      else {
        const g = yield* doGup(w, t.mm as MmStruct, r.start, r.end, { write: a.write ?? true, fast: a.fast ?? false, pin: a.pin ?? false, longterm: a.longterm ?? false }, [...path, 'gup_test_ioctl'])
        ret = g.ret
        if (a.hold !== undefined && g.ret === 0) ctx.pins.set(a.hold, [...(ctx.pins.get(a.hold) ?? []), ...g.pfns])
        else gupRelease(w, g.pfns)
      }
    }
  } else if ('unpin' in s) {
    const held = ctx.pins.get(s.unpin.pins)
    if (!held) ret = EINVAL
    else {
      ctx.pins.delete(s.unpin.pins)
      gupRelease(w, held)
    }
  } else if ('random_access' in s) {
    ret = yield* randomAccess(ctx, s.random_access, path)
  } else if ('invalidation_storm' in s) {
    const a = s.invalidation_storm
    if (a.background) w.engine.spawn('invalidation_storm', storm(ctx, a, path))
    else ret = yield* storm(ctx, a, path)
  }
  setResult(ctx, ret, dev)
  logStep(ctx, op, line, t0, ret, dev)
}

function logStep(ctx: Ctx, op: string, line: number, t0: number, ret: number | null, dev?: DeviceOpResult): void {
  if (ctx.steps.length >= MAX_STEP_LOG) {
    ctx.stepsDropped++
    return
  }
  ctx.steps.push({ op, line, t0, t1: ctx.w.engine.now, ret, cpages: dev ? dev.cpages : null, faults: dev ? dev.faults : null })
}

type DevArgs = RangeArgs & { task: string; fd?: string; device?: string; into?: string; pattern?: PatternT }

function* deviceOp(ctx: Ctx, op: string, b: DevArgs, path: string[], round = 0): Proc<DeviceOpResult> {
  const w = ctx.w
  const fail = (ret: number): DeviceOpResult => ({ ret, cpages: 0, faults: 0 })
  const t = liveTask(ctx, b.task)
  if (typeof t === 'number') return fail(t)
  const file = b.fd !== undefined ? t.fds.get(b.fd) : null
  if (file === undefined) return fail(EBADF)
  const d = file ? file.dev : deviceByName(w, b.device)
  if (!d) return fail(EINVAL)
  const r = rangeOf(t, b)
  if (typeof r === 'number') return fail(r)
  const tg = ctx.design.resolve(w, t, d, file, [...path, 'dmirror_fops_unlocked_ioctl'])
  if (typeof tg === 'number') return fail(tg)
  const p = [...path, 'dmirror_fops_unlocked_ioctl']
  const regionStart = t.mm?.regions.get(b.region)?.start ?? r.start
  let io: DataIo | undefined
  if ((op === 'device_read' || op === 'migrate_to_device' || op === 'exclusive') && b.into !== undefined) io = { base: r.start, out: new Int32Array(r.end - r.start) }
  if (op === 'device_write') {
    const pat: PatternT = b.pattern ?? 'zero'
    io = { base: r.start, src: (pg) => patternValue(pat, pg - regionStart, round) }
  }
  const done = (res: DeviceOpResult): DeviceOpResult => {
    if (b.into !== undefined && io?.out && res.ret === 0) ctx.buffers.set(b.into, { first: r.start - regionStart, data: io.out })
    return res
  }
  if (tg.kind === 'sva') {
    if (op === 'device_read' || op === 'device_write') return done(yield* svaAccess(w, tg.dev, tg.mm, tg.pasid, r.start, r.end, op === 'device_write', p, io))
    return fail(EINVAL)
  }
  const m = tg.m
  // a KFD process whose queues are evicted runs no device work until the restore
  if (tg.obj.kfd?.quiesced) {
    yield* kfdWaitRunnable(w, tg.obj)
    // the process may have exited meanwhile: look the target up again
    const again = ctx.design.resolve(w, t, d, file, p)
    if (typeof again === 'number') return fail(again)
  }
  switch (op) {
    case 'device_read':
      return done(yield* dmirrorReadWrite(w, m, r.start, r.end, false, p, io))
    case 'device_write':
      return yield* dmirrorReadWrite(w, m, r.start, r.end, true, p, io)
    case 'migrate_to_device':
      return done(yield* dmirrorMigrateToDev(w, m, r.start, r.end, p, io))
    case 'migrate_to_system':
      return yield* dmirrorMigrateToSys(w, m, r.start, r.end, p)
    case 'snapshot':
      return yield* dmirrorSnapshot(w, m, r.start, r.end, p)
    case 'exclusive':
      return done(yield* dmirrorExclusive(w, m, r.start, r.end, p, io))
    default:
      return dmirrorCheckExclusive(m, r.start, r.end)
  }
}

interface RandomAccessArgs {
  task: string
  region: string
  count: number
  pages?: number | undefined
  write_ratio?: number | undefined
  cpu_ratio?: number | undefined
  interval?: number | string | undefined
  fd?: string | undefined
  device?: string | undefined
}

function* randomAccess(ctx: Ctx, a: RandomAccessArgs, path: string[]): Proc<number> {
  const w = ctx.w
  const n = a.pages ?? 1
  const gap = a.interval !== undefined ? parseDuration(a.interval) : 0
  let last = 0
  for (let i = 0; i < a.count && !ctx.stopped; i++) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    const reg = t.mm?.regions.get(a.region)
    if (!reg || reg.pages < n) return EINVAL
    const off = w.rng.int(0, reg.pages - n)
    const write = w.rng.chance(a.write_ratio ?? 0)
    const cpu = (a.fd === undefined && a.device === undefined) || w.rng.chance(a.cpu_ratio ?? 0)
    if (cpu) last = yield* faultIn(w, t.mm as MmStruct, reg.start + off, reg.start + off + n, write, -1, [...path, 'exc_page_fault'])
    else {
      const r = yield* deviceOp(ctx, write ? 'device_write' : 'device_read', { task: a.task, fd: a.fd, device: a.device, region: a.region, offset: off * 4096, size: n * 4096 } as RangeArgs & { task: string }, path)
      last = r.ret
      ctx.cpages = r.cpages
      ctx.faults = r.faults
    }
    if (gap > 0) yield sleep(gap)
  }
  return last
}

interface StormArgs {
  task: string
  region: string
  count: number
  event?: 'clear' | 'unmap' | 'protection' | 'migrate' | 'thp_split' | undefined
  pages?: number | undefined
  interval?: number | string | undefined
}

function* storm(ctx: Ctx, a: StormArgs, path: string[]): Proc<number> {
  const w = ctx.w
  const n = a.pages ?? 1
  const gap = a.interval !== undefined ? parseDuration(a.interval) : 10_000
  const p = [...path, 'invalidation_storm']
  for (let i = 0; i < a.count && !ctx.stopped; i++) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number' || !t.mm) return ESRCH
    const mm = t.mm
    const reg = mm.regions.get(a.region)
    if (!reg) return EINVAL
    const len = Math.min(n, reg.pages)
    const s = reg.start + w.rng.int(0, reg.pages - len)
    const e = s + len
    switch (a.event ?? 'clear') {
      case 'clear':
        yield* doMadvise(w, mm, s, e, 'dontneed', p)
        break
      case 'migrate':
        yield* doNumaMigrate(w, mm, s, e, p)
        break
      case 'thp_split':
        yield* doThpSplit(w, mm, s, e, p)
        break
      case 'protection': {
        const v = findVma(mm, s)
        const prot = v ? v.prot : PROT_READ | PROT_WRITE
        yield* doMprotect(w, mm, s, e, prot & ~PROT_WRITE, p)
        yield* doMprotect(w, mm, s, e, prot, p)
        break
      }
      case 'unmap': {
        const v = findVma(mm, s)
        if (!v) break
        const prot = v.prot
        const shared = v.shared
        const huge = v.huge
        yield* doMunmap(w, mm, s, e, p)
        doMmap(w, mm, { pages: len, prot, shared, huge, file: null, at: s }, p)
        break
      }
    }
    if (gap > 0) yield sleep(gap)
  }
  return 0
}

function cmpOk(actual: number, c: CmpT): boolean {
  if (typeof c === 'number') return actual === c
  if (c.eq !== undefined && !(actual === c.eq)) return false
  if (c.ne !== undefined && !(actual !== c.ne)) return false
  if (c.gt !== undefined && !(actual > c.gt)) return false
  if (c.ge !== undefined && !(actual >= c.ge)) return false
  if (c.lt !== undefined && !(actual < c.lt)) return false
  if (c.le !== undefined && !(actual <= c.le)) return false
  return true
}

function cmpText(c: CmpT): string {
  if (typeof c === 'number') return `= ${c}`
  return Object.entries(c)
    .map(([k, v]) => `${{ eq: '=', ne: '≠', gt: '>', ge: '≥', lt: '<', le: '≤' }[k] ?? k} ${v}`)
    .join(' and ')
}

function evalExpect(ctx: Ctx, e: ExpectT, idx: number, line: number, round = 0): void {
  const w = ctx.w
  if (e.design !== undefined) {
    const ds = Array.isArray(e.design) ? e.design : [e.design]
    if (!ds.includes(ctx.design.id)) return
  }
  if (e.if_ret !== undefined && ctx.ret !== parseErrno(e.if_ret)) return
  const details: string[] = []
  let pass = true
  const check = (what: string, actual: number | null, c: CmpT, fmt: (n: number) => string = String): void => {
    if (actual === null) {
      pass = false
      details.push(`${what}: expected ${cmpText(c)}, but no previous step set it`)
      return
    }
    const ok = cmpOk(actual, c)
    if (!ok) pass = false
    details.push(`${what}: expected ${typeof c === 'number' ? '= ' + fmt(c) : cmpText(c)}, got ${fmt(actual)}${ok ? '' : '  ✗'}`)
  }
  const ownerId = (name: string | undefined): number | undefined => (name === undefined ? undefined : w.tasks.get(name)?.owner ?? -1)
  if (e.ret !== undefined) {
    const c: CmpT = typeof e.ret === 'string' ? parseErrno(e.ret) : e.ret
    check('ret', ctx.ret, c, errnoName)
  }
  if (e.cpages !== undefined) check('cpages', ctx.cpages, e.cpages)
  if (e.faults !== undefined) check('faults', ctx.faults, e.faults)
  if (e.live) {
    const l = w.ledger.live(e.live.type as MemType | undefined, ownerId(e.live.owner))
    const what = `live ${e.live.type ?? 'memory'}${e.live.owner ? ' of ' + e.live.owner : ''}`
    if (e.live.count !== undefined) check(`${what} objects`, l.count, e.live.count)
    if (e.live.bytes !== undefined) check(`${what} bytes`, l.bytes, e.live.bytes)
    if (e.live.count === undefined && e.live.bytes === undefined) check(`${what} bytes`, l.bytes, { gt: 0 })
  }
  if (e.leaked) check(`leaked ${e.leaked.type ?? 'bytes'}${e.leaked.owner ? ' of ' + e.leaked.owner : ''}`, w.ledger.leaked(e.leaked.type as MemType | undefined, ownerId(e.leaked.owner)), e.leaked.bytes)
  if (e.leaked_bytes !== undefined) check('leaked bytes', w.ledger.leaked(undefined, undefined), e.leaked_bytes)
  if (e.findings) {
    const f = e.findings
    const n = w.findings.filter((x) => (f.kind === undefined || x.kind === f.kind) && (f.invariant === undefined || x.invariant === f.invariant)).length
    check(`findings${f.kind ? ' ' + f.kind : ''}${f.invariant ? ' (invariant ' + f.invariant + ')' : ''}`, n, f.count ?? { ge: 1 })
  }
  if (e.device_pages) {
    const mm = ctx.mmOf.get(e.device_pages.task)
    let n = 0
    if (mm) {
      for (const m of mm.mirrors) if (m.dev.name === e.device_pages.device && m.alive) n += m.pt.present
      const d = deviceByName(w, e.device_pages.device)
      if (d?.iommu && mm.iommu_mm && d.iommu.pasidTable.has(mm.iommu_mm.pasid) && mm.releasedAt === null) n += mm.pt.present
    }
    check(`${e.device_pages.device} page-table entries for ${e.device_pages.task}`, n, e.device_pages.count)
  }
  if (e.mm) {
    const mm = ctx.mmOf.get(e.mm.task)
    if (!mm) {
      pass = false
      details.push(`mm of ${e.mm.task}: the task has no mm`)
    } else {
      if (e.mm.mm_users !== undefined) check(`${mm.label} mm_users`, mm.mm_users, e.mm.mm_users)
      if (e.mm.mm_count !== undefined) check(`${mm.label} mm_count`, mm.mm_count, e.mm.mm_count)
      if (e.mm.phase !== undefined) {
        const ok = mm.phase === e.mm.phase
        if (!ok) pass = false
        details.push(`${mm.label} phase: expected ${e.mm.phase}, got ${mm.phase}${ok ? '' : '  ✗'}`)
      }
    }
  }
  if (e.snapshot !== undefined) {
    const snap = ctx.snapshot
    if (!snap) {
      pass = false
      details.push('snapshot: no previous SNAPSHOT')
    } else {
      const want = Array.isArray(e.snapshot) ? e.snapshot : snap.map(() => (e.snapshot as { all: number }).all)
      const bad = want.findIndex((v, i) => snap[i] !== v)
      const ok = bad < 0 && want.length === snap.length
      if (!ok) pass = false
      details.push(ok ? `snapshot: ${snap.length} bytes as expected` : `snapshot: byte ${bad < 0 ? want.length : bad} expected 0x${(want[bad] ?? 0).toString(16)}, got 0x${(snap[bad] ?? 0).toString(16)} (length ${snap.length})  ✗`)
    }
  }
  if (e.counter) check(`counter ${e.counter.name}`, ctx.counters.get(e.counter.name), e.counter.value)
  if (e.memory) {
    const mm = ctx.mmOf.get(e.memory.task)
    const t = w.tasks.get(e.memory.task)
    const reg = mm?.regions.get(e.memory.region)
    const r = t && mm && mm.phase !== 'freed' ? rangeOf({ mm } as Task, e.memory) : ESRCH
    if (!mm || !reg || typeof r === 'number') {
      pass = false
      details.push(`memory of ${e.memory.task} ${e.memory.region}: not mapped`)
    } else {
      let bad = -1
      for (let pg = r.start; pg < r.end && bad < 0; pg++) if (peekData(w, mm, pg) !== patternValue(e.memory.pattern, pg - reg.start, round)) bad = pg
      if (bad >= 0) pass = false
      details.push(
        bad < 0
          ? `memory of ${e.memory.task} ${e.memory.region}: ${r.end - r.start} pages hold ${JSON.stringify(e.memory.pattern)}`
          : `memory of ${e.memory.task} ${e.memory.region}: page ${bad - reg.start} holds ${peekData(w, mm, bad)}, expected ${patternValue(e.memory.pattern, bad - reg.start, round)}  ✗`,
      )
    }
  }
  if (e.buffer) {
    const b = ctx.buffers.get(e.buffer.name)
    if (!b) {
      pass = false
      details.push(`buffer ${e.buffer.name}: no successful device_read filled it`)
    } else {
      const o0 = e.buffer.offset !== undefined ? parseSize(e.buffer.offset) / 4096 : 0
      const len = e.buffer.size !== undefined ? parseSize(e.buffer.size) / 4096 : b.data.length - o0
      const pat = e.buffer.pattern
      let bad = -1
      if (o0 + len > b.data.length) bad = b.data.length
      else for (let i = o0; i < o0 + len && bad < 0; i++) if (b.data[i] !== patternValue(pat, b.first + i, round)) bad = i
      if (bad >= 0) pass = false
      details.push(
        bad < 0
          ? `buffer ${e.buffer.name}: ${len} pages as expected`
          : bad >= b.data.length
            ? `buffer ${e.buffer.name}: holds ${b.data.length} pages, fewer than offset + size  ✗`
            : `buffer ${e.buffer.name}: page ${b.first + bad} holds ${b.data[bad]}, expected ${patternValue(pat, b.first + bad, round)}  ✗`,
      )
    }
  }
  if (e.hugetlb_free !== undefined) check('free huge pages', w.frames.hugetlbFree(), e.hugetlb_free)
  if (e.pagemap) {
    const pm = e.pagemap
    const mm = ctx.mmOf.get(pm.task)
    const reg = mm?.regions.get(pm.region)
    const r = mm && mm.phase !== 'freed' ? rangeOf({ mm } as Task, pm) : ESRCH
    if (!mm || !reg || typeof r === 'number') {
      pass = false
      details.push(`pagemap of ${pm.task} ${pm.region}: not mapped`)
    } else {
      // pte_to_pagemap_entry: PM_PRESENT for a present PTE; PM_SWAP for a swap-type entry (swap,
      // migration, device-private, device-exclusive); a huge leaf gives each of its pages the same bits
      let bad = -1
      let got = ''
      for (let pg = r.start; pg < r.end && bad < 0; pg++) {
        const f = mm.pt.get(pg)
        const present = (f & PTE_PRESENT) !== 0 && (f & PTE_EXCL) === 0
        const swap = (f & (PTE_DEVPRIV | PTE_EXCL)) !== 0
        if ((pm.present !== undefined && present !== pm.present) || (pm.swap !== undefined && swap !== pm.swap)) {
          bad = pg
          got = `present ${present}, swap ${swap}`
        }
      }
      if (bad >= 0) pass = false
      const want = [pm.present !== undefined ? `present ${pm.present}` : '', pm.swap !== undefined ? `swap ${pm.swap}` : ''].filter((x) => x).join(', ')
      details.push(bad < 0 ? `pagemap of ${pm.task} ${pm.region}: ${r.end - r.start} pages with ${want}` : `pagemap of ${pm.task} ${pm.region}: page ${bad - reg.start} has ${got}, expected ${want}  ✗`)
    }
  }
  ctx.expects.push({ step: idx, line, t: w.engine.now, label: e.label ?? `expect at line ${line}`, pass, details })
}
