/**
 * Chart.js configurations of the Results and Compare views, built from shaped data (shape.ts).
 * Each returns a plain configuration that the view wraps in `markRaw` before handing it to
 * ChartCanvas. Every axis says its unit; every legend names the object type, device, mechanism or
 * design it shows.
 */
import type { ChartConfiguration } from 'chart.js'
import type { Marker } from '../../shared/record'
import { BAND_ALPHA, LOD_SCATTER_MIN, baseOptions, bytesAxis, colour, countAxis, durationAxis, logAxis, scatterLod, timeAxis, typeColour } from './charts'
import { formatBytes, formatNs, formatTick } from './format'
import { markSame, sameAs } from './same-lines'
import { integerTicks, integerValues } from './experiment'
import type { Histogram, StackedSeries, TimelineLane, TimelinePoint, XY } from './shape'
import { lodPoints, lodStep, toPoints } from './shape'
import { LOD_BUCKETS } from './charts'
import type { Axis } from './timeline'

/**
 * The time axis of a chart over a run's time (issue 17): linear, logarithmic or events only (the
 * Results view's one axis, or Compare's), and on a non-linear one the quiet stretch it squeezes
 * (shaded, with an axis break). Absent: linear.
 */
export interface TimeX {
  axis: Axis
  gap?: { t0: number; t1: number } | undefined
}

/** The x scale of a time chart from 0 to `maxT` on `x`'s axis, and the plugin options that go with it. */
function timeX(maxT: number, x: TimeX | undefined, title?: string): { scale: Record<string, unknown>; gap: Record<string, unknown> } {
  const nonLinear = x && x.axis.mode !== 'linear'
  return {
    scale: { ...timeAxis(maxT, title, nonLinear ? x.axis : undefined), min: 0, max: Math.max(maxT, 1) },
    gap: nonLinear && x.gap ? { hmmGap: { gap: x.gap } } : {},
  }
}

type Cfg = ChartConfiguration

const decimation = { enabled: true, algorithm: 'min-max' as const }

/** Marker list for the marker plugin. */
export function markerOption(markers: readonly { t: number; kind: string; label: string }[]): { markers: { x: number; label: string; kind: string }[] } {
  return { markers: markers.map((m) => ({ x: m.t, label: m.label || m.kind, kind: m.kind })) }
}

/** A y scale of bytes: linear from 0, or logarithmic (powers of two) for bands many orders apart. */
export type BytesScale = 'linear' | 'log'

/** The largest power of two at or below the smallest positive band top (the floor of a log axis). */
export function logFloor(tops: readonly ArrayLike<number>[]): number {
  let min = Infinity
  for (const band of tops) for (let i = 0; i < band.length; i++) if (band[i]! > 0 && band[i]! < min) min = band[i]!
  return Number.isFinite(min) ? 2 ** Math.floor(Math.log2(min)) : 1
}

/**
 * Bytes over time stacked by object type (bands pre-stacked, so each can be decimated), with event
 * markers. Each type keeps its colour (`typeColour`) in every chart and in the HTML report.
 */
export function stackedBytesConfig(
  stack: StackedSeries,
  markers: readonly Marker[],
  yTitle: string,
  endTime: number,
  /** Level-of-detail indexes of each band over the whole run, when already picked (bridge worker). */
  initial?: readonly Int32Array[],
  yScale: BytesScale = 'linear',
  /** The time axis (absent: linear); only where the samples are drawn changes, never their values. */
  x?: TimeX,
): Cfg {
  const options = baseOptions()
  const maxT = Math.max(endTime, stack.grid.length ? stack.grid[stack.grid.length - 1]! : 0)
  const tx = timeX(maxT, x)
  // The worker's first level of detail has linear buckets; on another axis they are redone by position.
  const pos = x && x.axis.mode !== 'linear' ? x.axis.u : undefined
  const y =
    yScale === 'log'
      ? {
          ...logAxis(`${yTitle} (bytes, log scale)`, (v) => formatTick('bytes', v), 2),
          min: logFloor(stack.tops),
          max: Math.max(2, stack.max),
          hmmUnit: 'bytes',
        }
      : bytesAxis(stack.max, yTitle)
  return {
    type: 'line',
    data: {
      datasets: stack.types.map((type, k) => {
        return {
          label: type,
          // The points of the whole run now; the level-of-detail plugin (hmmLod) redoes them for
          // the visible range after zoom or pan.
          data:
            initial?.[k] && !pos
              ? lodPoints(stack.grid, stack.tops[k]!, stack.values[k]!, initial[k]!)
              : lodStep(stack.grid, stack.tops[k]!, stack.values[k]!, 0, Math.max(maxT, 1), LOD_BUCKETS, pos),
          hmmLodKey: `0:${Math.max(maxT, 1)}${pos ? `:${x!.axis.mode}` : ''}`,
          hmmFullPoints: stack.grid.length,
          hmmLod: { grid: stack.grid, tops: stack.tops[k]!, values: stack.values[k]! },
          stepped: 'before' as const,
          fill: k === 0 ? 'origin' : '-1',
          borderColor: typeColour(type, k),
          backgroundColor: typeColour(type, k, BAND_ALPHA),
          // Points carry the band's top (y) and the type's own bytes (v): the CSV export writes both.
          hmmStack: true,
          borderWidth: 1,
          pointRadius: 0,
          pointHitRadius: 4,
        }
      }),
    },
    options: {
      ...options,
      scales: { x: tx.scale, y },
      plugins: {
        ...options.plugins,
        ...tx.gap,
        decimation,
        hmmMarkers: markerOption(markers),
        tooltip: {
          callbacks: {
            title: (items) => (items[0] ? formatNs(items[0].parsed.x ?? 0) : ''),
            label: (item) => `${item.dataset.label}: ${formatBytes((item.raw as { v: number }).v)}`,
          },
        },
        zoom: zoomOptions(),
      },
    } as Cfg['options'],
  }
}

/** Wheel/drag zoom and pan along x (keyboard users get buttons in ChartCanvas). */
export function zoomOptions(): Record<string, unknown> {
  return {
    limits: { x: { min: 'original', max: 'original' } },
    zoom: { wheel: { enabled: true, modifierKey: 'ctrl' }, drag: { enabled: true, modifierKey: 'shift' }, pinch: { enabled: true }, mode: 'x' },
    pan: { enabled: true, mode: 'x' },
  }
}

/** Thousands of points: squares without outline (one fill each, no arc, no stroke), same size. */
function bigScatterStyle(n: number): { pointStyle?: 'rect'; pointBorderWidth?: number } {
  return n > LOD_SCATTER_MIN ? { pointStyle: 'rect', pointBorderWidth: 0 } : {}
}

/** Scatter of cost per invalidation over time, one dataset per group (device · mechanism). */
export function costOverTimeConfig(groups: { label: string; points: XY[] }[], endTime: number, x?: TimeX): Cfg {
  const options = baseOptions()
  const tx = timeX(endTime, x)
  let maxY = 0
  for (const g of groups) for (const p of g.points) if (p.y > maxY) maxY = p.y
  return {
    type: 'scatter',
    // Large groups get a level of detail by visible range (one point per grid cell, see lodScatter).
    data: {
      datasets: groups.map((g, k) => ({
        label: g.label,
        ...scatterLod(g.points, { sorted: true, datasets: groups.length }),
        backgroundColor: colour(k, 0.7),
        borderColor: colour(k),
        pointRadius: 2,
        ...bigScatterStyle(g.points.length),
      })),
    },
    options: {
      ...options,
      scales: { x: tx.scale, y: durationAxis(maxY, 'cost per invalidation') },
      plugins: {
        ...options.plugins,
        ...tx.gap,
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatNs(item.parsed.y ?? 0)} at ${formatNs(item.parsed.x ?? 0)}` } },
        zoom: zoomOptions(),
      },
    } as Cfg['options'],
  }
}

/** Histogram of costs (bars on bin labels). */
export function histogramConfig(h: Histogram, label: string): Cfg {
  const options = baseOptions()
  const labels = h.counts.map((_, i) => `${formatTick('ns', h.edges[i]!)}–${formatTick('ns', h.edges[i + 1]!)}`)
  return {
    type: 'bar',
    data: { labels, datasets: [{ label, data: h.counts, backgroundColor: colour(0, 0.7), borderColor: colour(0), borderWidth: 1 }] },
    options: {
      ...options,
      parsing: undefined,
      normalized: undefined,
      scales: {
        x: {
          type: 'category',
          title: { display: true, text: `cost per invalidation (ns/µs/ms${h.log ? ', log bins' : ''})`, color: options.color },
          ticks: { maxRotation: 60, autoSkip: true },
        },
        y: countAxis('invalidations (count)'),
      },
    } as Cfg['options'],
  }
}

/** Empirical CDF of cost, one line per group, log x axis (identical lines marked: `markSame`). */
export function cdfConfig(groups: { label: string; points: XY[] }[]): Cfg {
  const options = baseOptions()
  const datasets = groups.map((g, k) => ({
    label: g.label,
    data: g.points,
    stepped: 'after' as const,
    borderColor: colour(k),
    backgroundColor: colour(k, 0.2),
    pointRadius: 0,
    borderWidth: 1.5,
  }))
  markSame(datasets, sameAs(groups))
  return {
    type: 'line',
    data: { datasets },
    options: {
      ...options,
      scales: {
        x: logAxis('cost per invalidation (ns, log)', (v) => formatTick('ns', v)),
        y: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'fraction ≤ cost' } },
      },
      plugins: { ...options.plugins, decimation },
    } as Cfg['options'],
  }
}

/** Cost against range size on log-log axes, one dataset per group. */
export function costVsSizeConfig(groups: { label: string; points: XY[] }[]): Cfg {
  const options = baseOptions()
  return {
    type: 'scatter',
    data: {
      datasets: groups.map((g, k) => ({
        label: g.label,
        ...scatterLod(g.points, { sorted: false, logX: true, logY: true, datasets: groups.length }),
        backgroundColor: colour(k, 0.7),
        borderColor: colour(k),
        pointRadius: 2,
        ...bigScatterStyle(g.points.length),
      })),
    },
    options: {
      ...options,
      scales: {
        x: logAxis('range size (bytes, log: B/KiB/MiB/GiB)', (v) => formatTick('bytes', v), 2),
        y: logAxis('cost (ns, log: ns/µs/ms)', (v) => formatTick('ns', v)),
      },
      plugins: {
        ...options.plugins,
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatBytes(item.parsed.x ?? 0)} → ${formatNs(item.parsed.y ?? 0)}` } },
      },
    } as Cfg['options'],
  }
}

/** Total cost per device, stacked by mechanism. */
export function costMatrixConfig(m: { devices: string[]; mechanisms: string[]; totals: number[][] }): Cfg {
  const options = baseOptions()
  let max = 0
  m.devices.forEach((_, d) => {
    let s = 0
    for (const row of m.totals) s += row[d]!
    if (s > max) max = s
  })
  return {
    type: 'bar',
    data: { labels: m.devices, datasets: m.mechanisms.map((mech, k) => ({ label: mech, data: m.totals[k]!, backgroundColor: colour(k, 0.8), stack: 'cost' })) },
    options: {
      ...options,
      parsing: undefined,
      normalized: undefined,
      scales: {
        x: { type: 'category', stacked: true, title: { display: true, text: 'device' } },
        y: durationAxis(max, 'total invalidation cost', { stacked: true }),
      },
      plugins: { ...options.plugins, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatNs(Number(item.raw))}` } } },
    } as Cfg['options'],
  }
}

/** Count of invalidations by event type. */
export function countsConfig(rows: { label: string; count: number }[], what: string): Cfg {
  const options = baseOptions()
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => r.label),
      datasets: [{ label: `invalidations by ${what}`, data: rows.map((r) => r.count), backgroundColor: colour(1, 0.8) }],
    },
    options: {
      ...options,
      parsing: undefined,
      normalized: undefined,
      indexAxis: 'y',
      scales: { x: countAxis('invalidations (count)'), y: { type: 'category', title: { display: true, text: what } } },
    } as Cfg['options'],
  }
}

/** Leak waterfall: one floating bar per leak from the owner's end to the free (or run end). */
export function waterfallConfig(
  bars: { label: string; x: [number, number]; objectType: string; open: boolean; bytes: number }[],
  types: string[],
  endTime: number,
  design: string,
): Cfg {
  const options = baseOptions()
  const labels = bars.map((b) => b.label)
  return {
    type: 'bar',
    data: {
      labels,
      datasets: types.map((type, k) => ({
        label: `${design}: ${type}`,
        data: bars.map((b) => (b.objectType === type ? b.x : null)) as unknown as number[],
        backgroundColor: colour(k, 0.75),
        borderColor: colour(k),
        borderWidth: 1,
        grouped: false,
      })),
    },
    options: {
      ...options,
      parsing: undefined,
      normalized: undefined,
      indexAxis: 'y',
      scales: {
        x: { ...timeAxis(endTime, 'held from owner gone until freed'), min: 0 },
        y: { type: 'category', title: { display: true, text: 'object · owner' } },
      },
      plugins: {
        ...options.plugins,
        tooltip: {
          callbacks: {
            label: (item) => {
              const b = bars[item.dataIndex]!
              return `${b.label}: ${formatBytes(b.bytes)} from ${formatNs(b.x[0])} to ${b.open ? 'end of run (never freed)' : formatNs(b.x[1])}`
            },
          },
        },
      },
    } as Cfg['options'],
  }
}

/** Timeline: one row per lane, instants as points and slices as bars, zoom and pan along time. */
export function timelineConfig(lanes: TimelineLane[], points: TimelinePoint[], endTime: number, names: string[], x?: TimeX): Cfg {
  const options = baseOptions()
  const tx = timeX(endTime, x)
  const kinds = [...new Set(lanes.map((l) => l.kind))]
  const byKind = kinds.map((kind) => points.filter((p) => lanes[p.y]!.kind === kind))
  return {
    type: 'scatter',
    data: {
      datasets: kinds.map((kind, k) => ({
        label: `${kind} lanes`,
        // A long trace gets a level of detail by visible range: one event per lane per grid column.
        ...scatterLod(byKind[k]!, { sorted: true, rows: lanes.length, rowOf: (p) => p.y, datasets: kinds.length }),
        backgroundColor: colour(k, 0.8),
        borderColor: colour(k),
        pointRadius: 3,
        pointHoverRadius: 6,
        pointStyle: 'rectRot',
      })),
    },
    options: {
      ...options,
      interaction: { mode: 'nearest', intersect: true },
      scales: {
        x: tx.scale,
        y: {
          type: 'linear',
          reverse: true,
          min: -0.5,
          max: lanes.length - 0.5,
          afterBuildTicks: (axis: { ticks: { value: number }[] }) => {
            axis.ticks = lanes.map((_, i) => ({ value: i }))
          },
          ticks: { callback: (v: number | string) => lanes[Number(v)]?.label ?? '' },
          title: { display: true, text: 'lane' },
        },
      },
      plugins: {
        ...options.plugins,
        ...tx.gap,
        hmmSlices: { enabled: true },
        tooltip: {
          callbacks: {
            label: (item) => {
              const p = item.raw as TimelinePoint
              return `${lanes[p.y]?.label}: ${names[p.i] ?? ''} at ${formatNs(p.x)}${p.x2 !== undefined ? ` for ${formatNs(p.x2 - p.x)}` : ''}`
            },
          },
        },
        zoom: zoomOptions(),
      },
    } as Cfg['options'],
  }
}

/** The datasets, those whose line is identical to an earlier one's marked (`markSame`). */
function withSame<D extends { label?: string; borderDash?: number[]; pointStyle?: string; borderWidth?: number; order?: number }>(
  datasets: D[],
  lines: readonly { points: readonly { x: unknown; y: unknown }[] }[],
): D[] {
  markSame(datasets, sameAs(lines))
  return datasets
}

/** A metric against the swept parameter, one line per design (identical lines marked: `markSame`). */
export function sweepConfig(
  sweep: { numeric: boolean; categories: string[]; lines: { design: string; points: { x: number | string; y: number }[] }[] },
  param: string,
  metric: string,
  yAxis: Record<string, unknown>,
): Cfg {
  const options = baseOptions()
  return {
    type: 'line',
    data: {
      ...(sweep.numeric ? {} : { labels: sweep.categories }),
      datasets: withSame(
        sweep.lines.map((l, k) => ({
          label: `design ${l.design}`,
          data: sweep.numeric
            ? l.points.map((p) => ({ x: p.x as number, y: p.y }))
            : sweep.categories.map((c) => l.points.find((p) => String(p.x) === c)?.y ?? null),
          borderColor: colour(k),
          backgroundColor: colour(k, 0.3),
          pointRadius: 4,
        })),
        sweep.lines,
      ) as never,
    },
    options: {
      ...options,
      ...(sweep.numeric ? {} : { parsing: undefined, normalized: undefined }),
      scales: {
        x: sweep.numeric
          ? { type: 'linear', title: { display: true, text: param }, ...(integerValues(sweep.lines) ? { afterBuildTicks: integerTicks } : {}) }
          : { type: 'category', title: { display: true, text: param } },
        y: { ...yAxis, title: { display: true, text: `${metric} ${(yAxis.title as { text?: string } | undefined)?.text ?? ''}`.replace(/\s+/g, ' ').trim() } },
      },
    } as Cfg['options'],
  }
}

/** Overlaid series of compared runs, one line per run (step functions; identical lines marked: `markSame`). */
export function overlayConfig(lines: { label: string; points: XY[] }[], yAxis: Record<string, unknown>, endTime: number, x?: TimeX): Cfg {
  const options = baseOptions()
  const tx = timeX(endTime, x)
  return {
    type: 'line',
    data: {
      datasets: withSame(
        lines.map((l, k) => ({
          label: l.label,
          data: l.points,
          stepped: 'before' as const,
          borderColor: colour(k),
          backgroundColor: colour(k, 0.2),
          borderWidth: 1.5,
          pointRadius: 0,
        })),
        lines,
      ),
    },
    options: {
      ...options,
      scales: { x: tx.scale, y: yAxis },
      plugins: { ...options.plugins, ...tx.gap, decimation, zoom: zoomOptions() },
    } as Cfg['options'],
  }
}

export { toPoints }
