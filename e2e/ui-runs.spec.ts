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
    const error = page.getByTestId('export-error')
    const link = page.getByTestId('download')
    await expect(error.or(link)).toBeVisible()
    if (await error.isVisible()) {
      test.fixme(true, `reports.export is not served by the host yet: ${await error.textContent()}`)
      return
    }
    await expect(link).toHaveAttribute('href', /^blob:/)
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toMatch(/\.json$/)
  })
})
