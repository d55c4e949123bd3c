/**
 * Issue 17, the experiment view: a design-only experiment shows one bar per design, the per-design
 * table and the report's conclusion (the same sentences, from src/shared/conclusion.ts); a seed
 * sweep's axis says the record's unit, can be logarithmic (naming the designs at 0) and says when
 * every seed gave the same result.
 */
import { expect } from './fixtures'
import {
  chartSummary,
  experimentManifest,
  gotoHash,
  makeRecord,
  makeRun,
  workspaceTest,
  writeWorkspace,
  type FixtureExperiment,
  type FixtureRun,
} from './ui-workspace'
import { documentFromRuns } from '../src/main/services/reports/document'
import { summarizeSweep } from '../src/shared/plan'
import { sweepCheckWords, sweepFindingWords } from '../src/shared/sweep-text'

const S = 1e9
const DESIGNS = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6']

/** D1 holds A's 64 MiB until B closes, D4 for good; D2, D5, D6 hold one page; D3 frees it at A's exit. */
function story(design: string): Pick<FixtureRun, 'mib' | 'leakUntil' | 'useAfterFree'> {
  if (design === 'D1') return {}
  if (design === 'D4') return { leakUntil: null, useAfterFree: true }
  if (design === 'D3') return { leakUntil: 2 * S }
  return { mib: 1 / 256 }
}

const designRuns: FixtureRun[] = DESIGNS.map((design) => ({ id: `designs-${design}`, design, experimentId: 'exp-designs', ...story(design) }))
const seedRuns: FixtureRun[] = DESIGNS.flatMap((design) =>
  [1, 2, 3].map((seed) => ({ id: `seeds-${design}-s${seed}`, design, seed, experimentId: 'exp-seeds', ...story(design) })),
)

/** Two designs over four seeds that differ: D1's mirror grows with the seed, D4 never frees and hits a use-after-free in seeds 1 and 2. */
const mixedRuns: FixtureRun[] = ['D1', 'D4'].flatMap((design) =>
  [1, 2, 3, 4].map((seed) => ({
    id: `mixed-${design}-s${seed}`,
    design,
    seed,
    experimentId: 'exp-mixed',
    mib: 16 * seed,
    ...(design === 'D4' ? { leakUntil: null, useAfterFree: seed <= 2 } : {}),
  })),
)
const mixedSummary = summarizeSweep(
  mixedRuns.map((r) => ({
    design: r.design,
    seed: r.seed!,
    parameters: {},
    status: 'passed',
    findingKinds: makeRecord(r).findings.rows.map((f) => f.kind),
  })),
  [{ design: 'D4', finding: 'use_after_free', fraction: 0 }],
)
const mixed: FixtureExperiment = {
  id: 'exp-mixed',
  name: 'two designs, four seeds',
  sweep: { design: ['D1', 'D4'], seed: [1, 2, 3, 4] },
  runIds: mixedRuns.map((r) => r.id),
  seeds: 4,
  summary: mixedSummary,
}

const test = workspaceTest((root) =>
  writeWorkspace(
    root,
    [...designRuns, ...seedRuns, ...mixedRuns],
    [
      { id: 'exp-designs', name: 'every design', sweep: { design: DESIGNS }, runIds: designRuns.map((r) => r.id) },
      { id: 'exp-seeds', name: 'three seeds', sweep: { design: DESIGNS, seed: [1, 2, 3] }, runIds: seedRuns.map((r) => r.id) },
      mixed,
    ],
  ),
)

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test.describe('Experiment results', () => {
  test('a design-only experiment: one bar per design, the per-design table and the report’s conclusion', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?experiment=exp-designs')
    const view = page.getByTestId('experiment-result')
    await expect(view).toBeVisible()
    // not "No data for this chart": one bar per design, in the record's unit
    await expect.poll(async () => (await chartSummary(page, 'sweep'))?.labels).toEqual(DESIGNS)
    const bars = (await chartSummary(page, 'sweep'))!
    expect(bars.type).toBe('bar')
    expect(bars.axes.y!.title).toBe('leak_byte_seconds (MiB·s)')
    await expect(view.getByText('No data for this chart')).toHaveCount(0)

    // the per-design table: one row per design, the record's numbers in their units
    const table = page.getByTestId('design-table')
    await expect(table.getByRole('rowheader')).toHaveText(DESIGNS)
    const d3 = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'D3', exact: true }) })
    await expect(d3.getByRole('cell').nth(3)).toHaveText('0 B·s')
    const d1 = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'D1', exact: true }) })
    await expect(d1.getByRole('cell').nth(1)).toHaveText('64.13 MiB')

    // the conclusion: the very sentences the HTML report writes for this experiment
    const doc = await documentFromRuns('experiment', designRuns.map(makeRun), { probe: 'none' })
    expect(doc.conclusion.length).toBeGreaterThan(DESIGNS.length)
    await expect(page.getByTestId('experiment-conclusion').getByRole('listitem')).toHaveText(doc.conclusion)
    await expect(page.getByTestId('experiment-conclusion').getByRole('listitem').first()).toHaveText(
      /^Least memory held after owners went away: D3 \(0 B·s\); most: D4 \(\d+(\.\d+)? MiB·s, peak 64\.13 MiB\)\.$/,
    )
  })

  test('a seed sweep: the axis in the record’s unit, a logarithmic axis, and a note that the seeds changed nothing', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?experiment=exp-seeds')
    await expect(page.getByTestId('experiment-result')).toBeVisible()
    await expect(page.getByTestId('sweep-param')).toHaveValue('seed')
    await expect(page.getByTestId('sweep-metric')).toHaveValue('leak_byte_seconds')
    await expect.poll(async () => (await chartSummary(page, 'sweep'))?.datasets.length).toBe(6)
    let s = (await chartSummary(page, 'sweep'))!
    // the unit the record gives leak_byte_seconds, not "(value)"
    expect(s.axes.y!.title).toBe('leak_byte_seconds (MiB·s)')
    expect(s.axes.y!.type).toBe('linear')
    // one design at 0 is visible as such on a linear axis
    await expect(page.getByTestId('linear-zeros')).toHaveCount(0)

    // on a logarithmic axis the small designs separate from 0; D3 (at 0) cannot be drawn and is named
    await page.getByTestId('sweep-log').check()
    await expect.poll(async () => (await chartSummary(page, 'sweep'))?.axes.y?.type).toBe('logarithmic')
    s = (await chartSummary(page, 'sweep'))!
    expect(s.axes.y!.title).toBe('leak_byte_seconds (MiB·s, log scale)')
    expect(s.datasets.find((d) => d.label === 'design D3')!.points).toBe(0)
    expect(s.datasets.find((d) => d.label === 'design D2')!.points).toBe(3)
    await expect(page.getByTestId('log-zeros')).toHaveText('At 0, not drawn on a logarithmic axis: D3.')

    // another metric: its own unit
    await page.getByTestId('sweep-metric').selectOption('invalidation_cost_ns')
    await expect.poll(async () => (await chartSummary(page, 'sweep'))?.axes.y?.title).toMatch(/^invalidation_cost_ns \((ns|µs|ms|s), log scale\)$/)

    // every seed gave the same numbers: the fixture's scenario draws nothing random
    await expect(page.getByTestId('seed-note')).toContainText('Every seed gave the same result')
    await expect(page.getByTestId('seed-note')).toContainText('across the 3 seeds of each design')
    await expect(page.getByTestId('seed-note')).toContainText('The scenario has no randomness')
  })

  test('designs with equal numbers: the lines on top of each other are named in the legend and dashed', async ({ appPage: page }) => {
    // D2, D5 and D6 hold the same page for the same time: three equal lines, where two used to vanish under the third
    await gotoHash(page, '#/results?experiment=exp-seeds')
    await expect(page.getByTestId('sweep-metric')).toHaveValue('leak_byte_seconds')
    await expect.poll(async () => (await chartSummary(page, 'sweep'))?.datasets.length).toBe(6)
    const sets = (await chartSummary(page, 'sweep'))!.datasets
    expect(sets.map((d) => d.label)).toEqual(['design D1', 'design D2', 'design D3', 'design D4', 'design D5 (= design D2)', 'design D6 (= design D2)'])
    expect(sets.filter((d) => d.dash).map((d) => d.label)).toEqual(['design D5 (= design D2)', 'design D6 (= design D2)'])
    expect(sets[4]!.dash).not.toEqual(sets[5]!.dash)
    // on a logarithmic axis too
    await page.getByTestId('sweep-log').check()
    await expect.poll(async () => (await chartSummary(page, 'sweep'))?.axes.y?.type).toBe('logarithmic')
    expect((await chartSummary(page, 'sweep'))!.datasets.filter((d) => d.dash).length).toBe(2)
  })

  test('a sweep of designs and seeds: each design stated once over its seeds, as the report says it, with the sweep summary', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?experiment=exp-mixed')
    const conclusion = page.getByTestId('experiment-conclusion')
    const items = conclusion.getByRole('listitem')
    // the very sentences of the experiment's HTML report, which reads every record
    const doc = await documentFromRuns('experiment', mixedRuns.map(makeRun), { probe: 'none', experiment: experimentManifest(mixed) })
    await expect(items).toHaveText(doc.conclusion)
    const said = await items.allTextContents()
    // every design, its seeds summarised: D1's memory differs by seed, D4 hit the use-after-free in two of four
    expect(said[0]).toMatch(/^Least memory held after owners went away \(median over each design's seeds\): D1 \(.+\); most: D4 \(.+, peak up to .+\)\.$/)
    expect(said).toContainEqual(expect.stringMatching(/^D1, seeds 1–4: memory held after owners went away min .+, median .+, max .+; held in 4 of 4 seeds\.$/))
    expect(said).toContainEqual(expect.stringMatching(/^D4, seeds 1–4: /))
    expect(said).toContain('D4: use_after_free in 2/4 seeds (50%) and warn in 4/4 seeds (100%).')
    expect(said.filter((s) => /^D[14], seed \d /.test(s)).length).toBeLessThanOrEqual(8)
    // read from all 8 runs: no note that only some were read
    await expect(page.getByTestId('conclusion-coverage')).toHaveCount(0)

    // the sweep summary in the CLI's words
    const sweep = page.getByTestId('sweep-summary')
    await expect(sweep.getByTestId('sweep-fractions')).toHaveText(mixedSummary.groups.map((g) => sweepFindingWords(g).join(', ')))
    await expect(sweep.getByTestId('sweep-fractions').nth(1)).toHaveText('use_after_free in 2/4 seeds (50%), warn in 4/4 seeds (100%)')
    await expect(sweep.getByTestId('sweep-check')).toHaveText(mixedSummary.checks.map(sweepCheckWords))
    await expect(sweep.getByTestId('sweep-check')).toHaveText(['✗ sweep_expect D4: fraction of 4 seeds with use_after_free: 0.500 (expected = 0)'])
  })
})
