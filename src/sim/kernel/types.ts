/**
 * Vocabulary shared by every layer of the model, with no behaviour: notifier events and ranges,
 * protection bits, findings, markers, invalidation records and the hook channels the kernel side
 * emits on. A leaf: it imports only types.
 */
import type { CallPath, MemoryGrowth, MemorySample } from '../ledger/ledger'
import type { Proc } from '../engine/engine'
import type { Kernel } from './context'
import type { File, MmStruct } from './objects'

export const PROT_READ = 1
export const PROT_WRITE = 2
export const PROT_EXEC = 4

export type NotifyEvent = 'UNMAP' | 'CLEAR' | 'PROTECTION_VMA' | 'PROTECTION_PAGE' | 'SOFT_DIRTY' | 'RELEASE' | 'MIGRATE' | 'EXCLUSIVE'

/** struct mmu_notifier_range. Pages are 4 KiB page numbers; end is exclusive. */
export interface NotifierRange {
  readonly mm: MmStruct
  readonly start: number
  readonly end: number
  readonly event: NotifyEvent
  readonly blockable: boolean
  /** Device index that caused it (MIGRATE / EXCLUSIVE owner), or -1. */
  readonly owner: number
}

export type FindingKind = 'use_after_free' | 'double_free' | 'refcount_underflow' | 'invariant' | 'livelock' | 'warn'

export interface Finding {
  kind: FindingKind
  t: number
  message: string
  /** For kind = invariant: its number (kernel/invariants.ts, docs/domain.md). */
  invariant?: number
  object?: string
  allocPath?: CallPath
  freePath?: CallPath | null
  accessPath?: CallPath
}

export type MarkerKind =
  | 'spawn'
  | 'fork'
  | 'exit'
  | 'close'
  | 'open'
  | 'mirror'
  | 'release'
  | 'notifier_release'
  | 'mmput'
  | '__mmput'
  | '__mmdrop'
  | 'free_notifier'
  | 'driver_free'
  | 'pasid_free'
  | 'oom_kill'
  | 'oom_reaper'
  | 'exec'
  | 'vfork_done'
  | 'dup'
  | 'sendmsg'
  | 'recvmsg'

export interface Marker {
  t: number
  kind: MarkerKind
  label: string
}

export interface InvalidationRecord {
  t: number
  event: NotifyEvent | 'SECONDARY_TLB'
  mm: string
  /** Byte addresses. */
  start: number
  end: number
  device: string
  mechanism: string
  pages: number
  cost: number
}

/**
 * One `Kernel.count` call: add `by` to the counter `name`. The payload object is reused from call
 * to call (counters are on the hot path): listeners read it during the call and never keep it.
 */
export interface CounterEvent {
  name: string
  by: number
}

/** A step begins (the interpreter): its ordinal among executed steps, source line and operation. */
export interface StepBegin {
  /** Ordinal of this step among the steps executed so far (repeats unrolled), from 0. */
  index: number
  line: number
  op: string
  /** The task the step names, if any. */
  task: string | null
  /** Iteration of the innermost `repeat` (0 outside one). */
  round: number
  t: number
  /**
   * The interpreter's state at the step's begin, read-only (it holds the outcome of the step
   * before). Typed by the layer that knows the interpreter: `StepView` in world.ts.
   */
  view: unknown
}

/**
 * One call of `__mmu_notifier_invalidate_range_start` (made only when the mm has subscriptions,
 * as `mmu_notifier_invalidate_range_start` checks `mm_has_notifiers`). Page indices.
 */
export interface NotifierRangeCall {
  t: number
  mm: MmStruct
  event: NotifyEvent
  start: number
  end: number
  /** Device index of the owner (MIGRATE / EXCLUSIVE), or -1 (NULL). */
  owner: number
  blockable: boolean
}

/** One interval subscription's `->invalidate` callback (e.g. `dmirror_interval_invalidate`). */
export interface IntervalInvalidateCall {
  t: number
  mm: MmStruct
  /** The subscription's ledger object (identifies it across calls). */
  sub: number
  event: NotifyEvent
  start: number
  end: number
  owner: number
}

/**
 * An address-space change finished: its CPU PTEs are changed and invalidate_range_end returned
 * (munmap, madvise, mprotect and the other range operations, fork's COW write-protect, exit_mmap's
 * unmap). Invariant observers (a mirror's NO_STALE_DEVICE_PTE check) subscribe to it.
 */
export interface RangeEndCall {
  range: NotifierRange
  path: CallPath
}

/**
 * A duration the timeline draws as a slice: an SRCU grace period (call_srcu → its callback), a
 * workqueue item (the kworker runs it), a fault (handle_mm_fault over a range). `begin` and `end`
 * carry the same `id`. The payload object is reused by the emitter: read it now, never keep it.
 */
export interface SpanEvent {
  phase: 'begin' | 'end'
  id: number
  kind: 'srcu_gp' | 'work' | 'fault'
  label: string
  /**
   * A fault's begin: pages [start, end) of the mm labelled `mm`, written or read, and who asked
   * (the last element of the fault's call path); '' / 0 / false otherwise. Values, not a text or
   * a closure: a listener that keeps the fault describes it when it needs to (faults are many).
   */
  mm: string
  start: number
  end: number
  write: boolean
  via: string
}

export interface HookChannels extends Record<string, unknown> {
  span: SpanEvent
  invalidation: InvalidationRecord
  step: StepBegin
  notifier_range: NotifierRangeCall
  interval_invalidate: IntervalInvalidateCall
  range_end: RangeEndCall
  marker: Marker
  finding: Finding
  counter: CounterEvent
  /** The ledger's memory at the end of a time stamp (reused payload, see MemorySample). */
  memory: MemorySample
  /** Every allocation (positive charge), with live bytes by type after it (reused payload). */
  memory_growth: MemoryGrowth
}

/**
 * One entry of the mmput notifier chain (the 2014 HMM proposal's hook, never merged): run by
 * __mmput before exit_mmap while the mm is still whole.
 */
export type MmputNotifier = (k: Kernel, mm: MmStruct, path: CallPath) => Proc<void>

/** struct file_operations, the part the model calls: ->release from __fput. */
export interface FileOperations {
  /** Names the path element of the release (`<name>.release`). */
  readonly name: string
  release(k: Kernel, file: File, path: CallPath): Proc<void>
}

/**
 * struct dev_pagemap_ops (include/linux/memremap.h), the part the model calls: how the core mm
 * reaches the driver that owns a device page (`page->pgmap->ops`). The model passes the address
 * space and the virtual pages the device page was mapped at (test_hmm finds its dmirror from the
 * page: `page->zone_device_data`).
 */
export interface DevPagemapOps {
  /**
   * ->migrate_to_ram (do_swap_page on a device-private entry): the pages [page, page + n) of `mm`
   * were copied back to system memory; the driver forgets its device entries for them
   * (dmirror_devmem_fault → dmirror_devmem_fault_alloc_and_copy erases them from its page table).
   */
  migrate_to_ram(mm: MmStruct, page: number, n: number): void
  /**
   * ->page_free (free_zone_device_folio): the device page that backed [page, page + n) of `mm` was
   * migrated off the device (migrate_vma_finalize, migrate_device_finalize); the driver forgets it.
   */
  page_free(mm: MmStruct, page: number, n: number): void
}

/** struct dev_pagemap: one device's memory as the core mm sees it (page->pgmap). */
export interface DevPagemap {
  /** MEMORY_DEVICE_PRIVATE or MEMORY_DEVICE_COHERENT. */
  readonly type: 'private' | 'coherent'
  /** The device index (pgmap->owner). */
  readonly owner: number
  /** Set by the driver that registers the memory (memremap_pages). */
  readonly ops: DevPagemapOps
}
