/**
 * The result of one run as the app, the reports and comparisons read it (stored as
 * `runs/<id>/result.json`, its time series in `series.json`). The simulator's own result document
 * is mapped into this shape by the run worker, so views and reports depend on this one contract.
 *
 * Units: times are simulated nanoseconds since the start of the run; sizes are bytes; costs are
 * nanoseconds. Large per-event tables are columnar (one array per column) to stay compact.
 */
import { z } from 'zod'
import { SeriesData } from './runs'
import { MEM_TYPE_NAMES } from './scenario'

/** Object types of the ledger, in the kernel's words; memory series are named `memory.<type>`. */
export const OBJECT_TYPES = MEM_TYPE_NAMES
export const ObjectType = z.string()

/** Invalidation mechanisms, for the cost breakdown. */
export const MECHANISMS = ['cpu_tlb', 'cpu_shootdown', 'gpu_tlb', 'iotlb_psi', 'iotlb_dsi', 'ats', 'device_pt'] as const

export const ExpectOutcome = z.object({
  /** Index of the `expect` step in the scenario (0-based) and its source line, when known. */
  step: z.number().int().nonnegative(),
  line: z.number().int().positive().optional(),
  check: z.string(),
  passed: z.boolean(),
  expected: z.string().optional(),
  actual: z.string().optional(),
})

export const CallPath = z.object({ label: z.string(), frames: z.array(z.string()) })

export const Finding = z.object({
  kind: z.string(),
  severity: z.enum(['error', 'warning', 'info']),
  message: z.string(),
  /** Stable across seeds (no addresses or times): used to diff findings between runs. */
  signature: z.string(),
  at: z.number(),
  paths: z.array(CallPath),
})
export type Finding = z.infer<typeof Finding>

export const Leak = z.object({
  objectType: ObjectType,
  /** Who the memory is held for (e.g. "mm of pid 100 (A)"). */
  owner: z.string(),
  /** Who still holds it (e.g. "fd 3 of pid 101 (B)"). */
  heldBy: z.string().optional(),
  count: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  byteSeconds: z.number().nonnegative(),
  /** When the owner went away, and when the memory was finally freed (null: never, in this run). */
  since: z.number(),
  until: z.number().nullable(),
})
export type Leak = z.infer<typeof Leak>

/** One row per invalidation delivered to one device/mechanism; strings are indexes into `dict`. */
export const InvalidationTable = z.object({
  t: z.array(z.number()),
  event: z.array(z.number().int()),
  start: z.array(z.number()),
  end: z.array(z.number()),
  device: z.array(z.number().int()),
  mechanism: z.array(z.number().int()),
  costNs: z.array(z.number()),
  dict: z.object({ event: z.array(z.string()), device: z.array(z.string()), mechanism: z.array(z.string()) }),
})
export type InvalidationTable = z.infer<typeof InvalidationTable>

export const Lane = z.object({ id: z.string(), kind: z.enum(['task', 'device', 'iommu', 'kernel']), label: z.string() })

export const TraceEvent = z.object({
  t: z.number(),
  /** Duration for slices (invalidations, faults), absent for instants. */
  dur: z.number().optional(),
  lane: z.string(),
  name: z.string(),
  args: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
})

export const Marker = z.object({ t: z.number(), kind: z.string(), label: z.string(), lane: z.string().optional() })

export const RunResult = z.object({
  schema: z.literal('hmmlab.result/1'),
  scenario: z.object({ name: z.string(), description: z.string().optional() }),
  design: z.string(),
  seed: z.number().int(),
  /** Simulated time at the end of the run, ns. */
  endTime: z.number(),
  /** Headline numbers (name → value); names are snake_case with a unit suffix (`_bytes`, `_ns`, `_count`). */
  metrics: z.record(z.string(), z.number()),
  expects: z.array(ExpectOutcome),
  findings: z.array(Finding),
  leaks: z.array(Leak),
  invalidations: InvalidationTable,
  markers: z.array(Marker),
  lanes: z.array(Lane),
  trace: z.object({ events: z.array(TraceEvent), dropped: z.number().int().nonnegative() }),
})
export type RunResult = z.infer<typeof RunResult>

/** The time series of a run: `memory.<type>` (bytes live), `leaked.<type>` (bytes held for gone owners), others as named. */
export const RunSeries = z.record(z.string(), SeriesData)
export type RunSeries = z.infer<typeof RunSeries>
