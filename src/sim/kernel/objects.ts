/**
 * Kernel objects of the model: task_struct, mm_struct, vm_area_struct, struct file, and the
 * mmu_notifier subscription structures. Behaviour lives in the neighbouring modules; these are
 * plain state (what docs/domain.md §7.1 lists per entity).
 */
import { WaitQueue } from '../engine/engine'
import { RadixPt } from './pagetable'
import type { Device } from '../devices/device'
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import type { FileOperations, NotifierRange } from './types'

export { PROT_READ, PROT_WRITE, type NotifyEvent, type NotifierRange } from './types'

/** Bytes the ledger charges for kernel structures (x86-64, order of magnitude of slab sizes). */
export const SIZEOF = {
  mm_struct: 1344,
  pgd: 4096,
  vm_area_struct: 200,
  file: 256,
  mmu_notifier_subscriptions: 128,
  mmu_notifier: 64,
  mmu_interval_notifier: 96,
  iommu_mm_data: 64,
  pasid: 64,
  sva_domain: 512,
  hmm: 256,
  hmm_mirror: 192,
  dmirror: 256,
  kvm_like: 1024,
  kfd_process: 4096,
  kfd_process_device: 1024,
  pt_page: 4096,
} as const

export type MmPhase = 'live' | 'exiting' | 'released' | 'freed'

/**
 * The mm->flags bits the model uses: MMF_OOM_VICTIM (mark_oom_victim), MMF_UNSTABLE (the OOM
 * reaper began: a fault that would populate the mm gets SIGBUS, check_stable_address_space),
 * MMF_OOM_SKIP (exit_mmap unmapped everything, or the reaper finished or gave up).
 */
export type MmFlag = 'MMF_OOM_VICTIM' | 'MMF_UNSTABLE' | 'MMF_OOM_SKIP'

/** Shared anonymous memory backing (shmem object). */
export class ShmemObj {
  readonly pages = new Map<number, number>()
  refs = 1
  constructor(
    readonly id: number,
    public owner: number,
  ) {}
}

export class Vma {
  constructor(
    public start: number,
    public end: number,
    public prot: number,
    readonly shared: boolean,
    public file: File | null,
    public huge: boolean,
    public ledgerId: number,
    public shmem: ShmemObj | null,
    /** Page offset into the shmem object of `start`. */
    public pgoff: number,
  ) {}
  /** MAP_HUGETLB: 2 MiB pages from the hugetlb pool, PMD leaves only, never split. */
  hugetlb = false
  /**
   * vma->anon_vma: 0 until the first fault that puts an anonymous page here (anon_vma_prepare in
   * do_anonymous_page, wp_page_copy, do_cow_fault, do_huge_pmd_anonymous_page, hugetlb_no_page),
   * then the id of the anon_vma. Split halves share it; fork gives the child's VMA a new one
   * (anon_vma_fork). fork copies the page table only when it is set (vma_needs_copy).
   */
  anon_vma = 0
  /** The anon_vma_chain holds more than this VMA's own anon_vma (a fork child's VMA). */
  anonForked = false
  /** VM_MIXEDMAP (vm_insert_page by the driver's mmap, e.g. dmirror_fops_mmap). */
  mixedmap = false
  /** VM_DONTCOPY (MADV_DONTFORK): dup_mmap leaves this VMA out of the child. */
  dontcopy = false
  /** VM_WIPEONFORK (MADV_WIPEONFORK): the child gets the VMA empty, without copy_page_range. */
  wipeonfork = false
}

/** Copies the madvise fork flags (VM_DONTCOPY, VM_WIPEONFORK) to a VMA made from `from` (split, move). */
export function copyForkFlags(to: Vma, from: Vma): void {
  to.dontcopy = from.dontcopy
  to.wipeonfork = from.wipeonfork
}

export interface Region {
  start: number
  pages: number
}

/** mm->mmap_lock's state (struct rw_semaphore); taken and released in kernel/mmap_lock.ts. */
export class MmapLock {
  readers = 0
  writer = false
  writersWaiting = 0
  readonly q = new WaitQueue('mmap_lock')
}

export class MmStruct {
  mm_users = 1
  mm_count = 1
  phase: MmPhase = 'live'
  vmas: Vma[] = []
  readonly mmap_lock = new MmapLock()
  readonly pt: RadixPt
  subs: Subscriptions | null = null
  write_protect_seq = 0
  /** mm->iommu_mm: PASID and SVA domains, once bound. */
  iommu_mm: { pasid: number; ledgerId: number; pasidTables: Set<Map<number, string>> } | null = null
  /** Time the notifier release (exit_mmap step 1) finished, or null. */
  releasedAt: number | null = null
  /** Next free page for mmap placement. */
  mmapBase = 0x100000
  readonly regions = new Map<string, Region>()
  /** All mms of one fork tree (so a COW page outliving its allocator is charged to a survivor). */
  family: MmStruct[]
  /**
   * CPU faults handled on this mm (the kernel counts them per task: `current->min_flt` in
   * mm_account_fault); one per 4 KiB page or per 2 MiB leaf that needed one (none for the pages
   * fault-around mapped). Not in the result
   * document; read by test/fidelity/host-kernel.test.ts.
   */
  min_flt = 0
  /** 4 KiB pages given a new frame by a COW break (wp_page_copy, do_huge_pmd_wp_page, do_cow_fault). */
  cow_pages = 0
  /** Major faults on this mm (do_swap_page reading a page back from swap: VM_FAULT_MAJOR). */
  maj_flt = 0
  /** mm->flags (the bits of `MmFlag`). */
  readonly flags = new Set<MmFlag>()

  constructor(
    readonly id: number,
    readonly label: string,
    readonly owner: number,
    readonly ledgerId: number,
    onTables: (d: number) => void,
    family: MmStruct[] | null,
  ) {
    this.pt = new RadixPt(onTables)
    this.pt.cpu = true
    this.family = family ?? []
    this.family.push(this)
  }
}

/** struct mmu_notifier_ops (classic). Callbacks return costs in ns where they do device work. */
export interface NotifierOps {
  readonly name: string
  release?(w: Kernel, sub: ClassicSub, mm: MmStruct, path: CallPath): Proc<void>
  invalidateRangeStart?(w: Kernel, sub: ClassicSub, r: NotifierRange, path: CallPath): { ok: boolean; cost: number }
  invalidateRangeEnd?(w: Kernel, sub: ClassicSub, r: NotifierRange, path: CallPath): number
  archInvalidateSecondaryTlbs?(w: Kernel, sub: ClassicSub, mm: MmStruct, start: number, end: number, path: CallPath): number
  allocNotifier?(w: Kernel, mm: MmStruct, path: CallPath): ClassicSub | null
  freeNotifier?(w: Kernel, sub: ClassicSub, path: CallPath): void
}

/** struct mmu_notifier. `memId` is the ledger object that contains it (for KASAN-style checks). */
export class ClassicSub {
  users = 0
  hashed = false
  /** Time of the last mmu_notifier_put that dropped users to 0. */
  lastPutAt: number | null = null
  /** Anything the driver hangs on it. */
  priv: unknown = null
  /** Set while its ->release runs (to catch a synchronous unregister from inside it). */
  inRelease = false
  constructor(
    readonly id: number,
    readonly ops: NotifierOps,
    public mm: MmStruct,
    public memId: number,
  ) {}
}

export interface IntervalOps {
  /** Returns cost in ns, or -1 for "false" (would block on a non-blockable range). */
  invalidate(w: Kernel, sub: IntervalSub, r: NotifierRange, curSeq: number, path: CallPath): number
}

/** struct mmu_interval_notifier. */
export class IntervalSub {
  invalidate_seq = 0
  inTree = false
  removed = false
  priv: unknown = null
  constructor(
    readonly id: number,
    readonly ops: IntervalOps,
    readonly mm: MmStruct,
    readonly start: number,
    readonly end: number,
    public memId: number,
  ) {}
}

/** struct mmu_notifier_subscriptions. */
export class Subscriptions {
  readonly list: ClassicSub[] = []
  readonly itree: IntervalSub[] = []
  invalidate_seq = 2
  active_invalidate_ranges = 0
  readonly wq: WaitQueue
  readonly deferred: Array<{ op: 'insert' | 'remove'; sub: IntervalSub }> = []
  constructor(
    readonly ledgerId: number,
    mmLabel: string,
  ) {
    this.wq = new WaitQueue(`${mmLabel} notifier wq`)
  }
  /**
   * Set by the first mmu_interval_notifier_insert (__mmu_notifier_register(NULL, mm)) and never
   * cleared: once set, every invalidation of the mm takes the interval-tree path
   * (mn_itree_inv_start_range / mn_itree_inv_end) even with an empty tree.
   */
  has_itree = false
}

export class File {
  f_count = 1
  released = false
  /** file->private_data, owned by the teardown design. */
  priv: unknown = null
  constructor(
    readonly id: number,
    readonly label: string,
    readonly dev: Device,
    readonly ledgerId: number,
    /** The task that opened it (for messages). */
    readonly opener: Task,
    /** file->f_op, set at open: __fput calls its release. */
    readonly fops: FileOperations,
  ) {}
}

/**
 * A regular file on tmpfs opened with O_TMPFILE: a struct file whose inode has a page cache (a
 * ShmemObj: file page → frame). The inode lives while the file or any VMA mapping it holds the cache.
 */
export class TmpFile {
  f_count = 1
  released = false
  constructor(
    readonly id: number,
    readonly label: string,
    readonly ledgerId: number,
    readonly cache: ShmemObj,
    /** i_size in 4 KiB pages. */
    public size: number,
  ) {}
}

export type TaskState = 'running' | 'exiting' | 'dead'

export class Task {
  mm: MmStruct | null = null
  /** The fd table (files_struct): threads created with CLONE_FILES share these maps. */
  fds = new Map<string, File>()
  /** Regular (tmpfs) files open in this task, by fd name (the fd namespace is shared with `fds`). */
  tmpfiles = new Map<string, TmpFile>()
  /** The fd table's close_on_exec bits (O_CLOEXEC, FD_CLOEXEC), by fd name. */
  cloexec = new Set<string>()
  /** files_struct->count: the tasks sharing this fd table (CLONE_FILES). */
  files = { count: 1 }
  /** task->group_leader when this task is a thread of another (CLONE_THREAD); null: its own leader. */
  leader: Task | null = null
  /** The parent blocked in wait_for_vfork_done until this child execs or exits (task->vfork_done). */
  vforkParent: Task | null = null
  /** Set while this task waits in wait_for_vfork_done; the child's mm_release wakes it. */
  vforkWait: WaitQueue | null = null
  state: TaskState = 'running'
  /** Deferred ____fput work (task_work_add). */
  readonly taskWork: File[] = []
  constructor(
    readonly pid: number,
    readonly name: string,
    readonly owner: number,
    readonly parent: Task | null,
  ) {}
}
