/**
 * Issue 15, a run cancelled while it ran, made for real in the app and then opened from the stored
 * runs: a scenario of minutes of simulation is started from the Experiments view, its run is
 * cancelled from the Runs view once its progress says a step is done (event order, no timing),
 * and the stored run opens in Results as "cancelled" with the simulator's partial record: the
 * steps and simulated time it reached, read back from the stored record, and none of a finished
 * run's look. A run cancelled while still queued (the last of a sweep wider than the host's
 * threads) is stored as cancelled without a record: no link in the stored runs, and Results,
 * opened by its address, says there are no numbers.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'
import { StoredRecord } from '../src/shared/record'
import { formatNs } from '../src/renderer/lib/format'

// A mirrored region under 100 steps of a million random accesses each: minutes of simulation, so only the cancel ends it.
const LONG = [
  'name: long run to cancel',
  'designs: [D4]',
  'machine:',
  '  iommus: [{ name: iommu0, vendor: intel }]',
  '  devices: [{ name: gpu0, kind: dmirror, iommu: iommu0, ats: true }]',
  'steps:',
  '  - spawn: { task: A }',
  '  - open: { task: A, device: gpu0, fd: dev }',
  '  - mmap: { task: A, region: buf, size: 8M, prot: rw }',
  '  - touch: { task: A, region: buf, write: true }',
  '  - mirror: { task: A, fd: dev }',
  ...Array.from({ length: 100 }, () => '  - random_access: { task: A, fd: dev, region: buf, count: 1000000, write_ratio: 0.3, cpu_ratio: 0.5 }'),
  '  - exit: { task: A }',
  '',
].join('\n')

let workspace = ''
const test = workspaceTest((root) => {
  workspace = root
  mkdirSync(join(root, 'scenarios'), { recursive: true })
  writeFileSync(join(root, 'scenarios', 'long-run.yaml'), LONG)
  // the same under its own name, so each test finds its own experiment
  writeFileSync(join(root, 'scenarios', 'long-sweep.yaml'), LONG.replace('name: long run to cancel', 'name: long sweep to cancel'))
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a temporary workspace (browser host --workspace)')
})

test('a run cancelled while it ran is stored with its partial record and opens in Results as cancelled', async ({ appPage: page }) => {
  test.setTimeout(240_000) // a real run on a busy two-core machine
  await page.getByTestId('scenario-workspace:long-run.yaml').click()
  await expect(page.getByTestId('validation')).toHaveText('valid', { timeout: 30_000 })
  await expect(page.getByTestId('run-count')).toContainText('1 run')
  await page.getByTestId('run').click()
  await expect(page.getByRole('heading', { name: 'Runs', level: 2 })).toBeVisible({ timeout: 30_000 })

  // cancel once the run's progress says the simulator is inside its steps
  const row = page.locator('[data-testid^="live-run-"]').first()
  await expect(row.getByTestId('run-steps')).toHaveText(/^[1-9]\d*\/106 steps$/, { timeout: 120_000 })
  const runId = (await row.getAttribute('data-testid'))!.replace(/^live-run-/, '')
  await row.getByRole('button', { name: `cancel run ${runId}` }).click()
  await expect(row.getByTestId('run-status')).toHaveText('cancelled', { timeout: 60_000 })

  // the stored record: the simulator's own, stopped for the user part way
  const record = StoredRecord.parse(JSON.parse(readFileSync(join(workspace, 'runs', runId, 'result.json'), 'utf8')))
  expect(record.outcome).toMatchObject({ status: 'stopped', stop: { reason: 'user' } })
  const { stepsDone, stepsTotal, simulatedNs } = record.outcome
  expect(stepsTotal).toBe(106)
  expect(stepsDone).toBeGreaterThan(0)
  expect(stepsDone).toBeLessThan(stepsTotal)

  // Runs → Stored runs: the cancelled run is listed as cancelled and links to its Results
  const stored = page.getByTestId('stored-runs')
  const storedRow = stored.getByRole('row').filter({ hasText: runId })
  await expect(storedRow).toContainText('cancelled', { timeout: 30_000 })
  await expect(storedRow).not.toContainText('passed')
  await storedRow.getByRole('link', { name: runId }).click()

  const view = page.getByTestId('run-result')
  await expect(view).toBeVisible({ timeout: 30_000 })
  const status = page.getByTestId('result-status')
  await expect(status).toHaveText('cancelled')
  await expect(status).toHaveClass(/\bwarn\b/)
  await expect(status).not.toHaveClass(/\bok\b/)
  await expect(page.getByTestId('result-stop')).toHaveText(`Cancelled: ${record.outcome.stop!.message}. The numbers below cover the part that ran.`)
  // the record's partial numbers, not a finished run's
  await expect(page.getByTestId('result-progress')).toHaveText(`· ran to ${formatNs(simulatedNs)} simulated, ${stepsDone}/${stepsTotal} steps`)
  await expect(view.getByRole('progressbar')).toHaveCount(0)
})

test('a run cancelled in the queue is stored as cancelled with nothing to open: no link, no numbers', async ({ appPage: page }) => {
  test.setTimeout(240_000)
  await page.getByTestId('scenario-workspace:long-sweep.yaml').click()
  await expect(page.getByTestId('validation')).toHaveText('valid', { timeout: 30_000 })
  await page.getByTestId('sweep-param-0').fill('seed')
  await page.getByTestId('sweep-values-0').fill('1..6')
  await expect(page.getByTestId('run-count')).toContainText('6 runs')
  await page.getByTestId('run').click()
  await expect(page.getByRole('heading', { name: 'Runs', level: 2 })).toBeVisible({ timeout: 30_000 })

  // six runs of minutes each, more than the host runs at once: once the first is inside its steps, cancel them all
  const exp = page.getByRole('article', { name: 'experiment long sweep to cancel' })
  await expect(exp.locator('[data-testid^="live-run-"]').first().getByTestId('run-steps')).toHaveText(/^[1-9]\d*\/106 steps$/, { timeout: 120_000 })
  await exp.getByRole('button', { name: /^cancel experiment/ }).click()
  await expect(exp.getByTestId('experiment-status')).toHaveText('cancelled', { timeout: 60_000 })
  const last = exp.locator('[data-testid^="live-run-"]').last()
  await exp.locator('.live-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight))
  await expect(last.getByTestId('run-steps')).toHaveText('never started')
  const runId = (await last.getAttribute('data-testid'))!.replace(/^live-run-/, '')

  // stored without a record: listed as cancelled, its id not a link
  expect(JSON.parse(readFileSync(join(workspace, 'runs', runId, 'result.json'), 'utf8'))).toEqual({ error: 'cancelled' })
  const storedRow = page.getByTestId('stored-runs').getByRole('row').filter({ hasText: runId })
  await expect(storedRow).toContainText('cancelled', { timeout: 30_000 })
  await expect(storedRow.getByRole('link')).toHaveCount(0)
  // opened by its address, Results says so instead of promising numbers
  await gotoHash(page, `#/results?run=${runId}`)
  await expect(page.getByTestId('result-status')).toHaveText('cancelled', { timeout: 30_000 })
  await expect(page.getByTestId('result-stop')).toHaveText('Cancelled: cancelled. The run left no record, so there are no numbers.')
  await expect(page.getByTestId('result-progress')).toHaveCount(0)
})
