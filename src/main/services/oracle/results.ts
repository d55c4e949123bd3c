/**
 * The oracle's results document (`hmmlab oracle --json`, `--report FILE.json`): per scenario both
 * sides' raw per-step observations and the comparison, the kernel release it ran, the declarations
 * used. `docs/fidelity.md`'s status table is generated from it (fidelity-table.ts).
 */
import { z } from 'zod'
import { MMU_NOTIFY_EVENTS, OracleSideSchema } from '../../../shared/oracle'
import { COMPARED_FIELDS } from './declarations'

export const ORACLE_RESULTS_FORMAT = 'hmmlab-oracle-results/1'

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

export const ScenarioOutcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('compared'),
    file: z.string(),
    name: z.string(),
    comparison: ComparisonSchema,
    kernel: OracleSideSchema,
    simulator: OracleSideSchema,
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

export const OracleResultsSchema = z.strictObject({
  format: z.literal(ORACLE_RESULTS_FORMAT),
  created: z.string(),
  design: z.string(),
  kernel: z.strictObject({ release: z.string(), accel: z.string(), source: z.string(), image: z.string() }).nullable(),
  simulator: z.strictObject({ version: z.string() }),
  declarations: z.strictObject({
    files: z.strictObject({ tolerances: z.string(), known: z.string() }),
    tolerances: z.array(z.strictObject({ id: z.string(), rule: z.string(), field: z.string(), kernel: z.string(), evidence: z.string() })),
    known: z.array(z.strictObject({ id: z.string(), field: z.string(), kernel: z.string(), evidence: z.string(), why: z.string(), seen: z.boolean() })),
  }),
  scenarios: z.array(ScenarioOutcomeSchema),
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
export type OracleResults = z.infer<typeof OracleResultsSchema>

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
