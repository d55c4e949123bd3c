import { expect } from './fixtures'
import { gotoHash, standardWorkspace, workspaceTest, writeWorkspace } from './ui-workspace'

// The standard runs, plus one whose id is as long as real ones get (scenario, design, seed, time).
const LONG = `fork-after-mirror-with-a-long-descriptive-scenario-name-and-parameters-${'x'.repeat(40)}-D4-seed-1`
const test = workspaceTest((root) => {
  standardWorkspace(root)
  writeWorkspace(root, [{ id: LONG, design: 'D4', finishedAt: '2026-01-01T00:00:04.000Z' }])
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('at 1024x768 no view scrolls sideways', async ({ appPage: page }) => {
  await page.setViewportSize({ width: 1024, height: 768 })
  const views: [string, string][] = [
    ['#/experiments', 'Experiments'],
    ['#/runs', 'Runs'],
    ['#/results?run=run-d4', 'Results'],
    [`#/results?run=${LONG}`, 'Results'],
    ['#/compare', 'Compare'],
    ['#/hardware', 'Hardware'],
    ['#/reports', 'Reports'],
  ]
  for (const [hash, heading] of views) {
    await gotoHash(page, hash)
    await expect(page.getByRole('heading', { name: heading, level: 2 })).toBeVisible()
    if (heading === 'Results') await expect(page.getByTestId('result-design')).toHaveText('D4')
    if (hash.includes(LONG)) await expect(page.getByTestId('pick-run')).toHaveValue(LONG)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow, `${heading} is ${overflow} px wider than the window`).toBeLessThanOrEqual(0)
  }
})
