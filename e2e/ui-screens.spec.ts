/**
 * Screenshots where the picture is the point (Results charts, Compare, the editor with an error),
 * in the light and the dark colour scheme, with timestamps masked; attached to the test report
 * (not compared against baselines: fonts differ between machines). Also checks that the views
 * raise no console error and no CSP violation while they draw.
 *
 * The walk: every view (Experiments with a scenario open, Runs, Results of a run, of a real run
 * with its lifetimes timeline, refcounts and Held-by graph, and of an experiment, Compare,
 * Hardware, Reports) at 1440x900 and 1024x768, light and dark: none scrolls sideways, none logs a
 * console error, no chart's axis title is cut, and each leaves a full-page screenshot in
 * test-results/<this test>/walk-<size>-<scheme>-<view>.png for a person to read.
 */
import type { Page } from '@playwright/test'
import { expect } from './fixtures'
import { chartSummary, gotoHash, standardWorkspace, workspaceTest, writeRealRuns } from './ui-workspace'

const test = workspaceTest((root) => {
  standardWorkspace(root)
  writeRealRuns(root, ['D1'])
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

/**
 * Axis titles a person cannot read in full: on every chart drawn, a title longer than its axis
 * (Chart.js centres it on the axis and the canvas cuts what sticks out).
 */
async function cutAxisTitles(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = []
    for (const [id, entry] of window.__hmmlabCharts?.charts ?? []) {
      const chart = entry.chart as unknown as {
        canvas: HTMLCanvasElement
        ctx: CanvasRenderingContext2D
        width: number
        height: number
        scales: Record<
          string,
          {
            top: number
            bottom: number
            left: number
            right: number
            isHorizontal(): boolean
            options: { display?: unknown; title?: { display?: boolean; text?: string | string[]; font?: { string?: string; size?: number; family?: string } } }
          }
        >
      }
      if (!chart.canvas.isConnected) continue
      for (const [axis, scale] of Object.entries(chart.scales)) {
        const t = scale.options.title
        if (!scale.options.display || !t?.display || !t.text) continue
        const text = Array.isArray(t.text) ? t.text.join(' ') : t.text
        chart.ctx.save()
        chart.ctx.font = t.font?.string ?? `${t.font?.size ?? 12}px ${t.font?.family ?? 'sans-serif'}`
        const width = chart.ctx.measureText(text).width
        chart.ctx.restore()
        // centred on its axis, the title shows whole while neither end leaves the canvas
        const mid = scale.isHorizontal() ? (scale.left + scale.right) / 2 : (scale.top + scale.bottom) / 2
        const room = 2 * Math.min(mid, (scale.isHorizontal() ? chart.width : chart.height) - mid)
        if (width > room) out.push(`${id} ${axis}: "${text}" is ${Math.round(width)} px, room for ${Math.round(room)} px`)
      }
    }
    return out
  })
}

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

/** Each view: how to tell it is drawn, and how many charts it draws at least (their axis titles are checked). */
const VIEWS: { name: string; hash: string; ready: (page: Page) => Promise<void>; charts?: number }[] = [
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
    charts: 10,
  },
  {
    // a real run of the 2014 fork scenario: the lifetimes timeline, refcount tracks and Held-by graph
    name: 'results-lifetimes',
    hash: '#/results?run=fork-D1',
    ready: async (page) => {
      await expect(page.getByTestId('result-design')).toHaveText('D1')
      await page.getByTestId('tracks-canvas').scrollIntoViewIfNeeded()
      await expect.poll(() => page.getByTestId('tracks-canvas').evaluate((el) => Number((el as HTMLElement).dataset.boxes))).toBeGreaterThan(0)
      await expect.poll(() => page.getByTestId('refcount-canvas').evaluate((el) => Number((el as HTMLElement).dataset.boxes))).toBeGreaterThan(0)
      await expect(page.getByTestId('held-by-graphs')).toBeVisible()
      await page.evaluate(() => window.scrollTo(0, 0))
    },
    charts: 10,
  },
  {
    name: 'results-experiment',
    hash: '#/results?experiment=exp-sweep',
    ready: async (page) => {
      await expect(page.getByTestId('experiment-result')).toBeVisible()
      await expect.poll(() => chartSummary(page, 'sweep')).toBeTruthy()
    },
    charts: 3,
  },
  {
    name: 'compare',
    hash: '#/compare?runs=run-d1,run-d4',
    ready: async (page) => void (await expect.poll(() => chartSummary(page, 'compare-overlay')).toBeTruthy()),
    charts: 1,
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
        if (view.charts) {
          // every chart of the view drawn (the panels mount in stages), then no axis title cut
          await expect.poll(() => page.evaluate(() => window.__hmmlabCharts?.charts.size ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(view.charts)
          expect(await cutAxisTitles(page), `axis titles cut on ${view.name} at ${width}x${height}`).toEqual([])
        }
        const name = `walk-${width}x${height}-${scheme}-${view.name}.png`
        const path = testInfo.outputPath(name)
        writeFileSync(path, await page.screenshot({ fullPage: true, mask: [page.locator('.timestamp'), page.getByTestId('app-version')] }))
        await testInfo.attach(name, { path, contentType: 'image/png' })
        expect(problems, `console errors on ${view.name}`).toEqual([])
      }
    })
  }
}
