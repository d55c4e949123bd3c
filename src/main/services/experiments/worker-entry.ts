/**
 * Where the run worker and the run process entry are: the built `out/main/run-worker.js` and
 * `out/main/run-process.js` (entries of the main bundle) when running from the bundle, or their
 * TypeScript sources loaded through tsx when running from sources (vitest, `tsx src/main/cli/index.ts`).
 */
import { join } from 'node:path'
import { appRoot } from '../../paths'

export interface WorkerEntry {
  file: string
  execArgv?: string[]
}

/** The run worker for the current way of running. */
export function runWorkerEntry(fromSource = import.meta.url.endsWith('.ts')): WorkerEntry {
  if (fromSource) return { file: join(appRoot(), 'src/main/services/experiments/run-worker.ts'), execArgv: ['--import', 'tsx'] }
  return { file: join(appRoot(), 'out/main/run-worker.js') }
}

/** The run process entry (process isolation): built `out/main/run-process.js`, or its source through tsx. */
export function runProcessHostEntry(fromSource = import.meta.url.endsWith('.ts')): WorkerEntry {
  if (fromSource) return { file: join(appRoot(), 'src/main/services/experiments/process-host.ts'), execArgv: ['--import', 'tsx'] }
  return { file: join(appRoot(), 'out/main/run-process.js') }
}
