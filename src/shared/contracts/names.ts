/**
 * The names of every route and event, without their schemas, so that the preload script (bundled
 * on its own, sandboxed) can check names without carrying zod. the tables in `index.ts` are
 * checked at compile time to match these lists exactly.
 */
export const ROUTE_NAMES = [
  'app.info',
  'scenarios.list',
  'scenarios.get',
  'scenarios.save',
  'scenarios.validate',
  'scenarios.schema',
  'designs.list',
  'scenarios.import',
  'experiments.start',
  'experiments.cancel',
  'experiments.list',
  'experiments.get',
  'runs.list',
  'runs.get',
  'runs.series',
  'runs.cancel',
  'runs.delete',
  'runs.tag',
  'runs.compare',
  'reports.export',
  'probe.run',
  'probe.machine',
  'calibration.get',
  'calibration.run',
  'calibration.import',
  'calibration.export',
  'calibration.delete',
] as const
export const EVENT_NAMES = ['app.heartbeat', 'log.line', 'experiment.progress', 'run.progress', 'run.finished', 'calibration.progress'] as const

export type RouteName = (typeof ROUTE_NAMES)[number]
export type EventName = (typeof EVENT_NAMES)[number]

/** The IPC channels of the Electron host: one for invoke, one for events. */
export const IPC_INVOKE_CHANNEL = 'hmmlab:invoke'
export const IPC_EVENT_CHANNEL = 'hmmlab:event'

/** True if `name` is a route of the API. */
export function isRouteName(name: unknown): name is RouteName {
  return typeof name === 'string' && (ROUTE_NAMES as readonly string[]).includes(name)
}

/** True if `name` is an event of the API. */
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENT_NAMES as readonly string[]).includes(name)
}
