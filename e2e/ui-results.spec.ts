import { expect } from './fixtures'
import { chartSummary, gotoHash, workspaceTest } from './ui-workspace'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test.describe('Results', () => {
  test('a stored run shows findings first, memory stacked by object type with markers, leaks, invalidations and the timeline', async ({ appPage: page }) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Results' }).click()
    await page.getByTestId('pick-run').selectOption('run-d4')
    await expect(page).toHaveURL(/#\/results\?run=run-d4$/)
    const run = page.getByTestId('run-result')
    await expect(run.getByTestId('result-design')).toHaveText('D4')

    // Findings come first, errors before warnings, each with its call paths.
    const headings = await run.getByRole('heading', { level: 3 }).allTextContents()
    expect(headings[0]?.trim()).toMatch(/^Findings/)
    const findings = run.getByTestId('finding')
    await expect(findings).toHaveCount(2)
    await expect(findings.first()).toContainText('use_after_free')
    await expect(findings.first().getByRole('list', { name: 'call path: used' })).toContainText('kfd_process_free_notifier')

    // Memory over time: one band per object type, in the ledger's order, bytes and time with units, markers.
    await expect
      .poll(async () => (await chartSummary(page, 'memory'))?.datasets.map((d) => d.label))
      .toEqual(['mm_struct', 'cpu_pagetable', 'pages', 'gpu_pagetable', 'driver_object'])
    const memory = (await chartSummary(page, 'memory'))!
    expect(memory.type).toBe('line')
    // its samples sit early and near the end of the run: the run opens on events only, and says so
    expect(memory.axes.x!.title).toBe('simulated time (events only, not to scale)')
    expect(memory.axes.x!.type).toBe('hmmtime')
    await expect(page.getByTestId('axis-mode')).toHaveValue('events')
    // on a linear axis, the same chart in seconds
    await page.getByTestId('axis-mode').selectOption('linear')
    await expect.poll(async () => (await chartSummary(page, 'memory'))!.axes.x!.title).toBe('simulated time (s)')
    expect(memory.axes.y!.title).toBe('memory live (MiB)')
    expect(memory.markers).toBe(3)
    await expect(page.getByRole('img', { name: 'Memory by object type, design D4' })).toBeVisible()

    const leaked = (await chartSummary(page, 'leaked'))!
    expect(leaked.datasets.map((d) => d.label)).toEqual(['pages', 'gpu_pagetable'])

    // Leaks: sortable and filterable.
    const table = page.getByTestId('leaks-table')
    await expect(table.locator('tbody tr')).toHaveCount(3)
    await expect(table.locator('tbody tr').first()).toContainText('pages')
    await table.getByRole('button', { name: /Object type/ }).click()
    await expect(table.getByRole('columnheader', { name: /Object type/ })).toHaveAttribute('aria-sort', 'ascending')
    await expect(table.locator('tbody tr').first()).toContainText('gpu_pagetable')
    await page.getByTestId('leaks-filter').fill('mm_struct')
    await expect(table.locator('tbody tr')).toHaveCount(1)
    await expect(table.locator('tbody tr').first()).toContainText('never')
    const waterfall = (await chartSummary(page, 'leak-waterfall'))!
    expect(waterfall.datasets.map((d) => d.label)).toEqual(['D4: mm_struct'])

    // Invalidation cost: over time by device · mechanism, log-log vs size, histogram, CDF, matrix, counts.
    const overTime = (await chartSummary(page, 'inval-time'))!
    expect(overTime.datasets.reduce((a, d) => a + d.points, 0)).toBe(40)
    expect(overTime.datasets.map((d) => d.label)).toContain('gpu0 · gpu_tlb')
    expect(overTime.axes.y!.title).toMatch(/cost per invalidation \((ns|µs|ms)\)/)
    const vsSize = (await chartSummary(page, 'inval-size'))!
    expect(vsSize.axes.x!.type).toBe('logarithmic')
    expect(vsSize.axes.y!.type).toBe('logarithmic')
    const counts = (await chartSummary(page, 'inval-events'))!
    expect(counts.labels).toEqual(['munmap', 'exit_mmap', 'migrate'])
    const matrix = (await chartSummary(page, 'inval-matrix'))!
    expect(matrix.labels).toEqual(['gpu0', 'iommu0'])
    expect(matrix.datasets.map((d) => d.label)).toEqual(['ats', 'gpu_tlb', 'iotlb_dsi', 'iotlb_psi'])
    await page.getByTestId('inval-breakdown').selectOption('mechanism')
    await expect.poll(async () => (await chartSummary(page, 'inval-time'))?.datasets.map((d) => d.label)).toEqual(['ats', 'gpu_tlb', 'iotlb_dsi', 'iotlb_psi'])
    expect((await chartSummary(page, 'inval-hist'))!.datasets[0]!.points).toBe(30)
    expect((await chartSummary(page, 'inval-cdf'))!.axes.y!.title).toMatch(/fraction/)

    // Timeline: lanes per task/device/IOMMU; step to an event and read its details.
    const timeline = (await chartSummary(page, 'timeline'))!
    expect(timeline.datasets.map((d) => d.label)).toEqual(['task lanes', 'device lanes', 'iommu lanes'])
    await page.getByRole('button', { name: 'Next event' }).click()
    await expect(page.getByTestId('event-detail')).toContainText('mmap on A (pid 100)')
    await page.getByRole('button', { name: 'Next event' }).click()
    await expect(page.getByTestId('event-detail')).toContainText('hmm_range_fault on gpu0')
    await expect(page.getByTestId('event-detail')).toContainText('pages')
    await page.getByRole('button', { name: 'zoom in Event timeline by lane' }).click()
  })

  test('clicking an event on the timeline shows its details', async ({ appPage: page }) => {
    await gotoHash(page, '#/results?run=run-d1')
    await expect.poll(() => chartSummary(page, 'timeline')).toBeTruthy()
    await page.getByRole('img', { name: 'Event timeline by lane' }).scrollIntoViewIfNeeded()
    // Find the pixel of the "fork" event through the chart itself, then click it.
    const pos = await page.evaluate(() => {
      const entry = window.__hmmlabCharts!.charts.get('timeline')!
      const chart = entry.chart
      const meta = chart.getDatasetMeta(0)
      const data = chart.data.datasets[0]!.data as unknown as { x: number }[]
      const i = data.findIndex((p) => p.x === 1e9)
      const el = meta.data[i]!
      const rect = chart.canvas.getBoundingClientRect()
      return { x: rect.left + el.x, y: rect.top + el.y }
    })
    await page.mouse.click(pos.x, pos.y)
    await expect(page.getByTestId('event-detail')).toContainText('fork on A (pid 100)')
    await expect(page.getByTestId('event-detail')).toContainText('child')
  })

  test('an experiment shows the metric against the swept parameter, one line per design', async ({ appPage: page }) => {
    await gotoHash(page, '#/results')
    await page.getByTestId('pick-experiment').selectOption('exp-sweep')
    await expect(page.getByTestId('experiment-result')).toBeVisible()
    await expect(page.getByTestId('sweep-param')).toHaveValue('machine.mirror_mib')
    await page.getByTestId('sweep-metric').selectOption('leaked_bytes_peak')
    await expect
      .poll(async () => (await chartSummary(page, 'sweep'))?.datasets.map((d) => [d.label, d.points]))
      .toEqual([
        ['design D1', 3],
        // the fixture's D4 sweep runs hold the same bytes as D1's: its line lies on D1's and says so
        ['design D4 (= design D1)', 3],
      ])
    const s = (await chartSummary(page, 'sweep'))!
    expect(s.axes.x!.title).toBe('machine.mirror_mib')
    expect(s.axes.y!.title).toMatch(/leaked_bytes_peak \(MiB\)/)
    expect(s.datasets[0]!.first).toEqual({ x: 16, y: expect.any(Number) })

    // One leak waterfall per design for the chosen parameter set.
    await expect(page.getByTestId('waterfall-set')).toHaveValue(/"machine.mirror_mib":16/)
    await expect
      .poll(async () => (await chartSummary(page, 'waterfall-D1'))?.datasets.map((d) => d.label))
      .toEqual(['D1: mm_struct', 'D1: pages', 'D1: gpu_pagetable'])
    expect((await chartSummary(page, 'waterfall-D4'))!.datasets.map((d) => d.label)).toEqual(['D4: mm_struct', 'D4: pages', 'D4: gpu_pagetable'])
    await expect(page.getByRole('img', { name: /^Design D1: .* held for gone owners$/ })).toBeVisible()
  })
})

test('zooming into the memory chart keeps the bands and a y axis that fits them', async ({ appPage: page }) => {
  await gotoHash(page, '#/results?run=run-d4')
  await expect(page.getByTestId('run-result').getByTestId('result-design')).toHaveText('D4')
  await expect.poll(async () => (await chartSummary(page, 'memory'))?.datasets.length).toBeGreaterThan(0)
  const before = (await chartSummary(page, 'memory'))!
  const zoomIn = page.getByRole('button', { name: /^zoom in Memory by object type/ })
  for (let i = 0; i < 3; i++) await zoomIn.click()
  await expect
    .poll(async () => (await chartSummary(page, 'memory'))!.axes.x!.max! - (await chartSummary(page, 'memory'))!.axes.x!.min!)
    .toBeLessThan((before.axes.x!.max! - before.axes.x!.min!) / 3)
  const after = (await chartSummary(page, 'memory'))!
  // the y axis still spans the live memory (MiB), not an empty 0–1e-6 range
  expect(after.axes.y!.max!).toBeGreaterThan(before.axes.y!.max! / 1000)
  for (const d of after.datasets) expect(d.drawn).toBeGreaterThanOrEqual(2)

  // the same with Ctrl+wheel over the chart
  await page.getByRole('button', { name: /^reset zoom Memory by object type/ }).click()
  await expect
    .poll(async () => (await chartSummary(page, 'memory'))!.axes.x!.max! - (await chartSummary(page, 'memory'))!.axes.x!.min!)
    .toBeGreaterThan((before.axes.x!.max! - before.axes.x!.min!) * 0.99)
  const box = (await page.getByTestId('chart-memory').locator('canvas').boundingBox())!
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2)
  await page.keyboard.down('Control')
  for (let i = 0; i < 16; i++) await page.mouse.wheel(0, -400)
  await page.keyboard.up('Control')
  await expect
    .poll(async () => (await chartSummary(page, 'memory'))!.axes.x!.max! - (await chartSummary(page, 'memory'))!.axes.x!.min!)
    .toBeLessThan((before.axes.x!.max! - before.axes.x!.min!) / 3)
  const wheeled = (await chartSummary(page, 'memory'))!
  expect(wheeled.axes.y!.max!).toBeGreaterThan(before.axes.y!.max! / 1000)
  for (const d of wheeled.datasets) expect(d.drawn).toBeGreaterThanOrEqual(2)
})
