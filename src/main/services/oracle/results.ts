/**
 * The oracle's results document (`hmmlab oracle --json`, `--report FILE.json`): per scenario both
 * sides' raw per-step observations and the comparison, the kernel release it ran, the declarations
 * used. `docs/fidelity.md`'s status table is generated from it (fidelity-table.ts).
 *
 * In memory (`OracleResults`) every side's invalidations are listed one by one. On disk
 * (`hmmlab-oracle-results/2`) each list is run-length encoded (`packInvalidations`): a test's
 * 1024 pages of EXCLUSIVE, each seen by range_start and then by the interval subscriber, are one
 * run of a two-item pattern repeated 1024 times one page further each time. That is lossless and
 * made a full `npm run test:kernel` document 22 times smaller (62.8 MB → 2.9 MB). Documents of
 * format 1 (every invalidation written out) are still read.
 */
import { z } from 'zod'
import {
  MMU_NOTIFY_EVENTS,
  OracleInvalidationSchema,
  OracleSideSchema,
  OracleStepSchema,
  type OracleInvalidation,
  type OracleSide,
} from '../../../shared/oracle'
import { COMPARED_FIELDS } from './declarations'

/** The format written (packed invalidations). */
export const ORACLE_RESULTS_FORMAT = 'hmmlab-oracle-results/2'
/** The first format: every invalidation written out (read, never written). */
export const ORACLE_RESULTS_FORMAT_V1 = 'hmmlab-oracle-results/1'

const DifferenceSchema = z.strictObject({
  step: z.number().int().nullable(),
  line: z.number().int(),
  op: z.string(),
  task: z.string().nullable(),
  field: z.enum(COMPARED_FIELDS),
  subject: z.string(),
  kernel: z.string(),
  simulator: z.string(),
  events: z.array(z.enum(MMU_NOTIFY_EVENTS)),
  status: z.enum(['new', 'known']),
  known: z.string().nullable(),
})

export const ComparisonSchema = z.strictObject({
  scenario: z.strictObject({ name: z.string(), file: z.string() }),
  design: z.string(),
  verdict: z.enum(['agree', 'known', 'differ']),
  differences: z.array(DifferenceSchema),
  tolerated: z.array(z.strictObject({ id: z.string(), step: z.number().int().nullable(), line: z.number().int(), op: z.string(), detail: z.string() })),
  skipped: z.array(z.strictObject({ field: z.string(), why: z.string(), steps: z.number().int() })),
  counts: z.strictObject({
    steps: z.number().int(),
    kernel: z.strictObject({ items: z.number().int(), outside: z.number().int() }),
    simulator: z.strictObject({ items: z.number().int(), outside: z.number().int() }),
  }),
})

/**
 * A run of invalidations: `items` in order, repeated `n` times (default 1), every slice's first
 * page `d` pages further (default 0; negative for a walk downwards) on each repetition.
 */
export const InvalidationRunSchema = z.strictObject({
  n: z.number().int().min(2).optional(),
  d: z.number().int().optional(),
  items: z.array(OracleInvalidationSchema).min(1),
})
export type InvalidationRun = z.infer<typeof InvalidationRunSchema>

/** A side as written in a results document: its invalidation lists packed. */
export const PackedSideSchema = OracleSideSchema.extend({
  steps: z.array(OracleStepSchema.extend({ invalidations: z.array(InvalidationRunSchema) })),
  trailing: z.array(InvalidationRunSchema),
})
export type PackedSide = z.infer<typeof PackedSideSchema>

function outcomeSchema<S extends z.ZodType>(side: S) {
  return z.discriminatedUnion('status', [
    z.strictObject({
      status: z.literal('compared'),
      file: z.string(),
      name: z.string(),
      comparison: ComparisonSchema,
      kernel: side,
      simulator: side,
    }),
    z.strictObject({ status: z.literal('invalid'), file: z.string(), name: z.string().nullable(), message: z.string() }),
    z.strictObject({
      status: z.literal('inexpressible'),
      file: z.string(),
      name: z.string(),
      unsupported: z.strictObject({ index: z.number().int(), line: z.number().int(), op: z.string(), why: z.string() }),
    }),
    z.strictObject({ status: z.literal('guest_failed'), file: z.string(), name: z.string(), message: z.string(), console_tail: z.string() }),
  ])
}

export const ScenarioOutcomeSchema = outcomeSchema(OracleSideSchema)
export type ScenarioOutcome = z.infer<typeof ScenarioOutcomeSchema>

export const HmmTestRowSchema = z.strictObject({
  fixture: z.string(),
  test: z.string(),
  kernel: z.enum(['pass', 'fail', 'skip', 'absent']),
  /** Where the test comes from: in the kernel's own hmm-tests.c that ran, in our scenarios (newer file), or both. */
  source: z.enum(['both', 'kernel only', 'scenarios only']),
  simulator: z.enum(['passed', 'failed', 'stopped', 'absent']),
  scenario: z.string().nullable(),
  agree: z.boolean().nullable(),
  message: z.string().optional(),
})
export type HmmTestRow = z.infer<typeof HmmTestRowSchema>

/**
 * The kernel rules the simulator followed (src/sim/kernel/version.ts): the version the guest's
 * release maps to, and every behaviour of the table with whether that version has it. Absent in
 * documents written before the simulator followed the guest's version (it followed mainline).
 */
export const SimulatedKernelSchema = z.strictObject({
  version: z.string(),
  release: z.string(),
  note: z.string().nullable(),
  rules: z.array(z.strictObject({ id: z.string(), since: z.string(), has: z.boolean(), decided_by: z.string() })),
})
export type SimulatedKernel = z.infer<typeof SimulatedKernelSchema>

/** One line on the rules the simulator followed: "kernel 6.12 rules (release 6.12.118): without …". */
export function describeSimulatedKernel(k: SimulatedKernel | undefined): string {
  if (!k) return 'simulator rules: mainline (a document written before the simulator followed the guest)'
  const has = k.rules.filter((r) => r.has).map((r) => `${r.id} (${r.since})`)
  const lacks = k.rules.filter((r) => !r.has).map((r) => `${r.id} (${r.since})`)
  return (
    `simulated under kernel ${k.version} rules (release ${k.release}): ` +
    [has.length > 0 ? `with ${has.join(', ')}` : '', lacks.length > 0 ? `without ${lacks.join(', ')}` : ''].filter((x) => x).join('; ') +
    (k.note ? ` (${k.note})` : '')
  )
}

function resultsSchema<F extends string, O extends z.ZodType>(format: F, outcome: O) {
  return z.strictObject({
    format: z.literal(format),
    created: z.string(),
    design: z.string(),
    kernel: z.strictObject({ release: z.string(), accel: z.string(), source: z.string(), image: z.string() }).nullable(),
    simulator: z.strictObject({ version: z.string(), kernel: SimulatedKernelSchema.optional() }),
    declarations: z.strictObject({
      files: z.strictObject({ tolerances: z.string(), known: z.string() }),
      tolerances: z.array(z.strictObject({ id: z.string(), rule: z.string(), field: z.string(), kernel: z.string(), evidence: z.string() })),
      known: z.array(z.strictObject({ id: z.string(), field: z.string(), kernel: z.string(), evidence: z.string(), why: z.string(), seen: z.boolean() })),
    }),
    scenarios: z.array(outcome),
    hmm_tests: z.array(HmmTestRowSchema).nullable(),
    summary: z.strictObject({
      agree: z.number().int(),
      known: z.number().int(),
      differ: z.number().int(),
      inexpressible: z.number().int(),
      invalid: z.number().int(),
      guest_failed: z.number().int(),
    }),
  })
}

/** The results in memory: every invalidation listed (what the comparison and the reports read). */
export const OracleResultsSchema = resultsSchema(ORACLE_RESULTS_FORMAT, ScenarioOutcomeSchema)
export type OracleResults = z.infer<typeof OracleResultsSchema>
/** The results document as written (format 2): the same, with the sides' invalidations packed. */
export const OracleResultsDocumentSchema = resultsSchema(ORACLE_RESULTS_FORMAT, outcomeSchema(PackedSideSchema))
export type OracleResultsDocument = z.infer<typeof OracleResultsDocumentSchema>
/** A document of format 1 (every invalidation written out). */
export const OracleResultsV1Schema = resultsSchema(ORACLE_RESULTS_FORMAT_V1, ScenarioOutcomeSchema)

/** Whether `b` is `a` with every slice's first page `d` pages further. */
function sameShifted(a: OracleInvalidation, b: OracleInvalidation, d: number): boolean {
  if (a.via !== b.via || a.event !== b.event || a.task !== b.task || a.whole !== b.whole || a.outside_pages !== b.outside_pages || a.owner !== b.owner)
    return false
  if (a.slices.length !== b.slices.length) return false
  for (let i = 0; i < a.slices.length; i++) {
    const x = a.slices[i] as OracleInvalidation['slices'][number]
    const y = b.slices[i] as OracleInvalidation['slices'][number]
    if (x.region !== y.region || x.pages !== y.pages || x.first + d !== y.first) return false
  }
  return true
}

function shifted(a: OracleInvalidation, d: number): OracleInvalidation {
  return d === 0 || a.slices.length === 0 ? a : { ...a, slices: a.slices.map((s) => ({ ...s, first: s.first + d })) }
}

/** The longest pattern a run repeats (range_start + interval pairs, and a little more). */
const MAX_PERIOD = 4

/**
 * Run-length encodes an ordered invalidation list, losslessly: at each position the pattern of
 * 1..4 items whose repetitions (each moved by one stride) cover the most items; a lone item is a
 * run of one.
 */
export function packInvalidations(list: readonly OracleInvalidation[]): InvalidationRun[] {
  const out: InvalidationRun[] = []
  let i = 0
  while (i < list.length) {
    let best = { covered: 1, p: 1, d: 0, n: 1 }
    for (let p = 1; p <= MAX_PERIOD && i + 2 * p <= list.length; p++) {
      const a = list[i] as OracleInvalidation
      const b = list[i + p] as OracleInvalidation
      const d = a.slices[0] && b.slices[0] ? b.slices[0].first - a.slices[0].first : 0
      let n = 1
      while (i + (n + 1) * p <= list.length) {
        let all = true
        for (let j = 0; j < p && all; j++) all = sameShifted(list[i + j] as OracleInvalidation, list[i + n * p + j] as OracleInvalidation, n * d)
        if (!all) break
        n++
      }
      if (n >= 2 && n * p > best.covered) best = { covered: n * p, p, d, n }
    }
    const items = list.slice(i, i + best.p)
    out.push(best.n > 1 ? (best.d !== 0 ? { n: best.n, d: best.d, items } : { n: best.n, items }) : { items })
    i += best.covered
  }
  return out
}

/** A packed list that expands to more than this is refused (a document cannot make us bloat). */
export const MAX_UNPACKED_INVALIDATIONS = 20_000_000

/** Expands packed runs; `budget.left` bounds the items of a whole document; `where` names the list in errors. */
export function unpackInvalidations(runs: readonly InvalidationRun[], where: string, budget = { left: MAX_UNPACKED_INVALIDATIONS }): OracleInvalidation[] {
  const out: OracleInvalidation[] = []
  runs.forEach((r, ri) => {
    const n = r.n ?? 1
    const d = r.d ?? 0
    budget.left -= n * r.items.length
    if (budget.left < 0) throw new Error(`${where}.${ri}: expands past ${MAX_UNPACKED_INVALIDATIONS} invalidations in the document`)
    for (const it of r.items)
      for (const sl of it.slices)
        if (sl.first + (n - 1) * d < 0) throw new Error(`${where}.${ri}: repeating slice ${sl.region}/${sl.first} ${n} times by ${d} pages goes below page 0`)
    for (let k = 0; k < n; k++) for (const it of r.items) out.push(shifted(it, k * d))
  })
  return out
}

export function packSide(side: OracleSide): PackedSide {
  return { ...side, steps: side.steps.map((s) => ({ ...s, invalidations: packInvalidations(s.invalidations) })), trailing: packInvalidations(side.trailing) }
}

export function unpackSide(side: PackedSide, where: string, budget = { left: MAX_UNPACKED_INVALIDATIONS }): OracleSide {
  return {
    ...side,
    steps: side.steps.map((s, i) => ({ ...s, invalidations: unpackInvalidations(s.invalidations, `${where}.steps.${i}.invalidations`, budget) })),
    trailing: unpackInvalidations(side.trailing, `${where}.trailing`, budget),
  }
}

/** The document to write for these results (format 2). */
export function encodeResults(r: OracleResults): OracleResultsDocument {
  return {
    ...r,
    format: ORACLE_RESULTS_FORMAT,
    scenarios: r.scenarios.map((o) => (o.status === 'compared' ? { ...o, kernel: packSide(o.kernel), simulator: packSide(o.simulator) } : o)),
  }
}

/** The document's JSON text (compact unless `indent`). */
export function resultsJson(r: OracleResults, indent?: number): string {
  return JSON.stringify(encodeResults(r), null, indent)
}

/** A results document that does not fit; `where` is the path of the first field that does not. */
export class ResultsFormatError extends Error {}

/**
 * Reads a parsed results document of either format into memory (format 2's runs expanded);
 * throws ResultsFormatError naming the first field that does not fit.
 */
export function decodeResults(json: unknown): OracleResults {
  const format = json !== null && typeof json === 'object' ? (json as { format?: unknown }).format : undefined
  const issue = (e: z.ZodError): string => {
    const i = e.issues[0]
    return `${i?.path.map(String).join('.') || '(document)'}: ${i?.message ?? 'invalid'}`
  }
  if (format === ORACLE_RESULTS_FORMAT_V1) {
    const r = OracleResultsV1Schema.safeParse(json)
    if (!r.success) throw new ResultsFormatError(issue(r.error))
    return { ...r.data, format: ORACLE_RESULTS_FORMAT }
  }
  const r = OracleResultsDocumentSchema.safeParse(json)
  if (!r.success) throw new ResultsFormatError(issue(r.error))
  const budget = { left: MAX_UNPACKED_INVALIDATIONS }
  try {
    return {
      ...r.data,
      scenarios: r.data.scenarios.map((o, i) =>
        o.status === 'compared'
          ? { ...o, kernel: unpackSide(o.kernel, `scenarios.${i}.kernel`, budget), simulator: unpackSide(o.simulator, `scenarios.${i}.simulator`, budget) }
          : o,
      ),
    }
  } catch (e) {
    throw new ResultsFormatError(e instanceof Error ? e.message : String(e))
  }
}

/** Whether a parsed JSON value says it is a results document (either format). */
export function isResultsFormat(format: unknown): boolean {
  return format === ORACLE_RESULTS_FORMAT || format === ORACLE_RESULTS_FORMAT_V1
}

/** The exit code for a results document: 2 invalid input or not run, 1 a new difference, else 0. */
export function exitCodeOf(r: Pick<OracleResults, 'summary'>, opts: { inexpressibleIsError: boolean }): 0 | 1 | 2 {
  const s = r.summary
  if (s.invalid > 0 || s.guest_failed > 0 || (opts.inexpressibleIsError && s.inexpressible > 0)) return 2
  if (s.differ > 0) return 1
  return 0
}

export function summarise(outcomes: readonly ScenarioOutcome[]): OracleResults['summary'] {
  const s = { agree: 0, known: 0, differ: 0, inexpressible: 0, invalid: 0, guest_failed: 0 }
  for (const o of outcomes) {
    if (o.status === 'compared') s[o.comparison.verdict]++
    else s[o.status]++
  }
  return s
}
