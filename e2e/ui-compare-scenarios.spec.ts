import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from './fixtures'
import { chartSummary, gotoHash, standardWorkspace, workspaceTest } from './ui-workspace'

// Review 8 #20: runs of two scenarios compared side by side must not read as seeds of one
// design. The standard workspace's runs are of "fork after mirror"; the stored D1 run of the 2014
// (a) scenario (test/fixtures/runs/fork) is the other scenario, under the same design and seed.
const FORK = join(import.meta.dirname, '..', 'test', 'fixtures', 'runs', 'fork', 'runs')
const OTHER = 'a-fork-after-mirror-D1-s1'
const test = workspaceTest((root) => {
  standardWorkspace(root)
  cpSync(join(FORK, OTHER), join(root, 'runs', OTHER), { recursive: true })
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('runs of two scenarios: the Compare view says so first and heads each column with its scenario', async ({ appPage: page }) => {
  await gotoHash(page, `#/compare?runs=run-d1,${OTHER}`)
  const warning = page.getByTestId('compare-mixed-scenarios')
  await expect(warning).toBeVisible()
  await expect(warning).toContainText('These runs come from 2 different scenarios (“fork after mirror” and “2014 (a)')
  await expect(warning).toContainText('not seeds of one experiment')
  // above the metrics
  const warnBox = (await warning.boundingBox())!
  const tableBox = (await page.getByTestId('compare-metrics').boundingBox())!
  expect(warnBox.y).toBeLessThan(tableBox.y)

  const heads = page.getByTestId('compare-metrics').getByRole('columnheader')
  await expect(heads.nth(1)).toContainText('D1 · seed 1')
  await expect(page.getByTestId('compare-scenario-0')).toHaveText('fork after mirror')
  await expect(page.getByTestId('compare-scenario-1')).toContainText('2014 (a): A opens, mirrors, forks B')
  // the findings panels and the overlay's lines name the scenario too
  await expect(page.getByTestId('only-in-1').getByRole('heading')).toContainText('D1 of “2014 (a)')
  await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.datasets.length).toBe(2)
  const overlay = (await chartSummary(page, 'compare-overlay'))!
  expect(overlay.datasets.map((d) => d.label)).toEqual([expect.stringContaining('D1 of “fork after mirror”'), expect.stringContaining('D1 of “2014 (a)')])
})

test('runs of one scenario: no warning, short headings', async ({ appPage: page }) => {
  await gotoHash(page, '#/compare?runs=run-d1,run-d4')
  await expect(page.getByTestId('compare-metrics')).toBeVisible()
  await expect(page.getByTestId('compare-mixed-scenarios')).toHaveCount(0)
  await expect(page.getByTestId('compare-scenario-0')).toHaveCount(0)
  await expect(page.getByTestId('only-in-0').getByRole('heading')).toContainText('D1 (run-d1)')
})
