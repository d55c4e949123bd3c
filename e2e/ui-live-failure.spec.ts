import { expect, test } from './fixtures'

test('a run that fails while the page is open shows its error in Runs', async ({ appPage: page, hostKind, browserHost, request }) => {
  test.skip(hostKind !== 'browser', 'browser host only (the run is started through its HTTP API)')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
  await expect(page.getByRole('heading', { name: 'Runs', level: 2 })).toBeVisible()
  // A 1 ms limit: the run is stopped by the pool and reported as a timeout with its reason.
  const started = await request.post(`${browserHost!.origin}/api/invoke/experiments.start`, {
    headers: { 'X-HMMLab-Token': browserHost!.token },
    data: { scenarioId: 'builtin:thread-2014/a-fork-after-mirror.yaml', designs: ['D1'], timeoutSeconds: 0.001, name: 'live failure' },
  })
  expect(started.ok()).toBe(true)
  await expect(page.getByText(/exceeded its time limit of 1 ms/).first()).toBeVisible({ timeout: 30_000 })
})
