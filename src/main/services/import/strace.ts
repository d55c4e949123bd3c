/**
 * `hmmlab import strace`: a log of `strace -f -ttt -e trace=memory,process,desc -o FILE PROGRAM`
 * becomes a scenario. One task per process image (pid + execve), fork/vfork/clone/clone3, exit and
 * exit_group; mmap / munmap / mprotect / madvise / mremap / brk at their real addresses (moved below
 * the simulator's 16 TiB limit by AddrMap), sizes, protections and flags as named regions; open /
 * close of files as tmpfs files (open_tmpfile: a page cache the mappings share); the timestamps as
 * sleeps. What cannot be said in the scenario language is listed with its line and the reason (as
 * YAML comments and in `unmapped`), never dropped silently. docs/workloads.md describes the mapping.
 *
 * Pure TypeScript (no Node imports).
 */
import type { DesignIdT, Scenario, StepT } from '../../../shared/scenario'
import { AddrMap, AddrMapError, PAGE, hex, pageAlign, safeName, sizeText } from './addr-map'
import { describeValue, fieldOf, flagsOf, namedArg, numOf, parseStraceLog, type StraceEvent } from './strace-parse'
import { importedMachine, writeScenarioYaml, type Item, type Unmapped } from './writer'

export interface StraceImportOptions {
  /** scenario name (default: from the first program) */
  name?: string
  /** where the log came from (for the header) */
  sourceName?: string
  /** extra header lines, e.g. how the log was captured */
  notes?: string[]
  designs?: DesignIdT[]
  /** attach a device of this kind (default none) */
  device?: 'dmirror' | 'gpu'
  /** put the device behind an IOMMU of this vendor (with ATS) */
  iommu?: 'intel' | 'amd' | 'arm'
  /** which processes mirror their address space on the device (default with a device: main) */
  mirror?: 'none' | 'main' | 'all'
  /** device_read of every range a mirrored process maps or makes readable (default with a mirror: mapped) */
  deviceRead?: 'none' | 'mapped'
  /** at most this many bytes per device_read (default 16 MiB) */
  deviceReadMax?: number
  /** before the main process exits, fork a child that keeps the device fd for a while, then exits */
  forkExit?: boolean
  /** gaps shorter than this add up until they reach it, then become one sleep (ns, default 1 ms) */
  minSleepNs?: number
  /** error cap */
  maxErrors?: number
}

export interface ImportIssue {
  line: number
  column: number
  reason: string
}

/** A log that cannot be read: every error with its line. */
export class ImportError extends Error {
  constructor(
    readonly issues: ImportIssue[],
    what = 'the log',
  ) {
    super(`${what} cannot be imported:\n${issues.map((i) => `  line ${i.line}${i.column > 0 ? `, column ${i.column}` : ''}: ${i.reason}`).join('\n')}`)
    this.name = 'ImportError'
  }
}

export interface ImportResult {
  yaml: string
  scenario: Scenario
  unmapped: Unmapped[]
  stats: { lines: number; calls: number; steps: number; tasks: string[]; simulatedSpanNs: number }
}

// ---------------------------------------------------------------- model of the traced processes

interface Region {
  name: string
  /** real start address (bytes) */
  start: number
}
interface Piece {
  start: number
  end: number
  region: Region
  prot: string
  shared: boolean
}
interface OpenFile {
  name: string | null // scenario fd name, null: not a file the scenario knows (pipe, socket, inherited)
  path: string
  step: { open_tmpfile: { task: string; fd: string; size?: number | string } } | null
  sizeBytes: number
}
interface FdEntry {
  file: OpenFile
  cloexec: boolean
}
interface Mm {
  task: string | null
  comm: string
  pieces: Piece[]
  regionNames: Set<string>
  brkStart: number | null
  brkCur: number | null
  heapN: number
  fds: Map<number, FdEntry>
  live: Set<number>
  exited: boolean
  mirrored: boolean
  main: boolean
}

const NO_EFFECT = new Set(
  (
    'read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 lseek _llseek ioctl getdents getdents64 fstat fstat64 ' +
    'newfstatat fstatat64 statx fstatfs fstatfs64 faccessat faccessat2 fchmod fchmodat fchown fchownat fsync fdatasync flock poll ppoll select ' +
    'pselect6 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 sendfile sendfile64 splice tee vmsplice copy_file_range fadvise64 fallocate ' +
    'readlinkat mkdirat mknodat unlinkat renameat renameat2 linkat symlinkat fchdir utimensat futimesat inotify_add_watch inotify_rm_watch ' +
    'fanotify_mark sync_file_range syncfs fgetxattr fsetxattr flistxattr fremovexattr ftruncate ftruncate64 fcntl fcntl64 wait4 waitid ' +
    'kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal pidfd_getfd recvmsg sendmsg recvfrom sendto recvmmsg sendmmsg ' +
    'connect bind listen getsockname getpeername setsockopt getsockopt shutdown mq_timedsend mq_timedreceive mq_notify mq_getsetattr ' +
    'name_to_handle_at open_by_handle_at setns unshare fsconfig fsmount fspick move_mount open_tree mount_setattr io_uring_enter io_uring_register ' +
    'timerfd_settime timerfd_gettime signalfd4 ustat process_vm_readv process_vm_writev mincore get_mempolicy set_mempolicy set_mempolicy_home_node ' +
    'pkey_alloc pkey_free'
  ).split(' '),
)
const NEW_FD = new Set(
  'pipe pipe2 socket socketpair eventfd eventfd2 epoll_create epoll_create1 signalfd signalfd4 timerfd_create inotify_init inotify_init1 fanotify_init userfaultfd pidfd_open accept accept4 perf_event_open io_uring_setup mq_open bpf memfd_secret open_tree fsopen fsmount landlock_create_ruleset'.split(
    ' ',
  ),
)
const NO_EFFECT_REASON = 'no effect on the address space or on which files are open (data transfer, metadata, polling, waiting, signals)'

function protOf(flags: string[]): 'none' | 'r' | 'rw' | 'rx' | 'rwx' {
  const r = flags.includes('PROT_READ')
  const w = flags.includes('PROT_WRITE')
  const x = flags.includes('PROT_EXEC')
  // x86-64: write and exec imply read (no execute-only pages without protection keys)
  if (w && x) return 'rwx'
  if (w) return 'rw'
  if (x) return 'rx'
  return r ? 'r' : 'none'
}

const ADVICE: Record<string, 'dontneed' | 'free' | 'pageout' | 'hugepage' | 'nohugepage' | 'collapse'> = {
  MADV_DONTNEED: 'dontneed',
  MADV_FREE: 'free',
  MADV_PAGEOUT: 'pageout',
  MADV_HUGEPAGE: 'hugepage',
  MADV_NOHUGEPAGE: 'nohugepage',
  MADV_COLLAPSE: 'collapse',
}
const ADVICE_WHY: Record<string, string> = {
  MADV_DONTFORK: 'VM_DONTCOPY (a later fork does not copy the range): the language has no such VMA flag',
  MADV_DOFORK: 'clears VM_DONTCOPY: the language has no such VMA flag',
  MADV_WIPEONFORK: 'VM_WIPEONFORK: the language has no such VMA flag',
  MADV_KEEPONFORK: 'clears VM_WIPEONFORK: the language has no such VMA flag',
  MADV_DONTDUMP: 'core-dump flag only: no effect on page tables or mirrors',
  MADV_DODUMP: 'core-dump flag only: no effect on page tables or mirrors',
  MADV_WILLNEED: 'read-ahead hint: no page-table change the model tracks',
  MADV_SEQUENTIAL: 'read-ahead hint: no page-table change',
  MADV_RANDOM: 'read-ahead hint: no page-table change',
  MADV_NORMAL: 'read-ahead hint: no page-table change',
  MADV_COLD: 'deactivates pages (LRU only): no invalidation in the model',
  MADV_MERGEABLE: 'KSM is not modelled',
  MADV_UNMERGEABLE: 'KSM is not modelled',
  MADV_REMOVE: 'hole punch of a shared mapping: the language has no file truncation',
}

/**
 * The end of x86-64 user space at its largest: TASK_SIZE_MAX with 5-level paging,
 * (1 << 56) - PAGE_SIZE (arch/x86/include/asm/page_64_types.h task_size_max()).
 */
const USER_END = 2 ** 56 - PAGE

/** Which kernel check refuses a range past TASK_SIZE, per call. */
const REFUSED_BY: Record<string, string> = {
  mmap: 'do_mmap: -ENOMEM when the page-aligned length wraps to 0 or exceeds TASK_SIZE',
  mmap2: 'do_mmap: -ENOMEM when the page-aligned length wraps to 0 or exceeds TASK_SIZE',
  munmap: 'do_vmi_munmap: -EINVAL when len > TASK_SIZE - start',
  mremap: 'mremap: -EINVAL when new_len > TASK_SIZE, -ENOMEM for an old range no VMA covers',
  mprotect: 'do_mprotect_pkey: -ENOMEM, no VMA lies there',
  pkey_mprotect: 'do_mprotect_pkey: -ENOMEM, no VMA lies there',
  madvise: 'do_madvise: -ENOMEM, no VMA lies there',
  mlock: 'do_mlock: -ENOMEM, no VMA lies there',
  mlock2: 'do_mlock: -ENOMEM, no VMA lies there',
  munlock: 'apply_vma_lock_flags: -ENOMEM, no VMA lies there',
  msync: 'msync: -ENOMEM, no VMA lies there',
}

/**
 * Why a successful memory call cannot be real: its start, length or end lies past the end of
 * user space (a corrupt or forged log). Null when it is fine. Names the call and the field.
 */
function userSpaceViolation(e: Extract<StraceEvent, { kind: 'call' }>): string | null {
  const why = REFUSED_BY[e.name]
  if (why === undefined) return null
  const a = e.args
  const text = (i: number): string => {
    const v = a[i]
    return v?.t === 'num' ? v.text : v?.t === 'named' && v.value.t === 'num' ? v.value.text : String(numOf(v))
  }
  const rv = e.ret.value
  // [what, start, length argument index]
  const spans: Array<[string, number | null, number]> =
    e.name === 'mmap' || e.name === 'mmap2'
      ? [['length', rv, 1]]
      : e.name === 'mremap'
        ? [
            ['old_size', numOf(a[0]), 1],
            ['new_size', rv, 2],
          ]
        : [['length', numOf(a[0]), 1]]
  const tail = `x86-64 user space ends at TASK_SIZE (at most 2^56 - 4 KiB) and the kernel refuses the call (${why}); a log in which it succeeds is not a real trace`
  for (const [what, start, i] of spans) {
    const n = numOf(a[i])
    if (n === null) continue
    if (n > USER_END) return `${e.name}() ${what} ${text(i)} is larger than all of user space: ${tail}`
    if (start !== null && start + n > USER_END + PAGE) return `${e.name}() range ${hex(start)} + ${what} ${text(i)} ends past user space: ${tail}`
  }
  return null
}

export function importStrace(text: string, opts: StraceImportOptions = {}): ImportResult {
  const parsed = parseStraceLog(text, { maxErrors: opts.maxErrors ?? 20 })
  if (parsed.errors.length > 0) throw new ImportError(parsed.errors.map((e) => ({ line: e.line, column: e.column, reason: e.reason })))
  const events = parsed.events
  if (!events.some((e) => e.kind === 'call'))
    throw new ImportError([{ line: 1, column: 0, reason: 'the log has no syscall lines (expected the output of strace -f -ttt -o FILE)' }])

  // ------------------------------------------------ pass 1: the address ranges the log maps
  // Only calls that create mappings (mmap, mremap's destination, brk) need room in the simulated
  // address space: munmap, mprotect, madvise, ... act on what those mapped (pass 2 looks them up
  // there), so a wide munmap of nothing does not reserve anything.
  const ranges: Array<[number, number, number]> = []
  const brkLo = new Map<number, number>()
  const brkHi = new Map<number, number>()
  const brkLine = new Map<number, number>()
  const beyond: ImportIssue[] = []
  for (const e of events) {
    if (e.kind !== 'call' || e.ret.errno !== null) continue
    const a = e.args
    const rv = e.ret.value
    const len = (i: number): number => pageAlign(numOf(a[i]) ?? 0)
    const outside = userSpaceViolation(e)
    if (outside !== null) {
      beyond.push({ line: e.line, column: 0, reason: outside })
      continue
    }
    switch (e.name) {
      case 'mmap':
      case 'mmap2':
        if (rv !== null && rv > 0) ranges.push([rv, rv + len(1), e.line])
        break
      case 'mremap':
        if (rv !== null && rv > 0) ranges.push([rv, rv + len(2), e.line])
        break
      case 'brk':
        if (rv !== null && rv > 0) {
          brkLo.set(e.pid, Math.min(brkLo.get(e.pid) ?? rv, rv))
          if (rv >= (brkHi.get(e.pid) ?? 0)) brkLine.set(e.pid, e.line)
          brkHi.set(e.pid, Math.max(brkHi.get(e.pid) ?? rv, rv))
        }
        break
    }
  }
  if (beyond.length > 0) throw new ImportError(beyond.slice(0, opts.maxErrors ?? 20))
  // the whole span each heap reaches, so that a heap crossing a 1 GiB boundary stays one window
  for (const [pid, lo] of brkLo) ranges.push([Math.floor(lo / PAGE) * PAGE, pageAlign(brkHi.get(pid) ?? lo) + PAGE, brkLine.get(pid) ?? 1])
  let amap: AddrMap
  try {
    amap = new AddrMap(ranges)
  } catch (err) {
    throw new ImportError([{ line: err instanceof AddrMapError && err.line !== null ? err.line : 1, column: 0, reason: (err as Error).message }])
  }
  const simAt = (real: number): number => amap.toSim(real)

  // ------------------------------------------------ pass 2: steps
  const items: Item[] = []
  const unmapped: Unmapped[] = []
  const tasksSeen = new Set<string>()
  const taskList: string[] = []
  const pidMm = new Map<number, Mm>()
  const vforkChild = new Set<number>()
  const firstCall = events.find((e) => e.kind === 'call') as Extract<StraceEvent, { kind: 'call' }>
  const mainPid = firstCall.pid
  const withDevice = opts.device !== undefined
  const mirrorMode = withDevice ? (opts.mirror ?? 'main') : 'none'
  const readMode = mirrorMode !== 'none' ? (opts.deviceRead ?? 'mapped') : 'none'
  const readMax = opts.deviceReadMax ?? 16 << 20
  const minSleep = opts.minSleepNs ?? 1_000_000
  let lastTime: number | null = null
  let firstTime: number | null = null
  let steps = 0
  let mainTask: string | null = null
  let allExited = true

  const note = (line: number, what: string, reason: string): void => {
    unmapped.push({ line, what, reason })
  }
  const catchUp = (time: number | null): void => {
    if (time === null) return
    if (firstTime === null) firstTime = time
    if (lastTime === null) {
      lastTime = time
      return
    }
    const dt = Math.round((time - lastTime) * 1e6) * 1000
    if (dt >= minSleep) {
      items.push({ step: { sleep: `${dt / 1000}us` } })
      steps++
      lastTime = time
    }
  }
  const emit = (step: StepT, comment?: string): void => {
    items.push(comment !== undefined ? { step, comment } : { step })
    steps++
  }
  const uniqueTask = (base: string): string => {
    let n = base
    for (let i = 2; tasksSeen.has(n); i++) n = `${base}.${i}`
    tasksSeen.add(n)
    taskList.push(n)
    return n
  }
  const newMm = (comm: string, pid: number): Mm => ({
    task: null,
    comm,
    pieces: [],
    regionNames: new Set(),
    brkStart: null,
    brkCur: null,
    heapN: 0,
    fds: new Map(),
    live: new Set([pid]),
    exited: false,
    mirrored: false,
    main: pid === mainPid,
  })
  const attachMirror = (m: Mm, line: number): void => {
    if (!withDevice || m.task === null) return
    if (mirrorMode === 'all' || (mirrorMode === 'main' && m.main)) {
      emit({ open: { task: m.task, device: 'dev0', fd: 'dev' } }, `L${line}: --device: the process opens the device`)
      emit({ mirror: { task: m.task, fd: 'dev' } }, `L${line}: --mirror ${mirrorMode}: and mirrors its address space`)
      m.mirrored = true
    }
  }
  const spawnMm = (pid: number, comm: string, line: number, why: string): Mm => {
    const m = newMm(comm, pid)
    m.task = uniqueTask(pid > 0 ? `${safeName(comm, 'task')}-${pid}` : safeName(comm, 'task'))
    if (m.main && mainTask === null) mainTask = m.task
    emit({ spawn: { task: m.task } }, `L${line}: ${why}`)
    pidMm.set(pid, m)
    attachMirror(m, line)
    return m
  }
  const mmOf = (e: { pid: number; line: number }): Mm => {
    let m = pidMm.get(e.pid)
    if (!m) {
      // a pid the log never saw being created (strace -p, or the first line is not its execve)
      m =
        e.pid > 0
          ? spawnMm(e.pid, `pid${e.pid}`, e.line, `pid ${e.pid} appears without an execve or fork in the log: a new task (what it mapped before is unknown)`)
          : spawnMm(e.pid, 'traced', e.line, 'the log has no pids (strace without -f) and no execve: one task (what it mapped before is unknown)')
    }
    return m
  }

  // ---- regions and pieces
  const regionName = (m: Mm, base: string, addr: number): string => {
    let n = `${safeName(base, 'r')}-${addr.toString(16)}`
    for (let i = 2; m.regionNames.has(n) && !m.pieces.some((p) => p.region.name === n && p.region.start === addr); i++)
      n = `${safeName(base, 'r')}-${addr.toString(16)}.${i}`
    m.regionNames.add(n)
    return n
  }
  const cut = (m: Mm, s: number, e: number): void => {
    const out: Piece[] = []
    for (const p of m.pieces) {
      if (p.end <= s || p.start >= e) out.push(p)
      else {
        if (p.start < s) out.push({ ...p, end: s })
        if (p.end > e) out.push({ ...p, start: e })
      }
    }
    m.pieces = out.sort((a, b) => a.start - b.start)
  }
  /** Pieces of [s, e) per region (merged where one region continues), and the bytes in holes. */
  const cover = (m: Mm, s: number, e: number): { runs: Array<{ start: number; end: number; region: Region; prot: string; shared: boolean }>; hole: number } => {
    const runs: Array<{ start: number; end: number; region: Region; prot: string; shared: boolean }> = []
    let covered = 0
    for (const p of m.pieces) {
      if (p.end <= s || p.start >= e) continue
      const a = Math.max(s, p.start)
      const b = Math.min(e, p.end)
      covered += b - a
      const last = runs[runs.length - 1]
      if (last && last.region === p.region && last.end === a && last.prot === p.prot) last.end = b
      else runs.push({ start: a, end: b, region: p.region, prot: p.prot, shared: p.shared })
    }
    return { runs, hole: e - s - covered }
  }
  const rangeArgs = (
    m: Mm,
    r: { start: number; end: number; region: Region },
  ): { task: string; region: string; offset?: string | number; size: string | number } => {
    const off = r.start - r.region.start
    const a: { task: string; region: string; offset?: string | number; size: string | number } = {
      task: m.task as string,
      region: r.region.name,
      size: sizeText(r.end - r.start),
    }
    if (off !== 0) a.offset = sizeText(off)
    return { task: a.task, region: a.region, ...(a.offset !== undefined ? { offset: a.offset } : {}), size: a.size }
  }
  const deviceRead = (m: Mm, s: number, e: number, _line: number): void => {
    if (readMode !== 'mapped' || !m.mirrored || m.task === null) return
    for (const r of cover(m, s, e).runs) {
      if (r.prot === 'none') continue
      const end = Math.min(r.end, r.start + readMax)
      emit({ device_read: { ...rangeArgs(m, { ...r, end }), fd: 'dev' } }, end < r.end ? `first ${sizeText(readMax)}` : undefined)
    }
  }
  /**
   * One munmap step for the whole range, as the kernel makes one MMU_NOTIFY_UNMAP range of it
   * across VMAs and holes (unmap_vmas, mm/memory.c): the step names the first region it covers and
   * runs on from there (a range is an address window; it may extend past its region).
   */
  const munmapRange = (m: Mm, s: number, e: number, line: number, why: string): number => {
    const { runs, hole } = cover(m, s, e)
    const first = runs[0]
    const last = runs[runs.length - 1]
    if (first && last)
      emit(
        { munmap: rangeArgs(m, { start: first.start, end: last.end, region: first.region }) },
        `L${line}${why === 'munmap' ? '' : `: ${why}`}${runs.length > 1 ? ` (${runs.length} mappings)` : ''}`,
      )
    cut(m, s, e)
    return hole
  }
  const mapRegion = (
    m: Mm,
    start: number,
    len: number,
    prot: string,
    shared: boolean,
    base: string,
    fd: OpenFile | null,
    extra: { huge?: boolean; hugetlb?: boolean },
    line: number,
    comment: string,
  ): void => {
    const name = regionName(m, base, start)
    const region: Region = { name, start }
    const mm: Record<string, unknown> = { task: m.task, region: name, size: sizeText(len), prot }
    if (shared) mm.shared = true
    if (extra.huge) mm.huge = true
    if (extra.hugetlb) mm.hugetlb = true
    if (fd?.name) mm.fd = fd.name
    mm.at = simAt(start)
    emit({ mmap: mm } as unknown as StepT, comment ? `L${line}: ${comment}` : `L${line}`)
    m.pieces.push({ start, end: start + len, region, prot, shared })
    m.pieces.sort((a, b) => a.start - b.start)
  }

  // ---- files
  const fileName = (path: string): string => {
    const b = path.split('/').filter(Boolean).pop() ?? path
    return b.length > 0 ? b : 'file'
  }
  const openFile = (m: Mm, fd: number, path: string, line: number, cloexec: boolean, memfd = false): void => {
    if (m.task === null) return
    const prev = m.fds.get(fd)
    if (prev) closeFd(m, fd, line, true)
    const nameBase = memfd ? `memfd-${safeName(path, 'memfd')}` : safeName(fileName(path), 'file')
    const name = `${nameBase}.fd${fd}`
    const step = { open_tmpfile: { task: m.task, fd: name } as { task: string; fd: string; size?: number | string } }
    emit(step, `L${line}: ${memfd ? 'memfd_create' : 'open'} ${JSON.stringify(path)} = ${fd}`)
    m.fds.set(fd, { file: { name, path, step, sizeBytes: 0 }, cloexec })
  }
  const growFile = (f: OpenFile, bytes: number): void => {
    if (f.step === null || bytes <= f.sizeBytes) return
    f.sizeBytes = pageAlign(bytes)
    f.step.open_tmpfile.size = sizeText(f.sizeBytes)
  }
  const closeFd = (m: Mm, fd: number, line: number, implicit = false): void => {
    const ent = m.fds.get(fd)
    if (!ent) return
    m.fds.delete(fd)
    const name = ent.file.name
    if (name === null || m.task === null || m.exited) return
    for (const other of m.fds.values()) if (other.file === ent.file) return
    emit({ close: { task: m.task, fd: name } }, `L${line}: ${implicit ? 'replaced by a new file on the same fd: ' : ''}close(${fd})`)
  }
  const nonFile = (m: Mm, fd: number, what: string): void => {
    m.fds.set(fd, { file: { name: null, path: what, step: null, sizeBytes: 0 }, cloexec: false })
  }

  // ---- processes
  const exitMm = (m: Mm, line: number, why: string): void => {
    if (m.exited || m.task === null) return
    if (m.main && opts.forkExit && withDevice) {
      const heir = uniqueTask(`${m.task}-heir`)
      emit({ fork: { task: m.task, child: heir } }, `L${line}: --fork-exit: before exiting, the process forks a child that inherits the device fd`)
      emit({ exit: { task: m.task } }, `L${line}: ${why}`)
      emit({ sleep: '10ms' }, '--fork-exit: the child keeps the fd for 10 ms')
      emit({
        expect: {
          label: "D1: the child's inherited device fd pins the exited parent's mm (mm_users) until it exits",
          design: 'D1',
          mm: { task: m.task, phase: 'live' },
        },
      } as StepT)
      emit({ exit: { task: heir } }, '--fork-exit: the child exits; the last reference to the device file goes')
    } else emit({ exit: { task: m.task } }, `L${line}: ${why}`)
    m.exited = true
  }
  const execMm = (e: Extract<StraceEvent, { kind: 'call' }>, path: string): void => {
    const comm = fileName(path)
    const old = pidMm.get(e.pid)
    if (vforkChild.has(e.pid) || !old) {
      const vforked = vforkChild.delete(e.pid)
      spawnMm(e.pid, comm, e.line, `execve(${JSON.stringify(path)}): a new process image with a fresh mm`)
      if (!vforked && e.pid !== mainPid) note(e.line, 'execve', 'the log does not show how this pid was created')
      return
    }
    // an execve of a running process: a fresh mm (exec_mmap), the old mm is dropped (mmput)
    const inherited = new Map<number, FdEntry>()
    for (const [fd, ent] of old.fds)
      if (!ent.cloexec) inherited.set(fd, { file: { name: null, path: ent.file.path, step: null, sizeBytes: 0 }, cloexec: false })
    const m = newMm(comm, e.pid)
    m.main = old.main
    m.live = old.live
    m.task = uniqueTask(`${safeName(comm, 'task')}-${e.pid}`)
    if (m.main) mainTask = m.task
    emit({ spawn: { task: m.task } }, `L${e.line}: execve(${JSON.stringify(path)}) by ${old.task}: the new image's fresh mm`)
    note(
      e.line,
      'execve of a running process',
      `modelled as a new task (spawn) and the exit of the old image (${old.task}); files left open across execve are not files of the new task in the scenario (the language has no exec step)`,
    )
    const wasMain = old.main
    old.main = false
    exitMm(old, e.line, `execve: the old image's mm is dropped (exec_mmap → mmput)`)
    old.main = wasMain
    m.fds = inherited
    for (const [pid, x] of pidMm) if (x === old) pidMm.set(pid, m)
    attachMirror(m, e.line)
  }

  // ------------------------------------------------ the walk
  for (const e of events) {
    if (e.kind === 'signal') {
      note(e.line, `--- ${e.signal} ---`, 'signal delivery: no memory effect in the model (a fatal one shows as "+++ killed")')
      continue
    }
    if (e.kind === 'superseded') {
      note(e.line, '+++ superseded +++', "a thread's execve took over the thread-group leader's pid")
      continue
    }
    if (e.kind === 'exited' || e.kind === 'killed') {
      const m = pidMm.get(e.pid)
      vforkChild.delete(e.pid)
      if (!m) continue
      m.live.delete(e.pid)
      if (m.live.size === 0 && !m.exited && m.task !== null) {
        catchUp(e.time)
        exitMm(m, e.line, e.kind === 'exited' ? `the last thread exited with ${e.status}` : `killed by ${e.signal}`)
      }
      continue
    }
    if (e.kind === 'unfinished_at_end') {
      note(e.line, `${e.name} (unfinished)`, 'the log ends before this call returned')
      continue
    }
    const a = e.args
    const rv = e.ret.value
    const failed = e.ret.errno !== null || (rv !== null && rv < 0 && rv === -1)
    if (e.name === 'execve' || e.name === 'execveat') {
      if (failed) {
        note(e.line, e.name, `failed (${e.ret.errno ?? rv}): no effect`)
        continue
      }
      const pa = a[e.name === 'execve' ? 0 : 1]
      const path = pa?.t === 'str' ? pa.v : `pid${e.pid}`
      catchUp(e.time)
      execMm(e, path)
      continue
    }
    if (vforkChild.has(e.pid) && e.name !== 'exit' && e.name !== 'exit_group') {
      note(e.line, e.name, "a vfork child before its execve borrows the parent's mm and has no task of its own in the scenario")
      continue
    }
    if (failed) {
      note(e.line, e.name, `failed (${e.ret.errno ?? rv}): no effect`)
      continue
    }
    if (NO_EFFECT.has(e.name) && !['fcntl', 'fcntl64', 'newfstatat', 'fstat', 'fstat64', 'statx', 'ftruncate', 'ftruncate64', 'msync'].includes(e.name)) {
      note(e.line, e.name, NO_EFFECT_REASON)
      continue
    }
    const m = mmOf(e)
    const task = m.task as string
    const t = e.time
    switch (e.name) {
      case 'fork':
      case 'vfork':
      case 'clone':
      case 'clone2':
      case 'clone3': {
        const child = rv ?? -1
        const fl = e.name === 'clone3' ? flagsOf(fieldOf(a[0], 'flags')) : e.name === 'clone' || e.name === 'clone2' ? flagsOf(namedArg(a, 'flags')) : []
        const vm = e.name === 'vfork' || fl.includes('CLONE_VM')
        const vf = e.name === 'vfork' || fl.includes('CLONE_VFORK')
        if (child <= 0) {
          note(e.line, e.name, 'no child pid in the result')
          break
        }
        if (vm && vf) {
          vforkChild.add(child)
          note(e.line, e.name, "vfork: the child borrows the parent's mm until its execve, where its task starts (spawn)")
        } else if (vm) {
          m.live.add(child)
          pidMm.set(child, m)
          note(e.line, e.name, `a thread (CLONE_VM): the language has no threads; its memory calls act on the shared mm and are applied to ${task}`)
        } else {
          catchUp(t)
          const c = newMm(m.comm, child)
          c.task = uniqueTask(`${safeName(m.comm, 'task')}-${child}`)
          c.pieces = m.pieces.map((p) => ({ ...p }))
          c.regionNames = new Set(m.regionNames)
          c.brkStart = m.brkStart
          c.brkCur = m.brkCur
          c.heapN = m.heapN
          for (const [fd, ent] of m.fds) c.fds.set(fd, { file: ent.file, cloexec: ent.cloexec })
          c.main = false
          pidMm.set(child, c)
          emit(
            { fork: { task, child: c.task } },
            `L${e.line}: ${e.name} = ${child}${fl.length ? ' (' + fl.filter((f) => f.startsWith('CLONE_')).join('|') + ')' : ''}`,
          )
          if (fl.includes('CLONE_FILES')) note(e.line, e.name, "CLONE_FILES (a shared fd table) is modelled as fork's copy")
        }
        break
      }
      case 'exit':
      case 'exit_group': {
        if (vforkChild.has(e.pid)) {
          note(e.line, e.name, 'a vfork child that exits without execve: it had no task of its own')
          vforkChild.delete(e.pid)
          break
        }
        catchUp(t)
        if (e.name === 'exit_group' || m.live.size <= 1) {
          m.live.clear()
          exitMm(m, e.line, `${e.name}(${describeValue(a[0] ?? { t: 'more' })})`)
        } else {
          m.live.delete(e.pid)
          note(e.line, 'exit', `one thread of ${task} exits; the mm lives on`)
        }
        break
      }
      case 'mmap':
      case 'mmap2': {
        const len = pageAlign(numOf(a[1]) ?? 0)
        const prot = protOf(flagsOf(a[2]))
        const fl = flagsOf(a[3])
        const fdn = numOf(a[4]) ?? -1
        const off = numOf(a[5]) ?? 0
        const start = rv as number
        if (len <= 0 || start <= 0) {
          note(e.line, 'mmap', 'zero length or no address')
          break
        }
        catchUp(t)
        const shared = fl.includes('MAP_SHARED') || fl.includes('MAP_SHARED_VALIDATE')
        const anon = fl.includes('MAP_ANONYMOUS') || fl.includes('MAP_ANON') || fdn < 0
        let file: OpenFile | null = null
        let base = shared ? 'shm' : 'anon'
        if (!anon) {
          const ent = m.fds.get(fdn)
          if (ent && ent.file.name !== null) {
            file = ent.file
            base = fileName(ent.file.path)
            growFile(file, off + len)
          } else {
            note(e.line, 'mmap', `fd ${fdn} is not a file the scenario has open (${ent ? ent.file.path : 'unknown fd'}): mapped as anonymous memory`)
            base = ent ? `fd${fdn}` : 'anon'
          }
        }
        const hole = cover(m, start, start + len)
        if (hole.runs.length > 0) {
          // MAP_FIXED over existing mappings: mmap_region unmaps the old range first
          munmapRange(m, start, start + len, e.line, `MAP_FIXED replaces`)
        }
        const huge = fl.includes('MAP_HUGETLB')
        if (huge) note(e.line, 'mmap MAP_HUGETLB', 'needs hugetlb pages: add an nr_hugepages step before it, or it returns -ENOMEM')
        if (file && off !== 0)
          note(
            e.line,
            'mmap file offset',
            `offset ${hex(off)}: the language maps a file from its first page (which page-cache pages are shared differs; sizes and protections are exact)`,
          )
        mapRegion(m, start, len, prot, shared && (anon || file !== null), base, file, { hugetlb: huge }, e.line, file ? file.path : '')
        if (fl.includes('MAP_POPULATE') || fl.includes('MAP_LOCKED')) {
          if (prot !== 'none')
            emit(
              {
                touch: {
                  ...rangeArgs(m, { start, end: start + len, region: { name: m.pieces.find((p) => p.start === start)?.region.name as string, start } }),
                  write: prot.includes('w') && !shared,
                },
              },
              `L${e.line}: MAP_POPULATE/MAP_LOCKED faults the range in`,
            )
        }
        deviceRead(m, start, start + len, e.line)
        break
      }
      case 'munmap': {
        const s = numOf(a[0]) as number
        const len = pageAlign(numOf(a[1]) ?? 0)
        catchUp(t)
        const hole = munmapRange(m, s, s + len, e.line, 'munmap')
        if (hole > 0)
          note(e.line, 'munmap', `${sizeText(hole)} of the range was not mapped by a call in the log (execve's image, the stack, the vDSO, or a hole)`)
        break
      }
      case 'mprotect':
      case 'pkey_mprotect': {
        const s = numOf(a[0]) as number
        const len = pageAlign(numOf(a[1]) ?? 0)
        const prot = protOf(flagsOf(a[2]))
        catchUp(t)
        const { runs, hole } = cover(m, s, s + len)
        for (const r of runs) emit({ mprotect: { ...rangeArgs(m, r), prot } }, `L${e.line}`)
        // what was inaccessible and is now readable (a reservation being committed) is new to the mirror
        const opened = runs.filter((r) => r.prot === 'none')
        // the pieces take the new protection
        const changed: Piece[] = []
        for (const p of m.pieces) {
          if (p.end <= s || p.start >= s + len) changed.push(p)
          else {
            if (p.start < s) changed.push({ ...p, end: s })
            changed.push({ ...p, start: Math.max(p.start, s), end: Math.min(p.end, s + len), prot })
            if (p.end > s + len) changed.push({ ...p, start: s + len })
          }
        }
        m.pieces = changed.sort((x, y) => x.start - y.start)
        if (hole > 0) note(e.line, e.name, `${sizeText(hole)} of the range was mapped by execve (the program image, ld.so) or is otherwise unknown to the log`)
        if (e.name === 'pkey_mprotect') note(e.line, 'pkey_mprotect', 'the protection key is not modelled (the protection is)')
        if (prot !== 'none') for (const r of opened) deviceRead(m, r.start, r.end, e.line)
        break
      }
      case 'madvise': {
        const s = numOf(a[0]) as number
        const len = pageAlign(numOf(a[1]) ?? 0)
        const adv = flagsOf(a[2])[0] ?? describeValue(a[2] ?? { t: 'more' })
        const mapped = ADVICE[adv]
        if (adv === 'MADV_POPULATE_READ' || adv === 'MADV_POPULATE_WRITE') {
          catchUp(t)
          for (const r of cover(m, s, s + len).runs) emit({ touch: { ...rangeArgs(m, r), write: adv === 'MADV_POPULATE_WRITE' } }, `L${e.line}: ${adv}`)
          break
        }
        if (!mapped) {
          note(e.line, `madvise ${adv}`, ADVICE_WHY[adv] ?? 'an advice the language has no step for')
          break
        }
        catchUp(t)
        const { runs, hole } = cover(m, s, s + len)
        for (const r of runs) emit({ madvise: { ...rangeArgs(m, r), advice: mapped } }, `L${e.line}`)
        if (hole > 0) note(e.line, `madvise ${adv}`, `${sizeText(hole)} of the range is unknown to the log (execve's image or the stack)`)
        break
      }
      case 'mremap': {
        const s = numOf(a[0]) as number
        const oldLen = pageAlign(numOf(a[1]) ?? 0)
        const newLen = pageAlign(numOf(a[2]) ?? 0)
        const fl = flagsOf(a[3])
        const dst = rv as number
        catchUp(t)
        const { runs, hole } = cover(m, s, s + oldLen)
        if (hole > 0)
          note(
            e.line,
            'mremap',
            runs.length === 0 ? 'the old range is unknown to the log' : `${sizeText(hole)} of the old range is unknown to the log: the known part is moved`,
          )
        if (runs.length === 0) break
        const moveLen = Math.min(oldLen, newLen)
        const dontunmap = fl.includes('MREMAP_DONTUNMAP')
        if (newLen < oldLen) munmapRange(m, s + newLen, s + oldLen, e.line, 'mremap shrinks: the tail is unmapped')
        if (dst !== s) {
          // move: every piece of the old range goes to the same offset at dst
          const target = cover(m, dst, dst + newLen)
          if (target.runs.length > 0) munmapRange(m, dst, dst + newLen, e.line, 'MREMAP_FIXED replaces')
          const moved = cover(m, s, s + moveLen).runs
          for (const r of moved) {
            const to = dst + (r.start - s)
            const name = regionName(m, r.region.name.replace(/-[0-9a-f]+(\.\d+)?$/, ''), to)
            emit(
              { mremap: { ...rangeArgs(m, r), to_region: name, at: simAt(to), ...(dontunmap ? { dontunmap: true } : {}) } } as unknown as StepT,
              `L${e.line}: mremap ${hex(r.start)}+${sizeText(r.end - r.start)} → ${hex(to)}`,
            )
            if (!dontunmap) cut(m, r.start, r.end)
            m.pieces.push({ start: to, end: to + (r.end - r.start), region: { name, start: to }, prot: r.prot, shared: r.shared })
          }
          m.pieces.sort((x, y) => x.start - y.start)
        }
        if (newLen > oldLen) {
          // the grown tail: a fresh extension of the (moved) mapping
          const last = moved0(m, dst + oldLen - 1)
          mapRegion(
            m,
            dst + oldLen,
            newLen - oldLen,
            last?.prot ?? 'rw',
            last?.shared ?? false,
            last ? last.region.name.replace(/-[0-9a-f]+(\.\d+)?$/, '') : 'anon',
            null,
            {},
            e.line,
            `mremap grows ${hex(dst)} from ${sizeText(oldLen)} to ${sizeText(newLen)}: the extension`,
          )
        }
        deviceRead(m, dst, dst + newLen, e.line)
        break
      }
      case 'brk': {
        const v = rv as number
        const req = numOf(a[0]) ?? 0
        if (m.brkStart === null) {
          m.brkStart = v
          m.brkCur = v
          if (req !== 0) note(e.line, 'brk', 'the first brk of the log is not brk(NULL): its heap start is taken from the result')
          break
        }
        const cur = pageAlign(m.brkCur as number)
        const nxt = pageAlign(v)
        if (req !== 0 && v !== req) note(e.line, 'brk', `failed: asked for ${hex(req)}, the break stays at ${hex(v)}`)
        catchUp(t)
        if (nxt > cur) {
          m.heapN++
          mapRegion(m, cur, nxt - cur, 'rw', false, 'heap', null, {}, e.line, `brk grows the heap to ${hex(v)}`)
          deviceRead(m, cur, nxt, e.line)
        } else if (nxt < cur) munmapRange(m, nxt, cur, e.line, `brk shrinks the heap to ${hex(v)}:`)
        m.brkCur = v
        break
      }
      case 'mlock':
      case 'mlock2': {
        const s = numOf(a[0]) as number
        const len = pageAlign(numOf(a[1]) ?? 0)
        catchUp(t)
        for (const r of cover(m, s, s + len).runs) {
          if (r.prot === 'none') continue
          emit({ touch: { ...rangeArgs(m, r), write: r.prot.includes('w') && !r.shared } }, `L${e.line}: ${e.name} populates the range (__mm_populate)`)
        }
        note(e.line, e.name, 'VM_LOCKED itself is not modelled; the pages are faulted in')
        break
      }
      case 'msync': {
        const s = numOf(a[0]) as number
        const len = pageAlign(numOf(a[1]) ?? 0)
        catchUp(t)
        let any = false
        for (const r of cover(m, s, s + len).runs) {
          if (!r.shared) continue
          any = true
          emit({ writeback: rangeArgs(m, r) }, `L${e.line}: msync of a shared mapping: writeback write-protects the dirty pages (page_mkclean)`)
        }
        if (!any) note(e.line, 'msync', 'no shared mapping in the range: nothing to write back')
        break
      }
      case 'open':
      case 'openat':
      case 'openat2':
      case 'creat': {
        const pa = a[e.name === 'openat' || e.name === 'openat2' ? 1 : 0]
        const path = pa?.t === 'str' ? pa.v : '?'
        const fl = e.name === 'openat2' ? flagsOf(fieldOf(a[2], 'flags')) : flagsOf(a[e.name === 'openat' ? 2 : 1])
        catchUp(t)
        openFile(m, rv as number, path, e.line, fl.includes('O_CLOEXEC'))
        break
      }
      case 'memfd_create': {
        const pa = a[0]
        catchUp(t)
        openFile(m, rv as number, pa?.t === 'str' ? pa.v : 'memfd', e.line, flagsOf(a[1]).includes('MFD_CLOEXEC'), true)
        break
      }
      case 'close': {
        const fd = numOf(a[0]) ?? -1
        const ent = m.fds.get(fd)
        if (!ent || ent.file.name === null) {
          m.fds.delete(fd)
          note(e.line, 'close', 'of an fd that is not a file in the scenario (stdio, pipe, socket, eventfd, or inherited)')
          break
        }
        catchUp(t)
        closeFd(m, fd, e.line)
        break
      }
      case 'close_range': {
        const lo = numOf(a[0]) ?? 0
        const hi = Math.min(numOf(a[1]) ?? 0, 1 << 20)
        const cloexec = flagsOf(a[2]).includes('CLOSE_RANGE_CLOEXEC')
        catchUp(t)
        for (const fd of [...m.fds.keys()].sort((x, y) => x - y)) {
          if (fd < lo || fd > hi) continue
          if (cloexec) (m.fds.get(fd) as FdEntry).cloexec = true
          else closeFd(m, fd, e.line)
        }
        break
      }
      case 'dup':
      case 'dup2':
      case 'dup3': {
        const old = m.fds.get(numOf(a[0]) ?? -1)
        const nfd = rv as number
        if (m.fds.has(nfd) && nfd !== numOf(a[0])) {
          catchUp(t)
          closeFd(m, nfd, e.line, true)
        }
        if (old) m.fds.set(nfd, { file: old.file, cloexec: e.name === 'dup3' && flagsOf(a[2]).includes('O_CLOEXEC') })
        note(e.line, e.name, 'a second fd for the same file: no step (the file closes when its last fd does)')
        break
      }
      case 'fcntl':
      case 'fcntl64': {
        const cmd = flagsOf(a[1])[0] ?? ''
        const ent = m.fds.get(numOf(a[0]) ?? -1)
        if ((cmd === 'F_DUPFD' || cmd === 'F_DUPFD_CLOEXEC') && ent && rv !== null) {
          m.fds.set(rv, { file: ent.file, cloexec: cmd === 'F_DUPFD_CLOEXEC' })
          note(e.line, 'fcntl F_DUPFD', 'a second fd for the same file: no step')
        } else if (cmd === 'F_SETFD' && ent) {
          ent.cloexec = flagsOf(a[2]).includes('FD_CLOEXEC')
          note(e.line, 'fcntl F_SETFD', 'close-on-exec is tracked by the importer; no step')
        } else note(e.line, `fcntl ${cmd}`, NO_EFFECT_REASON)
        break
      }
      case 'fstat':
      case 'fstat64':
      case 'newfstatat':
      case 'fstatat64':
      case 'statx': {
        // newfstatat(fd, "", {…}, AT_EMPTY_PATH) and fstat give the size of an open file
        const fdArg = e.name.startsWith('fstat') && e.name !== 'fstatat64' ? a[0] : a[0]
        const pathArg = e.name.startsWith('fstat') && e.name !== 'fstatat64' ? null : a[1]
        const st = e.name === 'statx' ? a[4] : e.name.startsWith('fstat') && e.name !== 'fstatat64' ? a[1] : a[2]
        const ent = m.fds.get(numOf(fdArg) ?? -1)
        const size = numOf(fieldOf(st, e.name === 'statx' ? 'stx_size' : 'st_size'))
        if (ent && (pathArg === null || (pathArg?.t === 'str' && pathArg.v === '')) && size !== null) growFile(ent.file, size)
        note(e.line, e.name, "metadata only (an open file's st_size sizes its open_tmpfile)")
        break
      }
      case 'ftruncate':
      case 'ftruncate64': {
        const ent = m.fds.get(numOf(a[0]) ?? -1)
        if (ent) growFile(ent.file, numOf(a[1]) ?? 0)
        note(e.line, e.name, 'sizes the file (its open_tmpfile size); truncation below mapped pages is not modelled')
        break
      }
      default:
        if (NEW_FD.has(e.name) && rv !== null) {
          if (e.name === 'pipe' || e.name === 'pipe2' || e.name === 'socketpair') {
            const arr = a[e.name === 'socketpair' ? 3 : 0]
            if (arr?.t === 'array') for (const x of arr.items) if (x.t === 'num') nonFile(m, x.v, e.name)
          } else nonFile(m, rv, e.name)
          note(e.line, e.name, 'an fd that is not a file with pages (pipe, socket, eventfd, epoll…): tracked for close, no step')
        } else if (
          [
            'mbind',
            'migrate_pages',
            'move_pages',
            'remap_file_pages',
            'munlock',
            'mlockall',
            'munlockall',
            'mseal',
            'process_madvise',
            'process_mrelease',
            'shmat',
            'shmdt',
            'shmget',
            'shmctl',
            'map_shadow_stack',
          ].includes(e.name)
        ) {
          note(e.line, e.name, 'a memory call the language has no step for')
        } else note(e.line, e.name, 'not a memory, process or file call the importer knows: no step')
    }
  }
  for (const m of new Set(pidMm.values())) if (!m.exited && m.task !== null) allExited = false
  if (lastTime !== null && firstTime !== null) {
    /* span recorded below */
  }
  const spanNs = lastTime !== null && firstTime !== null ? Math.round(((lastTime as number) - (firstTime as number)) * 1e9) : 0
  if (allExited && taskList.length > 0) {
    items.push({ comment: 'end of the log: let deferred work (SRCU callbacks, workqueues, delayed fput) finish, then check nothing is left' })
    emit({ sleep: '100ms' })
    emit({ expect: { label: 'every process exited: nothing is left and nothing was used after free', leaked_bytes: 0, findings: { count: 0 } } } as StepT)
  } else {
    items.push({ comment: 'end of the log: some processes were still running' })
    emit({ expect: { label: 'nothing was used after free', findings: { kind: 'use_after_free', count: 0 } } } as StepT)
  }

  const name =
    opts.name ??
    `strace of ${firstCall.name === 'execve' && firstCall.args[0]?.t === 'str' ? fileName(firstCall.args[0].v) : (opts.sourceName ?? (mainPid > 0 ? `pid ${mainPid}` : 'a process'))}`
  const sc: Omit<Scenario, 'steps'> = {
    name,
    description: `Imported by hmmlab import strace from ${opts.sourceName ?? 'a log'}: ${taskList.length} task(s) (${taskList.join(', ')}), ${parsed.lines} log lines, ${unmapped.length} not mapped (listed at the top).`,
    seed: 1,
  }
  if (opts.designs) sc.designs = opts.designs
  if (opts.device) sc.machine = importedMachine(opts.device, opts.iommu)
  const header = [
    `Imported by \`hmmlab import strace\` from ${opts.sourceName ?? 'a log'} (${parsed.lines} lines, ${events.filter((x) => x.kind === 'call').length} calls).`,
    ...(opts.notes ?? []),
    `Addresses: each 1 GiB window of the real address space the log uses is moved below the simulator's 16 TiB limit (${amap.clusters.length} windows); region names and comments keep the real addresses (L<n> = log line).`,
    'Not in a strace log, so not here: page faults (CPU touches), the program image, ld.so, stack and vDSO that execve maps.',
  ]
  const stepList = items.filter((i) => i.step).map((i) => i.step as StepT)
  const scenario: Scenario = { ...sc, steps: stepList } as Scenario
  const yaml = writeScenarioYaml(header, sc, items, unmapped)
  return {
    yaml,
    scenario,
    unmapped,
    stats: { lines: parsed.lines, calls: events.filter((x) => x.kind === 'call').length, steps, tasks: taskList, simulatedSpanNs: spanNs },
  }
}

function moved0(m: Mm, addr: number): Piece | undefined {
  return m.pieces.find((p) => p.start <= addr && addr < p.end)
}
