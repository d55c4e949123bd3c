import { readFileSync } from 'node:fs'
import { expect } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('any chart saves as PNG and its drawn points as CSV with the axis titles', async ({ appPage: page }) => {
  await gotoHash(page, '#/results?run=run-d1')
  const memory = page.getByTestId('chart-memory')
  await expect(memory.locator('canvas')).toBeVisible()

  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-png').click()])
  expect(png.suggestedFilename()).toMatch(/\.png$/)
  const bytes = readFileSync(await png.path())
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  expect(bytes.length).toBeGreaterThan(1000)

  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-csv').click()])
  expect(csv.suggestedFilename()).toMatch(/\.csv$/)
  const lines = readFileSync(await csv.path(), 'utf8')
    .trim()
    .split(/\r\n/)
  expect(lines[0]).toMatch(/^series,simulated time \((ns|µs|ms|s)\),memory live \((B|KiB|MiB|GiB)\)$/)
  expect(lines.length).toBeGreaterThan(2)
  expect(lines[1]).toMatch(/^[a-z_]+,[-0-9.e]+,[-0-9.e]+$/)
})
