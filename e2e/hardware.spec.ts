import { join } from 'node:path'
import { ROOT, expect, test } from './fixtures'

test.describe('Hardware view', () => {
  test('probes this machine: kernel facts, no IOMMU, no KFD', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
    await expect(page.getByTestId('probe-source')).toContainText('This machine', { timeout: 30_000 })
    await expect(page.getByTestId('kernel-release')).not.toHaveText('?')
    await expect(page.getByTestId('no-iommu')).toBeVisible()
    await expect(page.getByTestId('kfd-dev')).toContainText('absent')
    await expect(page.getByTestId('kconfig').getByRole('row').nth(1)).toBeVisible()
  })

  test('loads a captured sysroot and shows decoded VT-d registers', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
    await expect(page.getByTestId('probe-source')).toBeVisible({ timeout: 30_000 })
    await page.getByLabel('Captured sysroot on the host (folder or .tar.gz)').fill(join(ROOT, 'test/fixtures/sysroots/intel-spr'))
    await page.getByRole('button', { name: 'Load capture' }).click()
    await expect(page.getByTestId('probe-source')).toContainText('directory')
    const unit = page.getByRole('article').first()
    await expect(unit).toBeVisible()
    await expect(unit.getByRole('rowheader', { name: 'SAGAW' }).first()).toBeVisible()
    await expect(unit.getByTestId('register-raw').first()).toHaveText(/^0x[0-9a-f]+$/)
  })

  test('simulate a captured machine: derive its scenario machine and start a run on it', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
    await expect(page.getByTestId('probe-source')).toBeVisible({ timeout: 30_000 })
    await page.getByLabel('Captured sysroot on the host (folder or .tar.gz)').fill(join(ROOT, 'test/fixtures/sysroots/intel-kbl-r'))
    await page.getByRole('button', { name: 'Load capture' }).click()
    await expect(page.getByTestId('probe-source')).toContainText('intel-kbl-r')
    await page.getByRole('button', { name: 'Derive the machine' }).click()
    await expect(page.getByTestId('simulated-machine')).toContainText('psi: false')
    await page.getByRole('button', { name: /Run the 2014 fork scenario/ }).click()
    await expect(page.getByTestId('simulate-started')).toContainText('Started experiment')
  })

  test('a sysroot that does not exist is reported, not a crash', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
    await expect(page.getByTestId('probe-source')).toBeVisible({ timeout: 30_000 })
    await page.getByLabel('Captured sysroot on the host (folder or .tar.gz)').fill('/no/such/sysroot')
    await page.getByRole('button', { name: 'Load capture' }).click()
    await expect(page.getByRole('alert')).toContainText('cannot probe /no/such/sysroot: no such folder or .tar.gz file')
    await expect(page.getByRole('heading', { name: 'HMM Lab', level: 1 })).toBeVisible()
  })
})
