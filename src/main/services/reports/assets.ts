/**
 * The scripts a report inlines, read from node_modules at run time: Chart.js's UMD build
 * (required; chart.js is a runtime dependency) and, when installed, hammerjs and
 * chartjs-plugin-zoom's UMD build for wheel/drag zoom and pan. Read once per process.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export interface ReportAssets {
  chartJs: string
  chartJsVersion: string
  /** hammerjs + chartjs-plugin-zoom, or null when either is not installed. */
  zoom: { hammer: string; plugin: string; version: string } | null
}

let cached: ReportAssets | undefined

/** Strips source-map comments (they would point at files the reader does not have). */
function clean(js: string): string {
  return js.replace(/^\/\/# sourceMappingURL=.*$/gm, '').replace(/<\/script/gi, '<\\/script')
}

function versionOf(pkgDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?'
  } catch {
    return '?'
  }
}

/** Loads (once) the scripts to inline. Throws if Chart.js cannot be found. */
export function loadReportAssets(): ReportAssets {
  if (cached) return cached
  const require = createRequire(import.meta.url)
  // chart.js's `exports` map does not export dist/chart.umd.min.js: resolve the package's CJS
  // entry (dist/chart.cjs) and take the UMD file beside it.
  const chartDist = dirname(require.resolve('chart.js'))
  const chartJs = clean(readFileSync(join(chartDist, 'chart.umd.min.js'), 'utf8'))
  let zoom: ReportAssets['zoom']
  try {
    const pluginFile = require.resolve('chartjs-plugin-zoom/dist/chartjs-plugin-zoom.min.js')
    const hammerFile = require.resolve('hammerjs/hammer.min.js')
    zoom = {
      plugin: clean(readFileSync(pluginFile, 'utf8')),
      hammer: clean(readFileSync(hammerFile, 'utf8')),
      version: versionOf(dirname(dirname(pluginFile))),
    }
  } catch {
    zoom = null
  }
  cached = { chartJs, chartJsVersion: versionOf(dirname(chartDist)), zoom }
  return cached
}
