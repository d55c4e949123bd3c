/**
 * The long Results page at a glance: a sticky section navigation that jumps to each section and
 * highlights the one being read, and the memory chart's y axis in linear or logarithmic scale.
 */
import { expect } from './fixtures'
import { chartSummary, gotoHash, workspaceTest } from './ui-workspace'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('the section navigation stays on screen, jumps to each section and marks the one being read', async ({ appPage: page }) => {
  await page.setViewportSize({ width: 1440, height: 900 })
  await gotoHash(page, '#/results?run=run-d4')
  const nav = page.getByRole('navigation', { name: 'Sections of this run' })
  // every section of this run, in page order, once the staged panels have mounted
  await expect(nav.getByRole('button')).toHaveText([
    'Summary',
    /^Findings \(\d+\)$/,
    'Expects',
    'Metrics',
    'Memory',
    'Leaks',
    'Invalidations',
    'Lifetimes',
    'Timeline',
  ])
  await expect(nav.getByRole('button', { name: 'Summary' })).toHaveAttribute('aria-current', 'true')

  for (const [name, id] of [
    ['Invalidations', 'sec-invalidations'],
    ['Leaks', 'sec-leaks'],
    ['Memory', 'sec-memory'],
    ['Expects', 'sec-expects'],
    ['Timeline', 'sec-timeline'],
  ] as const) {
    await nav.getByRole('button', { name }).click()
    await expect(nav.getByRole('button', { name })).toHaveAttribute('aria-current', 'true')
    await expect(nav.locator('[aria-current="true"]')).toHaveCount(1)
    await expect(page.locator(`#${id} :is(h3, h4)`).first()).toBeFocused()
    // the bar is still at the top of the window, and the section starts just below it (the last
    // one as far up as the page scrolls)
    const at = async (): Promise<{ bar: { top: number; bottom: number }; top: number; end: boolean }> =>
      page.evaluate((i) => {
        const b = document.querySelector('[data-testid="section-nav"]')!.getBoundingClientRect()
        const d = document.documentElement
        return {
          bar: { top: b.top, bottom: b.bottom },
          top: document.getElementById(i)!.getBoundingClientRect().top,
          end: Math.ceil(window.scrollY + window.innerHeight) >= d.scrollHeight - 2,
        }
      }, id)
    const p = await at()
    expect(Math.abs(p.bar.top), `the bar stays at the top after the jump to ${name}`).toBeLessThanOrEqual(1)
    expect(p.top, `${name} is not under the bar`).toBeGreaterThanOrEqual(p.bar.bottom - 1)
    if (!p.end) expect(p.top, `${name} starts just below the bar`).toBeLessThanOrEqual(p.bar.bottom + 16)
    else expect(p.top).toBeLessThan(900)
  }

  // Scrolling by hand moves the highlight too.
  await page.evaluate(() => window.scrollTo(0, 0))
  await expect(nav.getByRole('button', { name: 'Summary' })).toHaveAttribute('aria-current', 'true')
  await page.evaluate(() => document.getElementById('sec-leaks')!.scrollIntoView({ block: 'start' }))
  await expect(nav.getByRole('button', { name: 'Leaks' })).toHaveAttribute('aria-current', 'true')
})

test('the memory chart offers a logarithmic y axis besides the linear one', async ({ appPage: page }) => {
  await gotoHash(page, '#/results?run=run-d1')
  await expect.poll(async () => (await chartSummary(page, 'memory'))?.axes.y?.type).toBe('linear')
  const linear = (await chartSummary(page, 'memory'))!
  expect(linear.axes.y!.min).toBe(0)

  await page.getByTestId('memory-scale').selectOption('log')
  await expect.poll(async () => (await chartSummary(page, 'memory'))?.axes.y?.type).toBe('logarithmic')
  const log = (await chartSummary(page, 'memory'))!
  expect(log.axes.y!.title).toBe('memory live (bytes, log scale)')
  // the floor is a power of two at or below the smallest band, the top the stack's peak
  expect(log.axes.y!.min).toBeGreaterThan(0)
  expect(Math.log2(log.axes.y!.min!) % 1).toBe(0)
  expect(log.axes.y!.max).toBeGreaterThanOrEqual(64 * 2 ** 20) // A mirrors 64 MiB in this fixture
  // the same bands are drawn, stacked
  expect(log.datasets.map((d) => d.label)).toEqual(linear.datasets.map((d) => d.label))
  for (const d of log.datasets) expect(d.drawn).toBeGreaterThan(0)
  // the chart of memory held for gone owners follows
  await expect.poll(async () => (await chartSummary(page, 'leaked'))?.axes.y?.type).toBe('logarithmic')

  await page.getByTestId('memory-scale').selectOption('linear')
  await expect.poll(async () => (await chartSummary(page, 'memory'))?.axes.y?.type).toBe('linear')
})
