/**
 * Where the run worker is: the built `out/main/run-worker.js` (an entry of the main bundle) when
 * running from the bundle, or its TypeScript source loaded through tsx when running from sources
 * (vitest, `tsx src/main/cli/index.ts`).
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
