/**
 * The conclusion in words, generated from the record's numbers only: what each design kept alive
 * after its owner went away, for how long and until what; errors found; expects failed;
 * invalidation cost; and, across designs, which did best and worst. Runs are told per design
 * (and parameter set): the seeds of one design are summarised (min, median, max; or "all N seeds
 * equal") with one seed's record told as its example, never one sentence per seed. One
 * implementation for the HTML / JSON report (src/main/services/reports/document.ts) and the
 * app's experiment view (`experimentConclusion`), so both say the same sentences: the numbers
 * across seeds are the runs' metrics (the record's, which every manifest carries), and the
 * records read are only the examples' (`conclusionExamples`). Pure; no Node or DOM.
 */
import { backgroundWaitingWords, isFinished, statusOfOutcome, statusWords, type Metrics, type ParamValue, type RunStatus, type StoredRecord } from './record'
import type { SweepSummary } from './plan'
import { sweepFindingWords } from './sweep-text'
// The sentences' numbers read as the tables', the app's and the CLI's: the lab's one formatter.
import { formatByteSeconds, formatBytes, formatFraction, formatNs } from './units'

/**
 * What `invalidation_count` counts, in words: one device-side operation per (mmu_notifier event,
 * device or IOMMU, mechanism), so one fork PROTECTION_PAGE seen by a GPU behind an IOMMU with ATS
 * counts a page-table zap, a GPU TLB flush, an IOTLB and an ATS invalidation. The notifier events
 * themselves are the counters `invalidate.<EVENT>`.
 */
export const INVALIDATION_WORDS = 'page-table zaps and TLB, IOTLB or ATS flushes, one per event, device and mechanism'

/**
 * The metrics of the per-design table, in the record's names (the CLI's comparison heads its
 * columns with them) and the app's titles: the app's experiment view and `hmmlab run` show the same.
 */
export const DESIGN_TABLE_METRICS = [
  { name: 'leaked_bytes_peak', title: 'Peak held for gone owners' },
  { name: 'leaked_bytes_end', title: 'Held at the end' },
  { name: 'leak_byte_seconds', title: 'Held × time' },
  { name: 'invalidation_count', title: 'Device invalidations' },
  { name: 'invalidation_cost_ns', title: 'Their total cost' },
  { name: 'findings', title: 'Findings' },
] as const

/**
 * The longest leak of a run: `10 s` when it ended, `≥ 10.1 s (to the end)` when the memory was
 * still held at the end of the run (it lasted at least that long); `—` for none.
 */
export function longestLeakWords(ns: number, open: boolean): string {
  if (ns <= 0 && !open) return '—'
  return open ? `≥ ${formatNs(ns)} (to the end)` : formatNs(ns)
}

/** `D5 (3 µs)`, or `D1, D2 and D3 (3 µs each)` when several tie. */
function namesAt(names: readonly string[], value: string): string {
  return names.length > 1 ? `${someNames(names)} (${value} each)` : `${names[0] ?? ''} (${value})`
}

/** `a`, `a and b`, `a, b and c`. */
export function joinWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? ''
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

const TYPE_WORDS: Record<string, string> = {
  mm_struct: 'the mm_struct',
  vma: 'VMAs',
  cpu_pagetable: 'CPU page tables',
  gpu_pagetable: 'GPU page tables',
  iommu_pagetable: 'IOMMU page tables',
  page: 'pages',
  vram: 'VRAM',
  driver_object: 'driver object',
  notifier: 'notifier',
  pasid: 'PASID',
  pages: 'pages',
  file: 'the file',
}

/** The task an owner string names: `task A` → `A`, `mm of pid 100 (A)` → `A`. */
export function ownerName(owner: string): string | undefined {
  const o = owner.trim()
  return /^mm of (?:pid \d+ )?\(?([^()]+?)\)?$/.exec(o)?.[1] ?? /^task (\S.*)$/.exec(o)?.[1]
}

/** `mm of pid 100 (A)` → `A's address space`; `task A` (the simulator's ledger owner) → `A's memory`; others as written. */
export function ownerPhrase(owner: string): string {
  const o = owner.trim()
  const mm = /^mm of (?:pid \d+ )?\(?([^()]+?)\)?$/.exec(o)
  if (mm) return `${mm[1]}'s address space`
  const task = /^task (\S.*)$/.exec(o)
  if (task) return `${task[1]}'s memory`
  return o
}

/** Markers that explain a start or an end best come first when several share a time. */
const MARKER_PRIORITY = ['exit', 'close', 'release', 'driver_free', '__mmdrop', '__mmput', 'free_notifier', 'pasid_free', 'notifier_release', 'mmput']

/**
 * The event at time `t` in words, from the run's markers: the simulator's marker kinds get a verb
 * (`exit` "A (pid 100)" → "A exited", `close` "B closes 3" → "B closed fd 3"); other markers are
 * taken as written.
 */
export function markerPhrase(result: Pick<StoredRecord, 'markers'>, t: number): string | undefined {
  const here = result.markers.rows.filter((m) => m.t === t)
  if (here.length === 0) return undefined
  const m = [...here].sort((a, b) => rank(a.kind) - rank(b.kind))[0]!
  const label = m.label.trim()
  switch (m.kind) {
    case 'exit':
      return /\bexit/i.test(label) ? label : `${label.replace(/\s*\(pid \d+\)\s*$/, '')} exited`
    case 'close': {
      const c = /^(.+?) closes (?:fd )?(\d+)$/.exec(label)
      return c ? `${c[1]} closed fd ${c[2]}` : label
    }
    case 'release':
      return `the last reference to ${label} was released`
    case '__mmput':
    case '__mmdrop':
    case 'mmput':
      return `${m.kind} of ${label}`
    case 'free_notifier':
      return `free_notifier of ${label}`
    case 'pasid_free':
    case 'driver_free':
      return `${label} was freed`
    default:
      return label
  }
}

/**
 * What made the owner go away: the owner's own exit (the latest `exit` marker at or before `since`
 * naming the owner's task; the ledger may count memory as orphaned a little later, when exit_mm or
 * __mmdrop runs), else the marker at `since`.
 */
function sincePhrase(result: StoredRecord, owner: string, since: number): string | undefined {
  const name = ownerName(owner)
  if (name) {
    const exits = result.markers.rows.filter((m) => m.kind === 'exit' && m.t <= since && (m.label.trim() === name || m.label.trim().startsWith(`${name} `)))
    const last = exits[exits.length - 1]
    if (last) return markerPhrase({ markers: { rows: [last], total: 1, dropped: 0 } }, last.t)
  }
  return markerPhrase(result, since)
}

function rank(kind: string): number {
  const i = MARKER_PRIORITY.indexOf(kind)
  return i < 0 ? MARKER_PRIORITY.length : i
}

/** What went wrong in a run: its error findings and its failed expects. */
function troubleSentences(who: string, result: StoredRecord): string[] {
  const out: string[] = []
  const errors = result.findings.rows.filter((f) => f.severity === 'error')
  if (errors.length) {
    const kinds = [...new Set(errors.map((f) => f.kind))]
    out.push(`${who} has ${errors.length} error finding${errors.length > 1 ? 's' : ''} (${joinWords(kinds)}): ${errors[0]!.message}`)
  }
  const failed = result.expects.rows.filter((e) => !e.passed)
  if (failed.length) {
    const c = failed[0]!.checks.find((x) => !x.passed)
    const first = c ? `${c.what}: expected ${c.expected}, got ${c.actual}` : failed[0]!.what
    out.push(
      `${who} failed ${failed.length} of ${result.expects.total} expect${result.expects.total > 1 ? 's' : ''} (first, line ${failed[0]!.line}: ${first}).`,
    )
  }
  return out
}

/** Sentences about one run, from its record. `who` names it (its design, or its label among runs of one design). */
export function runConclusion(who: string, result: StoredRecord): string[] {
  const out: string[] = []
  const end = result.outcome.simulatedNs
  if (result.outcome.status === 'stopped') {
    out.push(
      `${who} did not run to its end: ${statusWords(result.outcome.stop?.reason === 'user' ? 'cancelled' : 'stopped', result.outcome.stop)} at t = ${formatNs(end)}, after ${result.outcome.stepsDone} of ${result.outcome.stepsTotal} steps${result.outcome.stop ? ` (${result.outcome.stop.message})` : ''}; its numbers cover that part only.`,
    )
  }
  const byOwner = new Map<string, StoredRecord['leaks']['rows']>()
  for (const l of result.leaks.rows) {
    const list = byOwner.get(l.owner) ?? []
    list.push(l)
    byOwner.set(l.owner, list)
  }
  if (byOwner.size === 0) out.push(`${who} kept no memory alive after its owner went away.`)
  for (const [owner, leaks] of byOwner) {
    const bytes = leaks.reduce((s, l) => s + Math.max(l.peakBytes, l.bytesAtEnd), 0)
    const since = Math.min(...leaks.map((l) => l.since))
    const neverFreed = leaks.some((l) => l.until === null)
    const until = neverFreed ? end : Math.max(...leaks.map((l) => l.until ?? 0))
    const types = [...new Set(leaks.map((l) => TYPE_WORDS[l.objectType] ?? l.objectType))]
    const chains = [...new Set(leaks.map((l) => l.heldBy.filter((x) => !x.startsWith('its ')).join(' → ')).filter(Boolean))]
    const sinceWhat = sincePhrase(result, owner, since)
    const untilWhat = neverFreed ? undefined : markerPhrase(result, until)
    let s = `${who} kept up to ${formatBytes(bytes)} of ${ownerPhrase(owner)} (${joinWords(types)}) alive for ${formatNs(until - since)}`
    s += sinceWhat ? ` after ${sinceWhat}` : ` after its owner went away (t = ${formatNs(since)})`
    if (neverFreed) s += `, and still at the end of the run (t = ${formatNs(end)})`
    else s += untilWhat ? `, until ${untilWhat}` : `, until t = ${formatNs(until)}`
    if (chains.length) s += `; held by ${joinWords(chains)}`
    out.push(`${s}.`)
  }
  out.push(...troubleSentences(who, result))
  const stuck = backgroundWaitingWords(result.outcome)
  if (stuck) out.push(`${who}: ${stuck}, at the end of the run.`)
  const inv = result.aggregates.invalidations
  if (inv.count > 0) {
    const top = [...inv.byMechanism].sort((a, b) => b.totalNs - a.totalNs)[0]!
    const share = formatFraction(inv.totalNs > 0 ? top.totalNs / inv.totalNs : 0)
    out.push(
      `${who} made ${inv.count} device invalidation${inv.count > 1 ? 's' : ''} (${INVALIDATION_WORDS}) costing ${formatNs(inv.totalNs)} in total; ${top.mechanism} took ${share} (p99 ${formatNs(top.p99Ns)}).`,
    )
  }
  return out
}

/**
 * What the conclusion reads of a run: where it sits in the sweep, its metrics (the record's, as
 * the run's manifest carries them) and its status; its record where it was read (the report
 * reads every one, the app only the examples' of `conclusionExamples`).
 */
export interface ConclusionRun {
  design: string
  seed: number
  parameters: Record<string, ParamValue>
  /** The stored status (default: the record's, else passed). */
  status?: RunStatus
  /** The record's metrics (default: `result.metrics`). */
  metrics?: Metrics
  result?: StoredRecord
  /** The run's scenario label (`scenarioLabels`), for runs of several scenarios: never grouped across scenarios, named by it when they differ. */
  scenario?: string
}

/** The full label of a run: `D1, seed 1, machine.cpus=4`. */
export function fullRunLabel(r: Pick<ConclusionRun, 'design' | 'seed' | 'parameters'>): string {
  const params = Object.entries(r.parameters).map(([k, v]) => `${k}=${String(v)}`)
  return [r.design, `seed ${r.seed}`, ...params].join(', ')
}

/**
 * Labels that name what tells runs apart: the design (`D1 of “scenario”` when the runs' scenario
 * labels differ; a `scenario` that is not a string, e.g. a manifest's, is not read), then the seed
 * and the swept parameters only where they differ between runs (a single run gets its full label).
 */
export function distinguishingLabels(runs: readonly (Pick<ConclusionRun, 'design' | 'seed' | 'parameters'> & { scenario?: unknown })[]): string[] {
  if (runs.length < 2) return runs.map(fullRunLabel)
  const scenarioOf = (m: { scenario?: unknown }): string | undefined => (typeof m.scenario === 'string' ? m.scenario : undefined)
  const mixed = new Set(runs.map(scenarioOf)).size > 1
  const seeds = new Set(runs.map((m) => m.seed)).size > 1
  const keys = [...new Set(runs.flatMap((m) => Object.keys(m.parameters)))].sort()
  const varying = keys.filter((k) => new Set(runs.map((m) => JSON.stringify(m.parameters[k] ?? null))).size > 1)
  return runs.map((m) =>
    [
      mixed ? `${m.design} of “${scenarioOf(m) ?? '?'}”` : m.design,
      ...(seeds ? [`seed ${m.seed}`] : []),
      ...varying.map((k) => `${k}=${String(m.parameters[k] ?? '—')}`),
    ].join(', '),
  )
}

/** A list of names, at most `max` of them written out: `D1, D2 and 7 others`. */
export function someNames(names: readonly string[], max = 6): string {
  if (names.length <= max) return joinWords([...names])
  return `${names.slice(0, max - 1).join(', ')} and ${names.length - max + 1} others`
}

/** The runs of one design and parameter set: its seeds. */
interface Group {
  key: string
  design: string
  parameters: Record<string, ParamValue>
  scenario: string | undefined
  /** Indices into the runs, in seed order. */
  members: number[]
  /** Name in the sentences: the design, with the swept parameters that tell groups apart. */
  name: string
}

/** An object as JSON with its keys in order: equal contents, equal text. */
function canonical(o: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function groupKey(r: Pick<ConclusionRun, 'design' | 'parameters'>): string {
  return `${r.design}\u0000${canonical(r.parameters)}`
}

function metricsOf(r: ConclusionRun): Metrics {
  return r.metrics ?? r.result?.metrics ?? {}
}
function statusOf(r: ConclusionRun): RunStatus {
  if (r.status) return r.status
  return r.result ? statusOfOutcome(r.result.outcome) : 'passed'
}
function value(r: ConclusionRun, name: string): number {
  return metricsOf(r)[name]?.value ?? 0
}

/** The runs grouped by scenario, design and parameter set, in the order of their first run, each group's runs by seed. */
function groupsOf(runs: readonly ConclusionRun[]): Group[] {
  const byKey = new Map<string, Group>()
  runs.forEach((r, i) => {
    const key = groupKey(r)
    const at = `${r.scenario ?? ''}\u0000${key}`
    let g = byKey.get(at)
    if (!g) byKey.set(at, (g = { key, design: r.design, parameters: r.parameters, scenario: r.scenario, members: [], name: '' }))
    g.members.push(i)
  })
  const groups = [...byKey.values()]
  for (const g of groups) g.members.sort((a, b) => runs[a]!.seed - runs[b]!.seed || a - b)
  const designs = groups.map((g) => g.design)
  const distinct = new Set(designs).size === designs.length && new Set(groups.map((g) => g.scenario)).size < 2
  const labels = distinguishingLabels(groups.map((g) => ({ design: g.design, seed: 0, parameters: g.parameters, scenario: g.scenario })))
  groups.forEach((g, i) => (g.name = distinct ? g.design : labels[i]!))
  return groups
}

/** Runs of a group that ran to their end (the numbers across seeds are theirs); all of them when none did. */
function counted(runs: readonly ConclusionRun[], g: Group): number[] {
  const done = g.members.filter((i) => isFinished(statusOf(runs[i]!)))
  return done.length ? done : g.members
}

/** The lower median (a value one seed really had), with the seed's index. */
function lowerMedian(runs: readonly ConclusionRun[], members: readonly number[], metric: string): { at: number; v: number } {
  const sorted = [...members].sort((a, b) => value(runs[a]!, metric) - value(runs[b]!, metric) || runs[a]!.seed - runs[b]!.seed)
  const at = sorted[Math.floor((sorted.length - 1) / 2)]!
  return { at, v: value(runs[at]!, metric) }
}

/** True when every metric of the group's runs is equal: the seeds changed nothing the record shows. */
function seedsAlike(runs: readonly ConclusionRun[], g: Group): boolean {
  const first = canonical(metricsOf(runs[g.members[0]!]!))
  return g.members.every((i) => isFinished(statusOf(runs[i]!)) && canonical(metricsOf(runs[i]!)) === first)
}

/**
 * The run whose record tells each group's story, in group order: the group's only run; its first
 * seed when all its seeds are equal; else its median seed by memory held after owners went away.
 * The app reads these records only; the report, which reads every record, tells the same runs.
 */
export function conclusionExamples(runs: readonly ConclusionRun[]): number[] {
  return groupsOf(runs).flatMap((g) => {
    const trouble = troubleExampleOf(runs, g)
    return trouble === undefined ? [exampleOf(runs, g)] : [exampleOf(runs, g), trouble]
  })
}

/** Whether a run's metrics show findings or failed expects. */
function troubled(r: ConclusionRun): boolean {
  return value(r, 'findings') > 0 || value(r, 'expects_failed') > 0
}

/**
 * When some seeds of a group, not all, had findings or failed expects, and its example seed has
 * none: the first such seed, whose record says what went wrong.
 */
function troubleExampleOf(runs: readonly ConclusionRun[], g: Group): number | undefined {
  if (g.members.length === 1 || seedsAlike(runs, g)) return undefined
  const done = counted(runs, g)
  const bad = done.filter((i) => troubled(runs[i]!))
  if (bad.length === 0 || bad.length === done.length || troubled(runs[exampleOf(runs, g)]!)) return undefined
  return bad[0]
}

function exampleOf(runs: readonly ConclusionRun[], g: Group): number {
  if (g.members.length === 1 || seedsAlike(runs, g)) return g.members[0]!
  return lowerMedian(runs, counted(runs, g), 'leak_byte_seconds').at
}

/** `min 0 B·s, median 12 B·s, max 30 B·s`, or `X in every seed` when they are equal. */
function spread(values: number[], fmt: (v: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b)
  const min = sorted[0]!
  const max = sorted[sorted.length - 1]!
  if (min === max) return `${fmt(min)} in every seed`
  return `min ${fmt(min)}, median ${fmt(sorted[Math.floor((sorted.length - 1) / 2)]!)}, max ${fmt(max)}`
}

/** Sentences from a run's metrics alone (a run whose record was not read). */
function metricSentences(who: string, r: ConclusionRun): string[] {
  const bs = value(r, 'leak_byte_seconds')
  const out = [
    bs > 0
      ? `${who} held ${formatByteSeconds(bs)} of memory after owners went away (peak ${formatBytes(value(r, 'leaked_bytes_peak'))}).`
      : `${who} kept no memory alive after its owner went away.`,
  ]
  const inv = value(r, 'invalidation_count')
  if (inv > 0)
    out.push(
      `${who} made ${inv} device invalidation${inv > 1 ? 's' : ''} (${INVALIDATION_WORDS}) costing ${formatNs(value(r, 'invalidation_cost_ns'))} in total.`,
    )
  return out
}

/** A group of several seeds: its numbers across seeds, then its example seed's story. */
function seedsSentences(runs: readonly ConclusionRun[], g: Group, summary: SweepSummary | undefined): string[] {
  const n = g.members.length
  const seeds = g.members.map((i) => runs[i]!.seed)
  const example = runs[exampleOf(runs, g)]!
  if (seedsAlike(runs, g)) {
    const who = `${g.name} (all ${n} seeds equal)`
    return example.result ? runConclusion(who, example.result) : metricSentences(who, example)
  }
  const done = counted(runs, g)
  const unfinished = g.members.length - g.members.filter((i) => isFinished(statusOf(runs[i]!))).length
  const of = (metric: string): number[] => done.map((i) => value(runs[i]!, metric))
  const held = of('leak_byte_seconds').filter((v) => v > 0).length
  const out: string[] = []
  const range = seeds.length > 1 && seeds[seeds.length - 1]! - seeds[0]! === seeds.length - 1 ? `seeds ${seeds[0]}–${seeds[seeds.length - 1]}` : `${n} seeds`
  const left = unfinished ? ` (${unfinished} of ${n} seeds did not run to their end and are left out)` : ''
  out.push(
    held === 0
      ? `${g.name}, ${range}: no memory held after owners went away in any of ${done.length} seeds${left}.`
      : `${g.name}, ${range}: memory held after owners went away ${spread(of('leak_byte_seconds'), formatByteSeconds)}, peak up to ${formatBytes(Math.max(...of('leaked_bytes_peak')))}; held in ${held} of ${done.length} seeds${left}.`,
  )
  const sg = summary?.groups.find((x) => groupKey(x) === g.key)
  const findings = sg ? sweepFindingWords(sg) : []
  const withFindings = of('findings').filter((v) => v > 0).length
  const failed = of('expects_failed').filter((v) => v > 0).length
  if (findings.length) out.push(`${g.name}: ${joinWords(findings)}.`)
  else if (withFindings) out.push(`${g.name}: findings in ${withFindings} of ${done.length} seeds.`)
  if (failed) out.push(`${g.name}: expects failed in ${failed} of ${done.length} seeds.`)
  const invs = of('invalidation_count')
  const costs = of('invalidation_cost_ns')
  if (invs.some((v) => v > 0))
    out.push(
      new Set(invs).size === 1 && new Set(costs).size === 1
        ? `${g.name} made ${invs[0]} device invalidation${invs[0] === 1 ? '' : 's'} costing ${formatNs(costs[0]!)} in every seed.`
        : `${g.name}: device invalidations per seed ${spread(invs, String)}; their cost ${spread(costs, formatNs)}.`,
    )
  const label = `${g.name}, seed ${example.seed} (its median seed by memory held)`
  out.push(...(example.result ? runConclusion(label, example.result) : metricSentences(label, example)))
  const t = troubleExampleOf(runs, g)
  const trouble = t === undefined ? undefined : runs[t]!
  if (trouble?.result) out.push(...troubleSentences(`${g.name}, seed ${trouble.seed} (its first seed with findings)`, trouble.result))
  return out
}

/** Sentences comparing groups: least and most memory held for gone owners, cheapest and costliest invalidation. */
function crossGroupSentences(runs: readonly ConclusionRun[], groups: readonly Group[]): string[] {
  if (groups.length < 2) return []
  const single = groups.every((g) => g.members.length === 1)
  const med = (g: Group, metric: string): { at: number; v: number } => lowerMedian(runs, counted(runs, g), metric)
  const out: string[] = []
  const bs = (g: Group): number => med(g, 'leak_byte_seconds').v
  const byLeak = [...groups].sort((a, b) => bs(a) - bs(b))
  const best = byLeak[0]!
  const worst = byLeak[byLeak.length - 1]!
  const peak = (g: Group): number => Math.max(...counted(runs, g).map((i) => value(runs[i]!, 'leaked_bytes_peak')))
  const over = single ? '' : " (median over each design's seeds)"
  if (bs(worst) > bs(best)) {
    const tied = byLeak.filter((g) => bs(g) === bs(best)).map((g) => g.name)
    const most = byLeak.filter((g) => bs(g) === bs(worst))
    const mostWords =
      most.length > 1
        ? `${someNames(most.map((g) => g.name))} (${formatByteSeconds(bs(worst))} each)`
        : `${worst.name} (${formatByteSeconds(bs(worst))}, peak ${single ? '' : 'up to '}${formatBytes(peak(worst))})`
    out.push(`Least memory held after owners went away${over}: ${someNames(tied)} (${formatByteSeconds(bs(best))}); most: ${mostWords}.`)
  } else
    out.push(
      single
        ? `All ${groups.length} runs held the same memory after owners went away (${formatByteSeconds(bs(best))}).`
        : `All ${groups.length} designs held the same memory after owners went away${over} (${formatByteSeconds(bs(best))}).`,
    )
  // only groups that made device invalidations have a cost to compare
  const cost = (g: Group): { v: number; count: number } => {
    const m = med(g, 'invalidation_cost_ns')
    return { v: m.v, count: value(runs[m.at]!, 'invalidation_count') }
  }
  const some = groups.filter((g) => cost(g).count > 0)
  const none = groups.filter((g) => cost(g).count === 0).map((g) => g.name)
  const noneWords = none.length ? `; ${someNames(none)} made none` : ''
  if (some.length >= 2) {
    const byCost = [...some].sort((a, b) => cost(a).v - cost(b).v)
    const cheap = byCost[0]!
    const dear = byCost[byCost.length - 1]!
    // designs that cost exactly the same tie: every one is named, none is picked by sort order
    const at = (v: number): Group[] => byCost.filter((g) => cost(g).v === v)
    const words = (gs: Group[]): string =>
      gs.length > 1
        ? namesAt(
            gs.map((g) => g.name),
            formatNs(cost(gs[0]!).v),
          )
        : `${gs[0]!.name} (${formatNs(cost(gs[0]!).v)} over ${cost(gs[0]!).count})`
    if (cost(dear).v > cost(cheap).v)
      out.push(`Cheapest device invalidations${over}: ${words(at(cost(cheap).v))}; costliest: ${words(at(cost(dear).v))}${noneWords}.`)
  } else if (some.length === 1 && none.length)
    out.push(`Only ${some[0]!.name} made device invalidations${over} (${formatNs(cost(some[0]!).v)} over ${cost(some[0]!).count})${noneWords}.`)
  return out
}

/**
 * The conclusion of a set of runs (an experiment, a comparison, one run), as the report writes it
 * and the app shows it: the sentences comparing designs first, then each design's own (a design
 * with several seeds summarised over them, with its example seed's story). `perRun` is each run's
 * own sentences (where its record was read), named by `names`: its design when the designs are
 * distinct, its distinguishing label otherwise. `summary` (the experiment's sweep summary) gives
 * the fractions of seeds with each finding in the summary's own words.
 */
export function experimentConclusion(
  runs: readonly ConclusionRun[],
  opts: { summary?: SweepSummary | undefined } = {},
): { labels: string[]; names: string[]; perRun: string[][]; conclusion: string[] } {
  const labels = distinguishingLabels(runs)
  const designs = runs.map((r) => r.design)
  const distinct = new Set(designs).size === designs.length && new Set(runs.map((r) => r.scenario)).size < 2
  const names = runs.map((r, i) => (distinct ? r.design : labels[i]!))
  const perRun = runs.map((r, i) => (r.result ? runConclusion(names[i]!, r.result) : []))
  const groups = groupsOf(runs)
  const conclusion = [...crossGroupSentences(runs, groups)]
  for (const g of groups) {
    if (g.members.length > 1) conclusion.push(...seedsSentences(runs, g, opts.summary))
    else {
      const r = runs[g.members[0]!]!
      conclusion.push(...(r.result ? runConclusion(g.name, r.result) : metricSentences(g.name, r)))
    }
  }
  return { labels, names, perRun, conclusion }
}
