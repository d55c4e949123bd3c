/**
 * The conclusion in words, generated from the record's numbers only: what each design kept alive
 * after its owner went away, for how long and until what; errors found; expects failed;
 * invalidation cost; and, across runs, which design did best and worst. One implementation for
 * the HTML / JSON report (src/main/services/reports/document.ts) and the app's experiment view
 * (`experimentConclusion`), so both say the same sentences. Pure; no Node or DOM.
 */
import { statusWords, type StoredRecord } from './record'
// The sentences' numbers read as the tables', the app's and the CLI's: the lab's one formatter.
import { formatByteSeconds, formatBytes, formatFraction, formatNs } from './units'

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
  const inv = result.aggregates.invalidations
  if (inv.count > 0) {
    const top = [...inv.byMechanism].sort((a, b) => b.totalNs - a.totalNs)[0]!
    const share = formatFraction(inv.totalNs > 0 ? top.totalNs / inv.totalNs : 0)
    out.push(
      `${who} delivered ${inv.count} invalidation${inv.count > 1 ? 's' : ''} costing ${formatNs(inv.totalNs)} in total; ${top.mechanism} took ${share} (p99 ${formatNs(top.p99Ns)}).`,
    )
  }
  return out
}

/** Sentences comparing runs: least and most memory held for gone owners, cheapest and costliest invalidation. */
export function crossRunConclusion(runs: { who: string; result: StoredRecord }[]): string[] {
  if (runs.length < 2) return []
  const out: string[] = []
  const bs = (r: { result: StoredRecord }): number => r.result.aggregates.leaked.byteSeconds
  const byLeak = [...runs].sort((a, b) => bs(a) - bs(b))
  const best = byLeak[0]!
  const worst = byLeak[byLeak.length - 1]!
  if (bs(worst) > bs(best)) {
    const tied = byLeak.filter((r) => bs(r) === bs(best)).map((r) => r.who)
    out.push(
      `Least memory held after owners went away: ${joinWords(tied)} (${formatByteSeconds(bs(best))}); most: ${worst.who} (${formatByteSeconds(bs(worst))}, peak ${formatBytes(worst.result.aggregates.leaked.peakBytes)}).`,
    )
  } else out.push(`All ${runs.length} runs held the same memory after owners went away (${formatByteSeconds(bs(best))}).`)
  const cost = (r: { result: StoredRecord }): number => r.result.aggregates.invalidations.totalNs
  const byCost = [...runs].sort((a, b) => cost(a) - cost(b))
  const cheap = byCost[0]!
  const dear = byCost[byCost.length - 1]!
  if (cost(dear) > cost(cheap))
    out.push(
      `Cheapest invalidation: ${cheap.who} (${formatNs(cost(cheap))} over ${cheap.result.aggregates.invalidations.count}); costliest: ${dear.who} (${formatNs(cost(dear))} over ${dear.result.aggregates.invalidations.count}).`,
    )
  return out
}

/** What tells one run of a set apart: its design, seed and swept parameters (a manifest or a record's meta). */
export interface ConclusionRun {
  design: string
  seed: number
  parameters: Record<string, string | number | boolean>
  result: StoredRecord
}

/** The full label of a run: `D1, seed 1, machine.cpus=4`. */
export function fullRunLabel(r: Pick<ConclusionRun, 'design' | 'seed' | 'parameters'>): string {
  const params = Object.entries(r.parameters).map(([k, v]) => `${k}=${String(v)}`)
  return [r.design, `seed ${r.seed}`, ...params].join(', ')
}

/**
 * Labels that name what tells runs apart: the design, then the seed and the swept parameters only
 * where they differ between runs (a single run gets its full label).
 */
export function distinguishingLabels(runs: readonly Pick<ConclusionRun, 'design' | 'seed' | 'parameters'>[]): string[] {
  if (runs.length < 2) return runs.map(fullRunLabel)
  const seeds = new Set(runs.map((m) => m.seed)).size > 1
  const keys = [...new Set(runs.flatMap((m) => Object.keys(m.parameters)))].sort()
  const varying = keys.filter((k) => new Set(runs.map((m) => JSON.stringify(m.parameters[k] ?? null))).size > 1)
  return runs.map((m) => [m.design, ...(seeds ? [`seed ${m.seed}`] : []), ...varying.map((k) => `${k}=${String(m.parameters[k] ?? '—')}`)].join(', '))
}

/**
 * The conclusion of a set of runs (an experiment, a comparison, one run), as the report writes it
 * and the app shows it: the sentences comparing the runs first, then each run's own. A run is
 * named by its design when the designs are distinct, by its distinguishing label otherwise.
 */
export function experimentConclusion(runs: readonly ConclusionRun[]): { labels: string[]; names: string[]; perRun: string[][]; conclusion: string[] } {
  const labels = distinguishingLabels(runs)
  const designs = runs.map((r) => r.design)
  const distinct = new Set(designs).size === designs.length
  const names = runs.map((r, i) => (distinct ? r.design : labels[i]!))
  const perRun = runs.map((r, i) => runConclusion(names[i]!, r.result))
  const conclusion = [...crossRunConclusion(runs.map((r, i) => ({ who: names[i]!, result: r.result }))), ...perRun.flat()]
  return { labels, names, perRun, conclusion }
}
