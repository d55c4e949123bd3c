import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from './fixtures'
import { chartSummary, gotoHash, standardWorkspace, workspaceTest } from './ui-workspace'

// the standard workspace and the stored runs of the 2014 fork scenario under D1-D6 (test/fixtures/runs/fork)
const FORK = join(import.meta.dirname, '..', 'test', 'fixtures', 'runs', 'fork', 'runs')
const test = workspaceTest((root) => {
  standardWorkspace(root)
  for (const d of ['D1', 'D2', 'D3', 'D5'])
    cpSync(join(FORK, `a-fork-after-mirror-${d}-s1`), join(root, 'runs', `a-fork-after-mirror-${d}-s1`), { recursive: true })
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test.describe('Compare', () => {
  test('two runs side by side: metrics with differences, overlaid series, findings only in A / both / only in B', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compare' }).click()
    await expect(page.getByRole('heading', { name: 'Compare', level: 2 })).toBeVisible()
    await expect(page.getByTestId('compare-go')).toBeDisabled()
    await page.getByTestId('compare-pick-run-d1').check()
    await page.getByTestId('compare-pick-run-d4').check()
    await page.getByTestId('compare-go').click()
    await expect(page).toHaveURL(/#\/compare\?runs=run-d1(%2C|,)run-d4$/)

    const metrics = page.getByTestId('compare-metrics')
    // D4 adds a use-after-free to the shared leak warning: one finding more
    const findings = metrics.getByTestId('metric-findings')
    await expect(findings).toContainText('+1')
    const peak = metrics.getByTestId('metric-leaked_bytes_peak')
    await expect(peak.locator('td').first()).toContainText('64.13 MiB')
    // D4 never frees: its leak lasts to the end of the run, so its byte-seconds are larger.
    await expect(
      metrics
        .getByRole('row', { name: /leak_byte_seconds/ })
        .locator('td')
        .nth(1),
    ).toContainText('+')

    await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.datasets.length).toBe(2)
    const overlay = (await chartSummary(page, 'compare-overlay'))!
    expect(overlay.datasets.map((d) => d.label)).toEqual([expect.stringContaining('(run-d1)'), expect.stringContaining('(run-d4)')])
    expect(overlay.axes.y!.title).toMatch(/\((KiB|MiB)\)$/)
    // their samples sit early and near the end of the run: the overlay opens on events only
    expect(overlay.axes.x!.title).toBe('simulated time (events only, not to scale)')
    await expect(page.getByTestId('compare-axis')).toHaveValue('events')

    await expect(page.getByTestId('only-in-0')).toContainText('(0)')
    await expect(page.getByTestId('only-in-1')).toContainText('use_after_free')
    // the leak warning both designs raise
    await expect(page.getByTestId('in-all')).toContainText("warn: D1 kept 64 MiB of A's address space alive after A exited")

    await page.getByTestId('compare-series').selectOption('memory.pages')
    await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.label).toBe('memory.pages: one line per run')
  })

  test('a run links to Compare with itself preselected', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?run=run-d1')
    await page.getByRole('link', { name: 'Compare with…' }).click()
    await expect(page.getByTestId('compare-pick-run-d1')).toBeChecked()
    await expect(page.getByTestId('compare-go')).toBeDisabled()
  })

  test('the runs of an experiment can be compared together (one line per run)', async ({ appPage: page }) => {
    await gotoHash(page, '#/compare')
    await page.getByTestId('compare-add-experiment').selectOption('exp-sweep')
    await expect(page.getByTestId('compare-go')).toHaveText('Compare 6 runs')
    await page.getByTestId('compare-go').click()
    await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.datasets.length).toBe(6)
    await expect(page.getByTestId('compare-metrics').getByRole('columnheader')).toHaveCount(7)
  })
})

test('the run picker is searchable; key metrics come first; differences only; green means better', async ({ appPage: page }) => {
  await gotoHash(page, '#/compare')
  const search = page.getByTestId('compare-search')
  await search.fill('D4 sweep')
  await expect(page.locator('.choose-runs label')).toHaveCount(3)
  await search.fill('run-d')
  await page.getByTestId('compare-pick-run-d1').check()
  await page.getByTestId('compare-pick-run-d4').check()
  await search.fill('')
  await expect(page.getByTestId('compare-chosen')).toHaveText('2 chosen')
  await page.getByTestId('compare-go').click()
  const metrics = page.getByTestId('compare-metrics')
  await expect(metrics).toBeVisible()
  // the picker folded away: the metrics are on screen without scrolling past it
  await expect(page.getByTestId('compare-search')).toBeHidden()
  const names = await metrics.locator('tbody tr th').allTextContents()
  expect(names[0]).toBe('leak_byte_seconds')
  // D4 leaks longer than D1: more byte-seconds is worse (red), never green
  await expect(page.getByTestId('metric-leak_byte_seconds').locator('.delta')).toHaveClass(/worse/)
  const all = await metrics.locator('tbody tr').count()
  await page.getByTestId('compare-differences').check()
  const diff = await metrics.locator('tbody tr').count()
  expect(diff).toBeLessThan(all)
  for (const row of await metrics.locator('tbody tr').all()) await expect(row.locator('.delta')).not.toHaveClass(/same/)
})

test('the series chart opens on the series that differs most between the runs, says why, and keeps a pick', async ({ appPage: page }) => {
  await gotoHash(page, '#/compare?runs=run-d1,run-d4')
  const pick = page.getByTestId('compare-series')
  const why = page.getByTestId('compare-series-why')
  // D4 never frees A's 64 MiB: leaked.pages, not the first name in the alphabet (leaked.gpu_pagetable)
  await expect(pick).toHaveValue('leaked.pages')
  await expect(why).toHaveText('Opened on leaked.pages: of memory held for owners that are gone, the series that differs most between these 2 runs.')
  await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.label).toBe('leaked.pages: one line per run')
  await pick.selectOption('memory.mm_struct')
  await expect(why).toHaveText(/^Your choice; these runs open on leaked\.pages: /)
  await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.label).toBe('memory.mm_struct: one line per run')
  // the pick is kept for the next comparison that has the series
  await gotoHash(page, '#/compare?runs=run-d4,sweep-D1-16')
  await expect(page.getByTestId('compare-chosen')).toHaveText('2 chosen')
  await expect(pick).toHaveValue('memory.mm_struct')
})

test('runs with the same numbers: the chart opens on live memory and says nothing differs', async ({ appPage: page }) => {
  // run-d1 and sweep-D1-64 are the same story (64 MiB, D1, freed at 12 s): every series is equal
  await gotoHash(page, '#/compare?runs=run-d1,sweep-D1-64')
  await expect(page.getByTestId('compare-series')).toHaveValue('memory.pages')
  await expect(page.getByTestId('compare-series-why')).toHaveText(
    'Opened on memory.pages: no series differs between these 2 runs; this is the live memory series that holds the most bytes.',
  )
})

test('runs with equal numbers: the lines drawn on top of each other are named and dashed, so none looks missing', async ({ appPage: page }) => {
  // the stored fork runs under D2, D3 and D5 map the same GPU page tables at the same times
  const [d2, d3, d5] = ['D2', 'D3', 'D5'].map((d) => `a-fork-after-mirror-${d}-s1`)
  await gotoHash(page, `#/compare?runs=${d2},${d3},${d5}`)
  await page.getByTestId('compare-series').selectOption('memory.gpu_pagetable')
  await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.label).toBe('memory.gpu_pagetable: one line per run')
  const sets = (await chartSummary(page, 'compare-overlay'))!.datasets
  expect(sets.map((d) => d.label)).toEqual([`D2, seed 1 (${d2})`, `D3, seed 1 (${d3}) (= D2, seed 1 (${d2}))`, `D5, seed 1 (${d5}) (= D2, seed 1 (${d2}))`])
  // the first is solid, each repeat has its own dash pattern
  expect(sets[0]!.dash).toBeUndefined()
  expect(sets[1]!.dash).toBeTruthy()
  expect(sets[2]!.dash).toBeTruthy()
  expect(sets[1]!.dash).not.toEqual(sets[2]!.dash)
  // a series where they differ: no line is marked
  await page.getByTestId('compare-series').selectOption('memory.driver_object')
  await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.label).toBe('memory.driver_object: one line per run')
  for (const d of (await chartSummary(page, 'compare-overlay'))!.datasets) {
    expect(d.label).not.toContain('(=')
    expect(d.dash).toBeUndefined()
  }
})

test('Compare of two fork runs opens on events only, from the union of their times: the first 121 ms spread, not a spike at 0', async ({ appPage: page }) => {
  await page.setViewportSize({ width: 1440, height: 900 })
  const [d1, d2] = ['D1', 'D2'].map((d) => `a-fork-after-mirror-${d}-s1`)
  await gotoHash(page, `#/compare?runs=${d1},${d2}`)
  await expect(page.getByTestId('compare-axis')).toHaveValue('events')
  await expect(page.getByTestId('compare-axis-why')).toHaveText(/^Opened on events only: nothing happens from 120\.5 ms to 10\.12 s/)
  // their times are the series' sample times: the hint says nothing of slices, the option names the runs
  await expect(page.getByTestId('compare-axis-why')).not.toContainText('slice')
  await expect(page.getByTestId('compare-axis').locator('option:checked')).toHaveText('events only (suits these runs)')
  await page.getByTestId('compare-series').selectOption('memory.pages')
  await expect.poll(async () => (await chartSummary(page, 'compare-overlay'))?.label).toBe('memory.pages: one line per run')
  // where 20.5 ms and 120.5 ms are drawn, and in how many twentieths of the plot the lines' points lie
  const geometry = (): Promise<{ type: string; title: string; share: number[]; spread: number }> =>
    page.evaluate(() => {
      type X = { type: string; left: number; right: number; options: { title: { text: string } }; getPixelForValue(v: number): number }
      const c = (
        window as unknown as { __hmmlabCharts: { charts: Map<string, { chart: { scales: { x: X }; data: { datasets: { data: { x: number }[] }[] } } }> } }
      ).__hmmlabCharts.charts.get('compare-overlay')!.chart
      const x = c.scales.x
      const share = (t: number): number => (x.getPixelForValue(t) - x.left) / (x.right - x.left)
      const cols = new Set(c.data.datasets.flatMap((d) => d.data.map((p) => Math.min(19, Math.floor(share(p.x) * 20)))))
      return { type: x.type, title: x.options.title.text, share: [20531152, 120532752].map(share), spread: cols.size }
    })
  await expect.poll(async () => (await geometry()).type).toBe('hmmtime')
  const g = await geometry()
  expect(g.title).toBe('simulated time (events only, not to scale)')
  expect(g.share[0]).toBeGreaterThan(0.3)
  expect(g.share[1]).toBeLessThan(0.95)
  expect(g.spread).toBeGreaterThanOrEqual(10)
  // the same lines on a linear axis: everything before 121 ms in the first fiftieth of the width
  await page.getByTestId('compare-axis').selectOption('linear')
  await expect.poll(async () => (await geometry()).type).toBe('linear')
  const lin = await geometry()
  expect(lin.share[1]).toBeLessThan(0.02)
  expect(lin.spread).toBeLessThanOrEqual(3)
  await expect(page.getByTestId('compare-axis-why')).toHaveText(/^Your choice; these runs would open on events only/)
})
