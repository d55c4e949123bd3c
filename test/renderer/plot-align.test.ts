/** One plot area for every picture on a run's time: alignedPlot's layout and the shared tick times. */
import { describe, expect, it, vi } from 'vitest'
import type { ChartConfiguration, Scale } from 'chart.js'
import { alignedPlot, bytesAxis, PLOT_GUTTER, PLOT_RIGHT, plotTimeTicks, timeAxis } from '../../src/renderer/lib/charts'
import { formatNs } from '../../src/renderer/lib/format'
import { axisTicks, makeAxis, timeTickValues } from '../../src/renderer/lib/timeline'

// the zoom plugin's touch library needs a window when loaded; these functions never zoom
vi.mock('chartjs-plugin-zoom', () => ({ default: { id: 'zoom', zoomFunctions: {}, panFunctions: {}, zoomRectFunctions: {} } }))

type Opts = {
  layout: { padding: Record<string, number>; autoPadding: boolean }
  scales: Record<
    string,
    {
      ticks: { align?: string; callback?: (this: unknown, v: number | string, i: number, t: unknown[]) => unknown }
      afterFit?: (s: Scale) => void
      afterBuildTicks?: (s: Scale) => void
    }
  >
}
function config(y: Record<string, unknown>, x = timeAxis(15e9)): ChartConfiguration {
  return { type: 'line', data: { datasets: [] }, options: { scales: { x: { ...x, min: 0, max: 15e9 }, y } } } as ChartConfiguration
}

describe('alignedPlot', () => {
  it('fixes the y axis at the gutter, pads the right, keeps the end tick labels inside, whatever the labels need', () => {
    const cfg = alignedPlot(config(bytesAxis(3 * 2 ** 30, 'memory live')))
    const o = cfg.options as unknown as Opts
    expect(o.layout).toEqual({ padding: { left: 0, right: PLOT_RIGHT, top: 0, bottom: 0 }, autoPadding: false })
    expect(o.scales.x!.ticks.align).toBe('inner')
    for (const natural of [20, 60, 400]) {
      const s = { width: natural } as Scale
      o.scales.y!.afterFit!(s)
      expect(s.width).toBe(PLOT_GUTTER)
    }
    // the axis's own labels stay (GiB ticks in the unit of the title)
    expect(o.scales.y!.ticks.callback!.call({}, 1.5 * 2 ** 30, 0, [])).toBe('1.5')
  })

  it('cuts y labels longer than the gutter holds (lane names), keeps short ones', () => {
    const lanes = ['task A', 'a very long lane name of a kernel context']
    const cfg = alignedPlot(config({ type: 'linear', ticks: { callback: (v: number | string) => lanes[Number(v)] } }))
    const cb = (cfg.options as unknown as Opts).scales.y!.ticks.callback!
    expect(cb.call({}, 0, 0, [])).toBe('task A')
    const cut = cb.call({}, 1, 1, []) as string
    expect(cut.endsWith('…')).toBe(true)
    expect(cut.length).toBe(18)
    expect(lanes[1]!.startsWith(cut.slice(0, -1))).toBe(true)
  })

  it("gives a linear time axis the ruler's round times; a time scale keeps its own", () => {
    const lin = (alignedPlot(config(bytesAxis(1, 'b'))).options as unknown as Opts).scales.x!
    const s = { min: 0, max: 15e9, width: 900, ticks: [] as { value: number }[] } as unknown as Scale
    lin.afterBuildTicks!(s)
    expect(s.ticks.map((k) => k.value)).toEqual(axisTicks(makeAxis('linear', 15e9), { t0: 0, t1: 15e9 }, 900).map((k) => k.t))
    const log = alignedPlot(config(bytesAxis(1, 'b'), timeAxis(15e9, 'simulated time', makeAxis('log', 15e9))))
    expect((log.options as unknown as Opts).scales.x!.afterBuildTicks).toBeUndefined()
  })
})

describe('plotTimeTicks', () => {
  it('linear: round times; non-linear: the event times, one per label', () => {
    const lin = makeAxis('linear', 10e9)
    expect(plotTimeTicks(lin, 0, 10e9, 1000)).toEqual(axisTicks(lin, { t0: 0, t1: 10e9 }, 1000).map((k) => k.t))
    // two event times that read the same ("10.13 s") get one tick
    const knots = [0, 300, 20.5e6, 10.1253e9, 10.1254e9, 10.23e9]
    const ev = makeAxis('events', 10.23e9, knots)
    const all = timeTickValues(ev, 0, 10.23e9, 2000, 70)
    const ticks = plotTimeTicks(ev, 0, 10.23e9, 2000)
    expect(all).toContain(10.1254e9)
    expect(ticks).toContain(10.1253e9)
    expect(ticks).not.toContain(10.1254e9)
    const labels = ticks.map((t) => formatNs(t))
    expect(new Set(labels).size).toBe(labels.length)
  })
})
