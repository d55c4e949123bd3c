/**
 * The conclusion in words, generated from the numbers only: what each design kept alive after
 * its owner went away, for how long and until what; errors found; expects failed; invalidation
 * cost; and, across runs, which design did best and worst.
 */
import type { RunResult } from '../../../shared/run-result'
import type { RunSummary } from '../../../shared/report'
import { formatByteSeconds, formatBytes, formatNs, joinWords } from './units'

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
export function markerPhrase(result: RunResult, t: number): string | undefined {
  const here = result.markers.filter((m) => m.t === t)
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
function sincePhrase(result: RunResult, owner: string, since: number): string | undefined {
  const name = ownerName(owner)
  if (name) {
    const exits = result.markers.filter((m) => m.kind === 'exit' && m.t <= since && (m.label.trim() === name || m.label.trim().startsWith(`${name} `)))
    const last = exits[exits.length - 1]
    if (last) return markerPhrase({ ...result, markers: [last] }, last.t)
  }
  return markerPhrase(result, since)
}

function rank(kind: string): number {
  const i = MARKER_PRIORITY.indexOf(kind)
  return i < 0 ? MARKER_PRIORITY.length : i
}

/** Sentences about one run. `who` names it (its design, or its label among runs of one design). */
export function runConclusion(who: string, result: RunResult, summary: Omit<RunSummary, 'conclusion'>): string[] {
  const out: string[] = []
  const byOwner = new Map<string, RunResult['leaks']>()
  for (const l of result.leaks) {
    const list = byOwner.get(l.owner) ?? []
    list.push(l)
    byOwner.set(l.owner, list)
  }
  if (byOwner.size === 0) out.push(`${who} kept no memory alive after its owner went away.`)
  for (const [owner, leaks] of byOwner) {
    const bytes = leaks.reduce((s, l) => s + l.bytes, 0)
    const since = Math.min(...leaks.map((l) => l.since))
    const neverFreed = leaks.some((l) => l.until === null)
    const until = neverFreed ? result.endTime : Math.max(...leaks.map((l) => l.until ?? 0))
    const types = [...new Set(leaks.map((l) => TYPE_WORDS[l.objectType] ?? l.objectType))]
    const holders = [...new Set(leaks.map((l) => l.heldBy).filter((h): h is string => !!h))]
    const sinceWhat = sincePhrase(result, owner, since)
    const untilWhat = neverFreed ? undefined : markerPhrase(result, until)
    let s = `${who} kept ${formatBytes(bytes)} of ${ownerPhrase(owner)} (${joinWords(types)}) alive for ${formatNs(until - since)}`
    s += sinceWhat ? ` after ${sinceWhat}` : ` after its owner went away (t = ${formatNs(since)})`
    if (neverFreed) s += `, and still at the end of the run (t = ${formatNs(result.endTime)})`
    else s += untilWhat ? `, until ${untilWhat}` : `, until t = ${formatNs(until)}`
    if (holders.length) s += `; held by ${joinWords(holders)}`
    out.push(`${s}.`)
  }
  const errors = result.findings.filter((f) => f.severity === 'error')
  if (errors.length) {
    const kinds = [...new Set(errors.map((f) => f.kind))]
    out.push(`${who} has ${errors.length} error finding${errors.length > 1 ? 's' : ''} (${joinWords(kinds)}): ${errors[0]!.message}`)
  }
  const failed = result.expects.filter((e) => !e.passed)
  if (failed.length) out.push(`${who} failed ${failed.length} of ${result.expects.length} expect${result.expects.length > 1 ? 's' : ''} (first: ${failed[0]!.check}).`)
  if (summary.invalidationCount > 0) {
    const top = summary.invalidationsByMechanism[0]!
    const share = summary.invalidationTotalNs > 0 ? Math.round((100 * top.totalNs) / summary.invalidationTotalNs) : 0
    out.push(
      `${who} delivered ${summary.invalidationCount} invalidation${summary.invalidationCount > 1 ? 's' : ''} costing ${formatNs(summary.invalidationTotalNs)} in total; ${top.mechanism} took ${share}% (p99 ${formatNs(top.p99Ns)}).`,
    )
  }
  return out
}

/** Sentences comparing runs: least and most memory held for gone owners, cheapest and costliest invalidation. */
export function crossRunConclusion(runs: { who: string; summary: Omit<RunSummary, 'conclusion'> }[]): string[] {
  if (runs.length < 2) return []
  const out: string[] = []
  const byLeak = [...runs].sort((a, b) => a.summary.leakedByteSeconds - b.summary.leakedByteSeconds)
  const best = byLeak[0]!
  const worst = byLeak[byLeak.length - 1]!
  if (worst.summary.leakedByteSeconds > best.summary.leakedByteSeconds) {
    const tied = byLeak.filter((r) => r.summary.leakedByteSeconds === best.summary.leakedByteSeconds).map((r) => r.who)
    out.push(
      `Least memory held after owners went away: ${joinWords(tied)} (${formatByteSeconds(best.summary.leakedByteSeconds)}); most: ${worst.who} (${formatByteSeconds(worst.summary.leakedByteSeconds)}, ${formatBytes(worst.summary.leakedBytes)}).`,
    )
  } else out.push(`All ${runs.length} runs held the same memory after owners went away (${formatByteSeconds(best.summary.leakedByteSeconds)}).`)
  const byCost = [...runs].sort((a, b) => a.summary.invalidationTotalNs - b.summary.invalidationTotalNs)
  const cheap = byCost[0]!
  const dear = byCost[byCost.length - 1]!
  if (dear.summary.invalidationTotalNs > cheap.summary.invalidationTotalNs)
    out.push(
      `Cheapest invalidation: ${cheap.who} (${formatNs(cheap.summary.invalidationTotalNs)} over ${cheap.summary.invalidationCount}); costliest: ${dear.who} (${formatNs(dear.summary.invalidationTotalNs)} over ${dear.summary.invalidationCount}).`,
    )
  return out
}
