/**
 * Keyboard and labels: every control of every view has an accessible name, the main flow is
 * reachable with the keyboard, and the editor completes scenario fields from the JSON Schema.
 */
import { expect } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

const VIEWS = ['#/experiments', '#/runs', '#/results?run=run-d4', '#/results?experiment=exp-sweep', '#/compare?runs=run-d1,run-d4', '#/reports']

test('every control of every view has an accessible name', async ({ appPage: page }) => {
  for (const hash of VIEWS) {
    await gotoHash(page, hash)
    await page.waitForLoadState('networkidle')
    await page.waitForTimeout(300)
    const unnamed = await page.evaluate(() => {
      const out: string[] = []
      for (const el of Array.from(
        document.querySelectorAll<HTMLElement>('main input, main select, main textarea, main button, main a[href], main [contenteditable="true"]'),
      )) {
        if (el.closest('[aria-hidden="true"]') || el.offsetParent === null) continue
        const named =
          el.getAttribute('aria-label') ||
          el.getAttribute('aria-labelledby') ||
          el.closest('label') ||
          (el.id && document.querySelector(`label[for="${el.id}"]`)) ||
          ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent?.trim())
        if (!named) out.push(el.outerHTML.slice(0, 120))
      }
      return out
    })
    expect(unnamed, `unnamed controls on ${hash}`).toEqual([])
  }
})

test('the scenario library and Run are reachable with the keyboard', async ({ appPage: page }) => {
  // The library loads asynchronously (it parses every scenario): wait for it before tabbing.
  await expect(page.locator('[data-testid^="scenario-"]').first()).toBeVisible({ timeout: 30_000 })
  await page.getByTestId('library-search').focus()
  await page.keyboard.type('fork after mirror')
  await expect(page.locator('[data-testid^="scenario-"]').first()).toBeVisible()
  // Tab from the search box reaches the matching scenario; Enter opens it.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab')
    const id = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '')
    if (id.startsWith('scenario-')) break
  }
  await expect(page.locator(':focus')).toHaveAttribute('data-testid', /^scenario-/)
  await page.keyboard.press('Enter')
  await expect(page.getByRole('textbox', { name: 'Scenario text' })).toContainText('fork')
  await page.getByTestId('seed').focus()
  await page.keyboard.press('Tab')
  await expect(page.locator(':focus')).toHaveAttribute('data-testid', 'sweep-mode')
})

test('the editor completes scenario fields from the JSON Schema', async ({ appPage: page }) => {
  await page.getByTestId('scenario-builtin:thread-2014/a-fork-after-mirror.yaml').click()
  const editor = page.getByRole('textbox', { name: 'Scenario text' })
  await expect(page.getByTestId('validation')).toHaveText('valid')
  await editor.click()
  // a new top-level line at the end (End on a wrapped first line would stop mid-line)
  await page.keyboard.press('Control+End')
  if (!(await editor.innerText()).endsWith('\n')) await page.keyboard.press('Enter')
  // `costs` is a top-level field this scenario does not set yet (fields it has are not offered again).
  await page.keyboard.type('cos')
  await page.keyboard.press('Control+Space')
  const options = page.locator('.cm-tooltip-autocomplete li')
  // The schema support (codemirror-json-schema, ~1.3 MB) loads on the first request; on a busy
  // machine that takes a while, and the request is replayed once it has loaded.
  await expect(options.first()).toBeVisible({ timeout: 30_000 })
  await expect(page.locator('.cm-tooltip-autocomplete')).toContainText('costs')
  await page.keyboard.press('Enter')
  await expect(page.getByRole('textbox', { name: 'Scenario text' })).toContainText('costs')
})

test('Results: the timeline is usable without a mouse', async ({ appPage: page }) => {
  await gotoHash(page, '#/results?run=run-d1')
  const next = page.getByRole('button', { name: 'Next event' })
  await next.focus()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('region', { name: 'Event details' })).toContainText('mmap')
  await page.getByRole('button', { name: 'zoom in Event timeline by lane' }).focus()
  await page.keyboard.press('Enter')
  await page.keyboard.press('Tab')
  await expect(page.locator(':focus')).toHaveAccessibleName('zoom out Event timeline by lane')
})
