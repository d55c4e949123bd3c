/**
 * Sweeps: which scenario parameters vary in an experiment. Any parameter can take a list or a
 * numeric range: `design`, `seed`, or a path into the scenario, list items by index
 * (`machine.devices.0.tlb_entries`, `machine.iommus.0.iotlb_entries`, …). The cartesian product (or the axes zipped, or an explicit list of
 * parameter sets) becomes the runs. Pure functions, shared by the services, the CLI and the UI
 * (which shows how many runs a sweep makes before it starts).
 */
import { z } from 'zod'
import { ParamValue } from './runs'
import { isSeed, MAX_SEED } from './scenario'
import { FORBIDDEN_KEYS, forbiddenSegment } from './text-limits'

export const ParamPath = z
  .string()
  .max(256)
  .regex(
    /^(design|seed|[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*)$/,
    'a parameter: design, seed, or a dotted scenario path such as machine.devices.0.tlb_entries (list items by index)',
  )
  .refine((p) => forbiddenSegment(p) === undefined, 'not a scenario field: __proto__, constructor and prototype are refused in any part of a path')

/** An object without a prototype, for keys that come from users. */
function bare<V>(entries: Iterable<readonly [string, V]> = []): Record<string, V> {
  const out = Object.create(null) as Record<string, V>
  for (const [k, v] of entries) out[k] = v
  return out
}

export const SweepRange = z
  .object({ from: z.number(), to: z.number(), step: z.number().positive() })
  .refine((r) => r.to >= r.from, { message: 'a range goes up: its end (to) must be ≥ its start (from)', path: ['to'] })

export const SweepAxis = z.union([z.array(ParamValue).min(1), SweepRange])
export type SweepAxis = z.infer<typeof SweepAxis>

export const SweepSpec = z.object({
  /** `product`: every combination; `zip`: the i-th value of every axis together (equal lengths). */
  mode: z.enum(['product', 'zip']).default('product'),
  axes: z.record(ParamPath, SweepAxis).default({}),
  /** An explicit list of parameter sets, used instead of the axes when given. */
  list: z.array(z.record(ParamPath, ParamValue)).optional(),
})
export type SweepSpec = z.input<typeof SweepSpec>

/** The largest number of runs one experiment may make. */
export const MAX_RUNS_PER_EXPERIMENT = 10_000

export type ParameterSet = Record<string, ParamValue>

/** Expands a range into its values (inclusive, with float steps rounded to 12 significant digits). */
export function rangeValues(range: z.infer<typeof SweepRange>): number[] {
  const count = Math.floor((range.to - range.from) / range.step + 1e-9) + 1
  if (count > MAX_RUNS_PER_EXPERIMENT)
    throw new Error(`range ${range.from}..${range.to} step ${range.step} has ${count} values (limit ${MAX_RUNS_PER_EXPERIMENT})`)
  return Array.from({ length: count }, (_, i) => Number((range.from + i * range.step).toPrecision(12)))
}

/** The values of one axis. */
export function axisValues(axis: SweepAxis): ParamValue[] {
  return Array.isArray(axis) ? axis : rangeValues(axis)
}

/**
 * Parses a sweep, refusing pollution keys first: a key `__proto__` made by JSON.parse is an own
 * key that the schema would silently drop, so it is checked on the raw input.
 */
function parseSpec(input: SweepSpec): z.output<typeof SweepSpec> {
  const raw = input as { axes?: unknown; list?: unknown }
  const keyed = [raw?.axes, ...(Array.isArray(raw?.list) ? raw.list : [])]
  for (const o of keyed) {
    if (o === null || typeof o !== 'object') continue
    const bad = Object.keys(o).find((k) => forbiddenSegment(k) !== undefined)
    if (bad !== undefined)
      throw new Error(`sweep parameter ${bad}: not a scenario field (__proto__, constructor and prototype are refused in any part of a path)`)
  }
  return SweepSpec.parse(input)
}

/** Expands a sweep into parameter sets; an empty sweep is one run with no parameters. */
export function expandSweep(input: SweepSpec): ParameterSet[] {
  const spec = parseSpec(input)
  if (spec.list) {
    if (spec.list.length > MAX_RUNS_PER_EXPERIMENT) throw new Error(`the list has ${spec.list.length} runs (limit ${MAX_RUNS_PER_EXPERIMENT})`)
    return spec.list.length > 0 ? spec.list.map((p) => bare(Object.entries(p))) : [bare()]
  }
  const axes = Object.entries(spec.axes).map(([key, axis]) => [key, axisValues(axis)] as const)
  if (axes.length === 0) return [bare()]
  if (spec.mode === 'zip') {
    const n = axes[0]![1].length
    const uneven = axes.find(([, v]) => v.length !== n)
    if (uneven) throw new Error(`zip needs axes of equal length: ${axes[0]![0]} has ${n} values, ${uneven[0]} has ${uneven[1].length}`)
    return Array.from({ length: n }, (_, i) => bare(axes.map(([k, v]) => [k, v[i]!] as const)))
  }
  const total = axes.reduce((acc, [, v]) => acc * v.length, 1)
  if (total > MAX_RUNS_PER_EXPERIMENT) throw new Error(`the sweep makes ${total} runs (limit ${MAX_RUNS_PER_EXPERIMENT})`)
  let sets: ParameterSet[] = [bare()]
  for (const [key, values] of axes) sets = sets.flatMap((set) => values.map((v) => bare([...Object.entries(set), [key, v] as const])))
  return sets
}

/** Counts the runs a sweep makes without expanding it (for the sweep builder). */
export function countRuns(input: SweepSpec): number {
  const spec = parseSpec(input)
  if (spec.list) return Math.max(1, spec.list.length)
  const lengths = Object.values(spec.axes).map((a) => (Array.isArray(a) ? a.length : Math.floor((a.to - a.from) / a.step + 1e-9) + 1))
  if (lengths.length === 0) return 1
  return spec.mode === 'zip' ? (lengths[0] ?? 1) : lengths.reduce((a, b) => a * b, 1)
}

/** Parses a CLI value: numbers, booleans, else the string itself. */
export function parseParamValue(text: string): ParamValue {
  if (/^-?(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(text)) return Number(text)
  if (text === 'true' || text === 'false') return text === 'true'
  return text
}

/**
 * Parses one `--sweep` argument: `key=v1,v2,…` or `key=from..to[:step]` (step 1 by default).
 * Throws with the argument quoted and what was expected.
 */
export function parseSweepArg(arg: string): [string, SweepAxis] {
  const eq = arg.indexOf('=')
  if (eq <= 0) throw new Error(`--sweep ${JSON.stringify(arg)}: expected key=v1,v2 or key=from..to[:step]`)
  const key = arg.slice(0, eq)
  const value = arg.slice(eq + 1)
  const keyCheck = ParamPath.safeParse(key)
  if (!keyCheck.success) throw new Error(`--sweep ${JSON.stringify(arg)}: ${keyCheck.error.issues[0]?.message}`)
  const range = /^(-?[\d.]+)\.\.(-?[\d.]+)(?::([\d.]+))?$/.exec(value)
  if (range) {
    const [from, to, step] = [Number(range[1]), Number(range[2]), range[3] ? Number(range[3]) : 1]
    if (![from, to, step].every(Number.isFinite))
      throw new Error(`--sweep ${JSON.stringify(arg)}: ${JSON.stringify(value)} is not a range of numbers from..to[:step]`)
    if (to < from)
      throw new Error(`--sweep ${JSON.stringify(arg)}: the range goes down (${range[1]}..${range[2]}); a range goes up, e.g. ${key}=${range[2]}..${range[1]}`)
    const parsed = SweepRange.safeParse({ from, to, step })
    if (!parsed.success) throw new Error(`--sweep ${JSON.stringify(arg)}: ${parsed.error.issues[0]?.message}`)
    if (key === 'seed') checkSeeds(arg, [from, to])
    return [key, parsed.data]
  }
  const values = value.split(',').map((v) => v.trim())
  if (values.some((v) => v === '')) throw new Error(`--sweep ${JSON.stringify(arg)}: empty value in the list`)
  const parsed = values.map(parseParamValue)
  if (key === 'seed') checkSeeds(arg, parsed, values)
  return [key, parsed]
}

/** Throws unless every seed is an integer 0..MAX_SEED, naming the argument and the bad value as written. */
function checkSeeds(arg: string, seeds: readonly ParamValue[], written: readonly string[] = seeds.map(String)): void {
  const bad = seeds.findIndex((v) => !isSeed(v))
  if (bad >= 0) throw new Error(`--sweep ${JSON.stringify(arg)}: seed ${JSON.stringify(written[bad])} is not an integer 0..${MAX_SEED}`)
}

/**
 * Sets `value` at a dotted path in a plain scenario object (before validation). The parent of
 * the leaf must exist, so a typo in a path is an error rather than a silently ignored key.
 */
export function setScenarioParam(target: unknown, path: string, value: ParamValue): void {
  const parts = path.split('.')
  const bad = parts.find((p) => FORBIDDEN_KEYS.has(p))
  if (bad !== undefined) throw new Error(`sweep parameter ${path}: not a scenario field (${bad} is refused in any part of a path)`)
  let node: unknown = target
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!
    const next: unknown = node !== null && typeof node === 'object' && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined
    if (next === null || typeof next !== 'object') {
      throw new Error(`sweep parameter ${path}: the scenario has nothing at ${parts.slice(0, i + 1).join('.')}`)
    }
    node = next
  }
  const leaf = parts[parts.length - 1]!
  if (Array.isArray(node) && !/^\d+$/.test(leaf)) throw new Error(`sweep parameter ${path}: ${parts.slice(0, -1).join('.')} is a list; use an index`)
  ;(node as Record<string, unknown>)[leaf] = value
}
