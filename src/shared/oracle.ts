/**
 * The oracle's observation document: what one side (a real kernel in a QEMU guest, or the
 * simulator) saw when it ran one scenario, step by step, in the same normalised shape, so the two
 * can be compared field by field. Addresses are never compared raw (the guest's layout is not the
 * simulator's): every range is given relative to the scenario's own regions.
 *
 * The kernel side is built from the guest executor's per-step records and the kprobe trace of
 * `__mmu_notifier_invalidate_range_start` (range_start), `dmirror_interval_invalidate` (interval:
 * what the mirror's interval subscription was called with) and `__mmu_notifier_release`. The
 * simulator side is built from the run's `step`, `notifier_range` and `interval_invalidate` hooks.
 *
 * Shared with the renderer: no Node imports.
 */
import { z } from 'zod'

export const ORACLE_FORMAT = 'hmmlab-oracle/1'

/** enum mmu_notifier_event (include/linux/mmu_notifier.h), in the kernel's order. */
export const MMU_NOTIFY_EVENTS = ['UNMAP', 'CLEAR', 'PROTECTION_VMA', 'PROTECTION_PAGE', 'SOFT_DIRTY', 'RELEASE', 'MIGRATE', 'EXCLUSIVE'] as const
export type MmuNotifyEvent = (typeof MMU_NOTIFY_EVENTS)[number]

/** One piece of an invalidated range that falls inside a scenario region, in 4 KiB pages. */
export const RegionSliceSchema = z.strictObject({
  region: z.string(),
  /** First page, relative to the region's start. */
  first: z.number().int().min(0),
  pages: z.number().int().min(1),
})
export type RegionSlice = z.infer<typeof RegionSliceSchema>

export const OracleInvalidationSchema = z.strictObject({
  /** range_start: a `__mmu_notifier_invalidate_range_start` call; interval: an interval subscription's ->invalidate. */
  via: z.enum(['range_start', 'interval']),
  event: z.enum(MMU_NOTIFY_EVENTS),
  /** The scenario task whose mm it concerns, or null when the mm is none of the tasks' (known at that step). */
  task: z.string().nullable(),
  /** True for [0, ULONG_MAX) (exit, clear_refs): then `slices` is empty. */
  whole: z.boolean(),
  /** The parts inside the scenario's regions of that task, in address order. */
  slices: z.array(RegionSliceSchema),
  /** Pages of the range outside every region of the task (stack, libraries, holes); 0 when whole. */
  outside_pages: z.number().int().min(0),
  /** The owner (`range->owner`): a scenario device name, or null (NULL). */
  owner: z.string().nullable(),
})
export type OracleInvalidation = z.infer<typeof OracleInvalidationSchema>

/** Per-region page-table state read after a step (/proc/self/pagemap on the kernel side). */
export const PagemapSummarySchema = z.strictObject({
  region: z.string(),
  pages: z.number().int().min(0),
  present: z.number().int().min(0),
  swapped: z.number().int().min(0),
  /** PM_MMAP_EXCLUSIVE: mapped by this process only. */
  exclusive: z.number().int().min(0),
  soft_dirty: z.number().int().min(0),
  /** Pages whose present PTE maps the shared zero page (kernel side: PFN equal to the zero page's, needs root). */
  zero_page: z.number().int().min(0).nullable(),
})
export type PagemapSummary = z.infer<typeof PagemapSummarySchema>

export const DataCheckSchema = z.strictObject({
  /** What was checked: "memory TASK REGION" or "buffer NAME". */
  what: z.string(),
  ok: z.boolean(),
  /** First page (relative to the checked range) whose token differed, when not ok. */
  first_bad_page: z.number().int().min(0).nullable(),
})

export const OracleStepSchema = z.strictObject({
  /** Ordinal among executed steps (repeats unrolled, `expect` steps included), from 0. */
  index: z.number().int().min(0),
  /** Line of the step in the user's scenario file. */
  line: z.number().int().min(0),
  op: z.string(),
  task: z.string().nullable(),
  ret: z.number().int().nullable(),
  cpages: z.number().int().nullable(),
  faults: z.number().int().nullable(),
  /** SNAPSHOT bytes (HMM_DMIRROR_SNAPSHOT), when the step took one. */
  snapshot: z.array(z.number().int().min(0).max(255)).nullable(),
  data: z.array(DataCheckSchema),
  pagemap: z.array(PagemapSummarySchema),
  /** VmPTE of the step's task after the step, KiB (null when not read). */
  vm_pte_kb: z.number().int().min(0).nullable(),
  rss_anon_kb: z.number().int().min(0).nullable(),
  /** Every invalidation the step caused, in the order they happened. */
  invalidations: z.array(OracleInvalidationSchema),
  /**
   * Set when the step began and never returned on this side (the simulator's `livelock` finding,
   * a task left blocked at the end of the run): the cause in a word or two, e.g. "livelock". Its
   * ret, cpages and faults are then null: there is no return code to report.
   */
  unfinished: z.string().min(1).optional(),
})
export type OracleStep = z.infer<typeof OracleStepSchema>

export const OracleSideSchema = z.strictObject({
  format: z.literal(ORACLE_FORMAT),
  side: z.enum(['kernel', 'simulator']),
  scenario: z.strictObject({ name: z.string(), file: z.string(), hash: z.string() }),
  design: z.string(),
  /** Kernel side: `uname -r` of the guest, its config hash, the accelerator; simulator side: the app version. */
  version: z.record(z.string(), z.string()),
  steps: z.array(OracleStepSchema),
  /** Invalidations after the last step (deferred work, the final exits). */
  trailing: z.array(OracleInvalidationSchema),
  /** Anything the side could not do or observe, in words (never silently dropped). */
  notes: z.array(z.string()),
})
export type OracleSide = z.infer<typeof OracleSideSchema>
