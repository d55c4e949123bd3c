import { expect, startServeProcess, test } from './fixtures'

test.describe('browser host restarts', () => {
  test('the open page reconnects its event socket and keeps working', async ({ page, hostKind }) => {
    test.skip(hostKind !== 'browser', 'browser host only')
    const token = 'c0ffee'.repeat(8)
    const first = await startServeProcess([], { HMMLAB_TOKEN: token })
    const port = new URL(first.url).port
    try {
      await page.goto(first.url)
      await expect(page.getByTestId('connection')).toHaveText('open')
      first.child.kill('SIGTERM')
      await expect(page.getByTestId('connection')).toHaveText('closed')
      const second = await startServeProcess(['--port', port], { HMMLAB_TOKEN: token })
      try {
        await expect(page.getByTestId('connection')).toHaveText('open', { timeout: 15_000 })
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hardware' }).click()
        await expect(page.getByTestId('probe-source')).toBeVisible({ timeout: 30_000 })
      } finally {
        second.child.kill('SIGTERM')
      }
    } finally {
      first.child.kill('SIGTERM')
    }
  })
})
