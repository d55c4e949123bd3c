/**
 * Screenshots where the picture is the point (Results charts, Compare, the editor with an error),
 * in the light and the dark colour scheme, with timestamps masked; attached to the test report
 * (not compared against baselines: fonts differ between machines). Also checks that the views
 * raise no console error and no CSP violation while they draw.
 *
 * The walk: every view (Experiments with a scenario open, Runs, Results of a run and of an
 * experiment, Compare, Hardware, Reports) at 1440x900 and 1024x768, light and dark: none scrolls
 * sideways, none logs a console error, and each leaves a full-page screenshot in
 * test-results/<this test>/walk-<size>-<scheme>-<view>.png for a person to read.
 */
import type { Page } from '@playwright/test'
import { expect } from './fixtures'
import { chartSummary, gotoHash, workspaceTest } from './ui-workspace'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

function watchConsole(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/favicon\.ico/.test(msg.location().url)) problems.push(msg.text())
  })
  page.on('pageerror', (err) => problems.push(String(err)))
  return problems
}

for (const scheme of ['light', 'dark'] as const) {
  test(`Results, Compare and the editor in the ${scheme} scheme`, async ({ appPage: page }, testInfo) => {
    const problems = watchConsole(page)
    await page.emulateMedia({ colorScheme: scheme })
    await page.setViewportSize({ width: 1400, height: 1000 })
    const masks = (): ReturnType<Page['locator']>[] => [page.locator('.timestamp'), page.getByTestId('app-version')]
    const shot = async (name: string, body: Promise<Buffer>): Promise<void> => {
      const path = testInfo.outputPath(name)
      const { writeFileSync } = await import('node:fs')
      writeFileSync(path, await body)
      await testInfo.attach(name, { path, contentType: 'image/png' })
    }

    await gotoHash(page, '#/results?run=run-d4')
    await expect.poll(() => chartSummary(page, 'memory')).toBeTruthy()
    await expect.poll(() => chartSummary(page, 'timeline')).toBeTruthy()
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())
    expect(bg).toBe(scheme === 'dark' ? 'rgb(15, 18, 22)' : 'rgb(255, 255, 255)')
    await shot(`results-top-${scheme}.png`, page.screenshot({ mask: masks() }))
    await shot(`results-memory-${scheme}.png`, page.getByRole('region', { name: 'Memory over time' }).screenshot())
    await page.getByTestId('invalidations').scrollIntoViewIfNeeded()
    await shot(`results-invalidations-${scheme}.png`, page.getByTestId('invalidations').screenshot())
    await shot(`results-leaks-timeline-${scheme}.png`, page.getByTestId('leaks').screenshot())
    await shot(`results-timeline-${scheme}.png`, page.getByTestId('timeline').screenshot())

    await gotoHash(page, '#/compare?runs=run-d1,run-d4')
    await expect.poll(() => chartSummary(page, 'compare-overlay')).toBeTruthy()
    await shot(`compare-${scheme}.png`, page.screenshot({ fullPage: true, mask: masks() }))

    await gotoHash(page, '#/experiments')
    await page.getByTestId('scenario-workspace:mine/fork-after-mirror.yaml').click()
    await expect(page.getByRole('textbox', { name: 'Scenario text' })).toContainText('fork after mirror')
    await expect(page.getByTestId('validation')).not.toHaveText('validating…')
    await shot(`experiments-${scheme}.png`, page.screenshot({ mask: masks() }))

    expect(problems).toEqual([])
  })
}

const VIEWS: { name: string; hash: string; ready: (page: Page) => Promise<void> }[] = [
  {
    name: 'experiments',
    hash: '#/experiments',
    ready: async (page) => {
      await page.getByTestId('scenario-workspace:mine/fork-after-mirror.yaml').click()
      await expect(page.getByRole('textbox', { name: 'Scenario text' })).toContainText('fork after mirror')
      await expect(page.getByTestId('validation')).not.toHaveText('validating…')
    },
  },
  { name: 'runs', hash: '#/runs', ready: async (page) => void (await expect(page.getByRole('table').first()).toContainText('run-d4')) },
  {
    name: 'results-run',
    hash: '#/results?run=run-d4',
    ready: async (page) => {
      await expect(page.getByTestId('result-design')).toHaveText('D4')
      await expect.poll(() => chartSummary(page, 'memory')).toBeTruthy()
      await expect.poll(() => chartSummary(page, 'timeline')).toBeTruthy()
    },
  },
  {
    name: 'results-experiment',
    hash: '#/results?experiment=exp-sweep',
    ready: async (page) => {
      await expect(page.getByTestId('experiment-result')).toBeVisible()
      await expect.poll(() => chartSummary(page, 'sweep')).toBeTruthy()
    },
  },
  {
    name: 'compare',
    hash: '#/compare?runs=run-d1,run-d4',
    ready: async (page) => void (await expect.poll(() => chartSummary(page, 'compare-overlay')).toBeTruthy()),
  },
  { name: 'hardware', hash: '#/hardware', ready: async (page) => void (await expect(page.getByTestId('probe-source')).toBeVisible()) },
  { name: 'reports', hash: '#/reports', ready: async (page) => void (await expect(page.getByTestId('report-run')).toBeVisible()) },
]

for (const [width, height] of [
  [1440, 900],
  [1024, 768],
] as const) {
  for (const scheme of ['light', 'dark'] as const) {
    test(`walk: every view at ${width}x${height} in the ${scheme} scheme`, async ({ appPage: page }, testInfo) => {
      // seven views, each drawn and shot whole: more than the default minute on a busy machine
      test.setTimeout(300_000)
      const problems = watchConsole(page)
      await page.emulateMedia({ colorScheme: scheme })
      await page.setViewportSize({ width, height })
      const { writeFileSync } = await import('node:fs')
      for (const view of VIEWS) {
        await gotoHash(page, view.hash)
        await view.ready(page)
        const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())
        expect(bg, `${view.name} is drawn in the ${scheme} scheme`).toBe(scheme === 'dark' ? 'rgb(15, 18, 22)' : 'rgb(255, 255, 255)')
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
        expect(overflow, `${view.name} at ${width}x${height} is ${overflow} px wider than the window`).toBeLessThanOrEqual(0)
        const name = `walk-${width}x${height}-${scheme}-${view.name}.png`
        const path = testInfo.outputPath(name)
        writeFileSync(path, await page.screenshot({ fullPage: true, mask: [page.locator('.timestamp'), page.getByTestId('app-version')] }))
        await testInfo.attach(name, { path, contentType: 'image/png' })
        expect(problems, `console errors on ${view.name}`).toEqual([])
      }
    })
  }
}
