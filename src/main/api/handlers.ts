/**
 * The handlers of every route, assembled from the services. Both hosts build their router from
 * `createHandlers`, so the Electron window, the browser host and tests see the same behaviour.
 */
import { APP_VERSION } from '../../shared/version'
import { SERIES_BLOCK_ENCODING, packSeries, type AppInfo } from '../../shared/contracts'
import type { LabServices } from '../services'
import type { AsyncSimBinding } from '../services/parse-worker'
import { compareRuns } from '../services/compare'
import { stringify as toYaml } from 'yaml'
import { machineFromProbe } from '../../shared/probe-machine'
import { simulateMachine } from '../../shared/simulate-machine'
import { runProbe } from '../services/probe'
import { resolveMachineRef } from '../services/machine-ref'
import { previewOnMachine } from '../services/sim-binding'
import { ReportError, exportReport } from '../services/reports'
import { StoreError } from '../services/store/run-store'
import { ApiError, type HostContext, type RouteHandlers } from './router'

/** Builds the full handler table over the host's services. */
export function createHandlers(services: LabServices): RouteHandlers {
  const { store, experiments, scenarios, sim } = services
  return {
    'app.info': (_input, ctx) => appInfo({ ...ctx, workspace: services.workspace }),

    'scenarios.list': async () => ({ scenarios: await scenarios.list() }),
    'scenarios.get': async ({ id }) => badRequestOnError(() => scenarios.get(id)),
    'scenarios.save': async ({ fileName, text }) => ({ id: await badRequestOnError(() => scenarios.save(fileName, text)) }),
    'scenarios.validate': async ({ text, fileName }) => {
      let machine
      try {
        machine = await resolveMachineRef(text, fileName, undefined, services.machineRoots)
      } catch (err) {
        return { ok: false, issues: [{ path: 'machine', message: err instanceof Error ? err.message : String(err) }] }
      }
      return sim.validate(text, fileName, machine?.spec)
    },
    'scenarios.schema': () => ({ schema: sim.jsonSchema() }),
    'designs.list': () => ({ designs: sim.designs() }),
    // on the parser thread (services/import/request.ts); an unreadable input answers ok: false
    'scenarios.import': (input) => badRequestOnError(() => sim.importScenario(input)),

    'experiments.start': async (input) => {
      const scenario = input.scenario ?? (await badRequestOnError(() => scenarios.get(input.scenarioId!)))
      const probed = input.probedMachine ? await probeMachine(input.probedMachine.sysroot, sim) : undefined
      const scenarioPath = input.scenarioId ? scenarios.resolveId(input.scenarioId) : undefined
      const referenced = probed
        ? undefined
        : await badRequestOnError(() => resolveMachineRef(scenario.text, scenario.fileName, scenarioPath, services.machineRoots))
      const started = await badRequestOnError(() =>
        experiments.start({
          scenarioText: scenario.text,
          fileName: scenario.fileName,
          ...(input.sweep ? { sweep: input.sweep } : {}),
          ...(input.designs ? { designs: input.designs } : {}),
          ...(input.seed !== undefined ? { seed: input.seed } : {}),
          ...(input.name ? { name: input.name } : {}),
          ...(input.timeoutSeconds ? { timeoutMs: input.timeoutSeconds * 1000 } : {}),
          ...(probed ? { machine: { spec: probed.machine, origin: probed.machine.origin } } : {}),
          ...(referenced ? { machine: { spec: referenced.spec, origin: referenced.origin } } : {}),
        }),
      )
      return { experimentId: started.experimentId, runIds: started.runIds }
    },
    'experiments.cancel': ({ experimentId }) => ({ cancelled: experiments.cancelExperiment(experimentId) }),
    'experiments.list': async () => {
      const listing = await store.listExperiments()
      return { experiments: listing.items, active: experiments.activeExperiments(), problems: listing.problems }
    },
    'experiments.get': async ({ experimentId }) => {
      const experiment = await storeCall(() => store.getExperiment(experimentId))
      const runs = (await store.listRuns()).items.filter((r) => r.experimentId === experimentId)
      return { experiment, runs }
    },

    'runs.list': async () => {
      const listing = await store.listRuns()
      return { runs: listing.items, problems: listing.problems }
    },
    'runs.get': async ({ runId, series }) => storeCall(() => store.getRun(runId, series === false ? { series: false } : {})),
    'runs.series': async ({ runId }, ctx) => {
      const packed = packSeries(await storeCall(() => store.getRunSeries(runId)))
      // Electron IPC carries bytes (structured clone); the browser host's JSON body carries base64.
      const data =
        ctx.host === 'electron' ? packed.bytes : Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength).toString('base64')
      return { encoding: SERIES_BLOCK_ENCODING, series: packed.series, byteLength: packed.bytes.byteLength, data, bad: packed.bad }
    },
    'runs.cancel': ({ runId }) => ({ cancelled: experiments.cancelRun(runId) }),
    'runs.delete': async ({ runId }) => {
      await storeCall(() => store.deleteRun(runId))
      return {}
    },
    'runs.tag': async ({ runId, tags }) => ({ manifest: await storeCall(() => store.tagRun(runId, tags)) }),
    'runs.compare': async ({ runIds }) => {
      const runs = await Promise.all(runIds.map((id) => storeCall(() => store.getRun(id))))
      return compareRuns(runs.map((r) => ({ manifest: r.manifest, series: r.series, findings: findingKeys(r.result), ...invalidationRows(r.result) })))
    },

    'calibration.get': () => services.calibration.state(),
    'calibration.run': ({ quick }) => {
      if (!services.calibration.start(quick)) throw new ApiError('bad_request', 'a calibration is running already')
      return { started: true as const }
    },
    'calibration.import': async ({ text }) => badRequestOnError(() => services.calibration.import(text)),
    'calibration.export': () => {
      const f = services.calibration.export()
      if (!f) throw new ApiError('bad_request', `no calibration to export (${services.calibration.path} does not exist or cannot be read): run one first`)
      return f
    },
    // a folder, a link or a file that is not a calibration at its path: 400, nothing deleted
    'calibration.delete': () => badRequestOnError(() => services.calibration.remove()),
    'probe.run': async ({ sysroot }) => ({ report: await probeReport(sysroot, services.sim) }),
    'probe.machine': async ({ sysroot, scenarioId }) => {
      const answer = await probeMachine(sysroot, services.sim)
      if (!scenarioId) return answer
      const scenario = await badRequestOnError(() => scenarios.get(scenarioId))
      const preview = previewOnMachine(scenario.text, scenario.fileName, answer.machine)
      return {
        ...answer,
        forScenario: {
          scenarioId,
          parts: preview.parts,
          yaml: preview.machine ? toYaml({ machine: preview.machine }) : '',
          ...(preview.refused ? { refused: preview.refused } : {}),
        },
      }
    },

    'reports.export': async ({ target, format, probe }, ctx) => {
      const opts = { probe: probe === false ? ('none' as const) : ('live' as const) }
      try {
        if (format !== 'pdf') return await exportReport(store, target, format, opts)
        if (!ctx.printToPdf) {
          throw new ApiError('bad_request', 'PDF export needs the desktop app (Electron); in a browser, export HTML and print it to PDF')
        }
        const html = await exportReport(store, target, 'html', opts)
        const pdf = await ctx.printToPdf(html.content)
        return {
          fileName: html.fileName.replace(/\.html$/, '') + '.pdf',
          mimeType: 'application/pdf',
          content: Buffer.from(pdf).toString('base64'),
          encoding: 'base64' as const,
        }
      } catch (err) {
        if (err instanceof ReportError || err instanceof StoreError) throw new ApiError(err.code === 'io' ? 'internal' : 'bad_request', err.message)
        throw err
      }
    },
  }
}

/**
 * Probes this machine, or a sysroot a client names on the parser thread (its reads are
 * synchronous); a missing sysroot is a bad request naming it.
 */
async function probeReport(sysroot: string | undefined, sim: Pick<AsyncSimBinding, 'probeSysroot'>) {
  try {
    return sysroot ? await sim.probeSysroot(sysroot) : (await runProbe({})).report
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such folder or .tar.gz file' : e.message
    throw new ApiError('bad_request', `cannot probe ${sysroot ?? 'this machine'}: ${why}`)
  }
}

/** "Simulate this machine": the probed machine and the scenario `machine:` derived from it. */
async function probeMachine(sysroot: string | undefined, sim: Pick<AsyncSimBinding, 'probeSysroot'>) {
  const machine = machineFromProbe(await probeReport(sysroot, sim))
  const simulated = simulateMachine(machine)
  return { machine, scenarioMachine: simulated.machine, yaml: toYaml({ machine: simulated.machine }), notes: simulated.notes }
}

/** Describes the running host. */
export function appInfo(ctx: HostContext): AppInfo {
  const versions = process.versions as NodeJS.ProcessVersions & { electron?: string; chrome?: string }
  return {
    name: 'HMM Lab',
    version: APP_VERSION,
    host: ctx.host,
    platform: process.platform,
    arch: process.arch,
    versions: {
      node: versions.node,
      v8: versions.v8,
      ...(versions.electron ? { electron: versions.electron } : {}),
      ...(versions.chrome ? { chrome: versions.chrome } : {}),
    },
    ...(ctx.workspace ? { workspace: ctx.workspace } : {}),
  }
}

/** The findings of a stored result as comparison keys (results that are not RunResult give none). */
function findingKeys(result: unknown): { kind: string; signature: string; message: string }[] {
  // the record's findings table (an old-format result has none to compare)
  const findings = (result as { findings?: { rows?: unknown } } | null)?.findings?.rows
  if (!Array.isArray(findings)) return []
  return findings.flatMap((f: unknown) => {
    const x = f as { kind?: unknown; signature?: unknown; message?: unknown }
    return typeof x.kind === 'string' && typeof x.message === 'string'
      ? [{ kind: x.kind, signature: typeof x.signature === 'string' ? x.signature : x.message, message: x.message }]
      : []
  })
}

/** How many rows the record's invalidation table had and dropped at its cap (nothing for an old-format result). */
function invalidationRows(result: unknown): { invalidationRows?: { total: number; dropped: number } } {
  const t = (result as { invalidations?: { total?: unknown; dropped?: unknown } } | null)?.invalidations
  return typeof t?.total === 'number' && typeof t.dropped === 'number' ? { invalidationRows: { total: t.total, dropped: t.dropped } } : {}
}

async function badRequestOnError<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ApiError) throw err
    throw new ApiError('bad_request', err instanceof Error ? err.message : String(err))
  }
}

async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof StoreError) throw new ApiError(err.code === 'io' ? 'internal' : 'bad_request', err.message)
    throw err
  }
}
