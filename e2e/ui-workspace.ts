/**
 * A temporary workspace with stored runs for the UI specs that need only stored results (Results,
 * Compare, Runs list, Reports), written in the run store's layout
 * (`runs/<id>/{manifest,result,series}.json`, `experiments/<id>.json`) and the RunManifest /
 * RunResult / RunSeries contracts. The numbers are made up but consistent: process A mirrors
 * memory into gpu0, forks B, exits at 2 s; B closes the device file at 12 s; the run ends at 15 s.
 * It also puts a scenario in the workspace's `scenarios/` for the library specs.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base } from './fixtures'
import { startServeProcess, type BrowserHostProcess } from './fixtures'

const S = 1e9
const MiB = 1 << 20

export interface FixtureRun {
  id: string
  design: string
  seed?: number
  experimentId?: string
  parameters?: Record<string, string | number | boolean>
  status?: 'ok' | 'failed' | 'expect_failed' | 'cancelled' | 'timeout'
  error?: string
  /** Bytes A mirrors (pages), drives every number. */
  mib?: number
  /** Whether B keeps A's memory after A exits (a leak), and until when (null: never). */
  leakUntil?: number | null
  /** Extra findings beyond the shared one. */
  useAfterFree?: boolean
  /** Points per memory series (for the large-chart benchmark). */
  points?: number
  finishedAt?: string
}

export const SCENARIO_TEXT = `name: fork after mirror
description: A mirrors 64 MiB into gpu0, forks B which inherits the device fd, then exits.
designs: [D1, D4]
seed: 1
steps: []
`

function step(t: number[], v: number[]): { t: number[]; v: number[] } {
  return { t, v }
}

/** The stored files of one run. */
export function makeRun(r: FixtureRun): { manifest: object; result: object; series: Record<string, { t: number[]; v: number[] }> } {
  const mib = r.mib ?? 64
  const bytes = mib * MiB
  const end = 15 * S
  const leakUntil = r.leakUntil === undefined ? 12 * S : r.leakUntil
  const freeAt = leakUntil ?? end
  const pt = Math.round(bytes / 512)
  const series: Record<string, { t: number[]; v: number[] }> = {
    'memory.mm_struct': step([0, 1 * S, freeAt], [1024, 2048, 1024]),
    'memory.cpu_pagetable': step([0, 0.5 * S, 2 * S], [8192, pt, pt / 2]),
    'memory.gpu_pagetable': step([0, 0.6 * S, freeAt], [0, pt, 0]),
    'memory.pages': step([0, 0.5 * S, freeAt], [0, bytes, 0]),
    'memory.driver_object': step([0, 0.3 * S, freeAt], [0, 4096, 0]),
    'leaked.pages': step([0, 2 * S, freeAt], [0, bytes, 0]),
    'leaked.gpu_pagetable': step([0, 2 * S, freeAt], [0, pt, 0]),
  }
  if (r.points && r.points > 0) {
    // A busy page count: a million steps of touches and frees (for the draw benchmark).
    const t = new Array<number>(r.points)
    const v = new Array<number>(r.points)
    let x = 12345
    for (let i = 0; i < r.points; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff
      t[i] = Math.round((i * end) / r.points)
      // Alternating above and below the mean, so every sample is a change (nothing to drop).
      v[i] = bytes / 2 + (i % 2 ? 1 : -1) * (((x >>> 8) % 1024) + 1) * 4096
    }
    series['memory.pages'] = { t, v }
  }
  const leaks = [
    { objectType: 'pages', owner: 'mm of pid 100 (A)', heldBy: 'fd 3 of pid 101 (B)', count: mib * 256, bytes, byteSeconds: (bytes * (freeAt - 2 * S)) / S, since: 2 * S, until: leakUntil },
    { objectType: 'gpu_pagetable', owner: 'mm of pid 100 (A)', heldBy: 'gpu0 mirror', count: 32, bytes: pt, byteSeconds: (pt * (freeAt - 2 * S)) / S, since: 2 * S, until: leakUntil },
    { objectType: 'mm_struct', owner: 'pid 100 (A)', heldBy: 'fd 3 of pid 101 (B)', count: 1, bytes: 1024, byteSeconds: (1024 * (freeAt - 2 * S)) / S, since: 2 * S, until: leakUntil },
  ]
  const n = 40
  const inv = { t: [] as number[], event: [] as number[], start: [] as number[], end: [] as number[], device: [] as number[], mechanism: [] as number[], costNs: [] as number[] }
  for (let i = 0; i < n; i++) {
    const size = 4096 * 2 ** (i % 10)
    inv.t.push(0.7 * S + i * 0.03 * S)
    inv.event.push(i % 3)
    inv.start.push(0x7f0000000000 + i * 0x200000)
    inv.end.push(0x7f0000000000 + i * 0x200000 + size)
    inv.device.push(i % 2)
    inv.mechanism.push(i % 4)
    inv.costNs.push(Math.round(300 + size / 64 + (i % 2) * 900))
  }
  const findings = [
    {
      kind: 'leak',
      severity: 'warning',
      message: `${r.design} kept ${mib} MiB of A's address space alive after A exited`,
      signature: 'leak:page:A',
      at: 2 * S,
      paths: [{ label: 'held by', frames: ['do_exit', 'exit_mm', 'mmput', 'mirror->mm (fd 3 of B)'] }],
    },
  ]
  if (r.useAfterFree) {
    findings.push({
      kind: 'use_after_free',
      severity: 'error',
      message: 'free_notifier ran after the mm was freed',
      signature: 'uaf:free_notifier',
      at: 12.5 * S,
      paths: [
        { label: 'freed', frames: ['__mmdrop', 'free_mm'] },
        { label: 'used', frames: ['srcu_invoke_callbacks', 'mmu_notifier_free_rcu', 'kfd_process_free_notifier'] },
      ],
    })
  }
  const result = {
    schema: 'hmmlab.result/1',
    scenario: { name: 'fork after mirror', description: 'fixture' },
    design: r.design,
    seed: r.seed ?? 1,
    endTime: end,
    metrics: {
      leak_byte_seconds: leaks.reduce((a, l) => a + l.byteSeconds, 0),
      leaked_peak_bytes: bytes + pt,
      invalidations_count: n,
      invalidation_cost_ns: inv.costNs.reduce((a, b) => a + b, 0),
      use_after_free_count: r.useAfterFree ? 1 : 0,
    },
    expects: [{ step: 5, line: 12, check: 'mm_users(A) == 0', passed: true }],
    findings,
    leaks,
    invalidations: { ...inv, dict: { event: ['munmap', 'exit_mmap', 'migrate'], device: ['gpu0', 'iommu0'], mechanism: ['gpu_tlb', 'iotlb_psi', 'iotlb_dsi', 'ats'] } },
    markers: [
      { t: 1 * S, kind: 'fork', label: 'fork A→B' },
      { t: 2 * S, kind: 'exit', label: 'exit A' },
      { t: 12 * S, kind: 'close', label: 'close fd 3 (B)' },
      ...(leakUntil !== null ? [{ t: leakUntil, kind: 'free_notifier', label: 'free_notifier' }] : []),
    ],
    lanes: [
      { id: 'task:100', kind: 'task', label: 'A (pid 100)' },
      { id: 'task:101', kind: 'task', label: 'B (pid 101)' },
      { id: 'dev:gpu0', kind: 'device', label: 'gpu0' },
      { id: 'iommu:0', kind: 'iommu', label: 'iommu0' },
    ],
    trace: {
      events: [
        { t: 0.5 * S, lane: 'task:100', name: 'mmap', args: { start: '0x7f0000000000', len: bytes } },
        { t: 0.6 * S, dur: 0.05 * S, lane: 'dev:gpu0', name: 'hmm_range_fault', args: { pages: mib * 256 } },
        { t: 1 * S, lane: 'task:100', name: 'fork', args: { child: 101 } },
        { t: 2 * S, lane: 'task:100', name: 'exit' },
        { t: 2.1 * S, dur: 0.01 * S, lane: 'iommu:0', name: 'iotlb_inv_psi', args: { pasid: 3 } },
        { t: 12 * S, lane: 'task:101', name: 'close', args: { fd: 3 } },
      ],
      dropped: 0,
    },
  }
  const text = SCENARIO_TEXT
  const manifest = {
    schema: 'hmmlab.run/1',
    id: r.id,
    ...(r.experimentId ? { experimentId: r.experimentId } : {}),
    scenario: { name: 'fork after mirror', fileName: 'fork-after-mirror.yaml', hash: createHash('sha256').update(text).digest('hex'), text },
    design: r.design,
    seed: r.seed ?? 1,
    parameters: r.parameters ?? {},
    versions: { hmmlab: '0.1.0', node: process.versions.node },
    timings: { queuedAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:00.100Z', finishedAt: r.finishedAt ?? '2026-01-01T00:00:01.000Z', wallMs: 900 },
    status: r.status ?? 'ok',
    ...(r.error ? { error: r.error } : {}),
    tags: [],
    metrics: result.metrics,
    expects: { passed: 1, failed: 0 },
    findings: findings.length,
  }
  return { manifest, result, series }
}

/** Writes runs (and optionally an experiment) into `root` in the run store's layout. */
export function writeWorkspace(root: string, runs: FixtureRun[], experiments: { id: string; name: string; sweep: Record<string, (string | number)[]>; runIds: string[] }[] = []): void {
  for (const r of runs) {
    const dir = join(root, 'runs', r.id)
    mkdirSync(dir, { recursive: true })
    const { manifest, result, series } = makeRun(r)
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result))
    writeFileSync(join(dir, 'series.json'), JSON.stringify(series))
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2))
  }
  if (experiments.length) mkdirSync(join(root, 'experiments'), { recursive: true })
  for (const e of experiments) {
    const manifest = {
      schema: 'hmmlab.experiment/1',
      id: e.id,
      name: e.name,
      createdAt: '2026-01-01T00:00:00.000Z',
      scenario: { name: 'fork after mirror', fileName: 'fork-after-mirror.yaml', hash: createHash('sha256').update(SCENARIO_TEXT).digest('hex') },
      sweep: e.sweep,
      runIds: e.runIds,
    }
    writeFileSync(join(root, 'experiments', `${e.id}.json`), JSON.stringify(manifest, null, 2))
  }
  mkdirSync(join(root, 'scenarios', 'mine'), { recursive: true })
  writeFileSync(join(root, 'scenarios', 'mine', 'fork-after-mirror.yaml'), SCENARIO_TEXT)
}

/** The standard fixture: two single runs (D1 leaks until close, D4 never frees + use-after-free), a failed run, and a sweep. */
export function standardWorkspace(root: string): void {
  const sweepRuns: FixtureRun[] = []
  for (const design of ['D1', 'D4']) for (const mib of [16, 32, 64]) sweepRuns.push({ id: `sweep-${design}-${mib}`, design, mib, experimentId: 'exp-sweep', parameters: { 'machine.mirror_mib': mib }, finishedAt: '2026-01-01T00:00:00.500Z' })
  writeWorkspace(
    root,
    [
      { id: 'run-d1', design: 'D1', finishedAt: '2026-01-01T00:00:03.000Z' },
      { id: 'run-d4', design: 'D4', leakUntil: null, useAfterFree: true, finishedAt: '2026-01-01T00:00:02.000Z' },
      { id: 'run-failed', design: 'D2', status: 'failed', error: 'worker crashed: out of memory at step 7', finishedAt: '2026-01-01T00:00:01.000Z' },
      ...sweepRuns,
    ],
    [{ id: 'exp-sweep', name: 'mirror size sweep', sweep: { 'machine.mirror_mib': [16, 32, 64], design: ['D1', 'D4'] }, runIds: sweepRuns.map((r) => r.id) }],
  )
}

/**
 * The app fixtures with the browser host serving a temporary workspace prepared by `prepare`
 * (the standard one by default). Electron projects skip these specs (they need `--workspace`).
 */
export function workspaceTest(prepare: (root: string) => void = standardWorkspace) {
  return base.extend<object, { workspaceDir: string; browserHost: BrowserHostProcess | undefined }>({
    workspaceDir: [
      async ({}, use) => {
        const dir = mkdtempSync(join(tmpdir(), 'hmmlab-ui-'))
        prepare(dir)
        await use(dir)
        rmSync(dir, { recursive: true, force: true })
      },
      { scope: 'worker' },
    ],
    browserHost: [
      async ({ hostKind, workspaceDir }, use) => {
        if (hostKind !== 'browser') return use(undefined)
        const host = await startServeProcess(['--workspace', workspaceDir])
        await use(host)
        host.child.kill('SIGTERM')
      },
      { scope: 'worker' },
    ],
  })
}

/** Reads a chart's summary from the page's registry. */
export async function chartSummary(page: import('@playwright/test').Page, id: string): Promise<import('../src/renderer/lib/charts').ChartSummary | undefined> {
  return page.evaluate((chartId) => window.__hmmlabCharts?.get(chartId), id)
}

/** Goes to a view of the already loaded app (hash route), e.g. `#/results?run=x`. */
export async function gotoHash(page: import('@playwright/test').Page, hash: string): Promise<void> {
  // Let the router settle on its first view (it redirects / to #/experiments) before moving on.
  await page.getByRole('heading', { level: 2 }).first().waitFor()
  await page.evaluate((h) => {
    window.location.hash = h
  }, hash)
}
