/**
 * Opening a run starts its requests as soon as the route is entered, before the Results view and
 * Chart.js have loaded: the worker fetches and shapes the series while the page downloads and
 * compiles the view. The view then takes the promises started for its run (or starts its own).
 */
import type { Bridge } from '../bridge'
import { LOD_BUCKETS } from './lod-config'
import { loadCheckedRun, loadShapedSeries, type ShapedSeries } from './worker-client'
import type { CheckedRun } from './worker-protocol'

export interface RunLoad {
  runId: string
  series: Promise<ShapedSeries>
  run: Promise<CheckedRun>
}

/** The prefixes the Results view stacks. */
export const STACKED_PREFIXES = ['memory.', 'leaked.']

let pending: RunLoad | undefined

/** Starts loading a run (series and result document); both promises handle their own rejection. */
export function startRunLoad(bridge: Bridge, runId: string): RunLoad {
  const load: RunLoad = {
    runId,
    series: loadShapedSeries(bridge, runId, { prefixes: STACKED_PREFIXES, buckets: LOD_BUCKETS }),
    run: loadCheckedRun(bridge, runId),
  }
  // Nobody may be waiting yet: keep an early failure from being reported as unhandled.
  load.series.catch(() => undefined)
  load.run.catch(() => undefined)
  return load
}

/** Called by the router when the Results route is entered with `?run=`. */
export function prefetchRun(bridge: Bridge, runId: string): void {
  if (pending?.runId === runId) return
  performance.mark('hmmlab:series')
  pending = startRunLoad(bridge, runId)
}

/** The load started for this run by the router, if any (taken once). */
export function takePrefetchedRun(runId: string): RunLoad | undefined {
  const p = pending
  pending = undefined
  return p?.runId === runId ? p : undefined
}
