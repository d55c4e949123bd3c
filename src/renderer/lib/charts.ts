/**
 * Chart.js set-up for the lab: registered parts, the zoom plugin, a marker plugin (vertical lines
 * at fork/exit/close/release/free_notifier), a slice plugin for the timeline, axis helpers with
 * units, theme colours from the CSS variables, and a registry that exposes what each chart draws
 * (`window.__hmmlabCharts`) so end-to-end tests assert on data and labels rather than pixels.
 *
 * Every chart is built with `parsing: false`, `normalized: true` and `animation: false`; data
 * arrive already shaped (see shape.ts) and live outside Vue's deep reactivity.
 */
import { effectiveScheme } from './theme'
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Decimation,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
  type ChartConfiguration,
  type CoreScaleOptions,
  type Plugin,
  type Scale,
} from 'chart.js'
import zoomPlugin from 'chartjs-plugin-zoom'
import { byteUnitFor, formatBytes, formatNs, significant, timeUnitFor, VALUE_DIGITS } from './format'
import { lodScatterBudget, lodStep, type BandArray, type ScatterLodOptions } from './shape'
import { logTicks, niceStep } from './ticks'
import { axisTicks, makeAxis, timeTickValues, type Axis, type AxisMode } from './timeline'
import { paletteColour } from '../../shared/palette'

let registered = false

/** Registers the Chart.js parts the lab uses (once). */
export function ensureCharts(): void {
  if (registered) return
  Chart.register(
    LineController,
    ScatterController,
    BarController,
    LineElement,
    PointElement,
    BarElement,
    LinearScale,
    LogarithmicScale,
    CategoryScale,
    Decimation,
    Filler,
    Legend,
    Title,
    Tooltip,
    zoomPlugin,
    markerPlugin,
    slicePlugin,
    lodPlugin,
    HmmTimeScale,
    gapPlugin,
  )
  // Zoom and pan of the time scale move by equal shares of its axis, not of time (zoom.ts).
  const z = zoomPlugin as unknown as { zoomFunctions: Record<string, unknown>; panFunctions: Record<string, unknown> }
  z.zoomFunctions[HmmTimeScale.id] = zoomTimeScale
  z.panFunctions[HmmTimeScale.id] = panTimeScale
  registered = true
}

/** A categorical palette readable on light and dark backgrounds. */
export { PALETTE, typeColour, BAND_ALPHA } from '../../shared/palette'

/** Colour of the i-th series. */
export function colour(i: number, alpha = 1): string {
  return paletteColour(i, alpha)
}

let themeCache: { dark: boolean; colours: { fg: string; muted: string; line: string } } | undefined

/**
 * Text and grid colours from the page's CSS variables (light or dark scheme). Read once per scheme:
 * getComputedStyle forces a style recalculation of a page that is being built, and every axis
 * of every chart asks.
 */
export function themeColours(): { fg: string; muted: string; line: string } {
  if (typeof window === 'undefined') return { fg: '#1b1f24', muted: '#5b6470', line: '#d7dce2' }
  const dark = effectiveScheme() === 'dark'
  if (themeCache && themeCache.dark === dark) return themeCache.colours
  const css = window.getComputedStyle(document.documentElement)
  const get = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback
  const colours = { fg: get('--fg', '#1b1f24'), muted: get('--muted', '#5b6470'), line: get('--line', '#d7dce2') }
  themeCache = { dark, colours }
  return colours
}

/** Options every lab chart shares. */
export function baseOptions(): NonNullable<ChartConfiguration['options']> {
  const t = themeColours()
  return {
    animation: false,
    parsing: false,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    color: t.fg,
    borderColor: t.line,
    interaction: { mode: 'nearest', intersect: false },
    plugins: {
      // in dataset order even when a dataset is drawn on top of others (`order`, same-lines.ts)
      legend: {
        position: 'bottom',
        labels: {
          color: t.fg,
          boxWidth: 12,
          sort: (a: { datasetIndex?: number }, b: { datasetIndex?: number }) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
        },
      },
      tooltip: { enabled: true },
    },
  }
}

/**
 * An x axis of simulated time titled with its unit. On a linear axis (no `axis`, or a linear one)
 * one unit for the whole axis; on a logarithmic or "events only" axis (issue 17) the time scale
 * (`HmmTimeScale`), whose ticks are times with their own unit (0, 1 µs, 20 ms, 10.12 s) and whose
 * data stay real times (tooltips, markers, CSV exports and the shared window are in ns).
 */
export function timeAxis(maxNs: number, title = 'simulated time', axis?: Axis): Record<string, unknown> {
  const t = themeColours()
  if (axis && axis.mode !== 'linear') {
    const spec: TimeAxisSpec = { mode: axis.mode, end: axis.end, ...(axis.knots ? { knots: [...axis.knots] } : {}) }
    return {
      type: HmmTimeScale.id,
      title: { display: true, text: `${title} (${axis.mode === 'log' ? 'log scale' : 'events only, not to scale'})`, color: t.fg },
      ticks: { color: t.muted, maxRotation: 0, autoSkip: false, callback: (v: number | string) => formatNs(Number(v)) },
      grid: { color: t.line },
      hmmAxis: spec,
      hmmUnit: 'ns',
    }
  }
  const { scale, unit } = timeUnitFor(maxNs)
  return {
    type: 'linear',
    title: { display: true, text: `${title} (${unit})`, color: t.fg },
    ticks: { color: t.muted, maxRotation: 0, callback: (v: number | string) => trim(Number(v) / scale) },
    grid: { color: t.line },
    // The unit of the data (the title's is the tick labels'): a CSV export writes raw values.
    hmmUnit: 'ns',
  }
}

// ---------------------------------------------------------------------------------------------
// One plot area for every picture on a run's time

/**
 * Where the plot of every picture on a run's time sits in its canvas, so that charts and track
 * canvases of the same width draw one instant at the same page x (a fork at 120 ms on the memory
 * chart is straight above it on the refcount tracks and the lifetimes timeline): `PLOT_GUTTER` px
 * on the left for the y axis (Chart.js: its title and tick labels) or the lane labels
 * (TrackCanvas), `PLOT_RIGHT` px free on the right.
 */
export const PLOT_GUTTER = 150
export const PLOT_RIGHT = 12
/** Least distance (px) between two time ticks of a non-linear axis (labels such as "120.53 ms" never touch). */
const TIME_TICK_GAP = 70

/**
 * The tick times of every picture on the run's time, for the window [t0, t1] drawn `width` px wide
 * on `axis`: the charts' x ticks (HmmTimeScale, and a linear x through `alignedPlot`) and the track
 * canvases' ruler, so their grid lines fall on the same instants too. On a linear axis round times
 * (`axisTicks`: 0, 2 s, 4 s…); on the others the window's ends and the event times or powers of
 * ten (`timeTickValues`), one tick for times that read the same ("10.13 s").
 */
export function plotTimeTicks(axis: Axis, t0: number, t1: number, width: number): number[] {
  if (axis.mode === 'linear') return axisTicks(axis, { t0, t1 }, width).map((k) => k.t)
  const out: number[] = []
  let last = ''
  for (const t of timeTickValues(axis, t0, t1, width, TIME_TICK_GAP)) {
    const label = formatNs(t)
    if (label !== last) out.push(t)
    last = label
  }
  return out
}

/** Tick labels of an aligned y axis longer than this are cut with "…" (lane names; byte ticks are short). */
const GUTTER_LABEL = 18

/** Ticks of a linear time scale at the times the track canvases' ruler marks (`plotTimeTicks`). */
function linearTimeTicks(s: Scale): void {
  if (!(s.max > s.min)) return
  const ticks = plotTimeTicks(makeAxis('linear', s.max), s.min, s.max, s.width || 600)
  if (ticks.length >= 2) s.ticks = ticks.map((value) => ({ value }))
}

type TickCallback = (this: Scale, value: number | string, index: number, ticks: unknown[]) => unknown

/**
 * A chart on time laid out on the shared plot area: its y axis exactly `PLOT_GUTTER` px wide
 * (`afterFit`), `PLOT_RIGHT` px of padding on the right, the first and last x tick labels kept
 * inside the plot (`align: 'inner'`, as TrackCanvas keeps its ruler's) so they never push the
 * plot's edges, and no padding computed from point sizes. Only the layout changes: scales, data,
 * zoom and export stay the configuration's. Returns the same configuration, changed.
 */
export function alignedPlot<C extends ChartConfiguration>(config: C): C {
  const options = (config.options ??= {}) as {
    layout?: { padding?: unknown; autoPadding?: boolean }
    scales?: Record<string, Record<string, unknown> | undefined>
  }
  options.layout = { ...options.layout, padding: { left: 0, right: PLOT_RIGHT, top: 0, bottom: 0 }, autoPadding: false }
  const scales = (options.scales ??= {})
  const x = scales.x ?? {}
  scales.x = { ...x, ticks: { ...(x.ticks as object | undefined), align: 'inner' } }
  // a linear time axis: the ruler's round times (a time scale builds them itself)
  if (x.type === 'linear') scales.x.afterBuildTicks = linearTimeTicks
  const y = scales.y ?? {}
  const fit = y.afterFit as ((s: Scale) => void) | undefined
  const ticks = (y.ticks ?? {}) as { callback?: TickCallback }
  const label = ticks.callback
  scales.y = {
    ...y,
    afterFit: (s: Scale) => {
      fit?.(s)
      s.width = PLOT_GUTTER
    },
    ticks: label
      ? {
          ...ticks,
          callback(this: Scale, value: number | string, index: number, all: unknown[]) {
            const text = label.call(this, value, index, all)
            return typeof text === 'string' && text.length > GUTTER_LABEL ? `${text.slice(0, GUTTER_LABEL - 1)}…` : text
          },
        }
      : ticks,
  }
  return config
}

// ---------------------------------------------------------------------------------------------
// The time scale: logarithmic or "events only" x (issue 17)

/** What a time scale maps (plain data: Chart.js resolves functions in options as scriptable). */
export interface TimeAxisSpec {
  mode: AxisMode
  end: number
  /** Events only: the distinct event times that share the width equally. */
  knots?: number[]
}

/**
 * A Chart.js scale of simulated time on the lab's axes (lib/timeline.ts `makeAxis`, the same the
 * refcount tracks and the lifetimes timeline use): position = (u(t) − u(min)) / (u(max) − u(min)),
 * u logarithmic (log(1 + t ns), so t = 0 has a place) or piecewise linear with every event time
 * an equal share. The data stay times; only where they are drawn changes. min/max are times, so
 * zoom, pan and the shared window work on times as on a linear scale.
 */
export class HmmTimeScale extends LinearScale {
  static override id = 'hmmtime'
  static override defaults = LinearScale.defaults
  private hmmSpec: TimeAxisSpec | undefined
  /** The axis this scale draws on (linear until configured). */
  hmmAxis: Axis = makeAxis('linear', 1)

  /** The axis from the raw options (not the resolved ones, which would copy the knots each time). */
  private axisNow(): Axis {
    const raw = (this.chart.config.options as { scales?: Record<string, { hmmAxis?: TimeAxisSpec }> } | undefined)?.scales?.[this.id]?.hmmAxis
    if (raw && raw !== this.hmmSpec) {
      this.hmmSpec = raw
      this.hmmAxis = makeAxis(raw.mode, raw.end, raw.knots)
    }
    return this.hmmAxis
  }
  override buildTicks(): { value: number }[] {
    // the event times or powers of ten, as the track canvases' ruler (two that read the same: one)
    return plotTimeTicks(this.axisNow(), this.min, this.max, this.width || 600).map((value) => ({ value }))
  }
  override getPixelForValue(value: number): number {
    if (value === null || !Number.isFinite(value)) return NaN
    const ax = this.hmmAxis
    const u0 = ax.u(this.min)
    return this.getPixelForDecimal((ax.u(value) - u0) / Math.max(1e-12, ax.u(this.max) - u0))
  }
  override getValueForPixel(pixel: number): number {
    const ax = this.hmmAxis
    const u0 = ax.u(this.min)
    return ax.t(u0 + this.getDecimalForPixel(pixel) * (ax.u(this.max) - u0))
  }
}

type TimeScale = HmmTimeScale & { options: CoreScaleOptions & { min?: number; max?: number } }

/** The window [u0, u1] (shares of the axis) as times, set on the scale through the zoom plugin's limits. */
function setTimeRange(scale: TimeScale, u0: number, u1: number): boolean {
  const ax = scale.hmmAxis
  const span = Math.min(1, Math.max(1e-6, u1 - u0))
  const a = Math.max(0, Math.min(1 - span, u0))
  const min = ax.t(a)
  const max = ax.t(a + span)
  if (!(max > min)) return false
  // through zoomRect (pixels of the current scale), so the plugin records the zoom and can reset it
  const z = zoomPlugin as unknown as { zoomRectFunctions: { default(s: unknown, from: number, to: number, limits: unknown): void } }
  z.zoomRectFunctions.default(scale, scale.getPixelForValue(min), scale.getPixelForValue(max), undefined)
  return true
}
/** Zoom of the time scale: by `zoom` around the pointer, in shares of the axis (as the plugin's linear zoom). */
function zoomTimeScale(scale: TimeScale, zoom: number, center: { x: number; y: number }): boolean {
  const ax = scale.hmmAxis
  const u0 = ax.u(scale.min)
  const u1 = ax.u(scale.max)
  const uc = ax.u(scale.getValueForPixel(center.x))
  const share = Math.max(0, Math.min(1, (uc - u0) / Math.max(1e-12, u1 - u0)))
  const span = (u1 - u0) * Math.max(0.01, 2 - zoom)
  return setTimeRange(scale, uc - span * share, uc - span * share + span)
}
/** Pan of the time scale by `delta` pixels, stopping at the run's ends. */
function panTimeScale(scale: TimeScale, delta: number): boolean {
  const ax = scale.hmmAxis
  const u0 = ax.u(scale.min)
  const u1 = ax.u(scale.max)
  const du = (-delta / Math.max(1, scale.width)) * (u1 - u0)
  setTimeRange(scale, u0 + du, u1 + du)
  return true
}

/** Beside a time scale that is not linear: the quiet stretch it squeezes (shaded, an axis break). */
export interface GapOptions {
  gap?: { t0: number; t1: number }
}
const gapPlugin: Plugin = {
  id: 'hmmGap',
  beforeDatasetsDraw(chart, _args, options: GapOptions) {
    const gp = options?.gap
    const x = chart.scales.x
    if (!gp || !x || x.type !== HmmTimeScale.id) return
    const { ctx, chartArea } = chart
    const a = Math.max(chartArea.left, x.getPixelForValue(gp.t0))
    const b = Math.min(chartArea.right, x.getPixelForValue(gp.t1))
    if (!(b > a)) return
    const theme = themeColours()
    ctx.save()
    ctx.fillStyle = theme.muted
    ctx.globalAlpha = 0.12
    ctx.fillRect(a, chartArea.top, b - a, chartArea.height)
    ctx.globalAlpha = 1
    ctx.strokeStyle = theme.fg
    ctx.beginPath()
    const mid = (a + b) / 2
    for (const dx of [-2.5, 2.5]) {
      ctx.moveTo(mid + dx - 3, chartArea.bottom + 4)
      ctx.lineTo(mid + dx + 3, chartArea.bottom - 4)
    }
    ctx.stroke()
    ctx.restore()
  },
}

/** A y axis of bytes (KiB/MiB/GiB chosen from the largest value). */
export function bytesAxis(maxBytes: number, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { scale, unit } = byteUnitFor(maxBytes)
  const t = themeColours()
  return {
    type: 'linear',
    beginAtZero: true,
    title: { display: true, text: `${title} (${unit})`, color: t.fg },
    // Round steps in the axis unit (10 MiB, not 9.54 MiB of 10^7 bytes).
    ticks: { color: t.muted, stepSize: niceStep(maxBytes / scale) * scale, callback: (v: number | string) => trim(Number(v) / scale) },
    grid: { color: t.line },
    hmmUnit: 'bytes',
    ...extra,
  }
}

/** A y (or x) axis of durations in ns/µs/ms/s. */
export function durationAxis(maxNs: number, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { scale, unit } = timeUnitFor(maxNs)
  const t = themeColours()
  return {
    type: 'linear',
    beginAtZero: true,
    title: { display: true, text: `${title} (${unit})`, color: t.fg },
    ticks: { color: t.muted, callback: (v: number | string) => trim(Number(v) / scale) },
    grid: { color: t.line },
    hmmUnit: 'ns',
    ...extra,
  }
}

/** A logarithmic axis whose ticks are formatted by `fmt` (e.g. bytes or ns per tick). */
export function logAxis(title: string, fmt: (v: number) => string, base: 2 | 10 = 10): Record<string, unknown> {
  const t = themeColours()
  return {
    type: 'logarithmic',
    title: { display: true, text: title, color: t.fg },
    // Ticks at powers of the base only (bytes: 4 KiB, 64 KiB, 1 MiB…; time: 1 µs, 10 µs…).
    afterBuildTicks: (axis: Scale) => {
      axis.ticks = logTicks(axis.min, axis.max, base).map((value) => ({ value }))
    },
    ticks: { color: t.muted, callback: (v: number | string) => fmt(Number(v)) },
    grid: { color: t.line },
  }
}

/** A plain count axis. */
export function countAxis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const t = themeColours()
  return {
    type: 'linear',
    beginAtZero: true,
    title: { display: true, text: title, color: t.fg },
    ticks: { color: t.muted, precision: 0 },
    grid: { color: t.line },
    ...extra,
  }
}

/** A tick of a linear axis in the axis's unit (the title names it). */
function trim(v: number): string {
  return significant(v, VALUE_DIGITS)
}

export { formatBytes, formatNs }

// ---------------------------------------------------------------------------------------------
// Plugins

export interface MarkerOptions {
  markers?: { x: number; label: string; kind: string }[]
  color?: string
}

/** Draws a dashed vertical line with a short label at each marker time (fork, exit, close, …). */
const markerPlugin: Plugin = {
  id: 'hmmMarkers',
  afterDatasetsDraw(chart, _args, options: MarkerOptions) {
    const markers = options?.markers
    if (!markers || markers.length === 0) return
    const x = chart.scales.x
    if (!x) return
    const { ctx, chartArea } = chart
    ctx.save()
    ctx.strokeStyle = options.color ?? themeColours().muted
    ctx.fillStyle = options.color ?? themeColours().fg
    ctx.setLineDash([4, 3])
    ctx.font = '10px system-ui, sans-serif'
    // where the last label drawn ends: a label that would overlap it is left out (the line stays)
    let lastLabelEnd = Number.NEGATIVE_INFINITY
    for (const m of markers) {
      const px = x.getPixelForValue(m.x)
      if (px < chartArea.left || px > chartArea.right) continue
      ctx.beginPath()
      ctx.moveTo(px, chartArea.top)
      ctx.lineTo(px, chartArea.bottom)
      ctx.stroke()
      // right of the line, or left of it where the label would run off the plot (a run's last marker)
      const w = ctx.measureText(m.label).width
      const at = px + 2 + w > chartArea.right ? Math.max(chartArea.left, px - 2 - w) : px + 2
      if (at > lastLabelEnd + 4) {
        ctx.fillText(m.label, at, chartArea.top + 10)
        lastLabelEnd = at + w
      }
    }
    ctx.restore()
  },
}

/** Draws timeline slices (points with `x2`) as bars from x to x2 on their lane. */
const slicePlugin: Plugin = {
  id: 'hmmSlices',
  beforeDatasetsDraw(chart, _args, options: { enabled?: boolean }) {
    if (!options?.enabled) return
    const xs = chart.scales.x
    const ys = chart.scales.y
    if (!xs || !ys) return
    const { ctx, chartArea } = chart
    ctx.save()
    ctx.beginPath()
    ctx.rect(chartArea.left, chartArea.top, chartArea.width, chartArea.height)
    ctx.clip()
    chart.data.datasets.forEach((ds, k) => {
      if (!chart.isDatasetVisible(k)) return
      ctx.fillStyle = (ds.backgroundColor as string) ?? colour(k, 0.5)
      for (const p of ds.data as unknown as { x: number; y: number; x2?: number }[]) {
        if (p.x2 === undefined || p.x2 < xs.min || p.x > xs.max) continue
        const x1 = Math.max(chartArea.left, xs.getPixelForValue(p.x))
        const x2 = Math.min(chartArea.right, xs.getPixelForValue(p.x2))
        const y = ys.getPixelForValue(p.y)
        ctx.fillRect(x1, y - 5, Math.max(1, x2 - x1), 10)
      }
    })
    ctx.restore()
  },
}

import { LOD_BUCKETS } from './lod-config'
export { LOD_BUCKETS }

/** Full-resolution arrays of a stepped band, carried on its dataset as `hmmLod`. */
export interface LodSource {
  grid: Float64Array
  tops: BandArray
  values: BandArray
}

/**
 * Level of detail: after any update that changed the visible x range (first draw, zoom, pan,
 * reset), every dataset that carries `hmmLod` gets the points of that range from its
 * full-resolution typed arrays (`lodStep`), and the chart redraws once. A million samples stay
 * in typed arrays; Chart.js only ever sees a few thousand points per band. (The arrays ride on
 * the dataset, not in the options, because Chart.js would treat functions there as scriptable.)
 */
const lodPlugin: Plugin = {
  id: 'hmmLod',
  afterUpdate(chart) {
    const sets = chart.data.datasets as unknown as ({ hmmLod?: LodSource; data: unknown[] } & Partial<ScatterLodSource>)[]
    if (!sets.some((d) => d.hmmLod || d.hmmLodPoints)) return
    // A chart built without its points yet (ChartCanvas adds them in the next task): nothing to reduce.
    if (sets.every((d) => d.data.length === 0)) return
    const x = chart.scales.x
    const y = chart.scales.y
    if (!x) return
    const state = chart as unknown as { $hmmLodRange?: string }
    // On a time scale (log, events only) buckets and cells are equal shares of the width.
    const timeAxis = x instanceof HmmTimeScale ? x.hmmAxis : undefined
    const pos = timeAxis?.u
    const key = `${x.min}:${x.max}${timeAxis ? `:${timeAxis.mode}` : ''}`
    // A configuration may arrive with the points of its initial range already computed.
    state.$hmmLodRange ??= (sets[0] as { hmmLodKey?: string } | undefined)?.hmmLodKey
    if (state.$hmmLodRange === key) return
    state.$hmmLodRange = key
    // About one bucket per two pixels (first/min/max/last each): peaks survive, Chart.js draws little.
    const buckets = Math.max(100, Math.min(LOD_BUCKETS, Math.round((x.width || 2 * LOD_BUCKETS) / 2)))
    for (const ds of sets) {
      if (ds.hmmLod) ds.data = lodStep(ds.hmmLod.grid, ds.hmmLod.tops, ds.hmmLod.values, x.min, x.max, buckets, pos)
      else if (ds.hmmLodPoints && ds.hmmLodScatter) {
        // Cells of about 3 px: a point is drawn 4 px wide, so one per cell looks the same.
        const cols = Math.max(50, Math.min(SCATTER_COLS, Math.round((x.width || 3 * SCATTER_COLS) / 3)))
        const rows = ds.hmmLodScatter.rows ?? Math.max(20, Math.round((y?.height || 3 * SCATTER_ROWS) / 3))
        const opts = pos ? { ...ds.hmmLodScatter, xPos: pos } : ds.hmmLodScatter
        ds.data = lodScatterBudget(ds.hmmLodPoints, x.min, x.max, cols, rows, opts, scatterBudget(sets.length))
      }
    }
    chart.update('none')
  },
}

/**
 * Full-resolution points of a scatter dataset (sorted by x), carried as `hmmLodPoints`: after a
 * zoom or pan the plugin hands Chart.js one point per cell of a grid over the visible range
 * (`lodScatter`), `hmmLodScatter` saying how (sorted, log axes, fixed rows such as timeline lanes).
 */
export interface ScatterLodSource {
  hmmLodPoints: { x: number; y: number; x2?: number }[]
  hmmLodScatter: ScatterLodOptions<{ x: number; y: number }> & { rows?: number }
}

/** Scatters with more points than this get a level of detail; smaller ones are drawn whole. */
export const LOD_SCATTER_MIN = 4000
/** Points a scatter chart hands Chart.js at most (shared by its datasets): each is a path to fill. */
const SCATTER_BUDGET = 4000
function scatterBudget(datasets: number): number {
  return Math.max(300, Math.floor(SCATTER_BUDGET / Math.max(1, datasets)))
}

/** Grid of a scatter's first level of detail (about 3 px cells on a typical chart). */
const SCATTER_COLS = 300
const SCATTER_ROWS = 90

/** Dataset fields for a scatter's level of detail: the first data (whole range) and the full points. */
export function scatterLod<P extends { x: number; y: number; x2?: number }>(
  points: P[],
  /** `datasets`: how many datasets of the chart share the point budget. */
  opts: ScatterLodOptions<P> & { rows?: number; datasets?: number },
): { data: P[] } | ({ data: P[]; hmmFullPoints: number } & ScatterLodSource) {
  if (points.length <= LOD_SCATTER_MIN) return { data: points }
  const rows = opts.rows ?? SCATTER_ROWS
  return {
    data: lodScatterBudget(points, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, SCATTER_COLS, rows, opts, scatterBudget(opts.datasets ?? 1)),
    hmmFullPoints: points.length,
    hmmLodPoints: points,
    hmmLodScatter: opts as ScatterLodSource['hmmLodScatter'],
  }
}

// ---------------------------------------------------------------------------------------------
// Registry for tests and benchmarks

export interface ChartSummary {
  id: string
  type: string
  label: string
  /** `points`: samples behind the dataset (full resolution); `drawn`: points handed to Chart.js now. */
  datasets: { label: string; points: number; drawn: number; first?: unknown; last?: unknown; stack?: string; dash?: number[] }[]
  /** Each axis: its type, title and the range it shows now (after zoom or pan). */
  axes: Record<string, { type: string; title: string; min?: number; max?: number }>
  labels?: string[]
  markers?: number
  /** Wall time of the first draw, ms. */
  drawMs?: number
}

/** Where a track canvas (TrackCanvas) drew its plot, in CSS px from the canvas's left edge. */
export interface TrackGeometry {
  /** The plot's left and right edges. */
  left: number
  right: number
  /** Where it drew time `t` (ns) in its last frame. */
  pixelFor(t: number): number
  /** The times of its ruler's ticks in its last frame. */
  ticks: readonly number[]
}

interface Registry {
  charts: Map<string, { chart: Chart; label: string; drawMs?: number }>
  /** The track canvases by test id (refcount tracks, lifetimes timeline): their plot geometry. */
  tracks: Map<string, TrackGeometry>
  /** What chart `id` draws: dataset labels, point counts, first/last points, axis titles. */
  get(id: string): ChartSummary | undefined
  ids(): string[]
}

declare global {
  interface Window {
    __hmmlabCharts?: Registry
  }
}

/** Summarises a chart's configuration (data lengths, labels, axis titles). */
export function summarise(id: string, chart: Chart, label: string, drawMs?: number): ChartSummary {
  const cfg = chart.config as unknown as {
    type: string
    data: {
      datasets: { label?: string; data: unknown[]; _data?: unknown[]; stack?: string; hmmFullPoints?: number; borderDash?: number[] }[]
      labels?: unknown[]
    }
    options: { scales?: Record<string, { type?: string; title?: { text?: string } }>; plugins?: { hmmMarkers?: MarkerOptions } }
  }
  const axes: ChartSummary['axes'] = {}
  for (const [k, s] of Object.entries(cfg.options.scales ?? {})) {
    axes[k] = { type: s.type ?? 'linear', title: s.title?.text ?? '' }
    const live = (chart.scales as Record<string, { min?: unknown; max?: unknown } | undefined>)[k]
    if (live && typeof live.min === 'number' && typeof live.max === 'number') Object.assign(axes[k], { min: live.min, max: live.max })
  }
  const summary: ChartSummary = {
    id,
    type: cfg.type,
    label,
    datasets: cfg.data.datasets.map((d) => {
      const data = (d._data ?? d.data) as unknown[]
      const entry: ChartSummary['datasets'][number] = { label: d.label ?? '', points: d.hmmFullPoints ?? data.length, drawn: data.length }
      if (data.length > 0) {
        entry.first = data[0]
        entry.last = data[data.length - 1]
      }
      if (d.stack) entry.stack = d.stack
      if (d.borderDash?.length) entry.dash = d.borderDash
      return entry
    }),
    axes,
  }
  if (cfg.data.labels) summary.labels = cfg.data.labels.map(String)
  const m = cfg.options.plugins?.hmmMarkers?.markers
  if (m) summary.markers = m.length
  if (drawMs !== undefined) summary.drawMs = drawMs
  return summary
}

/** The page's chart registry (created on first use). */
export function registry(): Registry {
  if (!window.__hmmlabCharts) {
    const charts: Registry['charts'] = new Map()
    window.__hmmlabCharts = {
      charts,
      tracks: new Map(),
      get(id) {
        const c = charts.get(id)
        return c ? summarise(id, c.chart, c.label, c.drawMs) : undefined
      },
      ids: () => [...charts.keys()],
    }
  }
  return window.__hmmlabCharts
}
