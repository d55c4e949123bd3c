import { expect } from './fixtures'
import { workspaceTest } from './ui-workspace'

const test = workspaceTest(() => undefined)

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a temporary workspace (browser host --workspace)')
})

const FORK = 'builtin:thread-2014/a-fork-after-mirror.yaml'

test.describe('Scenario editor', () => {
  test('Ctrl+Z right after opening a scenario leaves it as opened', async ({ appPage: page }) => {
    await page.getByTestId(`scenario-${FORK}`).click()
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    await expect(editor).toContainText('A opens, mirrors, forks B')
    const before = await editor.innerText()
    await editor.click()
    await page.keyboard.press('Control+z')
    await expect(editor).toContainText('A opens, mirrors, forks B')
    expect(await editor.innerText()).toBe(before)
    // an edit of the user's own is still undone
    await page.keyboard.press('Control+End')
    await page.keyboard.type('# mine')
    await expect(editor).toContainText('# mine')
    await page.keyboard.press('Control+z')
    await expect(editor).not.toContainText('# mine')
    await expect(editor).toContainText('findings: { kind: invariant, count: 0 }')
  })

  test('completion offers step names under steps:, hover documents a step', async ({ appPage: page }) => {
    await page.getByRole('button', { name: 'New scenario' }).click()
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    await editor.click()
    await page.keyboard.press('Control+a')
    await page.keyboard.type('name: t\ndesigns: [D5]\nsteps:\n- mpro')
    await page.keyboard.press('Control+Space')
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'mprotect' })
    await expect(option).toBeVisible()
    // a click, not Enter: the schema support may arrive meanwhile and reopen the list
    await option.click()
    await expect(editor).toContainText('- mprotect: ')
    await page.keyboard.press('Escape')
    await page.locator('.cm-line', { hasText: 'mprotect' }).getByText('mprotect').hover()
    const doc = page.locator('.cm-tooltip pre.step-doc')
    await expect(doc).toContainText('mprotect:')
    await expect(doc).toContainText('fields:')
    await expect(doc).toContainText('region')
  })

  test('long lines wrap instead of being cut', async ({ appPage: page }) => {
    await page.getByRole('button', { name: 'New scenario' }).click()
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    await editor.click()
    await page.keyboard.press('Control+End')
    // one input, not 600 keystrokes (each one revalidates the scenario on a busy machine)
    await page.keyboard.insertText(`# ${'a very long comment '.repeat(30)}`)
    const line = page.locator('.cm-line', { hasText: 'a very long comment' })
    const box = await line.boundingBox()
    const scroller = await page.locator('.cm-scroller').boundingBox()
    expect(box && scroller && box.width <= scroller.width).toBe(true)
    expect(box!.height).toBeGreaterThan(40)
  })

  test('Run and Save are refused while the scenario has errors', async ({ appPage: page }) => {
    await page.getByTestId(`scenario-${FORK}`).click()
    await expect(page.getByTestId('validation')).toHaveText('valid')
    await expect(page.getByTestId('run')).toBeEnabled()
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    await editor.click()
    await page.keyboard.press('Control+End')
    await page.keyboard.press('Enter')
    await page.keyboard.type('bogus_field: 1')
    await expect(page.getByTestId('validation-issue').first()).toContainText('bogus_field')
    await expect(page.getByTestId('run')).toBeDisabled()
    await expect(page.getByTestId('save')).toBeDisabled()
    await expect(page.getByTestId('run-blocked')).toBeVisible()
  })

  test('a sweep of more than a thousand runs asks first, naming the count', async ({ appPage: page }) => {
    await page.getByTestId(`scenario-${FORK}`).click()
    await expect(page.getByTestId('validation')).toHaveText('valid')
    await page.getByTestId('sweep-param-0').fill('seed')
    await page.getByTestId('sweep-values-0').fill('1..5000')
    await expect(page.getByTestId('run-count')).toContainText('runs')
    await page.getByTestId('run').click()
    const confirm = page.getByTestId('confirm-large')
    await expect(confirm).toBeVisible()
    await expect(confirm).toContainText(/This starts [\d,]+ runs/)
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await expect(confirm).toHaveCount(0)
    await expect(page.getByTestId('run')).toBeEnabled()
  })
})
