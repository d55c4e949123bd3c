/**
 * Export of one chart: its picture as PNG (the canvas as drawn: stacked bands in the app's colours,
 * on the page's background) and the points it draws as CSV. The CSV holds exactly what the chart
 * shows (after level of detail, the points drawn), in the data's units (ns, bytes) named in its
 * header; the run's exact numbers are in the run's own CSV report.
 */

/** The parts of a Chart.js configuration the CSV needs. */
export interface ChartDataLike {
  labels?: readonly unknown[]
  /** `hmmStack`: a band of a stacked chart whose points are `{ x, y: top of the band, v: its own value }`. */
  datasets: readonly { label?: string; data: readonly unknown[]; hmmStack?: boolean }[]
}

/** Axis titles (as drawn) and the units of the data on each axis, when known. */
export interface CsvAxes {
  x?: string | undefined
  y?: string | undefined
  /** The unit of the raw values (`ns`, `bytes`): replaces the unit of the tick labels in the title. */
  xUnit?: string | undefined
  yUnit?: string | undefined
}

/** RFC 4180 field: quoted when it holds a comma, a quote or a line break. */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function isPoint(p: unknown): p is { x: unknown; y: unknown; v?: unknown } {
  return typeof p === 'object' && p !== null && 'x' in p && 'y' in p
}

/**
 * A column name from an axis title and the unit of the values written: "memory live (MiB)" with
 * unit `bytes` becomes "memory live (bytes)" (the axis labels ticks in MiB; the CSV holds bytes).
 */
export function columnName(title: string | undefined, unit: string | undefined, fallback: string): string {
  const t = title || fallback
  if (!unit) return t
  return `${t.replace(/\s*\([^()]*\)\s*$/, '')} (${unit})`
}

/**
 * The chart's data as CSV, in the units of the data (ns, bytes) named in the header. Point data
 * ({x, y}) becomes long rows `series,x,y` (series may have different x values); the bands of a
 * stacked chart (`hmmStack`) give each point's own value and the top of its band, so the stack is
 * what a spreadsheet redraws. Category data (labels + one value per label) becomes one column per
 * series.
 */
export function chartCsv(data: ChartDataLike, axes: CsvAxes = {}): string {
  const xName = columnName(axes.x, axes.xUnit, 'x')
  const yName = columnName(axes.y, axes.yUnit, 'y')
  const rows: string[] = []
  const pointData = data.datasets.some((d) => d.data.some(isPoint))
  const stacked = pointData && data.datasets.some((d) => d.hmmStack)
  if (stacked) {
    rows.push(['series', xName, yName, columnName('stacked top', axes.yUnit, 'stacked top')].map(csvField).join(','))
    for (const d of data.datasets) {
      for (const p of d.data) if (isPoint(p)) rows.push([d.label ?? '', p.x, d.hmmStack ? p.v : p.y, p.y].map(csvField).join(','))
    }
  } else if (pointData) {
    rows.push(['series', xName, yName].map(csvField).join(','))
    for (const d of data.datasets) {
      for (const p of d.data) if (isPoint(p)) rows.push([d.label ?? '', p.x, p.y].map(csvField).join(','))
    }
  } else {
    const labels = data.labels ?? []
    rows.push([xName, ...data.datasets.map((d, i) => d.label || `${yName} ${i + 1}`)].map(csvField).join(','))
    const n = Math.max(labels.length, ...data.datasets.map((d) => d.data.length))
    for (let i = 0; i < n; i++) rows.push([labels[i] ?? i, ...data.datasets.map((d) => d.data[i])].map(csvField).join(','))
  }
  return rows.join('\r\n') + '\r\n'
}

/** A file name from a chart's label: letters, digits, dot, dash and underscore only. */
export function chartFileName(label: string, ext: 'png' | 'csv'): string {
  const stem = label
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 80)
  return `${stem || 'chart'}.${ext}`
}

/** Offers a Blob as a download (an anchor with a Blob URL, revoked once clicked). */
export function offerDownload(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 0)
}

/**
 * The canvas as PNG on the page's background colour (a chart canvas is transparent, which most
 * viewers show as black or a checkerboard).
 */
export function canvasPng(canvas: HTMLCanvasElement, background: string): Promise<Blob> {
  const out = document.createElement('canvas')
  out.width = canvas.width
  out.height = canvas.height
  const g = out.getContext('2d')
  if (!g) return Promise.reject(new Error('no 2D context to draw the PNG'))
  g.fillStyle = background
  g.fillRect(0, 0, out.width, out.height)
  g.drawImage(canvas, 0, 0)
  return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode the PNG'))), 'image/png'))
}
