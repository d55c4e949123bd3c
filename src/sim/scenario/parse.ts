/**
 * Scenario loading: YAML or JSON text → a validated Scenario. Every error names the file, the line,
 * the field path and what was expected (yaml's LineCounter maps node offsets to lines). Never
 * throws anything but ScenarioError.
 */
import { LineCounter, parseDocument, isNode, type Document } from 'yaml'
import { z } from 'zod'
import { COST_NAMES } from '../cost/model'
import { PAGE_SIZE } from '../kernel/page'
import { COUNTER_NAMES, COUNTERS, nearestNames } from '../../shared/counters'
import {
  ScenarioSchema,
  LEAF_STEPS,
  STEP_NAMES,
  parseSize,
  MODEL_ADDRESS_BYTES,
  DesignIdSchema,
  DESIGN_IDS,
  MachineSchema,
  CostOverridesSchema,
  type DesignIdT,
  type Scenario,
  type StepT,
} from '../../shared/scenario'
import { checkTextLimits, SCENARIO_LIMITS } from '../../shared/text-limits'

/** A bad scenario: the message names file, line, field and what was expected. */
export class ScenarioError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly field: string,
  ) {
    super(message)
    this.name = 'ScenarioError'
  }
}

/** A scenario with where it came from. */
export type LoadedScenario = Scenario & { source?: { file: string; hash: string; text?: string } }

const stepLines = new WeakMap<object, number>()

/** Line of a step object in its file (0 if unknown). */
export function lineOf(step: object): number {
  return stepLines.get(step) ?? 0
}

/** FNV-1a 64-bit (as two 32-bit halves) of a string, hex. */
export function hashText(s: string): string {
  let h1 = 0x811c9dc5
  let h2 = 0xcbf29ce4
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ (c + 0x9e), 0x01000193) >>> 0
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')
}

interface Issue {
  path: Array<string | number>
  message: string
}

function fieldName(path: Array<string | number>): string {
  if (path.length === 0) return '(document)'
  return clip(path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''), 200)
}

/**
 * At most `max` characters of a message part. A message quotes names from the file (a key, a task,
 * the tasks declared): a 200 KB name quoted in every issue made a 400 KB file's error 2.4 MB.
 */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`
}

/** Issues listed in one error; the rest are counted. A file of 250,000 bad steps is one screen, not 25 MB. */
const MAX_ISSUES = 200

function describeIssue(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case 'invalid_type':
      return `expected ${i.expected}${'input' in i && i.input === undefined ? ' (missing)' : ''}`
    case 'unrecognized_keys':
      return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`
    case 'invalid_value':
      return `expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'invalid_union': {
      return i.message && i.message !== 'Invalid input' ? i.message : 'value does not match any accepted form'
    }
    case 'too_small':
      return `expected ${i.origin === 'array' ? 'at least ' + String(i.minimum) + ' item(s)' : '≥ ' + String(i.minimum)}`
    case 'too_big':
      return `expected ${i.origin === 'array' ? 'at most ' + String(i.maximum) + ' item(s)' : '≤ ' + String(i.maximum)}`
    case 'invalid_format':
      return i.message
    default:
      return i.message
  }
}

function zodIssues(err: z.ZodError, base: Array<string | number>): Issue[] {
  return err.issues.map((i) => {
    const path = [...base, ...(i.path as Array<string | number>)]
    if (i.code === 'unrecognized_keys' && i.keys.length === 1) path.push(i.keys[0] as string)
    return { path, message: describeIssue(i) }
  })
}

function lineFor(doc: Document, lc: LineCounter, path: Array<string | number>): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true)
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line
    // a key whose value is null still has a pair: look at the key
    if (n > 0) {
      const parent = doc.getIn(path.slice(0, n - 1), true) as unknown
      if (parent && typeof parent === 'object' && 'items' in (parent as Record<string, unknown>)) {
        const items = (parent as { items: Array<{ key?: unknown }> }).items
        for (const it of items) {
          const k = it.key as { value?: unknown; range?: [number, number, number] } | undefined
          if (k && k.value === path[n - 1] && k.range) return lc.linePos(k.range[0]).line
        }
      }
    }
  }
  return 1
}

/**
 * Checks each step against its schema. A step that fails is left out of `out`, but its raw body
 * goes to `failed` so that the names it declares (a task, a region, an fd) still count as declared
 * when the other steps are checked: one bad field then gives one error, not one per later use.
 */
function validateSteps(
  raw: unknown,
  base: Array<string | number>,
  issues: Issue[],
  out: StepT[],
  paths: Array<Array<string | number>>,
  failed: Array<Record<string, unknown>>,
): void {
  if (!Array.isArray(raw)) {
    issues.push({ path: base, message: 'expected a list of steps' })
    return
  }
  raw.forEach((s, i) => {
    const p = [...base, i]
    if (s === null || typeof s !== 'object' || Array.isArray(s)) {
      issues.push({ path: p, message: `expected a step: a mapping with one of ${STEP_NAMES.join(', ')}` })
      return
    }
    const keys = Object.keys(s as Record<string, unknown>)
    if (keys.length !== 1) {
      issues.push({
        path: p,
        message: `a step has exactly one key (one of ${STEP_NAMES.join(', ')}); found ${keys.length === 0 ? 'none' : keys.map((k) => `"${k}"`).join(', ')}`,
      })
      return
    }
    const key = keys[0] as string
    const body = (s as Record<string, unknown>)[key]
    if (key === 'repeat' || key === 'background' || key === 'when') {
      const bp = [...p, key]
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        issues.push({
          path: bp,
          message:
            key === 'repeat'
              ? 'expected { times: N, steps: [...] }'
              : key === 'when'
                ? 'expected { design: D4 | [D2, D4], steps: [...] }'
                : 'expected { steps: [...] }',
        })
        return
      }
      const b = body as Record<string, unknown>
      const extra = Object.keys(b).filter((k) => k !== 'steps' && (key !== 'repeat' || k !== 'times') && (key !== 'when' || k !== 'design'))
      if (extra.length > 0) issues.push({ path: [...bp, extra[0] as string], message: `unknown field "${extra[0]}"` })
      if (key === 'repeat') {
        const t = b.times
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 100_000)
          issues.push({ path: [...bp, 'times'], message: 'expected an integer 1..100000' })
      }
      if (key === 'when') {
        const d = DesignIdSchema.or(z.array(DesignIdSchema).min(1)).safeParse(b.design)
        if (!d.success) issues.push({ path: [...bp, 'design'], message: `expected a design or a list of designs (${DESIGN_IDS.join(', ')})` })
      }
      const inner: StepT[] = []
      validateSteps(b.steps, [...bp, 'steps'], issues, inner, paths, failed)
      const step = (
        key === 'repeat'
          ? { repeat: { times: b.times as number, steps: inner } }
          : key === 'when'
            ? { when: { design: b.design as DesignIdT, steps: inner } }
            : { background: { steps: inner } }
      ) as StepT
      out.push(step)
      paths.push(p)
      return
    }
    const schema = Object.hasOwn(LEAF_STEPS, key) ? (LEAF_STEPS as Record<string, z.ZodType | undefined>)[key] : undefined
    if (!schema) {
      issues.push({ path: [...p, key], message: `unknown step "${key}"; expected one of ${STEP_NAMES.join(', ')}` })
      return
    }
    const r = schema.safeParse(s)
    if (!r.success) {
      issues.push(...zodIssues(r.error, p))
      failed.push(s as Record<string, unknown>)
      return
    }
    out.push(r.data as StepT)
    paths.push(p)
  })
}

interface Decl {
  tasks: Set<string>
  regions: Set<string>
  fds: Set<string>
}

function walk(
  steps: StepT[],
  paths: Map<object, Array<string | number>>,
  fn: (s: Record<string, Record<string, unknown>>, path: Array<string | number>) => void,
): void {
  for (const s of steps) {
    const p = paths.get(s) ?? []
    fn(s as unknown as Record<string, Record<string, unknown>>, p)
    if ('repeat' in s) walk(s.repeat.steps, paths, fn)
    if ('background' in s) walk(s.background.steps, paths, fn)
    if ('when' in s) walk(s.when.steps, paths, fn)
  }
}

/**
 * Cross-step checks (names used before or without a declaration, page multiples, device names).
 * `failed`: raw steps that did not pass their schema; the names they declare count as declared.
 * `devicesKnown` false: the machine section itself is invalid, so device names are not checked.
 */
function semanticCheck(
  sc: Scenario,
  paths: Map<object, Array<string | number>>,
  issues: Issue[],
  failed: Array<Record<string, unknown>> = [],
  devicesKnown = true,
): void {
  const d: Decl = { tasks: new Set(), regions: new Set(), fds: new Set() }
  const devices = new Set((sc.machine?.devices ?? [{ name: 'dmirror0' }]).map((x) => x.name))
  const iommus = new Set((sc.machine?.iommus ?? []).map((x) => x.name))
  const seen = new Set<string>()
  const buffers = new Set<string>()
  const pins = new Set<string>()
  const sockets = new Set<string>()
  const oldMms = new Set<string>()
  for (const [i, dev] of (sc.machine?.devices ?? []).entries()) {
    if (seen.has(dev.name)) issues.push({ path: ['machine', 'devices', i, 'name'], message: `duplicate device name "${dev.name}"` })
    seen.add(dev.name)
    if (dev.iommu !== undefined && !iommus.has(dev.iommu))
      issues.push({ path: ['machine', 'devices', i, 'iommu'], message: `unknown IOMMU "${dev.iommu}"; declared: ${[...iommus].join(', ') || 'none'}` })
    if (dev.ats && dev.iommu === undefined)
      issues.push({ path: ['machine', 'devices', i, 'ats'], message: 'ATS needs the device to sit behind an IOMMU (set iommu)' })
  }
  for (const k of Object.keys(sc.costs ?? {})) {
    if (!(COST_NAMES as string[]).includes(k)) issues.push({ path: ['costs', k], message: `unknown cost "${k}"; expected one of ${COST_NAMES.join(', ')}` })
  }
  // the names a step that failed its schema would have declared (strings only: nothing else parsed)
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
  for (const raw of failed) {
    const key = Object.keys(raw)[0] as string
    const b = raw[key]
    if (b === null || typeof b !== 'object' || Array.isArray(b)) continue
    const o = b as Record<string, unknown>
    const add = (set: Set<string>, v: unknown): void => {
      const n = str(v)
      if (n !== null) set.add(n)
    }
    if (key === 'spawn') add(d.tasks, o.task)
    if (key === 'fork' || key === 'thread' || key === 'vfork') add(d.tasks, o.child)
    if (key === 'execve') add(d.tasks, o.old_mm)
    if (key === 'dup') add(d.fds, o.as)
    if (key === 'recv_fd' || key === 'open' || key === 'open_tmpfile') add(d.fds, o.fd)
    if (key === 'send_fd') add(sockets, o.socket)
    if (key === 'mmap') add(d.regions, o.region)
    if (key === 'mremap') add(d.regions, o.to_region)
    if (key === 'gup') add(pins, o.hold)
    if (['device_read', 'migrate_to_device', 'exclusive', 'pread'].includes(key)) add(buffers, o.into)
    if (key === 'user_buffer') add(buffers, o.name)
  }
  walk(sc.steps, paths, (s, p) => {
    for (const [k, f] of [
      ['spawn', 'task'],
      ['fork', 'child'],
      ['thread', 'child'],
      ['vfork', 'child'],
    ] as const) {
      const n = s[k]?.[f]
      if (typeof n === 'string' && oldMms.has(n)) issues.push({ path: [...p, k, f], message: `"${n}" already names the old mm of an execve` })
    }
    if (s.spawn) d.tasks.add(s.spawn.task as string)
    if (s.fork) d.tasks.add(s.fork.child as string)
    for (const k of ['thread', 'vfork']) if (s[k]) d.tasks.add(s[k].child as string)
    if (s.execve?.old_mm) {
      const n = s.execve.old_mm as string
      if (d.tasks.has(n) || oldMms.has(n)) issues.push({ path: [...p, 'execve', 'old_mm'], message: `"${n}" already names a task or an old mm` })
      oldMms.add(n)
      d.tasks.add(n)
    }
    if (s.dup) d.fds.add(s.dup.as as string)
    if (s.recv_fd) d.fds.add(s.recv_fd.fd as string)
    if (s.send_fd) sockets.add(s.send_fd.socket as string)
    if (s.mmap) d.regions.add(s.mmap.region as string)
    if (s.mremap?.to_region) d.regions.add(s.mremap.to_region as string)
    if (s.open) d.fds.add(s.open.fd as string)
    if (s.open_tmpfile) d.fds.add(s.open_tmpfile.fd as string)
    if (s.gup?.hold) pins.add(s.gup.hold as string)
    for (const k of ['device_read', 'migrate_to_device', 'exclusive', 'pread']) if (s[k]?.into) buffers.add(s[k].into as string)
    if (s.user_buffer) buffers.add(s.user_buffer.name as string)
  })
  walk(sc.steps, paths, (s, p) => {
    const key = Object.keys(s)[0] as string
    const body = s[key]
    if (!body || typeof body !== 'object') return
    const b = body as Record<string, unknown>
    const chk = (field: string, set: Set<string>, what: string, base: Array<string | number> = [...p, key]): void => {
      const v = b[field]
      if (typeof v === 'string' && !set.has(v))
        issues.push({ path: [...base, field], message: `unknown ${what} "${v}"; declared: ${[...set].join(', ') || 'none'}` })
    }
    if (key === 'expect') {
      const counter = b.counter as { name?: unknown } | undefined
      if (typeof counter?.name === 'string' && !Object.hasOwn(COUNTERS, counter.name)) {
        issues.push({
          path: [...p, key, 'counter', 'name'],
          message: `unknown counter "${counter.name}"; nearest known: ${nearestNames(counter.name, COUNTER_NAMES).join(', ')} (docs/scenarios.md lists them all)`,
        })
      }
      const buf = b.buffer as { name?: string } | undefined
      if (buf?.name !== undefined && !buffers.has(buf.name))
        issues.push({
          path: [...p, key, 'buffer', 'name'],
          message: `unknown buffer "${buf.name}"; buffers come from user_buffer or an into: (device_read, migrate_to_device, exclusive, pread)`,
        })
      for (const sub of ['memory', 'pagemap'] as const) {
        const mem = b[sub] as { task?: string; region?: string } | undefined
        if (mem?.region !== undefined && !d.regions.has(mem.region))
          issues.push({ path: [...p, key, sub, 'region'], message: `unknown region "${mem.region}"; declared: ${[...d.regions].join(', ') || 'none'}` })
      }
      for (const sub of ['live', 'leaked', 'device_pages', 'mm', 'memory', 'pagemap'] as const) {
        const o = b[sub] as Record<string, unknown> | undefined
        if (!o) continue
        const t = (o.owner ?? o.task) as string | undefined
        if (t !== undefined && !d.tasks.has(t))
          issues.push({
            path: [...p, key, sub, o.owner !== undefined ? 'owner' : 'task'],
            message: `unknown task "${t}"; declared: ${[...d.tasks].join(', ') || 'none'}`,
          })
        if (devicesKnown && sub === 'device_pages' && typeof o.device === 'string' && !devices.has(o.device))
          issues.push({ path: [...p, key, sub, 'device'], message: `unknown device "${o.device}"; declared: ${[...devices].join(', ')}` })
      }
      return
    }
    if (key === 'spawn' || key === 'sleep' || key === 'when' || key === 'repeat' || key === 'background' || key === 'nr_hugepages' || key === 'user_buffer')
      return
    if (key === 'unpin') {
      if (typeof b.pins === 'string' && !pins.has(b.pins))
        issues.push({ path: [...p, key, 'pins'], message: `unknown pins "${b.pins}"; declared by gup hold: ${[...pins].join(', ') || 'none'}` })
      return
    }
    if (key !== 'fork') chk('task', d.tasks, 'task')
    else chk('task', d.tasks, 'task')
    chk('region', d.regions, 'region')
    chk('fd', d.fds, 'fd')
    if (devicesKnown) chk('device', devices, 'device')
    if (key === 'recv_fd' || key === 'close_socket') chk('socket', sockets, 'socket (a send_fd names it)')
    const devOps = [
      'mirror',
      'device_read',
      'device_write',
      'migrate_to_device',
      'migrate_to_system',
      'snapshot',
      'exclusive',
      'check_exclusive',
      'release_device_memory',
      'alloc_bo',
      'create_queue',
      'dmirror_flags',
      'userptr',
    ]
    if (devOps.includes(key) && b.fd === undefined && b.device === undefined)
      issues.push({ path: [...p, key], message: 'give fd (a file from open) or device (driver API with no file)' })
    if (key === 'random_access' && b.fd === undefined && b.device === undefined && b.cpu_ratio !== undefined && (b.cpu_ratio as number) < 1)
      issues.push({ path: [...p, key], message: 'device accesses need fd or device (or set cpu_ratio: 1)' })
    for (const f of ['size', 'offset', 'at', 'ring']) {
      const v = b[f]
      if (v === undefined) continue
      const n = parseSize(v as string | number)
      if (!Number.isFinite(n)) issues.push({ path: [...p, key, f], message: 'expected a size' })
      else if (key !== 'alloc_bo' && key !== 'create_queue' && n % PAGE_SIZE !== 0)
        issues.push({ path: [...p, key, f], message: `expected a multiple of the 4 KiB page size, got ${n}` })
    }
    if (key === 'mmap' || key === 'mremap') {
      const at = b.at === undefined ? NaN : parseSize(b.at as string | number)
      const len = b.size === undefined ? 0 : parseSize(b.size as string | number)
      if (Number.isFinite(at) && Number.isFinite(len) && at + Math.max(len, PAGE_SIZE) > MODEL_ADDRESS_BYTES)
        issues.push({ path: [...p, key, 'at'], message: atBeyondModel(at, len) })
      if (key === 'mmap' && b.noreplace !== undefined && b.at === undefined)
        issues.push({ path: [...p, key, 'noreplace'], message: 'noreplace (MAP_FIXED_NOREPLACE) needs at: the address it must not replace at' })
    }
  })
}

/** x86-64's TASK_SIZE with 4-level paging: DEFAULT_MAP_WINDOW, (1 << 47) - PAGE_SIZE. */
const TASK_SIZE = 2 ** 47 - PAGE_SIZE

/** Why an `at` (+ size) past the model's 16 TiB address space is refused, and what the kernel would do. */
function atBeyondModel(at: number, len: number): string {
  const hex = (n: number) => (Number.isInteger(n) ? `0x${BigInt(n).toString(16)}` : String(n))
  const what = `${hex(at)}${len > 0 ? ` + ${len} bytes ends at ${hex(at + len)}, ` : ' is '}past the model's 16 TiB address space (the simulator numbers pages below 2^32; the last byte it can map is ${hex(MODEL_ADDRESS_BYTES - 1)})`
  const kernel =
    at + len <= TASK_SIZE
      ? "x86-64's TASK_SIZE is 128 TiB, so the kernel would map it there; place it lower to model it"
      : "past x86-64's TASK_SIZE (128 TiB) too, where the kernel refuses it (__get_unmapped_area: -ENOMEM for mmap; mremap_to: -EINVAL)"
  return `${what}: ${kernel}`
}

export interface ParseOptions {
  /** Changes the parsed document before it is validated (yaml's Document API: `setIn`). */
  edit?: (doc: Document) => void
}

/**
 * Parses and validates a scenario (YAML or JSON). Throws ScenarioError naming file, line, field and
 * what was expected; the message lists every problem found, one per line.
 */
export function parseScenario(text: string, fileName: string, opts: ParseOptions = {}): LoadedScenario {
  checkTextLimits(text, fileName, SCENARIO_LIMITS, (message, line) => new ScenarioError(message, fileName, line, '(document)'))
  const lc = new LineCounter()
  let doc: Document
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
  } catch (e) {
    throw new ScenarioError(`${fileName}:1: (document): cannot parse: ${e instanceof Error ? e.message : String(e)}`, fileName, 1, '(document)')
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as { message: string; pos: [number, number] }
    const line = lc.linePos(e.pos[0]).line
    const msg = e.message.split('\n')[0] ?? e.message
    throw new ScenarioError(`${fileName}:${line}: (document): not valid YAML/JSON: ${msg}`, fileName, line, '(document)')
  }
  if (opts.edit) {
    // edits of the parsed document (swept parameters, a probed machine) keep every other node's
    // position, so errors and expects still cite the user's lines
    try {
      opts.edit(doc)
    } catch (e) {
      throw new ScenarioError(`${fileName}:1: (document): ${e instanceof Error ? e.message : String(e)}`, fileName, 1, '(document)')
    }
  }
  let js: unknown
  try {
    js = doc.toJS({ maxAliasCount: 100 })
  } catch (e) {
    // e.g. an alias to an anchor that does not exist, or an alias bomb past maxAliasCount
    throw new ScenarioError(
      `${fileName}:1: (document): cannot read the document: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      fileName,
      1,
      '(document)',
    )
  }
  if (js === null || typeof js !== 'object' || Array.isArray(js)) {
    throw new ScenarioError(`${fileName}:1: (document): expected a mapping with name, steps, ...`, fileName, 1, '(document)')
  }
  const issues: Issue[] = []
  const top = ScenarioSchema.omit({ steps: true }).extend({ steps: z.unknown() }).safeParse(js)
  if (!top.success) issues.push(...zodIssues(top.error, []))
  const steps: StepT[] = []
  const pathList: Array<Array<string | number>> = []
  const failed: Array<Record<string, unknown>> = []
  const rawSteps = (js as Record<string, unknown>).steps
  if (rawSteps === undefined) issues.push({ path: ['steps'], message: 'expected a list of steps (missing)' })
  else validateSteps(rawSteps, ['steps'], issues, steps, pathList, failed)
  const paths = new Map<object, Array<string | number>>()
  // validateSteps pushes a step after its inner steps: pair them in order of completion
  const flat: StepT[] = []
  const collect = (ss: StepT[]): void => {
    for (const s of ss) {
      if ('repeat' in s) collect(s.repeat.steps)
      if ('background' in s) collect(s.background.steps)
      if ('when' in s) collect(s.when.steps)
      flat.push(s)
    }
  }
  collect(steps)
  flat.forEach((s, i) => {
    const p = pathList[i]
    if (p) paths.set(s, p)
  })
  // The cross-step checks run even when some steps (or top-level fields) failed their schema, on
  // what did parse, so that one bad value does not hide every other problem of the file.
  const raw = js as Record<string, unknown>
  const machine = MachineSchema.optional().safeParse(raw.machine)
  const costs = CostOverridesSchema.optional().safeParse(raw.costs)
  const sc = top.success
    ? ({ ...(top.data as Omit<Scenario, 'steps'>), steps } as Scenario)
    : ({ name: '', machine: machine.success ? machine.data : undefined, costs: costs.success ? costs.data : undefined, steps } as Scenario)
  semanticCheck(sc, paths, issues, failed, machine.success)
  if (issues.length === 0 && top.success) {
    for (const [s, p] of paths) stepLines.set(s, lineFor(doc, lc, p))
    const out = sc as LoadedScenario
    out.source = { file: fileName, hash: hashText(text), text }
    return out
  }
  const lines = issues.map((i) => ({ ...i, line: lineFor(doc, lc, i.path) }))
  lines.sort((a, b) => a.line - b.line)
  const first = lines[0] as Issue & { line: number }
  const shown = lines.slice(0, MAX_ISSUES).map((i) => `${fileName}:${i.line}: ${fieldName(i.path)}: ${clip(i.message, 2000)}`)
  const last = lines[lines.length - 1] as Issue & { line: number }
  if (lines.length > MAX_ISSUES) shown.push(`${fileName}:${last.line}: (document): and ${lines.length - MAX_ISSUES} more problems`)
  const msg = shown.join('\n')
  throw new ScenarioError(msg, fileName, first.line, fieldName(first.path))
}
