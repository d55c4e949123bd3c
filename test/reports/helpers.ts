/** A temporary workspace holding the fork fixture runs, written through the real RunStore. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RunStore } from '../../src/main/services/store/run-store'
import type { ProbeReport } from '../../src/shared/probe'
import { forkExperiment, forkRuns, type FixtureOptions } from '../fixtures/runs/make'

export interface FixtureWorkspace {
  dir: string
  store: RunStore
  runIds: string[]
  experimentId: string
  dispose(): Promise<void>
}

/** Saves the six fork runs (and their experiment) into a fresh temporary workspace. */
export async function fixtureWorkspace(opts: FixtureOptions = {}): Promise<FixtureWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'hmmlab-reports-'))
  const store = new RunStore(dir)
  const experimentId = opts.experimentId ?? 'exp-fork'
  const runs = forkRuns({ ...opts, experimentId })
  for (const r of runs) await store.saveRun(r)
  await store.saveExperiment(forkExperiment(runs, experimentId))
  return { dir, store, runIds: runs.map((r) => r.manifest.id), experimentId, dispose: () => rm(dir, { recursive: true, force: true }) }
}

/** A probe report of a captured sysroot (the probe's own fixture), so tests do not depend on the host. */
export async function fixtureProbe(name = 'intel-adl'): Promise<ProbeReport> {
  const { runProbe } = await import('../../src/main/services/probe')
  const { report } = await runProbe({
    sysroot: join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'sysroots', name),
    system: 'skip',
    now: () => new Date('2026-11-25T10:00:00Z'),
  })
  return report
}

/** `haystack` contains `needle`, without printing a whole report when it does not. */
export function contains(haystack: string, needle: string): boolean {
  return haystack.includes(needle)
}
