/**
 * Scenario parsing off the main thread: validating and planning a scenario (and checking each
 * parameter set of a sweep) can take seconds for a large file, which on the main thread would hold
 * every other request of the browser host. A probe of a sysroot a client names (a folder or a
 * capture archive) runs here too: its reads are bounded and non-blocking but synchronous, and a
 * folder of many entries would otherwise hold the host as long as it takes. This module is both the worker (its default export is
 * one task) and the main-thread side (`ParseWorker`), a one-thread piscina pool with a heap limit.
 * The text limits (src/shared/text-limits.ts) are checked in the worker before anything recurses.
 */
import { join } from 'node:path'
import { Piscina } from 'piscina'
import type { ImportRequest, ValidationIssue } from '../../shared/contracts'
import { importRequest, type ImportAnswer } from './import/request'
import type { ParamValue } from '../../shared/runs'
import { appRoot } from '../paths'
import type { ScenarioPlan } from './experiments/service'
import { simBinding, type SimBinding } from './sim-binding'
import type { ProbeMachine } from '../../shared/probe-machine'
import type { ProbeReport } from '../../shared/probe'
import { runProbe } from './probe'

/** The probed machine that replaces the scenario's (src/shared/simulate-machine.ts), if any. */
type Machine = ProbeMachine | undefined

export type ParseTask =
  | { kind: 'validate'; text: string; fileName: string; machine: Machine }
  | { kind: 'plan'; text: string; fileName: string; machine: Machine }
  | { kind: 'check'; text: string; fileName: string; machine: Machine; parameters: Record<string, ParamValue> }
  | { kind: 'import'; request: ImportRequest; fileName: string }
  | { kind: 'probe'; sysroot: string; fileName: string }

type PlanData = Omit<ScenarioPlan, 'checkParameters' | 'knownDesigns'> & { knownDesigns: string[] }
export type ParseAnswer = { ok: true; value: unknown } | { ok: false; message: string }

/** One task, in the worker. Errors come back as messages (a thrown ScenarioError loses its class in a clone). */
export default async function parseTask(task: ParseTask): Promise<ParseAnswer> {
  try {
    if (task.kind === 'probe') return { ok: true, value: (await runProbe({ sysroot: task.sysroot, system: 'skip' })).report }
    if (task.kind === 'import') return { ok: true, value: importRequest(task.request) }
    if (task.kind === 'validate') return { ok: true, value: simBinding.validate(task.text, task.fileName, task.machine) }
    if (task.kind === 'check') {
      simBinding.plan(task.text, task.fileName, task.machine).checkParameters?.(task.parameters, task.machine)
      return { ok: true, value: null }
    }
    const { checkParameters: _c, knownDesigns, ...plan } = simBinding.plan(task.text, task.fileName, task.machine)
    return { ok: true, value: { ...plan, knownDesigns: [...(knownDesigns ?? [])] } satisfies PlanData }
  } catch (err) {
    if (task.kind === 'probe' && (err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, message: 'no such folder or .tar.gz file' }
    return { ok: false, message: err instanceof Error ? err.message : String(err) }
  }
}

/** The scenario binding of the services, with the heavy parts on a worker thread. */
export interface AsyncSimBinding {
  plan(text: string, fileName: string, machine?: ProbeMachine): Promise<ScenarioPlan>
  validate(text: string, fileName: string, machine?: ProbeMachine): Promise<{ ok: boolean; issues: ValidationIssue[]; name?: string; designs?: string[] }>
  jsonSchema: SimBinding['jsonSchema']
  /** `scenarios.import` (an strace log or smaps text as a scenario), on the parser thread. */
  importScenario(request: ImportRequest): Promise<ImportAnswer>
  /** A probe of a sysroot folder or capture archive (no systeminformation), on the parser thread. */
  probeSysroot(sysroot: string): Promise<ProbeReport>
  /** The design catalogue (static data: answered on the calling thread). */
  designs: SimBinding['designs']
  close(): Promise<void>
}

/** The worker entry: the built `out/main/parse-worker.js`, or this source through tsx. */
function parseWorkerEntry(): { file: string; execArgv: string[] } {
  if (import.meta.url.endsWith('.ts')) return { file: join(appRoot(), 'src/main/services/parse-worker.ts'), execArgv: ['--import', 'tsx'] }
  return { file: join(appRoot(), 'out/main/parse-worker.js'), execArgv: [] }
}

/** Starts (lazily) one parse thread with a heap limit; answers the async binding over it. */
export function createParseWorker(opts: { maxHeapMb?: number } = {}): AsyncSimBinding {
  let pool: Piscina<ParseTask, ParseAnswer> | undefined
  const run = async (task: ParseTask): Promise<unknown> => {
    if (!pool) {
      const entry = parseWorkerEntry()
      pool = new Piscina<ParseTask, ParseAnswer>({
        filename: entry.file,
        execArgv: entry.execArgv,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 60_000,
        resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb ?? 1024 },
      })
    }
    let answer: ParseAnswer
    try {
      answer = await pool.run(task)
    } catch (err) {
      const what = task.kind === 'import' ? 'the text could not be imported' : task.kind === 'probe' ? 'the probe failed' : 'the scenario could not be read'
      throw new Error(`${task.fileName}: ${what}: ${describeThreadError(err)}`, { cause: err })
    }
    if (!answer.ok) throw new Error(answer.message)
    return answer.value
  }
  return {
    async plan(text, fileName, machine) {
      const data = (await run({ kind: 'plan', text, fileName, machine })) as PlanData
      return { ...data, checkParameters: async (parameters, m) => void (await run({ kind: 'check', text, fileName, machine: m, parameters })) }
    },
    async validate(text, fileName, machine) {
      try {
        return (await run({ kind: 'validate', text, fileName, machine })) as Awaited<ReturnType<AsyncSimBinding['validate']>>
      } catch (err) {
        return { ok: false, issues: [{ path: '(document)', message: err instanceof Error ? err.message : String(err) }] }
      }
    },
    importScenario: async (request) => (await run({ kind: 'import', request, fileName: request.fileName })) as ImportAnswer,
    probeSysroot: async (sysroot) => (await run({ kind: 'probe', sysroot, fileName: sysroot })) as ProbeReport,
    jsonSchema: () => simBinding.jsonSchema(),
    designs: () => simBinding.designs(),
    async close() {
      await pool?.close({ force: true })
    },
  }
}

function describeThreadError(err: unknown): string {
  const e = err as { code?: string; message?: string }
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'it needs more memory than the parser may use'
  return e?.message ?? String(err)
}
