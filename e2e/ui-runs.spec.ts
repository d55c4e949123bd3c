import { readFileSync } from 'node:fs'
import { expect } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test.describe('Runs (stored)', () => {
  test('stored runs are listed newest first, a crashed run shows its error, a run links to its results', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const table = page.getByTestId('stored-runs')
    await expect(table.locator('tbody tr')).toHaveCount(9)
    await expect(table.locator('tbody tr').first()).toContainText('run-d1')
    const failed = table.getByRole('row', { name: /run-failed/ })
    await expect(failed).toContainText('crashed')
    await expect(failed).toContainText('worker crashed: out of memory at step 7')
    await table.getByRole('link', { name: 'run-d4' }).click()
    await expect(page).toHaveURL(/#\/results\?run=run-d4$/)
    await expect(page.getByTestId('result-design')).toHaveText('D4')
  })

  test('Reports exports a run through reports.export and offers it as a download', async ({ appPage: page }) => {
    await gotoHash(page, '#/reports?run=run-d1')
    await expect(page.getByTestId('report-run')).toHaveValue('run-d1')
    await page.getByTestId('report-format').selectOption('json')
    await page.getByTestId('export').click()
    const link = page.getByTestId('download')
    await expect(link).toBeVisible()
    await expect(page.getByTestId('export-error')).toHaveCount(0)
    await expect(link).toHaveAttribute('href', /^blob:/)
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toMatch(/\.json$/)
  })

  test("a report can leave this machine's probe out", async ({ appPage: page }) => {
    await gotoHash(page, '#/reports?run=run-d1')
    await page.getByTestId('report-format').selectOption('json')
    await expect(page.getByTestId('report-probe')).toBeChecked()
    await page.getByTestId('report-probe').uncheck()
    await page.getByTestId('export').click()
    const link = page.getByTestId('download')
    await expect(link).toBeVisible()
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    const doc = JSON.parse(readFileSync(await download.path(), 'utf8')) as { probe: { status: string; reason?: string } }
    expect(doc.probe).toEqual({ status: 'unavailable', reason: 'not requested' })
  })
})
