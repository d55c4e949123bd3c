/**
 * The scenario language of HMM Lab (zod schema; JSON Schema via `scenarioJsonSchema()`).
 * A scenario names the machine (devices, IOMMUs, cost overrides), the teardown designs to compare,
 * a seed, and steps in the kernel's vocabulary. See docs/scenarios.md.
 *
 * This module is shared with the browser renderer: no Node imports.
 */
import { z } from 'zod'

export const DESIGN_IDS = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'B1', 'B2'] as const
export const DesignIdSchema = z
  .enum(DESIGN_IDS)
  .describe('teardown design: D1–D6 (domain.md §7.3) or the broken variants B1 (free in ->release), B2 (deferred job from ->release)')

const SIZE_RE = /^\s*\d+(\.\d+)?\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB|P|PB|PiB|PAGE|PAGES)?\s*$/i
const DUR_RE = /^\s*\d+(\.\d+)?\s*(ns|us|µs|ms|s)\s*$/

/** The largest seed: seeds are 32-bit. */
export const MAX_SEED = 0xffffffff

/** Whether `v` is a seed: an integer 0..MAX_SEED. */
export function isSeed(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SEED
}

/**
 * The largest size (bytes) or duration (ns) a field takes: what a number field takes (zod's int is a
 * safe integer), so "99999999999999999999s" is refused like 99999999999999999999 is.
 */
export const MAX_QUANTITY = Number.MAX_SAFE_INTEGER

/** A size in bytes: a number, or a string such as "4K", "2 MiB", "1G", "16 pages". */
export const SizeSchema = z
  .union([
    z.number().int().nonnegative(),
    z
      .string()
      .regex(SIZE_RE, 'a size like 4096, "4K", "2MiB", "1G" or "16 pages"')
      .refine((v) => !SIZE_RE.test(v) || parseSize(v) <= MAX_QUANTITY, {
        error: (i) => `size "${String(i.input)}" is more than ${MAX_QUANTITY} bytes (8 PiB), the largest a size takes`,
      }),
  ])
  .describe('size in bytes: a number or a string like "4K", "2MiB", "1G", "16 pages"')

/**
 * The simulator's address space: page numbers below 2^32, i.e. 16 TiB. x86-64's TASK_SIZE is
 * 128 TiB with 4-level paging (DEFAULT_MAP_WINDOW, arch/x86/include/asm/page_64_types.h), so a
 * user address between the two is valid for the kernel but cannot be modelled.
 */
export const MODEL_ADDRESS_BYTES = 2 ** 44

/**
 * A user address in bytes (`mmap.at`, `mremap.at`): a number (YAML takes 0x hex) or a size string.
 * Any magnitude parses here; the scenario checker (src/sim/scenario/parse.ts) says why one is out
 * of range (not page aligned, past the model's 16 TiB), naming the field.
 */
export const AddressSchema = z
  .union([z.number().nonnegative(), z.string().regex(SIZE_RE, 'an address like 0x40000000, 1073741824 or "1G"')])
  .describe('user address in bytes: a number (0x… in YAML) or a string like "1G"')

/** Default vm.mmap_min_addr: CONFIG_DEFAULT_MMAP_MIN_ADDR as Debian and most x86-64 distributions set it (mm/Kconfig's default is 4096). */
export const DEFAULT_MMAP_MIN_ADDR = 65536

/** A duration: a number of nanoseconds, or a string such as "10ms", "5us", "1s". */
export const DurationSchema = z
  .union([
    z.number().int().nonnegative(),
    z
      .string()
      .regex(DUR_RE, 'a duration like 1000 (ns), "5us", "10ms" or "1s"')
      .refine((v) => !DUR_RE.test(v) || parseDuration(v) <= MAX_QUANTITY, {
        error: (i) => `duration "${String(i.input)}" is more than ${MAX_QUANTITY} ns (about 104 days), the longest a duration takes`,
      }),
  ])
  .describe('duration: integer nanoseconds or a string like "500ns", "5us", "10ms", "1s"')

export const NameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a name of letters, digits, "_", "." or "-" starting with a letter')

/** The errnos of the model and of scenarios, with their numbers (include/uapi/asm-generic/errno-base.h). */
export const ERRNO_NAMES = ['EPERM', 'ENOENT', 'ESRCH', 'EINTR', 'EIO', 'EBADF', 'EAGAIN', 'ENOMEM', 'EFAULT', 'EBUSY', 'EEXIST', 'ENODEV', 'EINVAL'] as const
export const ERRNO_VALUES: Record<(typeof ERRNO_NAMES)[number], number> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
}
/** A return code: 0, a negative number, or a name like "-EFAULT" / "EFAULT". */
export const ErrnoSchema = z
  .union([z.number().int().max(0), z.string().regex(new RegExp(`^-?(${ERRNO_NAMES.join('|')})$`), `0 or one of ${ERRNO_NAMES.map((e) => '-' + e).join(', ')}`)])
  .describe('return code: 0, a negative errno, or "-EFAULT", "-EPERM", "-ENOENT", "-EINVAL", "-EBUSY"...')

/** A comparison: a plain number means eq. */
export const CmpSchema = z.union([
  z.number(),
  z
    .strictObject({ eq: z.number(), ne: z.number(), gt: z.number(), ge: z.number(), lt: z.number(), le: z.number() })
    .partial()
    .refine((o) => Object.keys(o).length > 0, 'at least one of eq, ne, gt, ge, lt, le'),
])

export const ProtSchema = z.enum(['none', 'r', 'rw', 'rx', 'rwx']).describe('protection: none, r, rw, rx, rwx')

export const MEM_TYPE_NAMES = [
  'mm_struct',
  'vma',
  'cpu_pagetable',
  'pages',
  'gpu_pagetable',
  'iommu_pagetable',
  'vram',
  'driver_object',
  'notifier',
  'pasid',
  'file',
] as const
export const MemTypeSchema = z.enum(MEM_TYPE_NAMES)

/** Kinds of the run's markers (the timeline), which `expect.order` compares. */
export const MARKER_KINDS = [
  'spawn',
  'fork',
  'exit',
  'close',
  'open',
  'mirror',
  'release',
  'notifier_release',
  'mmput',
  '__mmput',
  '__mmdrop',
  'free_notifier',
  'driver_free',
  'pasid_free',
  'oom_kill',
  'oom_reaper',
  'exec',
  'vfork_done',
  'dup',
  'sendmsg',
  'recvmsg',
] as const
export const MarkerKindSchema = z.enum(MARKER_KINDS)
const OrderItem = z.union([
  MarkerKindSchema,
  z.strictObject({
    marker: MarkerKindSchema,
    match: z.string().min(1).optional().describe("only markers whose label contains this text (e.g. the file's device, the mm's task)"),
  }),
])

export const FINDING_KINDS = ['use_after_free', 'double_free', 'refcount_underflow', 'invariant', 'livelock', 'warn'] as const

/** Page contents, as one value per 4 KiB page i of the region: 0, i, −i, i + c, or a constant. */
export const PatternSchema = z
  .union([
    z.enum(['zero', 'index', 'neg_index']),
    z.strictObject({
      index_plus: z.number().int(),
      per_round: z.number().int().optional().describe('add per_round × the round of the innermost repeat (0, 1, …)'),
    }),
    z.strictObject({ const: z.number().int(), per_round: z.number().int().optional().describe('add per_round × the round of the innermost repeat (0, 1, …)') }),
  ])
  .describe(
    'page contents: zero | index (page i of the region holds i) | neg_index | { index_plus: c, per_round?: k } (i + c + k × round) | { const: n, per_round?: k }',
  )

const Task = { task: NameSchema.describe('task (process) name') }
const RangeFields = {
  ...Task,
  region: NameSchema.describe('region name given at mmap'),
  offset: SizeSchema.optional().describe('offset into the region (bytes, page aligned); default 0'),
  size: SizeSchema.optional().describe('length (bytes, page aligned); default: to the end of the region'),
}
const DevRef = {
  fd: NameSchema.optional().describe('file descriptor name (from open); omit to use the driver API with no file'),
  device: NameSchema.optional().describe('device name; required when no fd is given'),
}

export const SpawnStep = z.strictObject({ spawn: z.strictObject({ ...Task }) }).describe('a new process with a fresh mm')
export const MmapStep = z
  .strictObject({
    mmap: z.strictObject({
      ...Task,
      region: NameSchema,
      size: SizeSchema,
      prot: ProtSchema.optional(),
      shared: z.boolean().optional().describe('MAP_SHARED (shmem) instead of MAP_PRIVATE anonymous'),
      huge: z.boolean().optional().describe('THP-eligible (MADV_HUGEPAGE); placed 2 MiB aligned'),
      fd: NameSchema.optional().describe(
        'mmap a device file (the VMA holds a file reference) or a tmpfile from open_tmpfile (shared: MAP_SHARED maps its page cache; else MAP_PRIVATE, writes COW-copy)',
      ),
      at: AddressSchema.optional().describe(
        "MAP_FIXED address (bytes, page aligned): the mapping goes exactly there and replaces whatever it overlaps (mmap_region unmaps that first, one MMU_NOTIFY_UNMAP); below machine.mmap_min_addr -EPERM; it must end within the model's 16 TiB address space. Default: the next free area",
      ),
      noreplace: z.boolean().optional().describe('with at: MAP_FIXED_NOREPLACE: -EEXIST where the range overlaps a mapping, instead of replacing it'),
      hugetlb: z
        .boolean()
        .optional()
        .describe('MAP_HUGETLB: private 2 MiB pages from the hugetlb pool (nr_hugepages); -ENOMEM when the pool cannot reserve them'),
    }),
  })
  .describe('mmap(2)')
export const TouchStep = z.strictObject({ touch: z.strictObject({ ...RangeFields, write: z.boolean().optional() }) }).describe('CPU access (faults pages in)')
const Cloexec = { cloexec: z.boolean().optional().describe('O_CLOEXEC: execve closes this fd (do_close_on_exec)') }
export const OpenStep = z
  .strictObject({ open: z.strictObject({ ...Task, device: NameSchema, fd: NameSchema, ...Cloexec }) })
  .describe('open(2) of a device file')
export const MirrorStep = z
  .strictObject({ mirror: z.strictObject({ ...Task, ...DevRef }) })
  .describe("ask the driver to mirror the task's address space on the device")
const devRange = z.strictObject({ ...RangeFields, ...DevRef })
export const DeviceReadStep = z
  .strictObject({
    device_read: z.strictObject({
      ...RangeFields,
      ...DevRef,
      into: NameSchema.optional().describe("name of the buffer (the ioctl's mirror buffer) receiving the data"),
    }),
  })
  .describe('HMM_DMIRROR_READ: device reads the range (faults through hmm_range_fault)')
export const DeviceWriteStep = z
  .strictObject({
    device_write: z.strictObject({
      ...RangeFields,
      ...DevRef,
      pattern: PatternSchema.optional().describe('contents of the mirror buffer written to memory (default: zero)'),
    }),
  })
  .describe('HMM_DMIRROR_WRITE')
export const WriteDataStep = z
  .strictObject({ write_data: z.strictObject({ ...RangeFields, pattern: PatternSchema }) })
  .describe('CPU stores a pattern into the range (write faults, COW breaks)')
const devRangeInto = z.strictObject({ ...RangeFields, ...DevRef, into: NameSchema.optional().describe("buffer receiving the ioctl's final dmirror_do_read") })
export const MigrateToDeviceStep = z.strictObject({ migrate_to_device: devRangeInto }).describe('HMM_DMIRROR_MIGRATE_TO_DEV')
export const MigrateToSystemStep = z.strictObject({ migrate_to_system: devRange }).describe('HMM_DMIRROR_MIGRATE_TO_SYS')
export const SnapshotStep = z.strictObject({ snapshot: devRange }).describe('HMM_DMIRROR_SNAPSHOT')
export const ExclusiveStep = z.strictObject({ exclusive: devRangeInto }).describe('HMM_DMIRROR_EXCLUSIVE')
export const DmirrorFlagsStep = z
  .strictObject({
    dmirror_flags: z.strictObject({
      ...Task,
      ...DevRef,
      fail_alloc: z.boolean().describe('HMM_DMIRROR_FLAG_FAIL_ALLOC: THP allocations of the next migrations fail (4 KiB fallback)'),
    }),
  })
  .describe('HMM_DMIRROR_FLAGS')
export const NrHugepagesStep = z
  .strictObject({
    nr_hugepages: z
      .number()
      .int()
      .min(0)
      .max(1 << 20)
      .describe('pages in the pool'),
  })
  .describe('echo N > /proc/sys/vm/nr_hugepages: size of the default (2 MiB) hugetlb pool')
export const OpenTmpfileStep = z
  .strictObject({ open_tmpfile: z.strictObject({ ...Task, fd: NameSchema, size: SizeSchema.optional().describe('ftruncate length (default 0)'), ...Cloexec }) })
  .describe('open(/tmp, O_TMPFILE | O_RDWR) + ftruncate: an unnamed tmpfs file with a page cache')
const FileIo = {
  ...Task,
  fd: NameSchema.describe('a file from open_tmpfile'),
  offset: SizeSchema.optional().describe('file offset (bytes, page aligned); default 0'),
  size: SizeSchema.optional().describe('length (bytes, page aligned); default: to the end of the file'),
}
export const PwriteStep = z
  .strictObject({ pwrite: z.strictObject({ ...FileIo, pattern: PatternSchema.describe('page i of the file receives the pattern value of i') }) })
  .describe('pwrite(2) into the page cache; ret = bytes written')
export const PreadStep = z
  .strictObject({ pread: z.strictObject({ ...FileIo, into: NameSchema.describe('buffer receiving the data (check it with expect.buffer)') }) })
  .describe('pread(2) from the page cache; ret = bytes read')
export const GupStep = z
  .strictObject({
    gup: z.strictObject({
      ...RangeFields,
      write: z.boolean().optional().describe('FOLL_WRITE (default true, as gup_test passes it)'),
      fast: z.boolean().optional().describe('the lockless get_user_pages_fast path first (falls back to the slow path)'),
      pin: z.boolean().optional().describe('FOLL_PIN (pin_user_pages*) instead of a get_page reference'),
      longterm: z.boolean().optional().describe('FOLL_LONGTERM: pages are first migrated out of ZONE_DEVICE memory'),
      hold: NameSchema.optional().describe('keep the references under this name until unpin (default: released at the end, as the gup_test ioctls do)'),
    }),
  })
  .describe('get_user_pages / pin_user_pages through /sys/kernel/debug/gup_test')
export const UserBufferStep = z
  .strictObject({
    user_buffer: z.strictObject({
      name: NameSchema.describe('buffer name (for into: and expect.buffer)'),
      size: SizeSchema,
      pattern: PatternSchema.optional().describe('page i of the buffer holds the pattern value of i (default zero)'),
    }),
  })
  .describe("a user buffer (malloc + fill, e.g. the selftests' preset mirror): a later into: overwrites it only if its ioctl / pread succeeds")
export const UnpinStep = z
  .strictObject({ unpin: z.strictObject({ pins: NameSchema.describe('name given to gup.hold') }) })
  .describe('put_page / unpin_user_pages of references kept by gup.hold')
export const CheckExclusiveStep = z.strictObject({ check_exclusive: devRange }).describe('HMM_DMIRROR_CHECK_EXCLUSIVE')
export const ReleaseDevmemStep = z
  .strictObject({ release_device_memory: z.strictObject({ ...Task, ...DevRef }) })
  .describe('HMM_DMIRROR_RELEASE: evict all device memory')
export const AllocBoStep = z
  .strictObject({ alloc_bo: z.strictObject({ ...Task, ...DevRef, size: SizeSchema }) })
  .describe('allocate a buffer object in VRAM owned by the driver object')
export const CreateQueueStep = z
  .strictObject({ create_queue: z.strictObject({ ...Task, ...DevRef, ring: SizeSchema.optional().describe('ring buffer size (default 64K)') }) })
  .describe('a user-mode queue (MQD + ring) owned by the driver object (KFD: dequeued at notifier release)')
export const UserptrStep = z
  .strictObject({ userptr: z.strictObject({ ...RangeFields, ...DevRef, write: z.boolean().optional().describe('map writable (default true)') }) })
  .describe('KFD userptr BO (or SVM range with XNACK off) over a range: an invalidation that hits it evicts the queues until the restore worker revalidates it')
export const ForkStep = z
  .strictObject({ fork: z.strictObject({ ...Task, child: NameSchema }) })
  .describe('fork(2): child inherits fds, COW copy of the address space')
export const ExitStep = z.strictObject({ exit: z.strictObject({ ...Task }) }).describe('do_exit')
export const OomKillStep = z
  .strictObject({
    oom_kill: z.strictObject({
      ...Task,
      blocked: DurationSchema.optional().describe('the victim acts on SIGKILL only after this long (stuck in an uninterruptible sleep); default 0'),
    }),
  })
  .describe(
    'OOM kill: the victim exits on SIGKILL; 2 s later (OOM_REAPER_DELAY) the reaper unmaps the private VMAs of a victim not yet through exit_mmap with non-blockable UNMAP invalidations (a subscriber may refuse a VMA: retried 10 times, HZ/10 apart)',
  )
export const CloseStep = z.strictObject({ close: z.strictObject({ ...Task, fd: NameSchema }) }).describe('close(2)')
export const ThreadStep = z
  .strictObject({ thread: z.strictObject({ ...Task, child: NameSchema.describe('name of the new thread') }) })
  .describe('clone(CLONE_VM | CLONE_FILES | CLONE_THREAD …), pthread_create: a thread sharing the mm (mmget: mm_users + 1, no second mm) and the fd table')
export const VforkStep = z
  .strictObject({ vfork: z.strictObject({ ...Task, child: NameSchema.describe('name of the child') }) })
  .describe(
    "vfork(2): the child shares the parent's mm (mmget) and gets a copy of the fd table; the parent's next step waits until the child execs or exits (wait_for_vfork_done)",
  )
export const ExecveStep = z
  .strictObject({
    execve: z.strictObject({
      ...Task,
      old_mm: NameSchema.optional().describe('a name under which expect mm / device_pages can still look at the mm the task had before'),
    }),
  })
  .describe(
    'execve(2): other threads exit (de_thread), close-on-exec fds close, exec_mmap installs a fresh mm and mmput()s the old one; every other fd survives',
  )
export const DupStep = z
  .strictObject({
    dup: z.strictObject({ ...Task, fd: NameSchema, as: NameSchema.describe('the new fd name (an open one is closed first, as dup2 does)'), ...Cloexec }),
  })
  .describe('dup2(2) / dup3(2): a second fd for the same struct file (f_count + 1)')
export const SendFdStep = z
  .strictObject({ send_fd: z.strictObject({ ...Task, fd: NameSchema, socket: NameSchema.describe('unix socketpair name (the first send creates it)') }) })
  .describe("sendmsg(2) with SCM_RIGHTS: the file (f_count + 1) waits in flight on the socket's queue, held by no task")
export const RecvFdStep = z
  .strictObject({ recv_fd: z.strictObject({ ...Task, socket: NameSchema, fd: NameSchema.describe('name of the received fd'), ...Cloexec }) })
  .describe('recvmsg(2) with SCM_RIGHTS: installs the oldest file in flight as a new fd (-EAGAIN if none)')
export const CloseSocketStep = z
  .strictObject({ close_socket: z.strictObject({ ...Task, socket: NameSchema }) })
  .describe('close both ends of the socketpair: files still in flight are fput (unix_release_sock → skb_queue_purge)')
export const ModuleUnloadStep = z
  .strictObject({
    module_unload: z.strictObject({
      synchronize: z.boolean().optional().describe('the module __exit calls mmu_notifier_synchronize (default true); false models a driver that forgets it'),
    }),
  })
  .describe(
    'delete_module of the driver: -EBUSY while a device file is open; runs the driver __exit, then frees the module text (a free_notifier still queued then runs freed code)',
  )
export const MunmapStep = z.strictObject({ munmap: z.strictObject({ ...RangeFields }) }).describe('munmap(2): UNMAP')
export const MprotectStep = z.strictObject({ mprotect: z.strictObject({ ...RangeFields, prot: ProtSchema }) }).describe('mprotect(2): PROTECTION_VMA')
export const MadviseStep = z
  .strictObject({
    madvise: z.strictObject({
      ...RangeFields,
      advice: z.enum(['dontneed', 'free', 'pageout', 'hugepage', 'nohugepage', 'collapse', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork']),
    }),
  })
  .describe('madvise(2): DONTNEED/FREE/PAGEOUT raise CLEAR; DONTFORK/WIPEONFORK (and DOFORK/KEEPONFORK) set what fork copies')
export const MremapStep = z
  .strictObject({
    mremap: z.strictObject({
      ...RangeFields,
      to_region: NameSchema.optional().describe('name of the moved region (default: the same name)'),
      at: AddressSchema.optional().describe("MREMAP_FIXED target address (bytes); it must lie within the model's 16 TiB address space"),
      dontunmap: z.boolean().optional(),
    }),
  })
  .describe('mremap(2) MAYMOVE: UNMAP of the old range')
export const ThpSplitStep = z.strictObject({ thp_split: z.strictObject({ ...RangeFields }) }).describe('split THPs in the range: CLEAR')
export const ReclaimStep = z.strictObject({ reclaim: z.strictObject({ ...RangeFields }) }).describe('reclaim / swap-out: CLEAR')
export const NumaMigrateStep = z.strictObject({ numa_migrate: z.strictObject({ ...RangeFields }) }).describe('NUMA / compaction migration: CLEAR')
export const ClearRefsStep = z
  .strictObject({ clear_refs: z.strictObject({ ...RangeFields }) })
  .describe('/proc/pid/clear_refs soft-dirty: write-protect, SOFT_DIRTY')
export const WritebackStep = z
  .strictObject({ writeback: z.strictObject({ ...RangeFields }) })
  .describe('writeback page_mkclean of a shared mapping: write-protect, PROTECTION_PAGE')
export const SleepStep = z.strictObject({ sleep: DurationSchema }).describe('advance simulated time (deferred work runs meanwhile)')
export const RandomAccessStep = z
  .strictObject({
    random_access: z.strictObject({
      ...Task,
      region: NameSchema,
      count: z.number().int().positive().max(1_000_000),
      pages: z.number().int().positive().max(4096).optional().describe('pages per access (default 1)'),
      write_ratio: z.number().min(0).max(1).optional(),
      cpu_ratio: z.number().min(0).max(1).optional().describe('fraction of accesses done by the CPU instead of the device'),
      interval: DurationSchema.optional(),
      ...DevRef,
    }),
  })
  .describe('generator: random device / CPU accesses in a region')
export const InvalidationStormStep = z
  .strictObject({
    invalidation_storm: z.strictObject({
      ...Task,
      region: NameSchema,
      count: z.number().int().positive().max(1_000_000),
      event: z.enum(['clear', 'unmap', 'protection', 'migrate', 'thp_split']).optional(),
      pages: z
        .number()
        .int()
        .positive()
        .max(1 << 20)
        .optional()
        .describe('pages per invalidation (default 1)'),
      interval: DurationSchema.optional(),
      background: z.boolean().optional().describe('run concurrently with the following steps'),
    }),
  })
  .describe('generator: a stream of CPU-side invalidations in a region')

export const ExpectSchema = z
  .strictObject({
    label: z.string().optional(),
    design: z
      .union([DesignIdSchema, z.array(DesignIdSchema)])
      .optional()
      .describe('check only under these designs'),
    if_ret: ErrnoSchema.optional().describe('check only if the previous step returned this (e.g. 0: data checks after a racy ioctl)'),
    ret: z.union([ErrnoSchema, CmpSchema]).optional().describe("previous step's return code"),
    cpages: CmpSchema.optional().describe("previous device step's cpages"),
    faults: CmpSchema.optional().describe("previous device step's faults"),
    live: z
      .strictObject({
        type: MemTypeSchema.optional(),
        owner: NameSchema.optional().describe('task name'),
        count: CmpSchema.optional(),
        bytes: CmpSchema.optional(),
      })
      .optional()
      .describe('live memory (objects and bytes) by type and owner'),
    leaked: z
      .strictObject({ type: MemTypeSchema.optional(), owner: NameSchema.optional(), bytes: CmpSchema })
      .optional()
      .describe('bytes held on behalf of an exited owner'),
    leaked_bytes: CmpSchema.optional().describe('total leaked bytes now'),
    findings: z
      .strictObject({ kind: z.enum(FINDING_KINDS).optional(), invariant: z.number().int().min(1).max(7).optional(), count: CmpSchema.optional() })
      .optional()
      .describe('findings so far (default count ≥ 1)'),
    device_pages: z
      .strictObject({
        device: NameSchema,
        task: NameSchema,
        count: CmpSchema,
        region: NameSchema.optional().describe('count only the pages of this region (with offset and size: of that part of it)'),
        offset: SizeSchema.optional(),
        size: SizeSchema.optional(),
      })
      .optional()
      .describe("present pages in the device's page table for the task's mm"),
    mm: z
      .strictObject({
        task: NameSchema,
        mm_users: CmpSchema.optional(),
        mm_count: CmpSchema.optional(),
        phase: z.enum(['live', 'exiting', 'released', 'freed']).optional(),
      })
      .optional()
      .describe("the task's mm (the one it had, even after exit)"),
    snapshot: z
      .union([z.array(z.number().int().min(0).max(255)), z.strictObject({ all: z.number().int().min(0).max(255) })])
      .optional()
      .describe('bytes of the previous SNAPSHOT'),
    counter: z.strictObject({ name: z.string(), value: CmpSchema }).optional().describe('a model counter, e.g. hmm_range_fault, invalidate.PROTECTION_PAGE'),
    memory: z
      .strictObject({ ...RangeFields, pattern: PatternSchema })
      .optional()
      .describe("the task's memory (as the CPU would read it, without faulting) holds the pattern"),
    buffer: z
      .strictObject({
        name: NameSchema,
        pattern: PatternSchema,
        offset: SizeSchema.optional().describe('part of the buffer, from the start of what was read'),
        size: SizeSchema.optional(),
      })
      .optional()
      .describe('a buffer filled by device_read.into holds the pattern (page i of the region read)'),
    hugetlb_free: CmpSchema.optional().describe('free pages of the default-size hugetlb pool (HugePages_Free; reserved pages count as free)'),
    pagemap: z
      .strictObject({
        ...RangeFields,
        present: z.boolean().optional().describe('PM_PRESENT (bit 63) of every page'),
        swap: z.boolean().optional().describe('PM_SWAP (bit 62) of every page: swap, migration, device-private and device-exclusive entries'),
      })
      .optional()
      .describe('/proc/<task>/pagemap entries of the range'),
    order: z
      .array(OrderItem)
      .min(2)
      .optional()
      .describe(
        'markers, each the first of its kind (and match) so far, that must all exist and have happened in this order, e.g. [release, notifier_release]',
      ),
  })
  .describe('assertions, checked when the step runs')
export const ExpectStep = z.strictObject({ expect: ExpectSchema })

export interface RepeatStepT {
  repeat: { times: number; steps: StepT[] }
}
export interface BackgroundStepT {
  background: { steps: StepT[] }
}
export interface WhenStepT {
  when: { design: DesignIdT | DesignIdT[]; steps: StepT[] }
}

export const LEAF_STEPS = {
  spawn: SpawnStep,
  mmap: MmapStep,
  touch: TouchStep,
  write_data: WriteDataStep,
  open: OpenStep,
  mirror: MirrorStep,
  device_read: DeviceReadStep,
  device_write: DeviceWriteStep,
  migrate_to_device: MigrateToDeviceStep,
  migrate_to_system: MigrateToSystemStep,
  snapshot: SnapshotStep,
  exclusive: ExclusiveStep,
  check_exclusive: CheckExclusiveStep,
  dmirror_flags: DmirrorFlagsStep,
  nr_hugepages: NrHugepagesStep,
  open_tmpfile: OpenTmpfileStep,
  pwrite: PwriteStep,
  pread: PreadStep,
  gup: GupStep,
  unpin: UnpinStep,
  user_buffer: UserBufferStep,
  release_device_memory: ReleaseDevmemStep,
  alloc_bo: AllocBoStep,
  create_queue: CreateQueueStep,
  userptr: UserptrStep,
  fork: ForkStep,
  exit: ExitStep,
  oom_kill: OomKillStep,
  close: CloseStep,
  thread: ThreadStep,
  vfork: VforkStep,
  execve: ExecveStep,
  dup: DupStep,
  send_fd: SendFdStep,
  recv_fd: RecvFdStep,
  close_socket: CloseSocketStep,
  module_unload: ModuleUnloadStep,
  munmap: MunmapStep,
  mprotect: MprotectStep,
  madvise: MadviseStep,
  mremap: MremapStep,
  thp_split: ThpSplitStep,
  reclaim: ReclaimStep,
  numa_migrate: NumaMigrateStep,
  clear_refs: ClearRefsStep,
  writeback: WritebackStep,
  sleep: SleepStep,
  random_access: RandomAccessStep,
  invalidation_storm: InvalidationStormStep,
  expect: ExpectStep,
} as const

export type LeafStepT = z.infer<(typeof LEAF_STEPS)[keyof typeof LEAF_STEPS]>
export type StepT = LeafStepT | RepeatStepT | BackgroundStepT | WhenStepT
export const STEP_NAMES = [...Object.keys(LEAF_STEPS), 'repeat', 'background', 'when'] as const

export const RepeatStep: z.ZodType<RepeatStepT> = z.strictObject({
  repeat: z.strictObject({
    times: z.number().int().positive().max(100_000),
    get steps(): z.ZodArray<z.ZodType<StepT>> {
      return z.array(StepSchema)
    },
  }),
})
export const BackgroundStep: z.ZodType<BackgroundStepT> = z.strictObject({
  background: z.strictObject({
    get steps(): z.ZodArray<z.ZodType<StepT>> {
      return z.array(StepSchema)
    },
  }),
})

export const WhenStep: z.ZodType<WhenStepT> = z.strictObject({
  when: z.strictObject({
    design: z.union([DesignIdSchema, z.array(DesignIdSchema)]).describe('run the steps only under these designs'),
    get steps(): z.ZodArray<z.ZodType<StepT>> {
      return z.array(StepSchema)
    },
  }),
})

export const StepSchema: z.ZodType<StepT> = z.union([...Object.values(LEAF_STEPS), RepeatStep, BackgroundStep, WhenStep] as unknown as [
  z.ZodType<StepT>,
  ...z.ZodType<StepT>[],
])

export const IommuSpecSchema = z.strictObject({
  name: NameSchema,
  vendor: z.enum(['intel', 'amd', 'arm']).optional().describe('invalidation policy (default intel)'),
  psi: z.boolean().optional().describe('page-selective invalidation supported (default true)'),
  mamv: z.number().int().min(0).max(63).optional().describe('max address-mask value (default 9 = 2 MiB)'),
  qi_batch: z.number().int().min(1).max(4096).optional().describe('descriptors per queued-invalidation wait (default 16)'),
  full_flush_threshold: z.number().int().min(1).optional().describe('pages above which the whole domain is flushed (default 512)'),
  iotlb_entries: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .optional(),
})

export const DeviceSpecSchema = z.strictObject({
  name: NameSchema,
  kind: z
    .enum(['gpu', 'dmirror'])
    .optional()
    .describe(
      'dmirror: lib/test_hmm.c semantics (faults in chunks of its pfns array: 32 pages, 64 before 6.17), per-page device PT; gpu: 2 MiB fault chunks and huge device PTEs',
    ),
  iommu: NameSchema.optional().describe('name of the IOMMU it sits behind'),
  ats: z.boolean().optional().describe('has an ATS device TLB (needs an IOMMU)'),
  tlb_entries: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .optional(),
  vram: SizeSchema.optional().describe('device memory for migration and BOs (default 4 GiB)'),
  fault_chunk_pages: z
    .number()
    .int()
    .min(1)
    .max(1 << 18)
    .optional(),
  memory: z
    .enum(['private', 'coherent'])
    .optional()
    .describe('device memory type for migration: private (MEMORY_DEVICE_PRIVATE, default) or coherent (MEMORY_DEVICE_COHERENT: CPU-accessible, no fault)'),
})

/**
 * Kernel versions the model can follow (`machine.kernel`): each behaviour that changed across them
 * is one row of src/sim/kernel/version.ts. `mainline` (the default) has every behaviour in that
 * table; a version older than 6.12 is not modelled.
 */
export const KERNEL_VERSIONS = ['6.12', '6.13', '6.14', '6.15', '6.16', '6.17', '6.18', '6.19', 'mainline'] as const
export type KernelVersionT = (typeof KERNEL_VERSIONS)[number]

/** Driver patches newer than the kernel the model follows (off unless listed). */
export const MACHINE_PATCHES = ['kfd_dequeue_user_queues_when_mm_released'] as const

/** Default CONFIG_HZ (`machine.hz`; kernel/Kconfig.hz offers 100, 250, 300, 1000): Debian's and most distributions'. */
export const DEFAULT_HZ = 250

export const MachineSchema = z.strictObject({
  cpus: z.number().int().min(1).max(4096).optional(),
  mmap_min_addr: z
    .number()
    .int()
    .min(0)
    .max(MODEL_ADDRESS_BYTES)
    .optional()
    .describe(
      "vm.mmap_min_addr (bytes, default 65536 as Debian and most distributions set it): a MAP_FIXED mmap below it gets -EPERM (security_mmap_addr → cap_mmap_addr; the model's tasks lack CAP_SYS_RAWIO)",
    ),
  hz: z
    .union([z.literal(100), z.literal(250), z.literal(300), z.literal(1000)])
    .optional()
    .describe(
      "CONFIG_HZ: timer ticks per second (100, 250, 300 or 1000; default 250, the Debian and most distributions' value). A delayed work item queued for msecs_to_jiffies(m) runs on a tick, so a 1 ms driver delay is one jiffy: 4 ms at 250",
    ),
  kernel: z
    .enum(KERNEL_VERSIONS)
    .optional()
    .describe(
      'the kernel version the model follows where the kernel changed (src/sim/kernel/version.ts): 6.12 … 6.19 or mainline (the default); e.g. "6.12" for Debian\'s linux-source-6.12',
    ),
  patches: z
    .array(z.enum(MACHINE_PATCHES))
    .optional()
    .describe(
      'driver patches newer than the modelled kernel: kfd_dequeue_user_queues_when_mm_released ("drm/amdkfd: Dequeue user queues when process mm released", amd-gfx 2025-10) dequeues KFD user queues in the notifier release instead of kfd_process_wq_release',
    ),
  iommus: z.array(IommuSpecSchema).optional(),
  devices: z.array(DeviceSpecSchema).optional().describe('default: one dmirror device "dmirror0" with no IOMMU'),
  swap: SizeSchema.optional().describe(
    'swap space (bytes, e.g. 1G): reclaim and MADV_PAGEOUT swap anonymous pages out to it; default none: anonymous pages are then never reclaimed (MADV_FREE pages still are)',
  ),
})

export const CostOverridesSchema = z.record(z.string(), z.number().nonnegative()).describe('cost-model overrides by name (see docs/scenarios.md)')

export const SweepExpectSchema = z.strictObject({
  design: z.union([DesignIdSchema, z.array(DesignIdSchema)]).optional(),
  finding: z.enum(FINDING_KINDS),
  fraction: CmpSchema.describe('fraction of seeds (0..1) with at least one such finding'),
})

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  seed: z.number().int().min(0).max(MAX_SEED).optional(),
  seeds: z.number().int().min(1).max(10_000).optional().describe('run this many consecutive seeds (for race fractions)'),
  designs: z.array(DesignIdSchema).min(1).optional().describe('default: D1–D6'),
  machine: MachineSchema.optional(),
  costs: CostOverridesSchema.optional(),
  trace: z.strictObject({ capacity: z.number().int().min(0).max(1_000_000) }).optional(),
  sweep_expect: z.array(SweepExpectSchema).optional(),
  steps: z.array(StepSchema),
})

export type Scenario = z.infer<typeof ScenarioSchema>
export type PatternT = z.infer<typeof PatternSchema>

/** The token a pattern puts in page `i` of a region. */
export function patternValue(p: PatternT, i: number, round = 0): number {
  if (p === 'zero') return 0
  if (p === 'index') return i
  if (p === 'neg_index') return -i
  if ('index_plus' in p) return i + p.index_plus + (p.per_round ?? 0) * round
  return p.const + (p.per_round ?? 0) * round
}
export type ExpectT = z.infer<typeof ExpectSchema>
export type CmpT = z.infer<typeof CmpSchema>
export type DesignIdT = (typeof DESIGN_IDS)[number]

/** The JSON Schema of scenario files (for editors). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ScenarioSchema, { unrepresentable: 'any' }) as Record<string, unknown>
}

/** Parses a size to bytes (K/M/G/T/P are binary multiples; "page"/"pages" count 4096 bytes). */
export function parseSize(v: number | string): number {
  if (typeof v === 'number') return v
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v)
  if (!m) return NaN
  const n = Number(m[1])
  const u = (m[2] ?? '').toUpperCase()
  const mult: Record<string, number> = {
    '': 1,
    B: 1,
    K: 1024,
    KB: 1024,
    KIB: 1024,
    M: 1 << 20,
    MB: 1 << 20,
    MIB: 1 << 20,
    G: 2 ** 30,
    GB: 2 ** 30,
    GIB: 2 ** 30,
    T: 2 ** 40,
    TB: 2 ** 40,
    TIB: 2 ** 40,
    // P is PiB, as memparse (lib/cmdline.c) and every kernel engineer reads it; a page is "page(s)"
    P: 2 ** 50,
    PB: 2 ** 50,
    PIB: 2 ** 50,
    PAGE: 4096,
    PAGES: 4096,
  }
  const k = mult[u]
  return k === undefined ? NaN : Math.round(n * k)
}

/** Parses a duration to integer nanoseconds. */
export function parseDuration(v: number | string): number {
  if (typeof v === 'number') return v
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)\s*$/.exec(v)
  if (!m) return NaN
  const k = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns']
  return Math.round(Number(m[1]) * k)
}

/** Parses a return code to a number (0 or negative). */
export function parseErrno(v: number | string): number {
  if (typeof v === 'number') return v
  const name = v.replace(/^-/, '') as (typeof ERRNO_NAMES)[number]
  return -(ERRNO_VALUES[name] ?? 0)
}

/** The name of a return code ("0", "-EFAULT", or the number). */
export function errnoName(v: number): string {
  if (v === 0) return '0'
  for (const n of ERRNO_NAMES) if (ERRNO_VALUES[n] === -v) return `-${n}`
  return String(v)
}
