/**
 * Issue 17, "simulate this machine" uses this machine: the derived machine replaces the scenario's
 * (IOMMU, devices), the Hardware view says which parts came from the probe and which from the
 * scenario, a machine that lacks a device a step needs refuses the run naming that step, and the
 * runs' records carry the parts (shown with the experiment's results).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, expect } from './fixtures'
import { gotoHash, workspaceTest, writeWorkspace } from './ui-workspace'

// A temporary workspace of its own, so the runs started here go nowhere else.
const test = workspaceTest((root) => writeWorkspace(root, []))

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

/** The line of the fork scenario's open step, the first that needs the device (counted from 1). */
const OPEN_LINE =
  readFileSync(join(ROOT, 'scenarios/thread-2014/a-fork-after-mirror.yaml'), 'utf8')
    .split('\n')
    .findIndex((l) => /^\s*- open:/.test(l)) + 1

async function deriveFor(page: import('@playwright/test').Page, capture: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
  await expect(page.getByTestId('probe-source')).toBeVisible({ timeout: 30_000 })
  await page.getByLabel('Captured sysroot on the host (folder or .tar.gz)').fill(join(ROOT, 'test/fixtures/sysroots', capture))
  await page.getByRole('button', { name: 'Load capture' }).click()
  await expect(page.getByTestId('probe-source')).toContainText(capture)
  await page.getByRole('button', { name: 'Derive the machine' }).click()
}

test.describe('Simulate this machine', () => {
  test('a host without IOMMU, GPU or test_hmm: the scenario’s IOMMU and device are not used, and the run is refused naming the step', async ({
    appPage: page,
  }) => {
    await deriveFor(page, 'this-machine.tar.gz')
    const parts = page.getByTestId('machine-parts')
    await expect(parts.getByRole('rowheader')).toHaveText(['iommus', 'devices.gpu0'])
    const iommus = parts.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'iommus' }) })
    await expect(iommus.getByRole('cell').nth(0)).toHaveText('this machine (probe)')
    await expect(iommus.getByRole('cell').nth(1)).toContainText('none: this machine has no IOMMU; the scenario’s iommu0 removed')
    const gpu0 = parts.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'devices.gpu0' }) })
    await expect(gpu0.getByRole('cell').nth(0)).toHaveText('removed: this machine lacks it')
    await expect(gpu0.getByRole('cell').nth(1)).toContainText('CONFIG_TEST_HMM')
    const refused = page.getByTestId('simulate-refused')
    await expect(refused).toContainText(`:${OPEN_LINE}: steps[1].open.device: the open step needs device "gpu0", which this machine lacks`)
    await expect(page.getByRole('button', { name: /Run the 2014 fork scenario/ })).toBeDisabled()
  })

  test('a host without an IOMMU: its GPU replaces the device, and the runs’ records say which parts came from where', async ({ appPage: page }) => {
    // six real runs of the fork scenario: more than the default minute on a busy two-core machine
    test.setTimeout(240_000)
    await deriveFor(page, 'kfd-mi210-xgmi')
    const parts = page.getByTestId('machine-parts')
    await expect(parts.getByRole('rowheader')).toHaveText(['iommus', 'devices.gpu0', 'devices (unused)'])
    await expect(page.getByTestId('simulate-refused')).toHaveCount(0)
    await page.getByRole('button', { name: /Run the 2014 fork scenario/ }).click()
    const started = page.getByTestId('simulate-started')
    await expect(started).toContainText('Started experiment')
    const experimentId = (await started.locator('code').textContent())!.trim()

    await gotoHash(page, `#/results?experiment=${experimentId}`)
    const machine = page.getByTestId('experiment-machine')
    await expect(machine).toContainText('Simulated on the machine probed 5.15.0-91-generic', { timeout: 120_000 })
    await expect(machine.getByRole('rowheader')).toHaveText(['iommus', 'devices.gpu0', 'devices (unused)'])
    const gpu0 = machine.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'devices.gpu0' }) })
    await expect(gpu0.getByRole('cell').nth(1)).toContainText('gpu, no IOMMU, no device TLB (the scenario had a dmirror behind iommu0 with ATS)')
  })
})
