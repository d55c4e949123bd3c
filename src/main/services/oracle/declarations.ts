/**
 * The oracle's declarations, kept in the repository next to the guest sources:
 * - `oracle/tolerances.yaml`: known kernel races and nondeterminism; a tolerance relaxes one field
 *   of the comparison for the scenarios and steps it names, and every use is listed in the report.
 * - `oracle/known-differences.yaml`: disagreements that are understood (with the kernel's evidence)
 *   and stay until the simulator is fixed; the oracle reports them as "known" and still exits 0.
 * Both are validated; a bad entry is an error naming the file, line and field.
 */
import { readRegularFileSync, SafeReadError } from '../safe-read'
import { checkTextLimits, SCENARIO_LIMITS } from '../../../shared/text-limits'
import { join } from 'node:path'
import { LineCounter, parseDocument } from 'yaml'
import { z } from 'zod'
import { MMU_NOTIFY_EVENTS } from '../../../shared/oracle'

/** Fields of a step the comparison looks at (difference and declaration vocabulary). */
export const COMPARED_FIELDS = ['steps', 'ret', 'cpages', 'faults', 'snapshot', 'data', 'pagemap', 'vm_pte_kb', 'rss_anon_kb', 'invalidations'] as const
export type ComparedField = (typeof COMPARED_FIELDS)[number]

const Applies = z.strictObject({
  scenarios: z.array(z.string().min(1)).min(1).describe('scenario names or file names; * matches any run of characters'),
  lines: z.array(z.number().int().min(0)).optional().describe('only steps on these scenario lines'),
  ops: z.array(z.string().min(1)).optional().describe('only steps of these operations'),
})

const InvalidationMatch = z.strictObject({
  event: z.enum(MMU_NOTIFY_EVENTS).optional(),
  via: z.enum(['range_start', 'interval']).optional(),
  region: z.string().optional().describe('region name (or * for whole-address-space events)'),
})

export const ToleranceSchema = z.discriminatedUnion('rule', [
  z.strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case words joined by -'),
    rule: z.literal('count_may_differ').describe('matching invalidations are taken out of the ordered comparison; their counts are listed'),
    field: z.literal('invalidations'),
    match: InvalidationMatch,
    kernel: z.string().min(1).describe('the kernel function that decides it'),
    evidence: z.string().min(1),
    applies: Applies,
  }),
  z.strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case words joined by -'),
    rule: z.literal('within').describe('the change of the value over the step may differ by up to `kb`'),
    field: z.enum(['vm_pte_kb', 'rss_anon_kb']),
    kb: z.number().int().min(0),
    kernel: z.string().min(1),
    evidence: z.string().min(1),
    applies: Applies,
  }),
  z.strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case words joined by -'),
    rule: z.literal('skip').describe('the field is not compared on the matching steps'),
    field: z.enum(COMPARED_FIELDS),
    kernel: z.string().min(1),
    evidence: z.string().min(1),
    applies: Applies,
  }),
])
export type Tolerance = z.infer<typeof ToleranceSchema>

export const KnownDifferenceSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case words joined by -'),
  field: z.enum(COMPARED_FIELDS),
  match: InvalidationMatch.optional().describe('for invalidations: the event (and via, region) of the differing items'),
  applies: Applies,
  kernel: z.string().min(1).describe('the kernel function that decides it'),
  evidence: z.string().min(1).describe('what the kernel did (trace, counts)'),
  why: z.string().min(1).describe('why it stays for now'),
  issue: z.string().optional(),
})
export type KnownDifference = z.infer<typeof KnownDifferenceSchema>

export interface Declarations {
  tolerances: Tolerance[]
  known: KnownDifference[]
  /** Where they came from (for the report). */
  files: { tolerances: string; known: string }
}

export class DeclarationError extends Error {}

/** The largest declarations file read (the shipped ones are under 16 KB). */
const DECLARATIONS_MAX_BYTES = 4 << 20

function loadList<T>(file: string, key: string, schema: z.ZodType<T>): T[] {
  let text: string
  try {
    text = readRegularFileSync(file, { maxBytes: DECLARATIONS_MAX_BYTES, what: 'declarations' }).toString('utf8')
  } catch (e) {
    throw new DeclarationError(e instanceof SafeReadError ? e.message : `${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`)
  }
  return parseList(text, file, key, schema)
}

/** Parses `key: [entries]` from YAML text; errors name the file, line and field. */
export function parseList<T>(text: string, file: string, key: string, schema: z.ZodType<T>): T[] {
  // size, nesting and aliases first: yaml's composer and toJS recurse
  checkTextLimits(text, file, SCENARIO_LIMITS, (message) => new DeclarationError(message))
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const line = e?.pos ? lc.linePos(e.pos[0]).line : 0
    throw new DeclarationError(`${file}:${line}: ${e?.message ?? 'invalid YAML'}`)
  }
  const root = doc.toJS() as unknown
  if (root === null || typeof root !== 'object' || !Array.isArray((root as Record<string, unknown>)[key])) {
    throw new DeclarationError(`${file}:1: ${key}: expected a list of entries at the top level`)
  }
  const list = (root as Record<string, unknown[]>)[key] as unknown[]
  const out: T[] = []
  const ids = new Set<string>()
  list.forEach((entry, i) => {
    const r = schema.safeParse(entry)
    if (!r.success) {
      const issue = r.error.issues[0]
      const path = [key, i, ...(issue?.path ?? [])]
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined
      const node2 = node?.range ? node : (doc.getIn([key, i], true) as { range?: [number, number, number] } | undefined)
      const line = node2?.range ? lc.linePos(node2.range[0]).line : 0
      throw new DeclarationError(`${file}:${line}: ${path.map(String).join('.')}: ${issue?.message ?? 'invalid entry'}`)
    }
    const id = (r.data as { id: string }).id
    if (ids.has(id)) {
      const node = doc.getIn([key, i], true) as { range?: [number, number, number] } | undefined
      throw new DeclarationError(`${file}:${node?.range ? lc.linePos(node.range[0]).line : 0}: ${key}.${i}.id: "${id}" is declared twice`)
    }
    ids.add(id)
    out.push(r.data)
  })
  return out
}

/** Reads `oracle/tolerances.yaml` and `oracle/known-differences.yaml` under `root` (or the given files). */
export function loadDeclarations(root: string, files?: { tolerances?: string; known?: string }): Declarations {
  const tol = files?.tolerances ?? join(root, 'oracle', 'tolerances.yaml')
  const known = files?.known ?? join(root, 'oracle', 'known-differences.yaml')
  return {
    tolerances: loadList(tol, 'tolerances', ToleranceSchema as z.ZodType<Tolerance>),
    known: loadList(known, 'known_differences', KnownDifferenceSchema),
    files: { tolerances: tol, known },
  }
}

/** `*` matches any run of characters; everything else literally. */
export function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  )
  return re.test(s)
}

export interface StepRef {
  scenarioName: string
  scenarioFile: string
  line: number
  op: string
}

/** Whether an `applies` block covers a step of a scenario. */
export function appliesTo(a: z.infer<typeof Applies>, ref: StepRef): boolean {
  const base = ref.scenarioFile.split(/[\\/]/).pop() ?? ref.scenarioFile
  const scen = a.scenarios.some((p) => globMatch(p, ref.scenarioName) || globMatch(p, base) || globMatch(p, ref.scenarioFile))
  if (!scen) return false
  if (a.lines && !a.lines.includes(ref.line)) return false
  if (a.ops && !a.ops.includes(ref.op)) return false
  return true
}
