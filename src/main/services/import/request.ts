/**
 * `scenarios.import`: the same importers as `hmmlab import`, for a text the app uploaded. It runs
 * on the parser thread (parse-worker.ts): a 900 KiB smaps takes seconds to import, which on the
 * main thread would hold every other request. An input that cannot be read answers ok: false
 * with its lines; a scenario that would be over the scenario text limits is refused the same way
 * (the app could not load it), saying how large it would be.
 */
import type { ImportRequest } from '../../../shared/contracts'
import { SCENARIO_LIMITS } from '../../../shared/text-limits'
import { importProc } from './proc'
import { ImportError, importStrace } from './strace'
import { unmappedSummary } from './writer'

export interface ImportAnswer {
  ok: boolean
  issues: Array<{ line?: number; column?: number; path: string; message: string }>
  text?: string
  fileName?: string
  summary?: string
  notMapped?: string[]
}

/** Imports one uploaded text; throws only for a failure that is not the input's (a bug). */
export function importRequest(input: ImportRequest): ImportAnswer {
  if ((input.iommu || input.mirror || input.forkExit) && !input.device)
    return { ok: false, issues: [{ path: 'device', message: 'an IOMMU, a mirror or a fork-and-exit needs a device' }] }
  const base = input.fileName.replace(/^.*[\\/]/, '').replace(/\.(log|txt|strace|smaps|maps)$/i, '') || 'imported'
  const opts = {
    sourceName: input.fileName,
    ...(input.device ? { device: input.device } : {}),
    ...(input.iommu ? { iommu: input.iommu } : {}),
    ...(input.forkExit ? { forkExit: true } : {}),
    ...(input.designs ? { designs: input.designs } : {}),
  }
  let r
  try {
    r = input.kind === 'strace' ? importStrace(input.text, { ...opts, ...(input.mirror ? { mirror: input.mirror } : {}) }) : importProc(input.text, opts)
  } catch (err) {
    if (err instanceof ImportError)
      return {
        ok: false,
        issues: err.issues.map((i) => ({ line: i.line, ...(i.column > 0 ? { column: i.column } : {}), path: input.kind, message: i.reason })),
      }
    throw err
  }
  if (r.yaml.length > SCENARIO_LIMITS.maxChars) {
    const kib = (n: number): string => `${Math.ceil(n / 1024)} KiB`
    return {
      ok: false,
      issues: [
        {
          path: input.kind,
          message: `the scenario would be ${kib(r.yaml.length)}, more than the ${kib(SCENARIO_LIMITS.maxChars)} a scenario may be: import a shorter ${input.kind === 'strace' ? 'log' : 'copy'} (docs/workloads.md shows how to trim one)`,
        },
      ],
    }
  }
  const summary =
    'calls' in r.stats
      ? `${r.stats.lines} lines, ${r.stats.calls} calls → ${r.stats.steps} steps; tasks ${r.stats.tasks.join(', ')}`
      : `${r.stats.vmas} VMAs, ${Math.round(r.stats.mappedBytes / 1024)} KiB mapped, ${Math.round(r.stats.residentBytes / 1024)} KiB resident`
  return { ok: true, issues: [], text: r.yaml, fileName: `${base.replace(/[^A-Za-z0-9._-]+/g, '_')}.yaml`, summary, notMapped: unmappedSummary(r.unmapped) }
}
