/**
 * The program compiler: a parsed scenario and a design → the line-based program the guest
 * executor (oracle/guest/executor.c) runs. Repeats are unrolled, `when` is resolved for the
 * design, and every step gets the index the simulator's `step` hook gives it: `execStep` in
 * src/sim/scenario/interp.ts calls `ctx.nextIndex()` once per step it executes, containers
 * (`repeat`, `when`, `background`) and `expect` included, children after their container, a
 * `repeat`'s children once per round, a `when`'s children only when the design matches.
 */
import type { LoadedScenario } from '../../../../sim/index'
import { lineOf } from '../../../../sim/scenario/parse'
import { DEFAULT_MMAP_MIN_ADDR, parseDuration, parseErrno, parseSize, type PatternT, type StepT, type ExpectT } from '../../../../shared/scenario'

/** A scenario step the guest executor cannot perform. */
export interface UnsupportedStep {
  index: number
  line: number
  op: string
  why: string
}

export interface CompiledStep {
  index: number
  line: number
  op: string
  /** The task the step names (`task` of its body), as the simulator's step hook reports it. */
  task: string | null
}

export interface CompiledProgram {
  id: string
  /** The program text for the executor (without the file header). */
  text: string
  steps: CompiledStep[]
  tasks: string[]
  /** Scenario device name → guest device (hmm_dmirror0..3). */
  devices: Record<string, string>
  scratchPages: number
}

/**
 * What the guest kernel's test_hmm offers beyond 6.12's, when it is known (the build reads the
 * tree's lib/test_hmm_uapi.h). Without it, the steps that need more are let through.
 */
export interface GuestFeatures {
  /** `uname -r` of the guest kernel, for the message. */
  release: string
  /** HMM_DMIRROR_FLAGS (0x08, HMM_DMIRROR_FLAG_FAIL_ALLOC): added after 6.12. */
  dmirrorFlags: boolean
}

/** Steps one guest run accepts (the simulator's own cap is 300 000). */
export const MAX_GUEST_STEPS = 20_000

class Unexpressible extends Error {
  constructor(readonly u: UnsupportedStep) {
    super(`step ${u.index} (line ${u.line}, ${u.op}): ${u.why}`)
  }
}

/** Page count of a size given in bytes; -1 when it is not a whole number of pages (the executor answers -EINVAL, as rangeOf does). */
function pages(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = parseSize(v) / 4096
  return Number.isInteger(n) && n >= 0 ? n : -1
}

/** Pattern with the round of the innermost repeat resolved. */
export function patternArg(p: PatternT | undefined, round: number): string {
  if (p === undefined || p === 'zero') return 'zero'
  if (p === 'index') return 'index'
  if (p === 'neg_index') return 'neg'
  if ('index_plus' in p) return `plus:${p.index_plus + (p.per_round ?? 0) * round}`
  return `const:${p.const + (p.per_round ?? 0) * round}`
}

interface DevInfo {
  guest: string | null
  why: string | null
}

/** Maps the scenario's devices onto test_hmm's: private dmirrors → hmm_dmirror0/1, coherent → 2/3. */
export function mapDevices(sc: LoadedScenario): Map<string, DevInfo> {
  const specs = sc.machine?.devices ?? [{ name: 'dmirror0', kind: 'dmirror' as const }]
  const out = new Map<string, DevInfo>()
  const free = { private: ['hmm_dmirror0', 'hmm_dmirror1'], coherent: ['hmm_dmirror2', 'hmm_dmirror3'] }
  // names that already are test_hmm's claim their device first
  for (const d of specs) {
    const mem = d.memory ?? 'private'
    const m = /^hmm_dmirror([0-3])$/.exec(d.name)
    if (m && (d.kind ?? 'dmirror') === 'dmirror') {
      const n = Number(m[1])
      if ((mem === 'private') === n < 2) {
        out.set(d.name, { guest: d.name, why: null })
        free[mem] = free[mem].filter((x) => x !== d.name)
      }
    }
  }
  for (const d of specs) {
    if (out.has(d.name)) continue
    const mem = d.memory ?? 'private'
    if ((d.kind ?? 'dmirror') !== 'dmirror')
      out.set(d.name, { guest: null, why: `device ${d.name} is a "gpu" (2 MiB fault chunks, huge device PTEs): the guest has only test_hmm's dmirror devices` })
    else if (d.iommu !== undefined || d.ats)
      out.set(d.name, { guest: null, why: `device ${d.name} sits behind an IOMMU (SVA / ATS): test_hmm's dmirror has no IOMMU` })
    else if (d.fault_chunk_pages !== undefined && d.fault_chunk_pages !== 64)
      out.set(d.name, { guest: null, why: `device ${d.name} faults ${d.fault_chunk_pages} pages at a time: test_hmm's dmirror_fault works in 64-page chunks` })
    else {
      const g = free[mem].shift()
      out.set(d.name, g ? { guest: g, why: null } : { guest: null, why: `device ${d.name}: test_hmm has two ${mem} devices and the scenario asks for more` })
    }
  }
  return out
}

const UNSUPPORTED: Record<string, string> = {
  background: 'steps that run concurrently (background): the executor performs one step at a time',
  random_access: "a random generator driven by the simulator's seed: the guest cannot reproduce the same sequence of accesses",
  invalidation_storm: "a random generator driven by the simulator's seed: the guest cannot reproduce the same sequence of invalidations",
  alloc_bo: 'a KFD buffer object: the guest has no KFD (test_hmm has no BOs)',
  create_queue: 'a KFD user-mode queue: the guest has no KFD',
  userptr: 'a KFD userptr BO: the guest has no KFD',
  numa_migrate: 'NUMA migration: the guest has one memory node (no CONFIG_NUMA, no move_pages)',
  writeback: 'writeback (page_mkclean of a shared file mapping): the guest has only tmpfs, which has no writeback',
  unpin: 'pins held across steps: gup_test releases its references at the end of each ioctl',
  module_unload: 'unloading the driver module: the guest executor keeps test_hmm loaded for the whole program',
}

interface Emit {
  lines: string[]
  steps: CompiledStep[]
  tasks: string[]
  buffers: Set<string>
  scratch: number
}

/**
 * Walks the steps exactly as execStep does, numbering them; calls `leaf` for every executed leaf
 * step. Throws Unexpressible for the first step the executor cannot do.
 */
function walk(sc: LoadedScenario, design: string, out: Emit, features?: GuestFeatures): void {
  const devs = mapDevices(sc)
  let next = 0
  const taskSeen = (t: string | undefined): void => {
    if (t !== undefined && !out.tasks.includes(t)) out.tasks.push(t)
  }
  const fail = (index: number, line: number, op: string, why: string): never => {
    throw new Unexpressible({ index, line, op, why })
  }
  // the guest runs without swap: a scenario whose machine has some reclaims differently
  if (sc.machine?.swap !== undefined && parseSize(sc.machine.swap) >= 4096)
    fail(0, 1, 'machine', `machine.swap: the guest has no swap device (anonymous pages are never swapped out there)`)
  const emit = (idx: number, task: string, op: string, args: Record<string, string | number | boolean | undefined>): void => {
    const kv = Object.entries(args)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'boolean' ? (v ? 1 : 0) : v}`)
    out.lines.push(`step ${idx} ${task} ${op}${kv.length ? ' ' + kv.join(' ') : ''}`)
  }
  const grow = (n: number | undefined): void => {
    if (n !== undefined && n > out.scratch) out.scratch = n
  }
  const guestDev = (idx: number, line: number, op: string, name: string): string => {
    const d = devs.get(name)
    if (!d) return fail(idx, line, op, `device ${name} is not in the scenario's machine`)
    if (!d.guest) return fail(idx, line, op, d.why ?? `device ${name} cannot be mapped`)
    return d.guest
  }

  const steps = (list: StepT[], round: number): void => {
    for (const s of list) one(s, round)
  }
  const one = (s: StepT, round: number): void => {
    const op = Object.keys(s)[0] as string
    const line = lineOf(s)
    const idx = next++
    if (idx >= MAX_GUEST_STEPS) fail(idx, line, op, `more than ${MAX_GUEST_STEPS} executed steps: too many for one guest run`)
    const body = (s as Record<string, unknown>)[op]
    const task = body !== null && typeof body === 'object' && typeof (body as { task?: unknown }).task === 'string' ? (body as { task: string }).task : null
    out.steps.push({ index: idx, line, op, task })
    if (op in UNSUPPORTED) fail(idx, line, op, UNSUPPORTED[op] as string)
    if ('repeat' in s) {
      emit(idx, '-', 'repeat', {})
      for (let i = 0; i < s.repeat.times; i++) steps(s.repeat.steps, i)
      return
    }
    if ('when' in s) {
      emit(idx, '-', 'when', {})
      const ds = Array.isArray(s.when.design) ? s.when.design : [s.when.design]
      if ((ds as string[]).includes(design)) steps(s.when.steps, round)
      return
    }
    if ('expect' in s) {
      expect(idx, s.expect, round)
      return
    }
    leaf(idx, line, op, s, round)
  }

  const expect = (idx: number, e: ExpectT, round: number): void => {
    const ds = e.design === undefined ? null : Array.isArray(e.design) ? e.design : [e.design]
    emit(idx, '-', 'expect', { if_ret: e.if_ret !== undefined ? parseErrno(e.if_ret) : undefined })
    if (ds && !(ds as string[]).includes(design)) return
    if (e.memory) {
      const m = e.memory
      out.lines.push(`part ${m.task} memory region=${m.region} off=${pages(m.offset) ?? 0} len=${pages(m.size) ?? -1} pat=${patternArg(m.pattern, round)}`)
    }
    if (e.buffer) {
      const b = e.buffer
      out.buffers.add(b.name)
      out.lines.push(`part - buffer name=${b.name} off=${pages(b.offset) ?? 0} len=${pages(b.size) ?? -1} pat=${patternArg(b.pattern, round)}`)
    }
    if (e.pagemap) out.lines.push(`part ${e.pagemap.task} pagemap`)
  }

  const range = (b: {
    region: string
    offset?: number | string | undefined
    size?: number | string | undefined
  }): Record<string, string | number | undefined> => {
    const len = pages(b.size)
    grow(len)
    return { region: b.region, off: pages(b.offset) ?? 0, len: len ?? -1 }
  }

  const leaf = (idx: number, line: number, op: string, s: StepT, round: number): void => {
    if ('spawn' in s) {
      taskSeen(s.spawn.task)
      emit(idx, s.spawn.task, 'spawn', {})
    } else if ('fork' in s) {
      taskSeen(s.fork.task)
      taskSeen(s.fork.child)
      emit(idx, s.fork.task, 'fork', { child: s.fork.child })
    } else if ('exit' in s) emit(idx, s.exit.task, 'exit', {})
    else if ('oom_kill' in s) {
      if (s.oom_kill.blocked !== undefined && parseDuration(s.oom_kill.blocked) > 0)
        fail(idx, line, op, 'oom_kill.blocked: the guest cannot hold a victim in an uninterruptible sleep')
      emit(idx, s.oom_kill.task, 'oom_kill', {})
    } else if ('open' in s) emit(idx, s.open.task, 'open', { fd: s.open.fd, path: guestDev(idx, line, op, s.open.device) })
    else if ('close' in s) emit(idx, s.close.task, 'close', { fd: s.close.fd })
    else if ('mmap' in s) {
      const a = s.mmap
      const n = Math.ceil(parseSize(a.size) / 4096)
      grow(n)
      const at = a.at !== undefined ? parseSize(a.at) : undefined
      if (at !== undefined && at % 4096 !== 0) fail(idx, line, op, `mmap at ${a.at} is not page aligned`)
      // the executor maps every region with MAP_FIXED_NOREPLACE (oracle/guest/executor.c): the
      // model's MAP_FIXED `at` replaces what it overlaps, which the guest would answer -EEXIST
      if (at !== undefined && !a.noreplace)
        fail(
          idx,
          line,
          op,
          'mmap at without noreplace is MAP_FIXED (replaces what it overlaps); the guest executor maps with MAP_FIXED_NOREPLACE only: add noreplace: true where the range is free',
        )
      // cap_mmap_addr lets a CAP_SYS_RAWIO task map below mmap_min_addr: the executor runs as root
      // in the guest, the model's tasks are unprivileged (-EPERM)
      if (at !== undefined && at < (sc.machine?.mmap_min_addr ?? DEFAULT_MMAP_MIN_ADDR))
        fail(
          idx,
          line,
          op,
          `mmap at ${a.at} is below mmap_min_addr: the guest executor runs as root (CAP_SYS_RAWIO), which cap_mmap_addr lets map there; the model's tasks get -EPERM`,
        )
      emit(idx, a.task, 'mmap', { region: a.region, pages: n, prot: a.prot ?? 'rw', shared: a.shared, huge: a.huge, hugetlb: a.hugetlb, fd: a.fd, at })
    } else if ('touch' in s) emit(idx, s.touch.task, 'touch', { ...range(s.touch), write: s.touch.write ?? false })
    else if ('write_data' in s) emit(idx, s.write_data.task, 'write_data', { ...range(s.write_data), pat: patternArg(s.write_data.pattern, round) })
    else if ('munmap' in s) emit(idx, s.munmap.task, 'munmap', range(s.munmap))
    else if ('mprotect' in s) emit(idx, s.mprotect.task, 'mprotect', { ...range(s.mprotect), prot: s.mprotect.prot })
    else if ('madvise' in s) {
      // the executor maps advice names to MADV_* itself and knows only these (an unknown one would
      // silently become MADV_COLLAPSE there)
      if (!['dontneed', 'free', 'pageout', 'hugepage', 'nohugepage', 'collapse'].includes(s.madvise.advice))
        fail(idx, line, op, `madvise ${s.madvise.advice}: the executor has no such advice yet`)
      emit(idx, s.madvise.task, 'madvise', { ...range(s.madvise), advice: s.madvise.advice })
    } else if ('thp_split' in s) emit(idx, s.thp_split.task, 'thp_split', range(s.thp_split))
    else if ('reclaim' in s) emit(idx, s.reclaim.task, 'reclaim', range(s.reclaim))
    else if ('clear_refs' in s) emit(idx, s.clear_refs.task, 'clear_refs', range(s.clear_refs))
    else if ('mremap' in s) {
      const a = s.mremap
      const at = a.at !== undefined ? parseSize(a.at) : undefined
      if (at !== undefined && at % 4096 !== 0) fail(idx, line, op, `mremap at ${a.at} is not page aligned`)
      emit(idx, a.task, 'mremap', { ...range(a), to: a.to_region, at, dontunmap: a.dontunmap })
    } else if ('mirror' in s || 'release_device_memory' in s || 'dmirror_flags' in s) {
      const b = (s as unknown as Record<string, { task: string; fd?: string; device?: string; fail_alloc?: boolean }>)[op] as {
        task: string
        fd?: string
        device?: string
        fail_alloc?: boolean
      }
      if (b.fd === undefined) fail(idx, line, op, 'a driver call without a file: test_hmm is reached only through an open /dev/hmm_dmirrorN')
      if (b.device !== undefined) guestDev(idx, line, op, b.device)
      if ('dmirror_flags' in s && features && !features.dmirrorFlags)
        fail(
          idx,
          line,
          op,
          `HMM_DMIRROR_FLAGS: the guest kernel ${features.release} has no such ioctl (its lib/test_hmm_uapi.h defines none: it came after 6.12, and 6.12's dmirror_fops_unlocked_ioctl answers an unknown command with -EINVAL); build the guest from a tree that has it with --kernel-tree DIR`,
        )
      emit(idx, b.task, op, { fd: b.fd, fail_alloc: 'dmirror_flags' in s ? s.dmirror_flags.fail_alloc : undefined })
    } else if (
      'device_read' in s ||
      'device_write' in s ||
      'migrate_to_device' in s ||
      'migrate_to_system' in s ||
      'snapshot' in s ||
      'exclusive' in s ||
      'check_exclusive' in s
    ) {
      const b = (
        s as unknown as Record<
          string,
          { task: string; fd?: string; device?: string; region: string; offset?: number | string; size?: number | string; into?: string; pattern?: PatternT }
        >
      )[op] as {
        task: string
        fd?: string
        device?: string
        region: string
        offset?: number | string
        size?: number | string
        into?: string
        pattern?: PatternT
      }
      if (b.fd === undefined) fail(idx, line, op, 'a device access without a file: test_hmm is reached only through an open /dev/hmm_dmirrorN')
      if (b.device !== undefined) guestDev(idx, line, op, b.device)
      if (b.into !== undefined) out.buffers.add(b.into)
      emit(idx, b.task, op, { fd: b.fd, ...range(b), into: b.into, pat: op === 'device_write' ? patternArg(b.pattern, round) : undefined })
    } else if ('user_buffer' in s) {
      const n = pages(s.user_buffer.size) ?? 0
      out.buffers.add(s.user_buffer.name)
      emit(idx, '-', 'user_buffer', {
        name: s.user_buffer.name,
        pages: n < 0 ? Math.ceil(parseSize(s.user_buffer.size) / 4096) : n,
        pat: patternArg(s.user_buffer.pattern, round),
      })
    } else if ('nr_hugepages' in s) emit(idx, '-', 'nr_hugepages', { n: s.nr_hugepages })
    else if ('sleep' in s) emit(idx, '-', 'sleep', { ns: parseDuration(s.sleep) })
    else if ('open_tmpfile' in s) {
      const n = pages(s.open_tmpfile.size) ?? 0
      grow(n)
      emit(idx, s.open_tmpfile.task, 'open_tmpfile', { fd: s.open_tmpfile.fd, size: n })
    } else if ('pwrite' in s || 'pread' in s) {
      const a = 'pwrite' in s ? s.pwrite : s.pread
      const len = pages(a.size)
      grow(len)
      if ('pread' in s) out.buffers.add(s.pread.into)
      emit(idx, a.task, op, {
        fd: a.fd,
        off: pages(a.offset) ?? 0,
        len: len ?? -1,
        pat: 'pwrite' in s ? patternArg(s.pwrite.pattern, round) : undefined,
        into: 'pread' in s ? s.pread.into : undefined,
      })
    } else if ('gup' in s) {
      const a = s.gup
      if (a.hold !== undefined)
        fail(idx, line, op, 'gup.hold: gup_test releases its references at the end of each ioctl; references held across steps are not expressible')
      emit(idx, a.task, 'gup', { ...range(a), write: a.write ?? true, fast: a.fast ?? false, pin: a.pin ?? false, longterm: a.longterm ?? false })
    } else fail(idx, line, op, `the executor has no "${op}" step`)
  }

  steps(sc.steps, 0)
}

/** The first step of `sc` under `design` that the guest executor cannot run, or null. */
export function findUnexpressible(sc: LoadedScenario, design: string, features?: GuestFeatures): UnsupportedStep | null {
  try {
    walk(sc, design, { lines: [], steps: [], tasks: [], buffers: new Set(), scratch: 1 }, features)
    return null
  } catch (e) {
    if (e instanceof Unexpressible) return e.u
    throw e
  }
}

/** Compiles a scenario for the executor; throws when a step cannot be expressed (see findUnexpressible). */
export function compileProgram(sc: LoadedScenario, design: string, id: string, features?: GuestFeatures): CompiledProgram {
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new Error(`program id ${JSON.stringify(id)}: letters, digits, "_", "." or "-" only`)
  const out: Emit = { lines: [], steps: [], tasks: [], buffers: new Set(), scratch: 1 }
  try {
    walk(sc, design, out, features)
  } catch (e) {
    if (e instanceof Unexpressible) throw new Error(`${sc.source?.file ?? sc.name}: ${e.message}`, { cause: e })
    throw e
  }
  const devices: Record<string, string> = {}
  for (const [k, v] of mapDevices(sc)) if (v.guest) devices[k] = v.guest
  // a task named only inside an expect (memory of a task that never ran) still gets a pipe
  const head = [`program ${id}`, `scratch ${out.scratch}`, ...out.tasks.map((t) => `task ${t}`), ...[...out.buffers].map((b) => `buffer ${b}`)]
  const text = [...head, ...out.lines, 'endprogram'].join('\n') + '\n'
  return { id, text, steps: out.steps, tasks: out.tasks, devices, scratchPages: out.scratch }
}
