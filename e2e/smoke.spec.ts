import { expect, test } from './fixtures'

test.describe('app shell', () => {
  test('loads, shows the host info and navigates between views', async ({ appPage: page, hostKind }) => {
    await expect(page.getByRole('heading', { name: 'HMM Lab', level: 1 })).toBeVisible()
    await expect(page.getByTestId('host-kind')).toHaveText(hostKind)
    await expect(page.getByTestId('app-version')).toHaveText(/^v\d+\.\d+\.\d+/)
    const nav = page.getByRole('navigation', { name: 'Main' })
    for (const view of ['Results', 'Hardware', 'Reports', 'Experiments']) {
      await nav.getByRole('link', { name: view }).click()
      await expect(page.getByRole('heading', { name: view, level: 2 })).toBeVisible()
      await expect(page).toHaveURL(new RegExp(`#/${view.toLowerCase()}$`))
    }
  })

  test('the renderer has no Node access', async ({ appPage: page }) => {
    const exposed = await page.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      buffer: typeof (globalThis as { Buffer?: unknown }).Buffer,
    }))
    expect(exposed).toEqual({ require: 'undefined', process: 'undefined', buffer: 'undefined' })
  })

  test('the event connection opens', async ({ appPage: page }) => {
    await expect(page.getByTestId('connection')).toHaveText('open')
  })
})

test.describe('browser host only', () => {
  test('the token leaves the address bar and a page without it is refused by the API', async ({ appPage: page, hostKind, browserHost, browser }) => {
    test.skip(hostKind !== 'browser', 'browser host only')
    await expect(page.getByTestId('host-kind')).toHaveText('browser')
    expect(page.url()).not.toContain('token=')
    const fresh = await browser.newPage()
    await fresh.goto(browserHost!.origin + '/')
    await expect(fresh.getByRole('alert')).toContainText('no token')
    await fresh.close()
  })
})
