/**
 * One handler per scenario step, in a table keyed like the step schema (LEAF_STEPS in
 * src/shared/scenario.ts), as dmirror_fops_unlocked_ioctl dispatches to one function per ioctl.
 * A handler gets its step's typed body and returns the step's return code (0 or a negative errno)
 * or, for a device request, the device's result. The interpreter (interp.ts) charges the syscall
 * entry before it and records the result after it; control steps (expect, sleep, repeat,
 * background, when) are the interpreter's own.
 */
import { sleep, type Proc } from '../engine/engine'
import type { World } from '../world'
import type { MmStruct, Task, TmpFile } from '../kernel/objects'
import type { Target } from '../teardown/design'
import { PROT_READ, PROT_WRITE } from '../kernel/types'
import { spawnTask, doFork, doExit, doClose, doClone, doExecve, doDup } from '../kernel/task'
import { unixRecvFd, unixRelease, unixSendFd } from '../kernel/af_unix'
import { taskWorkRun } from '../kernel/files'
import { allocFile, openTmpfile, preadTmpfile, pwriteTmpfile } from '../kernel/files'
import { doGup, gupRelease } from '../kernel/gup'
import { doMmap, vmMunmap } from '../kernel/mmap'
import { withMmapReadLock, withMmapWriteLock } from '../kernel/mmap_lock'
import { doClearRefs, doMprotect, doWriteProtect } from '../kernel/mprotect'
import { doMadvise } from '../kernel/madvise'
import { reclaimRange } from '../kernel/vmscan'
import { doMremap } from '../kernel/mremap'
import { doThpSplit } from '../kernel/thp'
import { doNumaMigrate } from '../kernel/migrate'
import { kernelHas } from '../kernel/version'
import { faultIn, writeData } from '../kernel/memory'
import { findVma } from '../kernel/vma'
import { oomKill } from '../kernel/oom_kill'
import {
  dmirrorReadWrite,
  dmirrorMigrateToDev,
  dmirrorMigrateToSys,
  dmirrorSnapshot,
  dmirrorExclusive,
  dmirrorCheckExclusive,
  dmirrorReleaseDevmem,
  type DeviceOpResult,
  type DataIo,
} from '../drivers/dmirror'
import { svaAccess } from '../drivers/iommu-sva'
import { allocBo, createQueue } from '../drivers/driver'
import { moduleUnload } from '../teardown/module'
import { moduleUnloaded } from '../kernel/notifier'
import { kfdRegisterUserptr, kfdWaitRunnable } from '../drivers/kfd-evict'
import { EBADF, EINVAL, ENODEV, ESRCH } from '../kernel/errno'
import { PAGE_SIZE } from '../kernel/page'
import { parseDuration, parseSize, patternValue, type LEAF_STEPS, type LeafStepT, type PatternT, type StepT } from '../../shared/scenario'
import { deviceByName, liveTask, protBits, rangeOf, resolveDevice, type Ctx, type RangeArgs } from './ctx'

/** Steps the interpreter dispatches through the table (the schema's leaf steps but its own). */
export type StepOp = Exclude<keyof typeof LEAF_STEPS, 'expect' | 'sleep'>
/** A leaf step whose one key is `K` (the schema's steps are strict objects of exactly one key). */
export type LeafStepOf<K extends keyof typeof LEAF_STEPS> = Extract<LeafStepT, Record<K, unknown>>
/** The typed body of step `K` (what follows `K:` in the YAML). */
export type StepBody<K extends keyof typeof LEAF_STEPS> = LeafStepOf<K>[K]

/** What a handler runs with: the interpreter state, the world, the call path and the repeat round. */
export interface StepEnv {
  readonly ctx: Ctx
  readonly w: World
  readonly path: string[]
  readonly round: number
}

export type StepHandler<K extends StepOp> = (env: StepEnv, a: StepBody<K>) => Proc<number | DeviceOpResult>

type DeviceOp = 'device_read' | 'device_write' | 'migrate_to_device' | 'migrate_to_system' | 'snapshot' | 'exclusive' | 'check_exclusive'

/** A request on a range of a live task's region: ESRCH / EINVAL before `fn` runs. */
function* onRange(env: StepEnv, a: RangeArgs & { task: string }, fn: (mm: MmStruct, start: number, end: number) => Proc<number>): Proc<number> {
  const t = liveTask(env.ctx, a.task)
  if (typeof t === 'number') return t
  const r = rangeOf(t, a)
  if (typeof r === 'number') return r
  return yield* fn(r.mm, r.start, r.end)
}

/** A device-file request handled by the design's resolve: the target, or an errno. */
function* onTarget(
  env: StepEnv,
  a: { task: string; fd?: string | undefined; device?: string | undefined },
  fn: (tg: Target) => Proc<number | DeviceOpResult>,
): Proc<number | DeviceOpResult> {
  const rd = resolveDevice(env.ctx, a)
  if (typeof rd === 'number') return rd
  const tg = env.ctx.design.resolve(env.w, rd.t, rd.d, rd.file, env.path)
  if (typeof tg === 'number') return tg
  return yield* fn(tg)
}

/** pwrite / pread of a tmpfile: `io` moves the pages; the copy costs its page-table walk. */
function* tmpfileIo(
  env: StepEnv,
  a: { task: string; fd: string; offset?: number | string | undefined; size?: number | string | undefined },
  io: (f: TmpFile, off: number, pages: number) => number,
): Proc<number> {
  const t = liveTask(env.ctx, a.task)
  const f = typeof t === 'number' ? undefined : t.tmpfiles.get(a.fd)
  if (typeof t === 'number') return t
  if (!f) return EBADF
  const off = a.offset !== undefined ? parseSize(a.offset) / PAGE_SIZE : 0
  const pages = a.size !== undefined ? parseSize(a.size) / PAGE_SIZE : Math.max(0, f.size - off)
  const ret = io(f, off, pages)
  yield sleep(pages * env.w.costs.pte_op * 8)
  return ret
}

/** fork / thread / vfork: a live parent, a new child name, then the clone; the child's mm is recorded. */
function* cloneStep(env: StepEnv, a: { task: string; child: string }, clone: (w: World, parent: Task, path: string[]) => Proc<Task>): Proc<number> {
  const t = liveTask(env.ctx, a.task)
  if (typeof t === 'number') return t
  if (env.w.tasks.has(a.child)) return EINVAL
  const c = yield* clone(env.w, t, env.path)
  if (c.mm) env.ctx.mmOf.set(c.name, c.mm)
  return 0
}

const deviceStep = (op: DeviceOp) =>
  function* (env: StepEnv, a: DevArgs): Proc<DeviceOpResult> {
    return yield* deviceOp(env.ctx, op, a, env.path, env.round)
  }

export const STEP_HANDLERS: { readonly [K in StepOp]: StepHandler<K> } = {
  *spawn({ ctx, w, path }, a) {
    if (w.tasks.has(a.task)) return EINVAL
    const t = spawnTask(w, a.task, path)
    if (t.mm) ctx.mmOf.set(t.name, t.mm)
    return 0
  },
  fork: (env, a) => cloneStep(env, a, (w, t, path) => doFork(w, t, a.child, path)),
  thread: (env, a) => cloneStep(env, a, (w, t, path) => doClone(w, t, a.child, 'thread', path)),
  vfork: (env, a) => cloneStep(env, a, (w, t, path) => doClone(w, t, a.child, 'vfork', path)),
  *execve({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    const old = t.mm
    const mm = yield* doExecve(w, t, path)
    if (a.old_mm !== undefined && old) ctx.mmOf.set(a.old_mm, old)
    ctx.mmOf.set(t.name, mm)
    return 0
  },
  *dup({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    return typeof t === 'number' ? t : yield* doDup(w, t, a.fd, a.as, a.cloexec ?? false, path)
  },
  *send_fd({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    return typeof t === 'number' ? t : unixSendFd(w, t, a.fd, a.socket, path)
  },
  *recv_fd({ ctx, w }, a) {
    const t = liveTask(ctx, a.task)
    return typeof t === 'number' ? t : unixRecvFd(w, t, a.socket, a.fd, a.cloexec ?? false)
  },
  *close_socket({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    const r = unixRelease(w, t, a.socket, path)
    yield* taskWorkRun(w, t, [...path, 'syscall_exit_to_user_mode'])
    return r
  },
  *exit({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    yield* doExit(w, t, path)
    return 0
  },
  *oom_kill({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    yield* oomKill(w, t, a.blocked !== undefined ? parseDuration(a.blocked) : 0, path)
    return 0
  },
  *module_unload({ ctx, w, path }, a) {
    return yield* moduleUnload(w, ctx.design, a.synchronize ?? true, path)
  },
  *close({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    return typeof t === 'number' ? t : yield* doClose(w, t, a.fd, path)
  },
  *open({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    const d = deviceByName(w, a.device)
    if (typeof t === 'number') return t
    if (!d) return EINVAL
    if (moduleUnloaded(w)) return ENODEV
    if (t.fds.has(a.fd) || t.tmpfiles.has(a.fd)) return EINVAL
    const f = allocFile(w, t, d, a.fd, ctx.fops, path)
    if (a.cloexec) t.cloexec.add(a.fd)
    const ret = ctx.design.open(w, t, f, [...path, 'chrdev_open'])
    if (ret < 0) w.ledger.free(f.ledgerId, path)
    else {
      t.fds.set(a.fd, f)
      w.mark('open', `${t.name} opens ${d.name} as ${a.fd}`)
    }
    return ret
  },
  *mmap({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    if (!t.mm) return ESRCH
    const file = a.fd !== undefined ? (t.fds.get(a.fd) ?? null) : null
    const tmp = a.fd !== undefined ? (t.tmpfiles.get(a.fd) ?? null) : null
    if (a.fd !== undefined && !file && !tmp) return EBADF
    const at = a.at !== undefined ? parseSize(a.at) / PAGE_SIZE : null
    const r = yield* doMmap(
      w,
      t.mm,
      {
        pages: Math.ceil(parseSize(a.size) / PAGE_SIZE),
        prot: protBits(a.prot),
        shared: a.shared ?? false,
        huge: a.huge ?? false,
        file,
        at,
        noreplace: a.noreplace ?? false,
        hugetlb: a.hugetlb ?? false,
        pagecache: tmp ? tmp.cache : null,
      },
      path,
    )
    if (r < 0) return r
    t.mm.regions.set(a.region, { start: r, pages: Math.ceil(parseSize(a.size) / PAGE_SIZE) })
    return 0
  },
  *touch(env, a) {
    return yield* onRange(env, a, (mm, start, end) =>
      withMmapReadLock(env.w, mm, faultIn(env.w, mm, start, end, a.write ?? false, -1, [...env.path, 'exc_page_fault'])),
    )
  },
  *write_data(env, a) {
    const t = liveTask(env.ctx, a.task)
    if (typeof t === 'number') return t
    const base = t.mm?.regions.get(a.region)?.start ?? 0
    const pat = a.pattern
    return yield* onRange(env, a, (mm, start, end) =>
      withMmapReadLock(
        env.w,
        mm,
        writeData(env.w, mm, start, end, (pg) => patternValue(pat, pg - base, env.round), env.path),
      ),
    )
  },
  *munmap(env, a) {
    return yield* onRange(env, a, (mm, s, e) => vmMunmap(env.w, mm, s, e, env.path))
  },
  *mprotect(env, a) {
    return yield* onRange(env, a, (mm, s, e) => withMmapWriteLock(env.w, mm, doMprotect(env.w, mm, s, e, protBits(a.prot), env.path)))
  },
  *madvise(env, a) {
    return yield* onRange(env, a, (mm, s, e) => doMadvise(env.w, mm, s, e, a.advice, env.path))
  },
  *thp_split(env, a) {
    return yield* onRange(env, a, (mm, s, e) => doThpSplit(env.w, mm, s, e, env.path))
  },
  *reclaim(env, a) {
    return yield* onRange(env, a, (mm, s, e) => withMmapReadLock(env.w, mm, reclaimRange(env.w, mm, s, e, 'reclaim', env.path)))
  },
  *numa_migrate(env, a) {
    return yield* onRange(env, a, (mm, s, e) => doNumaMigrate(env.w, mm, s, e, env.path))
  },
  *clear_refs(env, a) {
    return yield* onRange(env, a, (mm) => doClearRefs(env.w, mm, env.path))
  },
  *writeback(env, a) {
    return yield* onRange(env, a, (mm, s, e) => doWriteProtect(env.w, mm, s, e, 'PROTECTION_PAGE', env.path))
  },
  *mremap(env, a) {
    return yield* onRange(env, a, function* (mm, start, end) {
      const at = a.at !== undefined ? parseSize(a.at) / PAGE_SIZE : null
      const dst = yield* withMmapWriteLock(env.w, mm, doMremap(env.w, mm, start, end, at, a.dontunmap ?? false, env.path))
      if (dst < 0) return dst
      mm.regions.set(a.to_region ?? a.region, { start: dst, pages: end - start })
      return 0
    })
  },
  *mirror({ ctx, w, path }, a) {
    const rd = resolveDevice(ctx, a)
    if (typeof rd === 'number') return rd
    return yield* ctx.design.mirror(w, rd.t, rd.d, rd.file, path)
  },
  *release_device_memory(env, a) {
    return yield* onTarget(env, a, function* (tg) {
      if (tg.kind !== 'mirror') return EINVAL
      return yield* dmirrorReleaseDevmem(env.w, tg.m, env.path)
    })
  },
  *alloc_bo(env, a) {
    return yield* onTarget(env, a, function* (tg) {
      allocBo(env.w, tg.obj, parseSize(a.size), env.path)
      return 0
    })
  },
  *create_queue(env, a) {
    return yield* onTarget(env, a, function* (tg) {
      createQueue(env.w, tg.obj, parseSize(a.ring ?? '64K'), env.path)
      return 0
    })
  },
  *dmirror_flags(env, a) {
    return yield* onTarget(env, a, function* (tg) {
      if (tg.kind !== 'mirror') return EINVAL
      // dmirror_fops_unlocked_ioctl of a kernel without HMM_DMIRROR_FLAGS: an unknown command
      if (!kernelHas(env.w, 'dmirror_flags_ioctl')) return EINVAL
      tg.m.failAlloc = a.fail_alloc
      return 0
    })
  },
  *userptr({ ctx, w, path }, a) {
    const rd = resolveDevice(ctx, a)
    if (typeof rd === 'number') return rd
    const r = rangeOf(rd.t, a)
    const tg = ctx.design.resolve(w, rd.t, rd.d, rd.file, path)
    if (typeof r === 'number') return r
    if (typeof tg === 'number') return tg
    if (tg.kind !== 'mirror') return EINVAL
    return yield* kfdRegisterUserptr(w, tg.obj, r.start, r.end, a.write ?? true, [...path, 'kfd_ioctl_alloc_memory_of_gpu'])
  },
  device_read: deviceStep('device_read'),
  device_write: deviceStep('device_write'),
  migrate_to_device: deviceStep('migrate_to_device'),
  migrate_to_system: deviceStep('migrate_to_system'),
  snapshot: deviceStep('snapshot'),
  exclusive: deviceStep('exclusive'),
  check_exclusive: deviceStep('check_exclusive'),
  *user_buffer({ ctx, round }, a) {
    const data = new Int32Array(Math.ceil(parseSize(a.size) / PAGE_SIZE))
    const pat: PatternT = a.pattern ?? 'zero'
    for (let i = 0; i < data.length; i++) data[i] = patternValue(pat, i, round)
    ctx.buffers.set(a.name, { first: 0, data })
    return 0
  },
  *nr_hugepages({ w }, a) {
    // hugetlb_sysctl_handler → set_max_huge_pages: the pool never shrinks below the pages in use
    w.frames.hugetlbTotal = Math.max(a, w.frames.hugetlbInUse)
    return 0
  },
  *open_tmpfile({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    if (t.fds.has(a.fd) || t.tmpfiles.has(a.fd)) return EINVAL
    t.tmpfiles.set(a.fd, openTmpfile(w, t, a.fd, a.size !== undefined ? parseSize(a.size) / PAGE_SIZE : 0, path))
    if (a.cloexec) t.cloexec.add(a.fd)
    w.mark('open', `${t.name} opens a tmpfile as ${a.fd}`)
    return 0
  },
  *pwrite(env, a) {
    return yield* tmpfileIo(env, a, (f, off, pages) => pwriteTmpfile(env.w, f, off, pages, (i) => patternValue(a.pattern, i, env.round)))
  },
  *pread(env, a) {
    return yield* tmpfileIo(env, a, (f, off, pages) => {
      const out = new Int32Array(pages)
      const ret = preadTmpfile(env.w, f, off, pages, out)
      env.ctx.buffers.set(a.into, { first: off, data: out.slice(0, ret / PAGE_SIZE) })
      return ret
    })
  },
  *gup({ ctx, w, path }, a) {
    const t = liveTask(ctx, a.task)
    if (typeof t === 'number') return t
    const r = rangeOf(t, a)
    if (typeof r === 'number') return r
    const g = yield* doGup(w, r.mm, r.start, r.end, { write: a.write ?? true, fast: a.fast ?? false, pin: a.pin ?? false, longterm: a.longterm ?? false }, [
      ...path,
      'gup_test_ioctl',
    ])
    if (a.hold !== undefined && g.ret === 0) ctx.pins.set(a.hold, [...(ctx.pins.get(a.hold) ?? []), ...g.pfns])
    else gupRelease(w, g.pfns)
    return g.ret
  },
  *unpin({ ctx, w }, a) {
    const held = ctx.pins.get(a.pins)
    if (!held) return EINVAL
    ctx.pins.delete(a.pins)
    gupRelease(w, held)
    return 0
  },
  *random_access({ ctx, path }, a) {
    return yield* randomAccess(ctx, a, path)
  },
  *invalidation_storm({ ctx, w, path }, a) {
    if (a.background) {
      w.engine.spawn('invalidation_storm', storm(ctx, a, path))
      return 0
    }
    return yield* storm(ctx, a, path)
  },
}

type DevArgs = RangeArgs & { task: string; fd?: string | undefined; device?: string | undefined; into?: string | undefined; pattern?: PatternT | undefined }

function* deviceOp(ctx: Ctx, op: DeviceOp, b: DevArgs, path: string[], round = 0): Proc<DeviceOpResult> {
  const w = ctx.w
  const fail = (ret: number): DeviceOpResult => ({ ret, cpages: 0, faults: 0 })
  const rd = resolveDevice(ctx, b)
  if (typeof rd === 'number') return fail(rd)
  const { t, file, d } = rd
  const r = rangeOf(t, b)
  if (typeof r === 'number') return fail(r)
  const tg = ctx.design.resolve(w, t, d, file, [...path, 'dmirror_fops_unlocked_ioctl'])
  if (typeof tg === 'number') return fail(tg)
  const p = [...path, 'dmirror_fops_unlocked_ioctl']
  const regionStart = t.mm?.regions.get(b.region)?.start ?? r.start
  let io: DataIo | undefined
  if ((op === 'device_read' || op === 'migrate_to_device' || op === 'exclusive') && b.into !== undefined)
    io = { base: r.start, out: new Int32Array(r.end - r.start) }
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
    const mm = t.mm
    const reg = mm?.regions.get(a.region)
    if (!mm || !reg || reg.pages < n) return EINVAL
    const off = w.rng.int(0, reg.pages - n)
    const write = w.rng.chance(a.write_ratio ?? 0)
    const cpu = (a.fd === undefined && a.device === undefined) || w.rng.chance(a.cpu_ratio ?? 0)
    if (cpu) last = yield* withMmapReadLock(w, mm, faultIn(w, mm, reg.start + off, reg.start + off + n, write, -1, [...path, 'exc_page_fault']))
    else {
      const r = yield* deviceOp(
        ctx,
        write ? 'device_write' : 'device_read',
        { task: a.task, fd: a.fd, device: a.device, region: a.region, offset: off * PAGE_SIZE, size: n * PAGE_SIZE },
        path,
      )
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
        yield* withMmapWriteLock(w, mm, doMprotect(w, mm, s, e, prot & ~PROT_WRITE, p))
        yield* withMmapWriteLock(w, mm, doMprotect(w, mm, s, e, prot, p))
        break
      }
      case 'unmap': {
        const v = findVma(mm, s)
        if (!v) break
        const prot = v.prot
        const shared = v.shared
        const huge = v.huge
        yield* vmMunmap(w, mm, s, e, p)
        yield* doMmap(w, mm, { pages: len, prot, shared, huge, file: null, at: s }, p)
        break
      }
    }
    if (gap > 0) yield sleep(gap)
  }
  return 0
}

/** Whether `name` is a step the table dispatches. */
export function isStepOp(name: string): name is StepOp {
  return Object.hasOwn(STEP_HANDLERS, name)
}

/** Whether `s` is the step `op` (its one key), so that `s[op]` is that step's typed body. */
function isStepOf<K extends StepOp>(s: StepT, op: K): s is LeafStepOf<K> {
  return Object.hasOwn(s, op)
}

/**
 * Runs step `s`, whose key is `op`, through its handler. Generic in the step so that TypeScript ties
 * the handler to its body (the table is a mapped type: indexed by `K` it gives `StepHandler<K>`).
 */
export function* dispatchStep<K extends StepOp>(env: StepEnv, op: K, s: StepT): Proc<number | DeviceOpResult> {
  if (!isStepOf(s, op)) return EINVAL // a step's name is its key: only a caller's mistake lands here
  const handler: StepHandler<K> = STEP_HANDLERS[op]
  return yield* handler(env, s[op])
}

/** The name of step `s` (its one key). */
export function stepName(s: StepT): string {
  return Object.keys(s)[0] ?? ''
}

/** The `task` field of step `s`'s body, when it has one. */
export function stepTaskName(s: StepT): string | null {
  const body: unknown = Object.values(s)[0]
  return typeof body === 'object' && body !== null && 'task' in body && typeof body.task === 'string' ? body.task : null
}
