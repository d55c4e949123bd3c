import { expect, test } from './fixtures'

test.describe('Colour scheme and keyboard shortcuts', () => {
  test('the toggle forces dark or light over the system scheme, and the choice survives a reload', async ({ appPage: page }) => {
    await page.emulateMedia({ colorScheme: 'light' })
    const toggle = page.getByTestId('theme-toggle')
    await expect(toggle).toContainText('system')
    const lightBg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())
    expect(lightBg).toBe('rgb(255, 255, 255)')
    await toggle.click() // light
    await toggle.click() // dark
    await expect(toggle).toContainText('dark')
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('rgb(15, 18, 22)')
    await page.reload()
    await expect(page.getByTestId('theme-toggle')).toContainText('dark')
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('rgb(15, 18, 22)')
    // forced light on a dark system
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.getByTestId('theme-toggle').click() // system
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('rgb(15, 18, 22)')
    await page.getByTestId('theme-toggle').click() // light
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('rgb(255, 255, 255)')
    await page.getByTestId('theme-toggle').click() // dark
    await page.getByTestId('theme-toggle').click() // back to system for the next tests
  })

  test('? lists the shortcuts; number keys switch views; typing in a field is left alone', async ({ appPage: page }) => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    await page.keyboard.press('?')
    const dialog = page.getByTestId('shortcuts')
    await expect(dialog).toBeVisible()
    await expect(dialog).toContainText('show or hide this list')
    await expect(dialog).toContainText('go to results')
    await page.keyboard.press('Escape')
    await expect(dialog).toHaveCount(0)
    await page.keyboard.press('2')
    await expect(page).toHaveURL(/#?\/runs/)
    await page.keyboard.press('1')
    await expect(page).toHaveURL(/#?\/experiments/)
    await page.getByTestId('library-search').fill('')
    await page.getByTestId('library-search').type('2?')
    await expect(page).toHaveURL(/#?\/experiments/)
    await expect(page.getByTestId('shortcuts')).toHaveCount(0)
    await page.getByTestId('library-search').fill('')
  })
})
