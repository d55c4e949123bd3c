import { readFileSync } from 'node:fs'
import { expect } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'
import { BAND_ALPHA, PALETTE } from '../src/shared/palette'
import { MEM_TYPE_NAMES } from '../src/shared/scenario'

const test = workspaceTest()

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('any chart saves as PNG and its drawn points as CSV with the axis titles', async ({ appPage: page }) => {
  await gotoHash(page, '#/results?run=run-d1')
  const memory = page.getByTestId('chart-memory')
  await expect(memory.locator('canvas')).toBeVisible()

  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-png').click()])
  expect(png.suggestedFilename()).toMatch(/\.png$/)
  const bytes = readFileSync(await png.path())
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  expect(bytes.length).toBeGreaterThan(1000)

  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-csv').click()])
  expect(csv.suggestedFilename()).toMatch(/\.csv$/)
  const lines = readFileSync(await csv.path(), 'utf8')
    .trim()
    .split(/\r\n/)
  // The data's units (the axis labels ticks in MiB and ms; the CSV holds bytes and ns), and the stack.
  expect(lines[0]).toBe('series,simulated time (ns),memory live (bytes),stacked top (bytes)')
  expect(lines.length).toBeGreaterThan(2)
  expect(lines[1]).toMatch(/^[a-z_]+,[-0-9.e]+,[-0-9.e]+,[-0-9.e]+$/)
})

test("the memory chart exports as drawn: stacked bands in the app's colours (PNG) and each band's bytes and top (CSV)", async ({ appPage: page }) => {
  await gotoHash(page, '#/results?run=run-d1')
  await expect(page.locator('[data-testid="chart-memory"] canvas')).toBeVisible()
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-csv').click()])
  const rows = readFileSync(await csv.path(), 'utf8')
    .trim()
    .split(/\r\n/)
    .slice(1)
    .map((l) => l.split(','))
  const bands = [...new Set(rows.map((r) => r[0]!))]
  expect(bands.length).toBeGreaterThan(2)
  // At every drawn time, each band's top is the top of the band below plus its own bytes.
  const topAt = new Map<string, number>()
  let stackMax = 0
  const peak = new Map<string, number>()
  for (const [band, x, v, top] of rows) {
    const k = bands.indexOf(band!)
    const below = k === 0 ? 0 : topAt.get(`${bands[k - 1]}@${x}`)
    if (below !== undefined) expect(Number(top), `${band} at ${x}`).toBe(below + Number(v))
    topAt.set(`${band}@${x}`, Number(top))
    stackMax = Math.max(stackMax, Number(top))
    peak.set(band!, Math.max(peak.get(band!) ?? 0, Number(v)))
  }

  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('chart-memory-png').click()])
  const b64 = readFileSync(await png.path()).toString('base64')
  // The bands large enough to fill pixels, with the colour each has on screen: its type's colour at
  // the band alpha over the page background.
  const big = [...peak].filter(([, v]) => v >= stackMax / 10).map(([band]) => ({ band, k: bands.indexOf(band) }))
  expect(big.length).toBeGreaterThan(0)
  const found = await page.evaluate(
    async ({ b64, big, alpha, palette, types }) => {
      const img = new Image()
      img.src = `data:image/png;base64,${b64}`
      await img.decode()
      const c = document.createElement('canvas')
      c.width = img.width
      c.height = img.height
      const g = c.getContext('2d')!
      g.drawImage(img, 0, 0)
      const px = g.getImageData(0, 0, c.width, c.height).data
      const bg = getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()
      const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(bg)!
      const back = [Number(m[1]), Number(m[2]), Number(m[3])]
      return big.map(({ band, k }) => {
        const i = types.indexOf(band)
        const hex = palette[(i >= 0 ? i : types.length + k) % palette.length]!
        const rgb = [1, 3, 5].map((o) => parseInt(hex.slice(o, o + 2), 16))
        const want = rgb.map((ch, j) => ch * alpha + back[j]! * (1 - alpha))
        let n = 0
        for (let p = 0; p < px.length; p += 4) if (want.every((w, j) => Math.abs(px[p + j]! - w) <= 3)) n++
        return { band, pixels: n }
      })
    },
    { b64, big, alpha: BAND_ALPHA, palette: [...PALETTE] as string[], types: [...MEM_TYPE_NAMES] as string[] },
  )
  for (const f of found) expect(f.pixels, `pixels of the ${f.band} band in the PNG`).toBeGreaterThan(200)
})
