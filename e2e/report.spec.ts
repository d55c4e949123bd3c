/**
 * An exported HTML report opened from a file in Chromium with the network cut: no request leaves
 * the page, no console error, every chart has drawn its data, the conclusion is present, and the
 * hostile scenario's HTML and script show as text without running. Browser only: the report is a
 * plain file, so the `electron` project has nothing to add and skips.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { expect, test, type Page } from '@playwright/test'
import { exportReport, exportStoredRuns } from '../src/main/services/reports'
import { RunStore } from '../src/main/services/store/run-store'
import { BAND_ALPHA, typeColour } from '../src/shared/palette'
import { formatUnit } from '../src/shared/units'
import { forkExperiment, forkRun, forkRuns, HOSTILE } from '../test/fixtures/runs/make'

let dir = ''
const files: Record<string, string> = {}

test.beforeAll(async ({}, info) => {
  if (info.project.name !== 'web') return
  dir = await mkdtemp(join(tmpdir(), 'hmmlab-report-e2e-'))
  const store = new RunStore(dir)
  const runs = forkRuns({ experimentId: 'exp-fork' })
  for (const r of runs) await store.saveRun(r)
  await store.saveExperiment(forkExperiment(runs))
  const exported = {
    experiment: await exportReport(store, { kind: 'experiment', experimentId: 'exp-fork' }, 'html', { probe: 'live' }),
    run: await exportReport(store, { kind: 'run', runId: runs[0]!.manifest.id }, 'html', { probe: 'none' }),
    compare: await exportReport(store, { kind: 'compare', runIds: [runs[0]!.manifest.id, runs[3]!.manifest.id] }, 'html', { probe: 'none' }),
    hostile: await exportStoredRuns([forkRun('D4', HOSTILE)], 'html', { probe: 'none' }),
  }
  for (const [name, report] of Object.entries(exported)) {
    const file = join(dir, `${name}-${report.fileName}`)
    await writeFile(file, report.content)
    files[name] = pathToFileURL(file).href
  }
})

test.afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

interface Opened {
  page: Page
  requests: string[]
  errors: string[]
}

/** Opens a report with every non-file request aborted and recorded, and console errors collected. */
async function open(page: Page, url: string): Promise<Opened> {
  const requests: string[] = []
  const errors: string[] = []
  await page.context().route(
    (u) => u.protocol !== 'file:',
    (route) => {
      requests.push(route.request().url())
      return route.abort('internetdisconnected')
    },
  )
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url())
  })
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  await page.goto(url)
  await page.waitForFunction(() => (globalThis as unknown as { __hmmlabReport?: { ready: boolean } }).__hmmlabReport?.ready === true)
  return { page, requests, errors }
}

interface ChartState {
  id: string
  datasets: number[]
  drawn: number[]
}

/** Each canvas's Chart.js instance: points per dataset in its data and elements drawn per dataset. */
async function chartStates(page: Page): Promise<{ canvases: number; charts: ChartState[] }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { querySelectorAll(s: string): ArrayLike<{ id: string }> }
      Chart: { getChart(c: unknown): { data: { datasets: { data: unknown[] }[] }; getDatasetMeta(i: number): { data: unknown[] } } | undefined }
    }
    const canvases = Array.from(g.document.querySelectorAll('canvas'))
    const charts = canvases.map((c) => {
      const chart = g.Chart.getChart(c)
      return {
        id: c.id,
        datasets: chart ? chart.data.datasets.map((d) => d.data.length) : [],
        drawn: chart ? chart.data.datasets.map((_, i) => chart.getDatasetMeta(i).data.length) : [],
      }
    })
    return { canvases: canvases.length, charts }
  })
}

test.describe('exported HTML report', () => {
  test.beforeEach(({}, info) => {
    test.skip(info.project.name !== 'web', 'a report is a plain file: checked in the web project (Chromium) only')
  })

  for (const name of ['experiment', 'run', 'compare'] as const) {
    test(`${name} report: offline, no console error, every chart drawn, conclusion present`, async ({ page }) => {
      const { requests, errors } = await open(page, files[name]!)
      const { canvases, charts } = await chartStates(page)
      expect(canvases).toBeGreaterThan(0)
      for (const c of charts) {
        expect(c.datasets.length, `chart ${c.id} has datasets`).toBeGreaterThan(0)
        for (const [i, n] of c.datasets.entries()) {
          expect(n, `chart ${c.id} dataset ${i} has data`).toBeGreaterThan(0)
          expect(c.drawn[i], `chart ${c.id} dataset ${i} drew its elements`).toBe(n)
        }
      }
      await expect(page.locator('#conclusion li').first()).toBeVisible()
      if (name !== 'run')
        await expect(page.locator('#conclusion')).toContainText(/D1 kept up to 64\.15 MiB of A's memory \(.*\) alive for 10\.11 s after A exited/)
      await expect(page.locator('html')).toHaveAttribute('data-charts', 'ready')
      expect(errors).toEqual([])
      expect(requests).toEqual([])
    })
  }

  test('a hostile scenario name and description show as text and nothing runs', async ({ page }) => {
    const { errors, requests } = await open(page, files.hostile!)
    const pwned = await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)
    expect(pwned).toBeUndefined()
    await expect(page.locator('#title')).toContainText(HOSTILE.scenarioName)
    await expect(page.locator('.scenario .description')).toHaveText(HOSTILE.description)
    expect(await page.locator('img').count()).toBe(0)
    expect(await page.locator('script').count()).toBe(2)
    expect(errors).toEqual([])
    expect(requests).toEqual([])
  })

  test('charts are interactive: legend toggles a series, drag zooms, double-click resets', async ({ page }) => {
    const { errors } = await open(page, files.run!)
    type G = {
      Chart: {
        getChart(
          id: string,
        ): { scales: { x: { min: number; max: number } }; isDatasetVisible(i: number): boolean; legend: { legendItems: unknown[] } } | undefined
        registry: { plugins: { get(id: string): unknown } }
      }
    }
    const state = (): Promise<{ min: number; max: number; visible0: boolean; zoom: boolean }> =>
      page.evaluate(() => {
        const g = globalThis as unknown as G
        const c = g.Chart.getChart('chart-run0-memory')!
        return { min: c.scales.x.min, max: c.scales.x.max, visible0: c.isDatasetVisible(0), zoom: !!g.Chart.registry.plugins.get('zoom') }
      })
    const before = await state()
    expect(before.zoom).toBe(true)
    expect(before.visible0).toBe(true)
    const canvas = page.locator('#chart-run0-memory')
    await canvas.scrollIntoViewIfNeeded()
    const box = (await canvas.boundingBox())!
    // drag across the middle third of the plot area: the x range shrinks
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.4)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4, { steps: 5 })
    await page.mouse.move(box.x + box.width * 0.65, box.y + box.height * 0.4, { steps: 5 })
    await page.mouse.up()
    const zoomed = await state()
    expect(zoomed.max - zoomed.min).toBeLessThan((before.max - before.min) / 2)
    await canvas.dblclick({ position: { x: box.width * 0.5, y: box.height * 0.4 } })
    const reset = await state()
    expect(reset.min).toBeCloseTo(before.min, 6)
    expect(reset.max).toBeCloseTo(before.max, 6)
    // click the first legend item (legend at the bottom): its dataset hides
    const hit = await page.evaluate(() => {
      const g = globalThis as unknown as {
        Chart: { getChart(id: string): { legend: { legendHitBoxes: { left: number; top: number; width: number; height: number }[] } } | undefined }
      }
      const b = g.Chart.getChart('chart-run0-memory')!.legend.legendHitBoxes[0]!
      return { x: b.left + b.width / 2, y: b.top + b.height / 2 }
    })
    await canvas.click({ position: hit })
    expect((await state()).visible0).toBe(false)
    expect(errors).toEqual([])
  })

  test("a run's memory chart is stacked bands in the app's colours, its tooltip the type's own bytes", async ({ page }) => {
    const { errors } = await open(page, files.run!)
    const drawn = await page.evaluate(() => {
      const g = globalThis as unknown as {
        Chart: {
          getChart(
            id: string,
          ):
            | { data: { datasets: { label: string; fill: unknown; borderColor: string; backgroundColor: string; data: { y: number; v: number }[] }[] } }
            | undefined
        }
      }
      return g.Chart.getChart('chart-run0-memory')!.data.datasets.map((d) => ({
        label: d.label,
        fill: d.fill,
        border: d.borderColor,
        background: d.backgroundColor,
        last: d.data[d.data.length - 1]!,
      }))
    })
    expect(drawn.length).toBeGreaterThan(2)
    let below = 0
    drawn.forEach((d, k) => {
      expect(d.fill).toBe(k === 0 ? 'origin' : '-1')
      expect(d.border).toBe(typeColour(d.label, k))
      expect(d.background).toBe(typeColour(d.label, k, BAND_ALPHA))
      // each band's top is the bands below plus its own bytes
      expect(d.last.y).toBe(below + d.last.v)
      below = d.last.y
    })
    // the tooltips are written by the lab's one formatter (its source is embedded in the report)
    const tips = await page.evaluate(() => {
      type Point = { x: number; y: number; v: number }
      const g = globalThis as unknown as {
        Chart: {
          getChart(id: string): {
            data: { datasets: { label: string; data: Point[] }[] }
            options: { plugins: { tooltip: { callbacks: { label(c: unknown): string; title(items: unknown[]): string } } } }
          }
        }
      }
      const chart = g.Chart.getChart('chart-run0-memory')
      const cb = chart.options.plugins.tooltip.callbacks
      return chart.data.datasets.map((d) => {
        const p = d.data.reduce((a, b) => (b.v > a.v ? b : a))
        return { v: p.v, x: p.x, label: cb.label({ dataset: d, raw: p, parsed: { x: p.x, y: p.y } }), title: cb.title([{ parsed: { x: p.x } }]) }
      })
    })
    tips.forEach((t, k) => {
      expect(t.label).toBe(`${drawn[k]!.label}: ${formatUnit('bytes', t.v)}`)
      expect(t.title).toBe(`t = ${formatUnit('ns', Math.round(t.x * 1e9))}`)
    })
    expect(tips.some((t) => /\.\d+ (KiB|MiB)$/.test(t.label))).toBe(true)
    expect(errors).toEqual([])
  })

  test('printing opens the folded sections and keeps the charts', async ({ page }) => {
    await open(page, files.run!)
    await page.emulateMedia({ media: 'print' })
    await page.evaluate(() =>
      (globalThis as unknown as { dispatchEvent(e: unknown): void; Event: new (n: string) => unknown }).dispatchEvent(
        new (globalThis as unknown as { Event: new (n: string) => unknown }).Event('beforeprint'),
      ),
    )
    expect(await page.locator('details:not([open])').count()).toBe(0)
    await expect(page.locator('figure.chart table.data').first()).toBeVisible()
    const pdf = await page.pdf({ format: 'A4' })
    expect(pdf.byteLength).toBeGreaterThan(10_000)
  })
})
