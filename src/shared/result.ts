/**
 * The result document of one run (one scenario × one design × one seed): pure JSON data for the
 * CLI (`--json`), the UI (charts of memory over time by type, leaks, invalidation cost per event /
 * device / mechanism, a timeline of markers) and HTML reports. Series are plain number arrays.
 *
 * Shared with the browser renderer: no Node imports.
 */
import { z } from 'zod'
import { DESIGN_IDS, FINDING_KINDS, MEM_TYPE_NAMES } from './scenario'

const Num = z.number()
const CallPathSchema = z.array(z.string())
const BytesByType = z.strictObject(Object.fromEntries(MEM_TYPE_NAMES.map((t) => [t, Num])) as Record<(typeof MEM_TYPE_NAMES)[number], typeof Num>)
const SeriesByType = z.strictObject(Object.fromEntries(MEM_TYPE_NAMES.map((t) => [t, z.array(Num)])) as Record<(typeof MEM_TYPE_NAMES)[number], z.ZodArray<typeof Num>>)

export const FindingSchema = z.strictObject({
  kind: z.enum(FINDING_KINDS),
  t: Num.describe('simulated time, ns'),
  message: z.string(),
  invariant: Num.optional().describe('domain.md §7.4 number'),
  object: z.string().optional(),
  allocPath: CallPathSchema.optional(),
  freePath: CallPathSchema.nullable().optional(),
  accessPath: CallPathSchema.optional(),
})

export const InvalidationStatSchema = z.strictObject({
  event: z.string(),
  device: z.string(),
  mechanism: z.string(),
  count: Num,
  total_ns: Num,
  p50_ns: Num,
  p90_ns: Num,
  p99_ns: Num,
  max_ns: Num,
})

export const InvalidationRecordSchema = z.strictObject({
  t: Num,
  event: z.string(),
  mm: z.string(),
  start: Num.describe('byte address'),
  end: Num,
  device: z.string(),
  mechanism: z.string(),
  pages: Num,
  cost: Num.describe('ns'),
})

export const LeakRowSchema = z.strictObject({
  owner: z.string(),
  type: z.enum(MEM_TYPE_NAMES),
  bytesAtEnd: Num,
  peakBytes: Num,
  byteSeconds: Num,
  since: Num.nullable(),
  until: Num.nullable(),
})

export const ExpectResultSchema = z.strictObject({
  step: Num.describe('index in the flattened step log'),
  line: Num.describe('line in the scenario file (0 if unknown)'),
  t: Num,
  label: z.string(),
  pass: z.boolean(),
  details: z.array(z.string()).describe('one line per check: what was expected and what was found'),
})

export const StepLogSchema = z.strictObject({
  op: z.string(),
  line: Num,
  t0: Num,
  t1: Num,
  ret: Num.nullable(),
  cpages: Num.nullable(),
  faults: Num.nullable(),
})

export const RunResultSchema = z.strictObject({
  format: z.literal('hmmlab-result/1'),
  scenario: z.strictObject({ name: z.string(), file: z.string(), hash: z.string(), description: z.string() }),
  seed: Num,
  design: z.strictObject({ id: z.enum(DESIGN_IDS), title: z.string(), summary: z.string(), correct: z.boolean() }),
  status: z.enum(['passed', 'failed', 'stopped']),
  simulated_ns: Num,
  events: Num,
  metrics: z.strictObject({
    peak_bytes: BytesByType,
    final_bytes: BytesByType,
    leaked_bytes_end: Num,
    leaked_bytes_peak: Num,
    leak_byte_seconds: Num,
    invalidation_count: Num,
    invalidation_cost_ns: Num,
    invalidations_by: z.array(InvalidationStatSchema),
    device_tlbs: z.array(z.strictObject({ device: z.string(), hits: Num, misses: Num, page_flushes: Num, full_flushes: Num })),
    iommus: z.array(z.strictObject({ name: z.string(), vendor: z.string(), psi: Num, dsi: Num, ats: Num, qi_waits: Num, iotlb_hits: Num, iotlb_misses: Num })),
    counters: z.record(z.string(), Num),
    srcu_callbacks_pending: Num,
  }),
  series: z.strictObject({ t: z.array(Num).describe('ns'), bytes: SeriesByType, leaked: z.array(Num) }),
  markers: z.array(z.strictObject({ t: Num, kind: z.string(), label: z.string() })),
  invalidations: z.strictObject({ records: z.array(InvalidationRecordSchema), dropped: Num }),
  leaks: z.array(LeakRowSchema),
  live_at_end: z.array(z.strictObject({ type: z.string(), owner: z.string(), label: z.string(), bytes: Num, alloc_t: Num })),
  findings: z.array(FindingSchema),
  expects: z.array(ExpectResultSchema),
  steps: z.array(StepLogSchema),
  steps_dropped: Num,
  trace: z.strictObject({ records: z.array(z.strictObject({ t: Num, cat: z.string(), name: z.string(), detail: z.string() })), dropped: Num }),
})

export type RunResult = z.infer<typeof RunResultSchema>
export type FindingT = z.infer<typeof FindingSchema>
export type ExpectResult = z.infer<typeof ExpectResultSchema>
