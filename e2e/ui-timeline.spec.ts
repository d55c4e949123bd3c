/**
 * Issue 17's lifetimes picture in the Results view, over real simulator runs (the 2014 fork
 * scenario under D1 and D4, stored by the service's own mapping): refcount tracks under the memory
 * chart, the Perfetto-like timeline with lanes, slices and cause arrows, a searchable event log,
 * linear / logarithmic / events-only axes, one time window every view follows, the keyboard, and
 * the Held-by graph. Screens at 1440x900 and 1024x768 never scroll sideways.
 */
import { readFileSync } from 'node:fs'
import { expect } from './fixtures'
import { gotoHash, workspaceTest, writeRealRuns } from './ui-workspace'
import type { Page } from '@playwright/test'

// and a run whose events spread over its whole length: the KFD eviction storm under D4
const KFD = 'scenarios/examples/kfd-eviction-storm.yaml'
const test = workspaceTest((root) => {
  writeRealRuns(root, ['D1', 'D4'])
  writeRealRuns(root, ['D4'], KFD, 'kfd')
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

interface CanvasState {
  rows: number
  boxes: number
  arrows: number
  t0: number
  t1: number
  axis: string
  /** In how many of the plot's 20 columns a drawn slice (or step change) begins. */
  spread: number
}
async function canvasState(page: Page, testid: string): Promise<CanvasState> {
  return page.getByTestId(testid).evaluate((el) => {
    const d = (el as HTMLElement).dataset
    return {
      rows: Number(d.rows),
      boxes: Number(d.boxes),
      arrows: Number(d.arrows),
      t0: Number(d.t0),
      t1: Number(d.t1),
      axis: String(d.axis),
      spread: Number(d.spread),
    }
  })
}
async function chartRange(page: Page, id: string): Promise<{ min: number; max: number } | undefined> {
  return page.evaluate((chartId) => {
    const c = (
      window as unknown as { __hmmlabCharts?: { charts: Map<string, { chart: { scales: { x: { min: number; max: number } } } }> } }
    ).__hmmlabCharts?.charts.get(chartId)?.chart
    return c ? { min: c.scales.x.min, max: c.scales.x.max } : undefined
  }, id)
}
interface ChartGeometry {
  type: string
  mode: string
  title: string
  min: number
  max: number
  left: number
  right: number
  top: number
  bottom: number
  /** Pixels of 20.5 ms and 120.5 ms, the fork run's last events before its quiet stretch. */
  px: number[]
  ticks: string[]
  /** In how many of the plot's 20 columns the drawn points lie (every dataset). */
  spread: number
  /** The drawn points (x, y) of every dataset in the first 121 ms. */
  sample: [number, number][]
}
/** What a Chart.js chart on time draws, read through its instance (scale, pixels of known times, ticks). */
async function chartGeometry(page: Page, id: string): Promise<ChartGeometry | undefined> {
  return page.evaluate((chartId) => {
    type Scale = {
      type: string
      min: number
      max: number
      left: number
      right: number
      hmmAxis?: { mode: string }
      options: { title: { text: string } }
      ticks: { value: number; label: string }[]
      getPixelForValue(v: number): number
    }
    const c = (
      window as unknown as {
        __hmmlabCharts?: {
          charts: Map<
            string,
            { chart: { scales: { x: Scale }; chartArea: { top: number; bottom: number }; data: { datasets: { data: { x: number; y: number }[] }[] } } }
          >
        }
      }
    ).__hmmlabCharts?.charts.get(chartId)?.chart
    if (!c) return undefined
    const x = c.scales.x
    const cols = new Set<number>()
    const pts = c.data.datasets.flatMap((d) => d.data)
    for (const p of pts) {
      const px = x.getPixelForValue(p.x)
      if (px >= x.left && px <= x.right) cols.add(Math.min(19, Math.floor(((px - x.left) / (x.right - x.left)) * 20)))
    }
    return {
      type: x.type,
      mode: x.type === 'hmmtime' ? (x.hmmAxis?.mode ?? '?') : 'linear',
      title: x.options.title.text,
      min: x.min,
      max: x.max,
      left: x.left,
      right: x.right,
      top: c.chartArea.top,
      bottom: c.chartArea.bottom,
      px: [20531152, 120532752].map((t) => x.getPixelForValue(t)),
      ticks: x.ticks.map((t) => t.label),
      spread: cols.size,
      sample: pts.filter((p) => p.x < 121e6).map((p) => [p.x, p.y] as [number, number]),
    }
  }, id)
}
async function memoryRange(page: Page): Promise<{ min: number; max: number } | undefined> {
  return chartRange(page, 'memory')
}
async function openRun(page: Page, id: string): Promise<void> {
  await gotoHash(page, `#/results?run=${id}`)
  await expect(page.getByTestId('result-design')).toHaveText(id.slice(-2))
  // Scrolled by the page itself: Playwright's scrollIntoViewIfNeeded also waits for two equal
  // animation frames, which once never came in CI (not reproduced in 60 runs, loaded or not; a tick
  // loop that could freeze the page was fixed). A page that hangs still fails here, on the evaluate.
  await page.getByTestId('tracks-canvas').evaluate((el) => el.scrollIntoView({ block: 'center' }))
  await expect(page.getByTestId('tracks-canvas')).toBeInViewport()
  await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).boxes).toBeGreaterThan(0)
}

test.describe('Lifetimes timeline', () => {
  test('refcount tracks under the memory chart, lanes with slices and cause arrows, slice details', async ({ appPage: page }) => {
    await page.setViewportSize({ width: 1440, height: 900 })
    await openRun(page, 'fork-D1')
    // refcount step lines: mm_users / mm_count of A and B, f_count of the device file
    const rc = page.getByTestId('refcounts')
    await expect(rc.getByRole('heading')).toContainText('5 tracks')
    expect((await canvasState(page, 'refcount-canvas')).rows).toBe(5)
    await rc.getByText('Values in the selected window (table)').click()
    const mmUsers = rc.getByTestId('refcount-table').locator('tr', { hasText: 'mm of A · mm_users' })
    await expect(mmUsers.locator('td').nth(3)).toHaveText('3')
    await expect(mmUsers.locator('td').nth(5)).toHaveText('8')
    // one lane per task, device and IOMMU
    const tl = await canvasState(page, 'tracks-canvas')
    expect(tl.rows).toBe(4)
    expect(tl.arrows).toBeGreaterThan(0)
    await expect(page.getByRole('img', { name: /Timeline: 4 lanes \(task A, task B, device gpu0, IOMMU iommu0\)/ })).toBeVisible()
    // pick the fork's invalidation from the log: its details name its cause and effects
    await page.getByTestId('log-search').fill('invalidate PROTECTION_PAGE')
    await expect(page.getByTestId('event-log').locator('li')).toHaveCount(1)
    await page.getByTestId('event-log').locator('li button').first().click()
    const detail = page.getByTestId('slice-detail')
    await expect(detail).toContainText('invalidate PROTECTION_PAGE (invalidate) on task A')
    await expect(detail).toContainText('caused by: fork')
    await expect(page.getByTestId('slice-effects')).toContainText('device_pt_zap')
    await expect(page.getByTestId('slice-effects')).toContainText('ats_inv')
  })

  test('the event log searches every word and filters by category', async ({ appPage: page }) => {
    await openRun(page, 'fork-D1')
    const count = page.getByTestId('log-count')
    const all = Number(/of (\d+) events/.exec((await count.textContent())!)![1])
    await page.getByTestId('log-search').fill('mm of A mm_users mmput line')
    const items = page.getByTestId('event-log').locator('li')
    // the record's four mmput rows of A's mm_users: the device_read's, A's exit, B's read, B's exit
    await expect(items).toHaveCount(4)
    for (const t of await items.allTextContents()) expect(t).toMatch(/mm of A.*mm_users → \d by mmput \(line \d+\)/)
    await page.getByTestId('log-search').fill('')
    await page.getByTestId('cat-refcount').uncheck()
    await expect(count).toHaveText(new RegExp(`^${all - 20} of ${all} events`))
    expect((await page.getByTestId('event-log').allTextContents()).join(' ')).not.toContain('by mmget')
  })

  test('one time window: a selection on the timeline moves every chart on time, the refcounts and the log; the charts move them back', async ({
    appPage: page,
  }) => {
    await openRun(page, 'fork-D1')
    await expect.poll(() => memoryRange(page)).toBeTruthy()
    const before = (await memoryRange(page))!
    const box = (await page.getByTestId('tracks-canvas').boundingBox())!
    // drag across the middle of the plot (the labels take the first 150 px)
    const y = box.y + 40
    await page.mouse.move(box.x + 150 + (box.width - 150) * 0.05, y)
    await page.mouse.down()
    await page.mouse.move(box.x + 150 + (box.width - 150) * 0.2, y, { steps: 5 })
    await page.mouse.up()
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t1).toBeLessThan(before.max * 0.25)
    const sel = await canvasState(page, 'tracks-canvas')
    expect(sel.t0).toBeGreaterThan(0)
    // the refcount tracks and the memory chart show the same window
    const rc = await canvasState(page, 'refcount-canvas')
    expect(rc.t0).toBeCloseTo(sel.t0, -3)
    expect(rc.t1).toBeCloseTo(sel.t1, -3)
    await expect.poll(async () => Math.abs((await memoryRange(page))!.max - sel.t1) / sel.t1).toBeLessThan(0.01)
    // so do the other charts on time: invalidations over time and the event timeline
    for (const id of ['inval-time', 'timeline']) {
      await expect.poll(async () => Math.abs((await chartRange(page, id))!.max - sel.t1) / sel.t1, id).toBeLessThan(0.01)
      await expect.poll(async () => Math.abs((await chartRange(page, id))!.min - sel.t0) / sel.t1, id).toBeLessThan(0.01)
    }
    // the log holds only events inside the window
    const log = page.getByTestId('log-count')
    await expect(log).not.toHaveText(/^(\d+) of \1 events/)
    // zooming the memory chart (its own buttons) moves the timeline
    await page.getByRole('button', { name: /reset zoom Memory by object type/ }).click()
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t1).toBeGreaterThan(before.max * 0.99)
    await page.getByRole('button', { name: /zoom in Memory by object type/ }).click()
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t1).toBeLessThan(before.max * 0.99)
    // and zooming the invalidations over time moves the memory chart and the timeline
    await page.getByRole('button', { name: /reset zoom Memory by object type/ }).click()
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t1).toBeGreaterThan(before.max * 0.99)
    await page.getByRole('button', { name: /^zoom in Cost per invalidation over time/ }).click()
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t1).toBeLessThan(before.max * 0.99)
    await expect.poll(async () => (await memoryRange(page))!.max).toBeLessThan(before.max * 0.99)
  })

  test('linear, logarithmic and events-only axes; W/S/A/D/R keys zoom and pan, N/P step through events; ? lists them', async ({ appPage: page }) => {
    await openRun(page, 'fork-D1')
    const whole = await canvasState(page, 'tracks-canvas')
    await page.getByTestId('axis-mode').selectOption('log')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).axis).toBe('log')
    await page.getByTestId('axis-mode').selectOption('events')
    await expect.poll(async () => (await canvasState(page, 'refcount-canvas')).axis).toBe('events')
    // on the events-only axis the first millisecond (where most events are) gets most of the width
    const boxesEvents = (await canvasState(page, 'tracks-canvas')).boxes
    await page.getByTestId('axis-mode').selectOption('linear')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).boxes).toBeLessThan(boxesEvents)

    await page.locator('body').click({ position: { x: 5, y: 5 } })
    await page.keyboard.press('w')
    await expect
      .poll(async () => (await canvasState(page, 'tracks-canvas')).t1 - (await canvasState(page, 'tracks-canvas')).t0)
      .toBeLessThan((whole.t1 - whole.t0) * 0.6)
    const zoomed = await canvasState(page, 'tracks-canvas')
    await page.keyboard.press('d')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t0).toBeGreaterThan(zoomed.t0)
    await page.keyboard.press('r')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t1).toBe(whole.t1)
    await page.keyboard.press('x')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).axis).toBe('log')
    // N / P step through the event log: the current entry is marked and its slice detailed
    const entries = page.getByTestId('event-log').locator('li')
    const current = page.getByTestId('event-log').locator('li.current')
    await expect(current).toHaveCount(0)
    await page.keyboard.press('n')
    await expect(current).toHaveText((await entries.nth(0).textContent())!)
    await page.keyboard.press('n')
    await expect(current).toHaveText((await entries.nth(1).textContent())!)
    await page.keyboard.press('n')
    await expect(current).toHaveText((await entries.nth(2).textContent())!)
    await page.keyboard.press('p')
    await expect(current).toHaveText((await entries.nth(1).textContent())!)
    await expect(page.getByTestId('slice-detail')).not.toContainText('Click a slice for its details')
    await page.keyboard.press('?')
    const dialog = page.getByTestId('shortcuts')
    await expect(dialog).toContainText('next event in the event log')
    await expect(dialog).toContainText('previous event in the event log')
    await expect(dialog).toContainText('zoom in the time window')
    await expect(dialog).toContainText('change the time axis (linear, logarithmic, events only)')
  })

  test('the fork run opens on events only and says why: its events spread over the width, not two slivers', async ({ appPage: page }) => {
    await page.setViewportSize({ width: 1440, height: 900 })
    await openRun(page, 'fork-D1')
    // one control for every view on time, with the reason beside it
    await expect(page.getByTestId('axis-mode')).toHaveValue('events')
    await expect(page.getByTestId('axis-mode')).toHaveCount(1)
    await expect(page.getByTestId('axis-mode-why')).toHaveText(
      /^Opened on events only: nothing happens from 120\.5 ms to 10\.12 s \(98% of the run\), so each event time gets an equal share of the width/,
    )
    await expect(page.getByTestId('tracks-axis')).toContainText('Time axis: events only')
    expect((await canvasState(page, 'tracks-canvas')).axis).toBe('events')
    // slices begin in most twentieths of the plot (14 of 20 here; a linear axis: 2)
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).spread).toBeGreaterThanOrEqual(12)
    await expect.poll(async () => (await canvasState(page, 'refcount-canvas')).spread).toBeGreaterThanOrEqual(10)
    // a linear axis would draw them in two slivers: the first 121 ms and the end
    await page.getByTestId('axis-mode').selectOption('linear')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).spread).toBeLessThanOrEqual(3)
    expect((await canvasState(page, 'refcount-canvas')).spread).toBeLessThanOrEqual(3)
    await expect(page.getByTestId('axis-mode-why')).toHaveText(/^Your choice; this run would open on events only: nothing happens/)
    // the pick is kept for the next run opened, which would open on events only too
    await openRun(page, 'fork-D4')
    await expect(page.getByTestId('axis-mode')).toHaveValue('linear')
    await expect.poll(async () => (await chartGeometry(page, 'memory'))?.type).toBe('linear')
    await expect(page.getByTestId('axis-mode-why')).toHaveText(/^Your choice; this run would open on events only/)
  })

  test("the fork run's memory chart opens on events only: its bands spread over the width, ticks at the event times", async ({ appPage: page }) => {
    await page.setViewportSize({ width: 1440, height: 900 })
    await openRun(page, 'fork-D1')
    await expect.poll(async () => (await chartGeometry(page, 'memory'))?.mode).toBe('events')
    const g = (await chartGeometry(page, 'memory'))!
    expect(g.type).toBe('hmmtime')
    expect(g.title).toBe('simulated time (events only, not to scale)')
    // 20.5 ms and 120.5 ms (the last events before the quiet stretch) sit well inside the plot, not at its left edge
    const share = (px: number): number => (px - g.left) / (g.right - g.left)
    expect(share(g.px[0]!)).toBeGreaterThan(0.3)
    expect(share(g.px[1]!)).toBeGreaterThan(0.5)
    expect(share(g.px[1]!)).toBeLessThan(0.95)
    // the band's points (the record's samples) begin in most twentieths of the plot (a linear axis: 2)
    expect(g.spread).toBeGreaterThanOrEqual(10)
    // the ticks are the run's times, in their own units: the first milliseconds and the 10 s end
    expect(g.ticks[0]).toBe('0 ns')
    expect(g.ticks.some((t) => / ms$/.test(t))).toBe(true)
    expect(g.ticks.some((t) => /^10\.\d+ s$/.test(t))).toBe(true)
    // its CSV keeps real times (ns), the record's sample times, whatever the axis
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-csv').click()])
    const lines = readFileSync((await csv.path())!, 'utf8')
      .trim()
      .split('\r\n')
    expect(lines[0]).toBe('series,simulated time (ns),memory live (bytes),stacked top (bytes)')
    const xs = new Set(lines.slice(1).map((l) => Number(l.split(',')[1])))
    for (const t of [300, 18822252, 120532752]) expect(xs.has(t), String(t)).toBe(true)
    // the same chart on a linear axis: two slivers
    await page.getByTestId('axis-mode').selectOption('linear')
    await expect.poll(async () => (await chartGeometry(page, 'memory'))?.type).toBe('linear')
    const lin = (await chartGeometry(page, 'memory'))!
    expect((lin.px[1]! - lin.left) / (lin.right - lin.left)).toBeLessThan(0.02)
    expect(lin.spread).toBeLessThanOrEqual(3)
    // the bands are the record's: the same tops at the same times on either axis
    expect(lin.sample).toEqual(g.sample)
  })

  test('switching the time axis switches every chart on time, and a window selected on events only narrows all to the same interval', async ({
    appPage: page,
  }) => {
    await page.setViewportSize({ width: 1440, height: 900 })
    await openRun(page, 'fork-D1')
    const charts = ['memory', 'leaked', 'inval-time', 'timeline']
    for (const id of charts) await expect.poll(async () => (await chartGeometry(page, id))?.mode, id).toBe('events')
    await page.getByTestId('axis-mode').selectOption('log')
    for (const id of charts) await expect.poll(async () => (await chartGeometry(page, id))?.mode, id).toBe('log')
    expect((await canvasState(page, 'tracks-canvas')).axis).toBe('log')
    expect((await canvasState(page, 'refcount-canvas')).axis).toBe('log')
    expect((await chartGeometry(page, 'memory'))!.title).toBe('simulated time (log scale)')
    // the X key cycles it everywhere: log → events only
    await page.locator('body').click({ position: { x: 5, y: 5 } })
    await page.keyboard.press('x')
    await expect(page.getByTestId('axis-mode')).toHaveValue('events')
    for (const id of charts) await expect.poll(async () => (await chartGeometry(page, id))?.mode, id).toBe('events')

    // Shift+drag across the memory chart from 30% to 60% of its plot: the times under those pixels
    await page.getByTestId('chart-memory').scrollIntoViewIfNeeded()
    const g = (await chartGeometry(page, 'memory'))!
    const canvas = (await page.getByTestId('chart-memory').locator('canvas').boundingBox())!
    const xa = g.left + (g.right - g.left) * 0.3
    const xb = g.left + (g.right - g.left) * 0.6
    const want = await page.evaluate(
      ([a, b]) => {
        const c = (
          window as unknown as { __hmmlabCharts: { charts: Map<string, { chart: { scales: { x: { getValueForPixel(p: number): number } } } }> } }
        ).__hmmlabCharts.charts.get('memory')!.chart
        return { t0: c.scales.x.getValueForPixel(a!), t1: c.scales.x.getValueForPixel(b!) }
      },
      [xa, xb],
    )
    // on events only that is a stretch of the first 121 ms, not 30% of 10 s
    expect(want.t1).toBeLessThan(200e6)
    const y = canvas.y + (g.top + g.bottom) / 2
    await page.keyboard.down('Shift')
    await page.mouse.move(canvas.x + xa, y)
    await page.mouse.down()
    await page.mouse.move(canvas.x + xb, y, { steps: 6 })
    await page.mouse.up()
    await page.keyboard.up('Shift')
    const close = (a: number, b: number): boolean => Math.abs(a - b) <= (want.t1 - want.t0) * 0.02
    for (const id of charts)
      await expect
        .poll(async () => {
          const c = (await chartGeometry(page, id))!
          return close(c.min, want.t0) && close(c.max, want.t1)
        }, id)
        .toBe(true)
    await expect.poll(async () => close((await canvasState(page, 'tracks-canvas')).t0, want.t0)).toBe(true)
    const tr = await canvasState(page, 'tracks-canvas')
    expect(close(tr.t1, want.t1)).toBe(true)
    const rc = await canvasState(page, 'refcount-canvas')
    expect(close(rc.t0, want.t0) && close(rc.t1, want.t1)).toBe(true)
    // the chart's zoom buttons move every view on the same axis; reset brings the whole run back
    // (zooming out by 1.5 widens the window by a third of its share of the axis, here mostly earlier events)
    await page.getByRole('button', { name: /^zoom out Memory by object type/ }).click()
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).t0).toBeLessThan(tr.t0 * 0.999)
    expect((await canvasState(page, 'tracks-canvas')).t1).toBeGreaterThanOrEqual(tr.t1)
    for (const id of charts) await expect.poll(async () => (await chartGeometry(page, id))!.min, id).toBeLessThan(tr.t0 * 0.999)
    await page.getByRole('button', { name: /^reset zoom Memory by object type/ }).click()
    for (const id of charts) await expect.poll(async () => (await chartGeometry(page, id))!.max, id).toBeGreaterThan(10e9)
  })

  test('a run whose events spread over its whole length opens on a linear axis', async ({ appPage: page }) => {
    await page.setViewportSize({ width: 1440, height: 900 })
    await openRun(page, 'kfd-D4')
    await expect(page.getByTestId('axis-mode')).toHaveValue('linear')
    await expect(page.getByTestId('axis-mode-why')).toHaveText(
      /^Opened on linear: the events spread over the run \(the longest stretch without one is 9% of it\)/,
    )
    expect((await canvasState(page, 'tracks-canvas')).axis).toBe('linear')
    await expect.poll(async () => (await canvasState(page, 'tracks-canvas')).spread).toBeGreaterThanOrEqual(16)
  })

  test('every picture on the page saves as PNG and CSV, the timeline and the refcount tracks too (what the window shows)', async ({ appPage: page }) => {
    await openRun(page, 'fork-D1')
    // one PNG and one CSV button per canvas drawn on the Results view
    const canvases = await page.getByTestId('run-result').locator('canvas').count()
    expect(canvases).toBeGreaterThan(8)
    await expect(page.getByTestId('run-result').getByRole('button', { name: /^save .* as PNG$/ })).toHaveCount(canvases)
    await expect(page.getByTestId('run-result').getByRole('button', { name: /^save .* as CSV$/ })).toHaveCount(canvases)

    const download = async (testid: string): Promise<Buffer> => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()])
      return readFileSync((await d.path())!)
    }
    const png = await download('tracks-canvas-png')
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const rows = (b: Buffer): string[][] =>
      b
        .toString('utf8')
        .trim()
        .split('\r\n')
        .map((l) => l.split(','))
    const whole = rows(await download('tracks-canvas-csv'))
    expect(whole[0]).toEqual(['track', 'kind', 'name', 'category', 'start (ns)', 'end (ns)', 'value', 'step', 'detail'])
    const slices = whole.filter((r) => r[1] === 'slice')
    expect(slices.length).toBe(Number(/\((\d+) slices/.exec((await page.locator('#tracks-title').textContent())!)![1]))
    expect(slices.some((r) => r[2] === 'fork' && r[0] === 'task A')).toBe(true)
    const rc = rows(await download('refcount-canvas-csv'))
    expect(rc.filter((r) => r[0] === 'mm_users · mm of A' && r[1] === 'refcount').length).toBeGreaterThan(2)

    // a smaller window: the CSV holds what it shows
    const full = await canvasState(page, 'tracks-canvas')
    await page.keyboard.press('w')
    await page.keyboard.press('w')
    await expect.poll(async () => ((s) => s.t1 - s.t0)(await canvasState(page, 'tracks-canvas'))).toBeLessThan((full.t1 - full.t0) * 0.5)
    const st = await canvasState(page, 'tracks-canvas')
    const part = rows(await download('tracks-canvas-csv')).filter((r) => r[1] === 'slice')
    expect(part.length).toBeLessThan(slices.length)
    for (const r of part) {
      expect(Number(r[5])).toBeGreaterThanOrEqual(st.t0)
      expect(Number(r[4])).toBeLessThanOrEqual(st.t1)
    }
  })

  test('Held by: the leak chain as a graph from the leaked object to the live reference', async ({ appPage: page }, testInfo) => {
    await openRun(page, 'fork-D1')
    const graphs = page.getByTestId('held-by-graphs')
    await expect(graphs).toBeVisible()
    const g = graphs.getByTestId('held-by-graph').first()
    await expect(g).toHaveAttribute('aria-label', /B's fd dev holds .* holds mm of A/)
    await expect(g.locator('[data-node="leaked"]')).toContainText('mm of A')
    await expect(g.locator('[data-node="root"]')).toContainText("B's fd dev")
    // three boxes (mm of A ← gpu0 file ← B's fd dev), joined by two arrows
    await expect(g.locator('g[data-node]')).toHaveCount(3)
    await expect(g.locator('line')).toHaveCount(2)
    await expect(graphs.locator('figcaption').first()).toContainText('task A')
    const file = testInfo.outputPath('held-by.png')
    await graphs.screenshot({ path: file })
    await testInfo.attach('Held-by graph, D1', { path: file, contentType: 'image/png' })
  })

  for (const [w, h] of [
    [1440, 900],
    [1024, 768],
  ] as const) {
    test(`at ${w}x${h} the Results view with the timeline never scrolls sideways`, async ({ appPage: page }, testInfo) => {
      await page.setViewportSize({ width: w, height: h })
      await openRun(page, 'fork-D4')
      await page.getByTestId('log-search').fill('mmu_notifier')
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
      expect(overflow).toBeLessThanOrEqual(0)
      const canvas = (await page.getByTestId('tracks-canvas').boundingBox())!
      expect(canvas.x + canvas.width).toBeLessThanOrEqual(w)
      // D4 frees the notifier after an SRCU grace period: a slice on the SRCU lane
      await page.getByTestId('log-search').fill('grace period')
      await expect(page.getByTestId('event-log').locator('li').first()).toContainText('SRCU callbacks')
      await page.getByTestId('log-search').fill('')
      for (const part of ['refcounts', 'tracks', 'leaks']) {
        const file = testInfo.outputPath(`${part}-${w}x${h}.png`)
        await page.getByTestId(part).screenshot({ path: file })
        await testInfo.attach(`${part} at ${w}x${h}`, { path: file, contentType: 'image/png' })
      }
    })
  }
})
