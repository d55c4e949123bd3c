/** A temporary workspace holding the fork fixture runs, written through the real RunStore. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RunStore } from '../../src/main/services/store/run-store'
import type { ProbeReport } from '../../src/shared/probe'
import { forkExperiment, forkRuns, type FixtureOptions } from '../fixtures/runs/fork'

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

/** A small, valid probe report (no machine read), so tests do not depend on the host. */
export function fakeProbe(): ProbeReport {
  return {
    schema: 'hmmlab.probe',
    schemaVersion: 1,
    probedAt: '2026-11-25T10:00:00.000Z',
    source: { kind: 'directory', path: '/fixtures/<sysroot>' },
    findings: [{ severity: 'warning', code: 'intel.no-psi', subject: 'dmar0', message: 'dmar0 has no PSI <b>: every flush is domain-selective' }],
    summary: ['kernel 6.6.0; config /boot/config-6.6.0', 'IOMMU: 1 Intel VT-d unit(s); 4 group(s)'],
    kernel: { release: '6.6.0', cmdline: { raw: '', iommu: {} }, config: { source: null, options: [] }, cpu: {} },
    iommu: { classPresent: true, units: [] },
    iommuGroups: [],
    pci: [],
    kfd: {},
    drm: [],
    nvidia: {},
    system: { status: 'skipped', note: 'test', cpu: null, memory: null, os: null, gpus: [] },
    files: { read: 0, errors: [] },
  } as unknown as ProbeReport
}
