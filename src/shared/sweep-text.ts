/**
 * The sweep summary (src/shared/plan.ts) in words, one wording for every view: the CLI's summary
 * (`src/main/cli/record-text.ts`), the HTML report and the app's experiment view. Every number is
 * the summary's own (hits, finished seeds, fractions), through the lab's one formatter.
 * Pure; no Node or DOM.
 */
import type { SweepCheck, SweepGroup, SweepSummary } from './plan'
import { formatFraction } from './units'

/** Seeds of the group that ran to their end: the fractions' denominator. */
export function finishedSeeds(g: Pick<SweepGroup, 'seeds' | 'unfinishedSeeds'>): number {
  return g.seeds.length - g.unfinishedSeeds.length
}

/** Each finding kind of a group: `use_after_free in 14/64 seeds (21.88%)`, in the summary's order. */
export function sweepFindingWords(g: Pick<SweepGroup, 'seeds' | 'unfinishedSeeds' | 'hits' | 'fractions'>): string[] {
  const finished = finishedSeeds(g)
  return Object.entries(g.fractions).map(([k, f]) => `${k} in ${g.hits[k]}/${finished} seeds (${formatFraction(f)})`)
}

/** The group's parameters as ` path=value` pieces (empty for a design-only group). */
export function sweepParamWords(g: Pick<SweepGroup, 'parameters'>): string {
  return Object.entries(g.parameters)
    .map(([k, v]) => ` ${k}=${String(v)}`)
    .join('')
}

/** One group: `B2: 64 seeds from 1: use_after_free in 14/64 seeds (21.88%); expects failed in 2 seeds`. */
export function sweepGroupWords(g: SweepGroup): string {
  const kinds = sweepFindingWords(g).join(', ')
  return `${g.design}${sweepParamWords(g)}: ${g.seeds.length} seeds from ${g.seeds[0]}: ${kinds || 'no findings'}${g.failedSeeds.length ? `; expects failed in ${g.failedSeeds.length} seeds` : ''}${g.unfinishedSeeds.length ? `; ${g.unfinishedSeeds.length} seeds did not finish` : ''}`
}

/** One `sweep_expect` verdict: `✓ sweep_expect B2: fraction of 64 seeds with use_after_free: 0.219 (expected ≥ 0.1)`. */
export function sweepCheckWords(c: Pick<SweepCheck, 'passed' | 'what'>): string {
  return `${c.passed ? '✓' : '✗'} sweep_expect ${c.what}`
}

/** The whole summary as the terminal prints it: a line per group, a line per verdict, the outcome. */
export function sweepSummaryLines(s: SweepSummary): string[] {
  return [
    ...s.groups.map((g) => `  sweep ${sweepGroupWords(g)}`),
    ...s.checks.map((c) => `    ${sweepCheckWords(c)}`),
    `  sweep ${s.passed ? 'passed' : 'failed'}`,
  ]
}
