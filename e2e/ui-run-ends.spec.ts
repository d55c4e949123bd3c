/**
 * Review 8 #9 and #14 in the app: a run whose main sequence blocked says `stopped (blocked)` with
 * the waiting task and step; a run whose background step never returned says so under its status;
 * the experiment header names the scenario only when it differs from the experiment's name and
 * sets the status badge off as a word; a seed sweep's axis has whole-number ticks only.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { expect } from './fixtures'
import { experimentManifest, gotoHash, workspaceTest, writeSimulatedRun, writeWorkspace, type FixtureRun } from './ui-workspace'

const head = 'designs: [D1]\nmachine:\n  devices:\n    - { name: gpu0, kind: dmirror }\nsteps:\n'
/** A vfork child that never execs or exits: the parent's next step (line 9) waits for good. */
const MAIN_BLOCKS = `name: main blocks\n${head}  - spawn: { task: A }\n  - vfork: { task: A, child: C }\n  - mmap: { task: A, region: buf, size: 8K }\n  - exit: { task: C }\n`
/** The same wait in a background block (its step on line 11); the main sequence ends. */
const BACKGROUND_BLOCKS = `name: background blocks\n${head}  - spawn: { task: A }\n  - vfork: { task: A, child: C }\n  - background:\n      steps:\n        - mmap: { task: A, region: buf, size: 8K }\n  - spawn: { task: X }\n`

function writeSimulated(root: string, id: string, text: string): void {
  writeSimulatedRun(root, id, text, `${id}.yaml`)
}

const seedRuns = (experimentId: string): FixtureRun[] =>
  ['D1', 'D4'].flatMap((design) => [1, 2, 3].map((seed) => ({ id: `${experimentId}-${design}-s${seed}`, design, seed, experimentId, mib: 16 * seed })))
const plain = seedRuns('exp-plain')
const named = seedRuns('exp-named')

const test = workspaceTest((root) => {
  writeWorkspace(root, [...plain, ...named])
  mkdirSync(join(root, 'experiments'), { recursive: true })
  // by default an experiment is named after its scenario ('fork after mirror')
  for (const [id, name, runs] of [
    ['exp-plain', 'fork after mirror', plain],
    ['exp-named', 'my sweep', named],
  ] as const) {
    const m = experimentManifest({ id, name, sweep: { design: ['D1', 'D4'], seed: [1, 2, 3] }, runIds: runs.map((r) => r.id), seeds: 3 })
    writeFileSync(join(root, 'experiments', `${id}.json`), JSON.stringify({ ...m, status: 'passed' }, null, 2))
  }
  writeSimulated(root, 'blocked-main', MAIN_BLOCKS)
  writeSimulated(root, 'blocked-background', BACKGROUND_BLOCKS)
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

/** The values of the ticks the sweep chart's x axis draws, read through its Chart.js instance. */
async function sweepTicks(page: Page): Promise<number[] | undefined> {
  return page.evaluate(() => {
    const reg = (window as unknown as { __hmmlabCharts?: { charts: Map<string, { chart: { scales: { x: { ticks: { value: number }[] } } } }> } }).__hmmlabCharts
    return reg?.charts.get('sweep')?.chart.scales.x.ticks.map((t) => t.value)
  })
}

test.describe('How a run ended, and the experiment header', () => {
  test('a run whose main sequence blocked is stopped (blocked), naming the task, step and wait', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?run=blocked-main')
    await expect(page.getByTestId('result-status')).toHaveText('stopped (blocked)')
    await expect(page.getByTestId('result-progress')).toContainText('2/4 steps')
    await expect(page.getByTestId('result-stop')).toContainText(
      'Stopped: the scenario blocked (nothing more can happen): task A stays in mmap (line 9), waiting on vfork_done of C.',
    )
    await expect(page.getByTestId('result-waiting')).toHaveCount(0)
  })

  test('a run that reached its end with a background step stuck says so under its status', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?run=blocked-background')
    await expect(page.getByTestId('result-status')).toHaveText('passed')
    await expect(page.getByTestId('result-waiting')).toHaveText(
      'The run reached its end, but a background step never returned: task A stays in mmap (line 11), waiting on vfork_done of C.',
    )
    await expect(page.getByTestId('result-stop')).toHaveCount(0)
  })

  test('the header names the scenario once, and the badge reads as a word; the seed axis has whole ticks', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?experiment=exp-plain')
    const header = page.getByTestId('experiment-header')
    await expect(header).toBeVisible()
    expect((await header.innerText()).replace(/\s+/g, ' ').trim()).toBe('fork after mirror · 6 / 6 runs stored · passed')
    await expect(page.getByTestId('sweep-param')).toHaveValue('seed')
    await expect.poll(() => sweepTicks(page)).toEqual([1, 2, 3])

    await gotoHash(page, '#/results?experiment=exp-named')
    await expect(header).toContainText('my sweep')
    expect((await header.innerText()).replace(/\s+/g, ' ').trim()).toBe('my sweep · scenario fork after mirror · 6 / 6 runs stored · passed')
  })
})
