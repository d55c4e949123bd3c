/**
 * The comparison of the oracle: the kernel's observations of one scenario against the simulator's,
 * step by step (src/shared/oracle.ts has both shapes).
 *
 * Per step: the return code, cpages and faults, SNAPSHOT bytes, data checks, pagemap summaries,
 * the change of VmPTE and RssAnon over the step (the guest process has its own stack, libraries
 * and heap, so absolute values differ by a baseline), and the invalidations.
 *
 * Invalidations are compared as ordered lists per (task, region): each invalidation is cut into
 * its region slices (a whole-address-space one goes to the task's "*" list), and every list must
 * hold the same items (via, event, first page, pages, owner) in the same order. Per region and not
 * globally, because the two sides lay regions out in different orders (the guest top-down, the
 * simulator bottom-up) and a walk over the address space meets them in address order; and the
 * kernel may merge adjacent regions into one VMA and one call. Parts of ranges outside every
 * region (stack, libraries, the executor's own memory) are counted but not compared.
 *
 * A tolerance (declarations.ts) relaxes one field for the scenarios and steps it names; every use
 * is listed. A difference that matches a known difference is reported as known. The differences
 * come out in step order, so the first one printed is the first place the two sides part.
 */
import type { MmuNotifyEvent, OracleInvalidation, OracleSide, OracleStep } from '../../../shared/oracle'
import { appliesTo, type ComparedField, type Declarations, type KnownDifference, type StepRef, type Tolerance } from './declarations'

export interface OracleDifference {
  /** Step index (null: after the last step). */
  step: number | null
  line: number
  op: string
  task: string | null
  field: ComparedField
  /** What differs within the field: "self/buf" for invalidations, a data check's `what`, a region... */
  subject: string
  kernel: string
  simulator: string
  /** Invalidation events involved (for matching known differences). */
  events: MmuNotifyEvent[]
  status: 'new' | 'known'
  known: string | null
}

export interface ToleranceUse {
  id: string
  step: number | null
  line: number
  op: string
  detail: string
}

export interface SkippedField {
  field: string
  why: string
  /** Steps on which it was not compared. */
  steps: number
}

export type Verdict = 'agree' | 'known' | 'differ'

export interface ScenarioComparison {
  scenario: { name: string; file: string }
  design: string
  verdict: Verdict
  differences: OracleDifference[]
  tolerated: ToleranceUse[]
  skipped: SkippedField[]
  counts: {
    steps: number
    /** Invalidation slices compared (inside the regions) and parts outside them, per side. */
    kernel: { items: number; outside: number }
    simulator: { items: number; outside: number }
  }
}

/** One region slice of an invalidation, the unit of the ordered comparison. */
export interface Item {
  key: string
  via: OracleInvalidation['via']
  event: MmuNotifyEvent
  region: string
  first: number
  pages: number
  owner: string | null
}

/**
 * Cuts invalidations into per-(task, region) items; returns them, the pages outside every region,
 * and the slices dropped because their region was not live at that step (`live`: task → regions).
 */
export function itemsOf(
  invs: readonly OracleInvalidation[],
  live?: ReadonlyMap<string, ReadonlySet<string>>,
): { items: Item[]; outside: number; stale: number } {
  const items: Item[] = []
  let outside = 0
  let stale = 0
  for (const i of invs) {
    const task = i.task ?? '(unknown mm)'
    if (i.whole) {
      items.push({ key: `${task}/*`, via: i.via, event: i.event, region: '*', first: 0, pages: 0, owner: i.owner })
      continue
    }
    outside += i.outside_pages
    const regs = live && i.task !== null ? live.get(i.task) : undefined
    for (const s of i.slices) {
      if (regs && !regs.has(s.region)) {
        stale++
        continue
      }
      items.push({ key: `${task}/${s.region}`, via: i.via, event: i.event, region: s.region, first: s.first, pages: s.pages, owner: i.owner })
    }
  }
  return { items, outside, stale }
}

const itemEq = (a: Item, b: Item): boolean => a.via === b.via && a.event === b.event && a.first === b.first && a.pages === b.pages && a.owner === b.owner

export function itemText(i: Item): string {
  const where = i.region === '*' ? 'whole address space' : i.pages === 1 ? `page ${i.first}` : `pages ${i.first}..${i.first + i.pages - 1}`
  return `${i.event} ${where}${i.owner ? ` owner ${i.owner}` : ''} (${i.via})`
}

/** Run-length summary of a list of items: "1024 × EXCLUSIVE 1 page (range_start) pages 0..1023". */
export function summariseItems(items: readonly Item[], max = 4): string {
  if (items.length === 0) return 'none'
  // runs per via (range_start and interval calls alternate): same event, owner and size, each item
  // starting where the previous one ended
  const runs: Array<{ a: Item; n: number; last: Item }> = []
  for (const via of ['range_start', 'interval'] as const) {
    let r: { a: Item; n: number; last: Item } | null = null
    for (const it of items) {
      if (it.via !== via) continue
      if (r && r.a.event === it.event && r.a.owner === it.owner && r.a.pages === it.pages && r.a.region !== '*' && it.first === r.last.first + r.last.pages) {
        r.n++
        r.last = it
      } else {
        r = { a: it, n: 1, last: it }
        runs.push(r)
      }
    }
  }
  const parts = runs.slice(0, max).map((r) => {
    if (r.n === 1) return itemText(r.a)
    const size = r.a.pages === 1 ? '1 page' : `${r.a.pages} pages`
    return `${r.n} × ${r.a.event} of ${size}, pages ${r.a.first}..${r.last.first + r.last.pages - 1}${r.a.owner ? ` owner ${r.a.owner}` : ''} (${r.a.via})`
  })
  if (runs.length > max) parts.push(`… ${runs.length - max} more runs`)
  return `${items.length} item${items.length === 1 ? '' : 's'}: ${parts.join('; ')}`
}

/** Fields a side says it does not observe: notes of the form "not observed: FIELD: why". */
export function unobserved(side: OracleSide): Map<string, string> {
  const m = new Map<string, string>()
  for (const n of side.notes) {
    const r = /^not observed: ([a-z_.]+): (.*)$/.exec(n)
    if (r) m.set(r[1] as string, `${side.side}: ${r[2]}`)
  }
  return m
}

interface Ctx {
  live: RegionLivenessView | undefined
  after: RegionLivenessView | undefined
  ref: (s: OracleStep | null) => StepRef
  decl: Declarations
  diffs: OracleDifference[]
  tolerated: ToleranceUse[]
  skipped: Map<string, SkippedField>
}

function tolerancesFor(c: Ctx, field: ComparedField, s: OracleStep | null): Tolerance[] {
  const ref = c.ref(s)
  return c.decl.tolerances.filter((t) => t.field === field && appliesTo(t.applies, ref))
}

function skip(c: Ctx, field: string, why: string): void {
  const k = `${field}\u0000${why}`
  const e = c.skipped.get(k)
  if (e) e.steps++
  else c.skipped.set(k, { field, why, steps: 1 })
}

function knownFor(c: Ctx, d: Omit<OracleDifference, 'status' | 'known'>): KnownDifference | undefined {
  const ref = c.ref(d.step === null ? null : ({ line: d.line, op: d.op } as OracleStep))
  return c.decl.known.find((k) => {
    if (k.field !== d.field || !appliesTo(k.applies, ref)) return false
    if (k.match) {
      if (k.match.event && !d.events.includes(k.match.event)) return false
      if (k.match.region && !d.subject.endsWith(`/${k.match.region}`)) return false
      if (k.match.via && !d.kernel.includes(`(${k.match.via})`) && !d.simulator.includes(`(${k.match.via})`)) return false
    }
    return true
  })
}

function differ(c: Ctx, d: Omit<OracleDifference, 'status' | 'known'>): void {
  const k = knownFor(c, d)
  c.diffs.push({ ...d, status: k ? 'known' : 'new', known: k?.id ?? null })
}

const show = (v: unknown): string => (v === null || v === undefined ? '—' : String(v))

function base(s: OracleStep): Pick<OracleDifference, 'step' | 'line' | 'op' | 'task'> {
  return { step: s.index, line: s.line, op: s.op, task: s.task }
}

/** How a step that never returned on a side reads: "did not return (livelock)". */
export const notReturned = (s: OracleStep): string => `did not return (${s.unfinished ?? 'unknown'})`

function compareScalar(c: Ctx, field: 'ret' | 'cpages' | 'faults', k: OracleStep, m: OracleStep): void {
  // a step that never returned on one side has no return code there: the other side's return is
  // the difference (on ret; cpages and faults are then not compared, and say why)
  if (k.unfinished !== undefined || m.unfinished !== undefined) {
    if (k.unfinished !== undefined && m.unfinished !== undefined) return
    const side = k.unfinished !== undefined ? 'kernel' : 'simulator'
    if (field !== 'ret') {
      skip(c, field, `${side} side: the step ${notReturned(side === 'kernel' ? k : m)}`)
      return
    }
    differ(c, {
      ...base(k),
      field,
      subject: field,
      kernel: k.unfinished !== undefined ? notReturned(k) : show(k.ret),
      simulator: m.unfinished !== undefined ? notReturned(m) : show(m.ret),
      events: [],
    })
    return
  }
  const kv = k[field]
  const sv = m[field]
  if (kv === null && sv === null) return
  if (kv === null || sv === null) {
    skip(c, field, `${kv === null ? 'kernel' : 'simulator'} side did not report it`)
    return
  }
  if (tolerancesFor(c, field, k).some((t) => t.rule === 'skip')) {
    for (const t of tolerancesFor(c, field, k))
      c.tolerated.push({ id: t.id, step: k.index, line: k.line, op: k.op, detail: `${field} not compared: kernel ${kv}, simulator ${sv}` })
    return
  }
  if (kv !== sv) differ(c, { ...base(k), field, subject: field, kernel: String(kv), simulator: String(sv), events: [] })
}

function compareInvalidations(
  c: Ctx,
  k: OracleStep | null,
  kInv: readonly OracleInvalidation[],
  sInv: readonly OracleInvalidation[],
  counts: ScenarioComparison['counts'],
  where: Pick<OracleDifference, 'step' | 'line' | 'op' | 'task'>,
): void {
  const live = c.live?.get(where.step ?? -1)
  const ki = itemsOf(kInv, live)
  const si = itemsOf(sInv, live)
  if (ki.stale > 0)
    skip(c, 'invalidations.unmapped_region', 'kernel side: slices of a region the scenario had unmapped (the guest reuses its addresses); not compared')
  if (si.stale > 0) skip(c, 'invalidations.unmapped_region', 'simulator side: slices of a region the scenario had unmapped; not compared')
  counts.kernel.outside += ki.outside
  counts.simulator.outside += si.outside
  let kItems = ki.items
  let sItems = si.items
  const tols = tolerancesFor(c, 'invalidations', k)
  for (const t of tols) {
    if (t.rule === 'skip') {
      c.tolerated.push({
        id: t.id,
        step: where.step,
        line: where.line,
        op: where.op,
        detail: `invalidations not compared: kernel ${summariseItems(kItems, 2)}; simulator ${summariseItems(sItems, 2)}`,
      })
      counts.kernel.items += kItems.length
      counts.simulator.items += sItems.length
      return
    }
    if (t.rule !== 'count_may_differ') continue
    const hit = (i: Item) =>
      (!t.match.event || i.event === t.match.event) && (!t.match.via || i.via === t.match.via) && (!t.match.region || i.region === t.match.region)
    const kn = kItems.filter(hit).length
    const sn = sItems.filter(hit).length
    if (kn === 0 && sn === 0) continue
    kItems = kItems.filter((i) => !hit(i))
    sItems = sItems.filter((i) => !hit(i))
    const what = [t.match.event, t.match.via, t.match.region].filter(Boolean).join(' ') || 'invalidations'
    c.tolerated.push({
      id: t.id,
      step: where.step,
      line: where.line,
      op: where.op,
      detail: `${what}: kernel ${kn}, simulator ${sn} region slices (count may differ)`,
    })
  }
  counts.kernel.items += kItems.length
  counts.simulator.items += sItems.length
  const keys = [...new Set([...kItems.map((i) => i.key), ...sItems.map((i) => i.key)])].sort()
  for (const key of keys) {
    const a = kItems.filter((i) => i.key === key)
    const b = sItems.filter((i) => i.key === key)
    let n = 0
    while (n < a.length && n < b.length && itemEq(a[n] as Item, b[n] as Item)) n++
    if (n === a.length && n === b.length) continue
    const ka = a[n]
    const sb = b[n]
    const events = [...new Set([...a.slice(n), ...b.slice(n)].map((i) => i.event))]
    const at = n === 0 ? '' : ` (the first ${n} agree)`
    differ(c, {
      ...where,
      field: 'invalidations',
      subject: key,
      kernel: `${ka ? `item ${n + 1}: ${itemText(ka)}` : `no item ${n + 1}`}${at}; in all ${summariseItems(a)}`,
      simulator: `${sb ? `item ${n + 1}: ${itemText(sb)}` : `no item ${n + 1}`}${at}; in all ${summariseItems(b)}`,
      events,
    })
  }
}

/** Change of a per-task value over each step, per side: task → last value seen. */
type Last = Map<string, number>

function compareDelta(c: Ctx, field: 'vm_pte_kb' | 'rss_anon_kb', k: OracleStep, m: OracleStep, lastK: Last, lastS: Last): void {
  const kv = k[field]
  const sv = m[field]
  const task = k.task ?? ''
  const pk = lastK.get(task)
  const ps = lastS.get(task)
  if (kv !== null) lastK.set(task, kv)
  if (sv !== null) lastS.set(task, sv)
  if (kv === null && sv === null) return
  if (kv === null || sv === null) {
    skip(c, field, `${kv === null ? 'kernel' : 'simulator'} side did not report it`)
    return
  }
  if (pk === undefined || ps === undefined) return // first reading of this task: only a baseline
  const dk = kv - pk
  const ds = sv - ps
  if (dk === ds) return
  const tols = tolerancesFor(c, field, k)
  const skipT = tols.find((t) => t.rule === 'skip')
  if (skipT) {
    c.tolerated.push({
      id: skipT.id,
      step: k.index,
      line: k.line,
      op: k.op,
      detail: `${field} change not compared: kernel ${sign(dk)} KiB, simulator ${sign(ds)} KiB`,
    })
    return
  }
  const within = tols.find((t) => t.rule === 'within' && Math.abs(dk - ds) <= t.kb)
  if (within) {
    c.tolerated.push({
      id: within.id,
      step: k.index,
      line: k.line,
      op: k.op,
      detail: `${field} change: kernel ${sign(dk)} KiB, simulator ${sign(ds)} KiB (within ${(within as { kb: number }).kb} KiB)`,
    })
    return
  }
  differ(c, {
    ...base(k),
    field,
    subject: `${task} ${field} change`,
    kernel: `${sign(dk)} KiB (${pk} → ${kv})`,
    simulator: `${sign(ds)} KiB (${ps} → ${sv})`,
    events: [],
  })
}

const sign = (n: number): string => (n > 0 ? `+${n}` : String(n))

function compareStep(
  c: Ctx,
  k: OracleStep,
  m: OracleStep,
  counts: ScenarioComparison['counts'],
  lastPte: [Last, Last],
  lastRss: [Last, Last],
  unobs: Map<string, string>,
): void {
  compareScalar(c, 'ret', k, m)
  compareScalar(c, 'cpages', k, m)
  compareScalar(c, 'faults', k, m)
  // SNAPSHOT bytes
  const skipField = (f: ComparedField): boolean => {
    const t = tolerancesFor(c, f, k).find((x) => x.rule === 'skip')
    if (t) c.tolerated.push({ id: t.id, step: k.index, line: k.line, op: k.op, detail: `${f} not compared` })
    return t !== undefined
  }
  if ((k.snapshot !== null || m.snapshot !== null) && !skipField('snapshot')) {
    if (k.snapshot === null || m.snapshot === null) {
      differ(c, {
        ...base(k),
        field: 'snapshot',
        subject: 'snapshot',
        kernel: k.snapshot === null ? 'no SNAPSHOT' : `${k.snapshot.length} bytes`,
        simulator: m.snapshot === null ? 'no SNAPSHOT' : `${m.snapshot.length} bytes`,
        events: [],
      })
    } else {
      const n = Math.max(k.snapshot.length, m.snapshot.length)
      let i = 0
      while (i < n && k.snapshot[i] === m.snapshot[i]) i++
      if (i < n) {
        const hex = (v: number | undefined) => (v === undefined ? 'none' : `0x${v.toString(16).padStart(2, '0')}`)
        differ(c, {
          ...base(k),
          field: 'snapshot',
          subject: `byte ${i}`,
          kernel: `${hex(k.snapshot[i])} (of ${k.snapshot.length} bytes)`,
          simulator: `${hex(m.snapshot[i])} (of ${m.snapshot.length} bytes)`,
          events: [],
        })
      }
    }
  }
  // data checks, by what was checked
  if ((k.data.length > 0 || m.data.length > 0) && !skipField('data')) {
    const whats = [...new Set([...k.data.map((d) => d.what), ...m.data.map((d) => d.what)])]
    for (const w of whats) {
      const a = k.data.find((d) => d.what === w)
      const b = m.data.find((d) => d.what === w)
      const txt = (d: typeof a) =>
        !d ? 'not checked' : d.ok ? 'holds the pattern' : d.first_bad_page === null ? 'not readable' : `page ${d.first_bad_page} differs from the pattern`
      if (!a || !b || a.ok !== b.ok || a.first_bad_page !== b.first_bad_page)
        differ(c, { ...base(k), field: 'data', subject: w, kernel: txt(a), simulator: txt(b), events: [] })
    }
  }
  // pagemap per region (live regions only: the guest's executor also reads regions already unmapped)
  const liveRegs = k.task !== null ? c.after?.get(k.index)?.get(k.task) : undefined
  const stalePm = liveRegs ? k.pagemap.filter((p) => !liveRegs.has(p.region)).length + m.pagemap.filter((p) => !liveRegs.has(p.region)).length : 0
  if (stalePm > 0) skip(c, 'pagemap.unmapped_region', 'a side read a region the scenario had unmapped; not compared')
  if (k.pagemap.length > 0 && m.pagemap.length > 0) {
    if (!skipField('pagemap')) {
      const regions = [...new Set([...k.pagemap.map((p) => p.region), ...m.pagemap.map((p) => p.region)])].filter((r) => !liveRegs || liveRegs.has(r)).sort()
      for (const r of regions) {
        const a = k.pagemap.find((p) => p.region === r)
        const b = m.pagemap.find((p) => p.region === r)
        if (!a || !b) {
          differ(c, {
            ...base(k),
            field: 'pagemap',
            subject: r,
            kernel: a ? `${a.pages} pages` : 'region not read',
            simulator: b ? `${b.pages} pages` : 'region not read',
            events: [],
          })
          continue
        }
        const fields = (['pages', 'present', 'swapped', 'exclusive', 'soft_dirty', 'zero_page'] as const).filter((f) => {
          const u = unobs.get(`pagemap.${f}`)
          if (u !== undefined) {
            skip(c, `pagemap.${f}`, u)
            return false
          }
          if (a[f] === null || b[f] === null) {
            skip(c, `pagemap.${f}`, `${a[f] === null ? 'kernel' : 'simulator'} side did not read it`)
            return false
          }
          return true
        })
        const bad = fields.filter((f) => a[f] !== b[f])
        if (bad.length > 0)
          differ(c, {
            ...base(k),
            field: 'pagemap',
            subject: r,
            kernel: bad.map((f) => `${f} ${show(a[f])}`).join(', '),
            simulator: bad.map((f) => `${f} ${show(b[f])}`).join(', '),
            events: [],
          })
      }
    }
  } else if (k.pagemap.length > 0 || m.pagemap.length > 0)
    skip(c, 'pagemap', `${k.pagemap.length === 0 ? 'kernel' : 'simulator'} side did not read it on this step`)
  compareDelta(c, 'vm_pte_kb', k, m, lastPte[0], lastPte[1])
  compareDelta(c, 'rss_anon_kb', k, m, lastRss[0], lastRss[1])
  compareInvalidations(c, k, k.invalidations, m.invalidations, counts, base(k))
}

/** Per step index (−1: after the last step), per task: the regions live then (simulator-side.ts RegionLiveness). */
export type RegionLivenessView = ReadonlyMap<number, ReadonlyMap<string, ReadonlySet<string>>>

/** Compares the kernel's observations with the simulator's for one scenario. */
export function compareSides(
  kernel: OracleSide,
  sim: OracleSide,
  decl: Declarations,
  opts: { live?: RegionLivenessView; after?: RegionLivenessView } = {},
): ScenarioComparison {
  const c: Ctx = {
    live: opts.live,
    after: opts.after,
    ref: (s) => ({
      scenarioName: kernel.scenario.name,
      scenarioFile: kernel.scenario.file || sim.scenario.file,
      line: s?.line ?? 0,
      op: s?.op ?? '(after the last step)',
    }),
    decl,
    diffs: [],
    tolerated: [],
    skipped: new Map(),
  }
  const counts: ScenarioComparison['counts'] = { steps: 0, kernel: { items: 0, outside: 0 }, simulator: { items: 0, outside: 0 } }
  const unobs = new Map([...unobserved(kernel), ...unobserved(sim)])
  const lastPte: [Last, Last] = [new Map(), new Map()]
  const lastRss: [Last, Last] = [new Map(), new Map()]
  const n = Math.min(kernel.steps.length, sim.steps.length)
  let aligned = true
  for (let i = 0; i < n; i++) {
    const k = kernel.steps[i] as OracleStep
    const m = sim.steps[i] as OracleStep
    if (k.index !== m.index || k.line !== m.line || k.op !== m.op) {
      differ(c, {
        ...base(k),
        field: 'steps',
        subject: `step ${i}`,
        kernel: `step ${k.index}: ${k.op} at line ${k.line}`,
        simulator: `step ${m.index}: ${m.op} at line ${m.line}`,
        events: [],
      })
      aligned = false
      break
    }
    counts.steps++
    compareStep(c, k, m, counts, lastPte, lastRss, unobs)
  }
  if (aligned && kernel.steps.length !== sim.steps.length) {
    const longer = kernel.steps.length > sim.steps.length ? kernel.steps : sim.steps
    const first = longer[n] as OracleStep
    differ(c, {
      ...base(first),
      field: 'steps',
      subject: 'step count',
      kernel: `${kernel.steps.length} steps${kernel.steps.length > n ? '' : ` (ends before step ${n})`}`,
      simulator: `${sim.steps.length} steps${sim.steps.length > n ? '' : ` (ends before step ${n})`}`,
      events: [],
    })
  }
  if (aligned) compareInvalidations(c, null, kernel.trailing, sim.trailing, counts, { step: null, line: 0, op: '(after the last step)', task: null })
  for (const [f, why] of unobs) if (!f.startsWith('pagemap.')) skip(c, f, why)
  const verdict: Verdict = c.diffs.some((d) => d.status === 'new') ? 'differ' : c.diffs.length > 0 ? 'known' : 'agree'
  return {
    scenario: { name: kernel.scenario.name || sim.scenario.name, file: kernel.scenario.file || sim.scenario.file },
    design: sim.design,
    verdict,
    differences: c.diffs.sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity)),
    tolerated: c.tolerated,
    skipped: [...c.skipped.values()],
    counts,
  }
}
