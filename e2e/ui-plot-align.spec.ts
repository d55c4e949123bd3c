/**
 * One plot area for every picture on a run's time (issue 17): the memory charts, the invalidations
 * over time and the event timeline (Chart.js) and the refcount tracks and the lifetimes timeline
 * (TrackCanvas) draw one instant at the same page x, so a fork read on the memory chart is straight
 * below on the refcount tracks and the timeline. Measured on real runs (the 2014 fork scenario,
 * which opens on the events-only axis, and the KFD eviction storm, which opens on a linear one) at
 * 1440x900 and 1024x768: the plot's edges and the x of the window's ends and of every marker
 * (fork, exit, close…) agree within 2 px, whole run and zoomed, every picture's ticks (grid lines)
 * are at the same times, and the memory chart's y tick labels stay whole.
 */
import type { Page } from '@playwright/test'
import { expect } from './fixtures'
import { gotoHash, workspaceTest, writeRealRuns } from './ui-workspace'
import type { TrackGeometry } from '../src/renderer/lib/charts'

const KFD = 'scenarios/examples/kfd-eviction-storm.yaml'
const test = workspaceTest((root) => {
  writeRealRuns(root, ['D1'])
  writeRealRuns(root, ['D4'], KFD, 'kfd')
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

/** The Chart.js charts on the run's time and the track canvases of the Results view. */
const CHARTS = ['memory', 'leaked', 'inval-time', 'timeline']
const TRACKS = ['refcount-canvas', 'tracks-canvas']
/** How far apart (CSS px) one instant may be drawn on two pictures. */
const SLACK = 2

interface Placed {
  /** Page x of the plot's left and right edges, then of each time asked. */
  xs: number[]
  /** The times of its x ticks (Chart.js) or its ruler's ticks (tracks). */
  ticks: number[]
  /** Chart.js: the time axis's mode (linear, log, events); tracks: their `data-axis`. */
  mode: string
}

/** Where each picture draws the plot's edges and the given times, in page px (Chart.js through its scale, tracks through the registry). */
async function placed(page: Page, times: number[]): Promise<Record<string, Placed>> {
  return page.evaluate(
    ({ times, charts, tracks }) => {
      const reg = window.__hmmlabCharts
      const out: Record<string, { xs: number[]; ticks: number[]; mode: string }> = {}
      for (const id of charts) {
        const c = reg?.charts.get(id)?.chart
        if (!c) continue
        const x = c.scales.x as unknown as { type: string; hmmAxis?: { mode: string }; getPixelForValue(v: number): number }
        const left = c.canvas.getBoundingClientRect().left
        out[id] = {
          xs: [left + c.chartArea.left, left + c.chartArea.right, ...times.map((t) => left + x.getPixelForValue(t))],
          ticks: c.scales.x!.ticks.map((k) => k.value),
          mode: x.type === 'hmmtime' ? (x.hmmAxis?.mode ?? '?') : x.type,
        }
      }
      for (const id of tracks) {
        const g: TrackGeometry | undefined = reg?.tracks.get(id)
        const el = document.querySelector<HTMLCanvasElement>(`[data-testid="${id}"]`)
        if (!g || !el) continue
        const left = el.getBoundingClientRect().left
        out[id] = { xs: [left + g.left, left + g.right, ...times.map((t) => left + g.pixelFor(t))], ticks: [...g.ticks], mode: el.dataset.axis ?? '?' }
      }
      return out
    },
    { times, charts: CHARTS, tracks: TRACKS },
  )
}

/** The shared window (the refcount canvas's) and the times of the memory chart's markers in it. */
async function timesToCheck(page: Page): Promise<{ t0: number; t1: number; markers: { t: number; kind: string }[] }> {
  return page.evaluate(() => {
    const el = document.querySelector<HTMLCanvasElement>('[data-testid="refcount-canvas"]')!
    const t0 = Number(el.dataset.t0)
    const t1 = Number(el.dataset.t1)
    const c = window.__hmmlabCharts!.charts.get('memory')!.chart
    const m = (c.options.plugins as { hmmMarkers?: { markers?: { x: number; kind: string }[] } }).hmmMarkers?.markers ?? []
    return { t0, t1, markers: m.filter((k) => k.x > t0 && k.x < t1).map((k) => ({ t: k.x, kind: k.kind })) }
  })
}

/**
 * Every picture expected draws the plot's edges, the window's ends and every marker within `SLACK`
 * px of the memory chart, all on `mode`. Polled: charts are built one per task and redraw after a
 * window change. Returns the largest gap seen, for the message.
 */
async function expectAligned(page: Page, ids: string[], mode: string, label: string): Promise<void> {
  const { t0, t1, markers } = await timesToCheck(page)
  const times = [t0, t1, ...markers.map((m) => m.t)]
  let last = ''
  await expect
    .poll(
      async () => {
        const got = await placed(page, times)
        const ref = got.memory
        const bad: string[] = []
        for (const id of ids) {
          const p = got[id]
          if (!p || !ref) {
            bad.push(`${id}: not drawn`)
            continue
          }
          if (p.mode !== mode) bad.push(`${id}: axis ${p.mode}, not ${mode}`)
          // grid lines on the same instants: the same tick times
          // (the window's ends, which may be ticks, as the chart's zoom and the shared window hold them: to a few ulps)
          const same = p.ticks.length === ref.ticks.length && p.ticks.every((t, k) => Math.abs(t - ref.ticks[k]!) <= 1e-9 * Math.max(1, Math.abs(t)))
          if (!same) bad.push(`${id} ticks: ${p.ticks.join(' ')} vs ${ref.ticks.join(' ')}`)
          p.xs.forEach((x, k) => {
            if (!(Math.abs(x - ref.xs[k]!) <= SLACK))
              bad.push(`${id} ${k < 2 ? ['left edge', 'right edge'][k] : `t=${times[k - 2]}`}: ${x.toFixed(1)} vs ${ref.xs[k]!.toFixed(1)}`)
          })
        }
        last = bad.join('; ')
        return bad
      },
      { message: `${label}: every picture draws the same instant at the same x` },
    )
    .toEqual([])
  expect(last).toBe('')
}

async function openRun(page: Page, id: string, width: number, height: number): Promise<void> {
  await page.setViewportSize({ width, height })
  await gotoHash(page, `#/results?run=${id}`)
  await expect(page.getByTestId('result-design')).toHaveText(id.slice(-2))
  await page.getByTestId('tracks-canvas').evaluate((el) => el.scrollIntoView({ block: 'center' }))
  await expect.poll(async () => Number(await page.getByTestId('tracks-canvas').getAttribute('data-boxes'))).toBeGreaterThan(0)
}

/** Page x of the y tick labels' left ends and of the y title's right end on a chart (the labels must not run into the title or off the canvas). */
async function yLabels(page: Page, id: string): Promise<{ labels: string[]; textLeft: number; titleRight: number }> {
  return page.evaluate((chartId) => {
    const c = window.__hmmlabCharts!.charts.get(chartId)!.chart
    type Item = { label: string | string[]; font: { string: string }; options: { translation: [number, number]; textAlign: string } }
    type Pad = number | { top?: number; bottom?: number; y?: number }
    const y = c.scales.y as unknown as {
      left: number
      getLabelItems(): Item[]
      options: { title: { padding: Pad; font?: { size?: number; lineHeight?: number } } }
    }
    let textLeft = Infinity
    const labels: string[] = []
    for (const it of y.getLabelItems()) {
      const text = Array.isArray(it.label) ? it.label.join(' ') : it.label
      labels.push(text)
      c.ctx.font = it.font.string
      const w = c.ctx.measureText(text).width
      const x = it.options.translation[0]
      textLeft = Math.min(textLeft, it.options.textAlign === 'right' ? x - w : it.options.textAlign === 'center' ? x - w / 2 : x)
    }
    // the title is drawn rotated at the scale's left: its line height plus its padding
    const pad = y.options.title.padding
    const [above, below] = typeof pad === 'number' ? [pad, pad] : [pad.top ?? pad.y ?? 0, pad.bottom ?? pad.y ?? 0]
    const font = y.options.title.font
    const titleRight = y.left + above + (font?.size ?? 12) * (Number(font?.lineHeight) || 1.2) + below
    return { labels, textLeft, titleRight }
  }, id)
}

for (const [width, height] of [
  [1440, 900],
  [1024, 768],
] as const) {
  test.describe(`at ${width}x${height}`, () => {
    test('the fork run (events only, then log, then zoomed): one instant, one x on the memory chart, the refcounts, the timeline and every chart on time', async ({
      appPage: page,
    }) => {
      await openRun(page, 'fork-D1', width, height)
      const all = [...CHARTS, ...TRACKS]
      await expect(page.getByTestId('axis-mode')).toHaveValue('events')
      // the fork is among the instants checked
      expect((await timesToCheck(page)).markers.map((m) => m.kind)).toContain('fork')
      await expectAligned(page, all, 'events', 'events only, whole run')
      // the memory chart's y labels (bytes on a log scale: "512 MiB") stay whole, clear of the title
      await page.getByTestId('memory-scale').selectOption('log')
      await expect.poll(async () => (await yLabels(page, 'memory')).labels.some((l) => /[KMG]iB$/.test(l))).toBe(true)
      const y = await yLabels(page, 'memory')
      expect(y.textLeft, `y labels ${y.labels.join(', ')}`).toBeGreaterThan(y.titleRight)
      await expectAligned(page, all, 'events', 'events only, log bytes')
      await page.getByTestId('axis-mode').selectOption('log')
      await expectAligned(page, all, 'log', 'log time')
      // a window selected on the timeline: every picture narrows to it and still lines up
      await page.getByTestId('tracks-canvas').evaluate((el) => el.scrollIntoView({ block: 'center' }))
      const box = (await page.getByTestId('tracks-canvas').boundingBox())!
      const g = (await placed(page, []))['tracks-canvas']!
      const plotLeft = g.xs[0]!
      const plotW = g.xs[1]! - g.xs[0]!
      await page.mouse.move(plotLeft + plotW * 0.3, box.y + 40)
      await page.mouse.down()
      await page.mouse.move(plotLeft + plotW * 0.7, box.y + 40, { steps: 5 })
      await page.mouse.up()
      await expect.poll(async () => Number(await page.getByTestId('refcount-canvas').getAttribute('data-t0'))).toBeGreaterThan(0)
      await expectAligned(page, all, 'log', 'log time, zoomed')
    })

    test('the KFD eviction storm (linear): one instant, one x on the memory chart, the refcounts, the timeline and every chart on time', async ({
      appPage: page,
    }) => {
      await openRun(page, 'kfd-D4', width, height)
      await expect(page.getByTestId('axis-mode')).toHaveValue('linear')
      const ids = ['memory', 'inval-time', 'timeline', ...TRACKS]
      await expectAligned(page, ids, 'linear', 'linear, whole run')
      expect((await timesToCheck(page)).markers.length).toBeGreaterThan(0)
      // zoomed from the memory chart's own button
      await page.getByRole('button', { name: /^zoom in Memory by object type/ }).click()
      await expect.poll(async () => Number(await page.getByTestId('refcount-canvas').getAttribute('data-t0'))).toBeGreaterThan(0)
      await expectAligned(page, ids, 'linear', 'linear, zoomed')
    })
  })
}
