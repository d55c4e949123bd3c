/**
 * Chart.js configurations of the experiment view: a metric against the swept parameter (one line
 * per design) and, for a design-only experiment, one bar per design. The y axis says the unit the
 * record gives the metric (MiB, MiB·s, ms, count) and can be logarithmic, where a design at 0
 * cannot be drawn (the view names those designs).
 */
import type { ChartConfiguration } from 'chart.js'
import type { Unit } from '../../shared/record'
import { formatTick, formatUnit, significant, VALUE_DIGITS } from '../../shared/units'
import { baseOptions, colour, logAxis, themeColours } from './charts'
import { sweepConfig } from './chart-configs'
import { axisUnit } from './experiment'
import { unitStep } from './ticks'

type Cfg = ChartConfiguration

/** The y axis of a metric in the record's unit: linear from 0, or logarithmic (powers of ten). */
export function metricAxis(metric: string, unit: Unit | undefined, max: number, log: boolean): Record<string, unknown> {
  const { scale, words } = axisUnit(unit, max)
  const title = `${metric} (${words}${log ? ', log scale' : ''})`
  const fmt = (v: number): string => formatTick(unit ?? 'count', v)
  if (log) return logAxis(title, fmt, 10)
  const t = themeColours()
  return {
    type: 'linear',
    beginAtZero: true,
    title: { display: true, text: title, color: t.fg },
    ticks: {
      color: t.muted,
      ...(unit === 'count' ? { precision: 0 } : {}),
      // round steps in the unit shown (100 MiB·s, not 95.37 MiB·s of 10^8 byte-seconds)
      ...(max > 0 ? { stepSize: unitStep(max, scale, unit === 'count' ? 1 : 0) } : {}),
      callback: (v: number | string) => significant(Number(v) / scale, VALUE_DIGITS),
    },
    grid: { color: t.line },
  }
}

/** The largest value of a set (0 when empty). */
function maxOf(values: Iterable<number>): number {
  let m = 0
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v))
  return m
}

/** A metric against the swept parameter, one line per design; on a log axis zeros are left out (not drawable). */
export function metricSweepConfig(
  sweep: { numeric: boolean; categories: string[]; lines: { design: string; points: { x: number | string; y: number }[] }[] },
  param: string,
  metric: string,
  unit: Unit | undefined,
  log: boolean,
): Cfg {
  const max = maxOf(sweep.lines.flatMap((l) => l.points.map((p) => p.y)))
  const lines = log ? sweep.lines.map((l) => ({ ...l, points: l.points.filter((p) => p.y > 0) })) : sweep.lines
  const cfg = sweepConfig({ ...sweep, lines }, param, metric, metricAxis(metric, unit, max, log))
  // sweepConfig prefixes the metric to the axis title; ours names it already
  const y = (cfg.options?.scales as Record<string, { title?: { text?: string } }> | undefined)?.y
  if (y?.title) y.title.text = (metricAxis(metric, unit, max, log).title as { text: string }).text
  const plugins = (cfg.options as { plugins?: Record<string, unknown> }).plugins ?? {}
  ;(cfg.options as { plugins?: Record<string, unknown> }).plugins = {
    ...plugins,
    tooltip: {
      callbacks: {
        label: (item: { dataset: { label?: string }; parsed: { y: number } }) => `${item.dataset.label}: ${formatUnit(unit ?? 'count', item.parsed.y)}`,
      },
    },
  }
  return cfg
}

/** A design-only experiment: the metric of each design as one bar. */
export function designBarsConfig(bars: { design: string; value: number }[], metric: string, unit: Unit | undefined, log: boolean): Cfg {
  const options = baseOptions()
  const max = maxOf(bars.map((b) => b.value))
  return {
    type: 'bar',
    data: {
      labels: bars.map((b) => b.design),
      datasets: [
        {
          label: metric,
          data: bars.map((b) => (log && b.value <= 0 ? null : b.value)),
          backgroundColor: bars.map((_, k) => colour(k, 0.8)),
        },
      ],
    },
    options: {
      ...options,
      parsing: undefined,
      normalized: undefined,
      scales: { x: { type: 'category', title: { display: true, text: 'design' } }, y: metricAxis(metric, unit, max, log) },
      plugins: {
        ...options.plugins,
        legend: { display: false },
        tooltip: { callbacks: { label: (item: { label: string; raw: unknown }) => `${item.label}: ${formatUnit(unit ?? 'count', Number(item.raw))}` } },
      },
    } as Cfg['options'],
  }
}
