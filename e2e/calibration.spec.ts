import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, expect, test } from './fixtures'

const FIXTURE = join(ROOT, 'test/fixtures/calibration/lab-vm-quick.json')

test.describe('Costs of this machine (Hardware view)', () => {
  test('imports a shared calibration, shows provenance, refuses a broken one, goes back to defaults', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
    const panel = page.getByTestId('calibration')
    await expect(panel.getByTestId('cost-params')).toBeVisible({ timeout: 30_000 })
    // a previous test (or retry) may have left one: start from the defaults
    const useDefaults = panel.getByRole('button', { name: 'Use the defaults' })
    if (await useDefaults.isEnabled()) await useDefaults.click()
    await expect(panel.getByTestId('calibration-summary')).toContainText('costs: defaults')
    await expect(panel.getByRole('row', { name: /cpu_fault/ })).toContainText('assumed')

    await panel.getByTestId('calibration-import').setInputFiles(FIXTURE)
    const host = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { host: { hostname: string } }).host.hostname
    await expect(panel.getByTestId('calibration-summary')).toContainText(`costs: calibrated on ${host}`)
    await expect(panel.getByRole('row', { name: /cpu_fault/ })).toContainText('measured here')
    await expect(panel.getByRole('row', { name: /^cpu_invlpg/ })).toContainText('sourced')
    await panel.getByLabel('device side').check()
    await expect(panel.getByRole('row', { name: /iotlb_psi/ })).toContainText('assumed')
    await expect(panel.getByText('measured here')).toHaveCount(0)

    await panel
      .getByTestId('calibration-import')
      .setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"hmmlab.calibration/1"}') })
    await expect(panel.getByRole('alert')).toContainText('date')
    await expect(panel.getByTestId('calibration-summary')).toContainText(`calibrated on ${host}`)

    await panel.getByRole('button', { name: 'Export' }).click()
    await expect(panel.getByTestId('calibration-download')).toContainText(`calibration-${host}`)
    await panel.getByRole('button', { name: 'Use the defaults' }).click()
    await expect(panel.getByTestId('calibration-summary')).toContainText('costs: defaults')
  })

  test('calibrates this machine from the panel: progress while it runs, then measured parameters', async ({ appPage: page }) => {
    // a real quick calibration: compiles native/calibrate/calibrate.c with cc and measures (11-13 s of
    // CPU on the lab's busy 2-CPU VM); the generous timeout is for a busy machine, not a speed check
    test.setTimeout(300_000)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
    const panel = page.getByTestId('calibration')
    await expect(panel.getByTestId('cost-params')).toBeVisible({ timeout: 30_000 })
    const useDefaults = panel.getByRole('button', { name: 'Use the defaults' })
    if (await useDefaults.isEnabled()) await useDefaults.click()
    await expect(panel.getByTestId('calibration-summary')).toContainText('costs: defaults')

    await expect(panel.getByLabel('quick (about 20 s)')).toBeChecked()
    await panel.getByTestId('calibration-run').click()
    await expect(panel.getByTestId('calibration-progress')).toBeVisible({ timeout: 60_000 })
    await expect(panel.getByTestId('calibration-progress')).toContainText(/\d+% — \w+ \(\d+\/\d+\)/)
    await expect(panel.getByTestId('calibration-summary')).toContainText(/costs: calibrated on \S+/, { timeout: 240_000 })
    await expect(panel.getByTestId('calibration-summary')).toContainText('quick')
    await expect(panel.getByTestId('calibration-progress')).toHaveCount(0)
    await expect(panel.getByRole('row', { name: /cpu_fault/ })).toContainText('measured here')
    await expect(panel.getByRole('row', { name: /^cpu_invlpg/ })).toContainText('sourced')

    await useDefaults.click()
    await expect(panel.getByTestId('calibration-summary')).toContainText('costs: defaults')
  })
})
