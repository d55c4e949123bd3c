/**
 * A temporary workspace with stored runs for the UI specs that need only stored results (Results,
 * Compare, Runs list, Reports), written in the run store's layout
 * (`runs/<id>/{manifest,result,series}.json`, `experiments/<id>.json`): each run is a run record
 * (`hmmlab.run-record/1`, checked against its schema) stored by the service's own mapping. The numbers are made up but consistent (Held-by chains in the
 * ledger's shape: the live reference first, then object and reference in turn, the kept object last): process A mirrors
 * memory into gpu0, forks B, exits at 2 s; B closes the device file at 12 s; the run ends at 15 s.
 * It also puts a scenario in the workspace's `scenarios/` for the library specs.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base } from './fixtures'
import { DESIGN_TABLE } from '../src/sim/teardown'
import { parseScenario, runScenario, type DesignId } from '../src/sim/index'
import { RunRecord, recordMetrics, type InvalidationStat } from '../src/shared/record'
import { RunManifestV2, type ExperimentManifest } from '../src/shared/runs'
import type { SweepSummary } from '../src/shared/plan'
import { MEM_TYPE_NAMES } from '../src/shared/scenario'
type MemTypeName = (typeof MEM_TYPE_NAMES)[number]
import { storedRunOf } from '../src/main/services/experiments/stored-run'
import type { StoredRun } from '../src/main/services/store/run-store'
import { ROOT, startServeProcess, type BrowserHostProcess } from './fixtures'

const S = 1e9
const MiB = 1 << 20

export interface FixtureRun {
  id: string
  design: string
  seed?: number
  experimentId?: string
  parameters?: Record<string, string | number | boolean>
  /** Set for a run whose worker died: no record, stored as `crashed` with this error. */
  crashed?: string
  /** Bytes A mirrors (pages), drives every number. */
  mib?: number
  /** Whether B keeps A's memory after A exits (a leak), and until when (null: never). */
  leakUntil?: number | null
  /** Extra findings beyond the shared one. */
  useAfterFree?: boolean
  /** Points per memory series (for the large-chart benchmark). */
  points?: number
  /** Many invalidations and trace rows (for the scatter/timeline level of detail). */
  big?: { invalidations: number; traceEvents: number }
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

/** A step series sampled on a shared time axis (the value at or before each time). */
function onAxis(axis: number[], sr: { t: number[]; v: number[] }): number[] {
  const out = new Array<number>(axis.length)
  let j = -1
  for (let i = 0; i < axis.length; i++) {
    while (j + 1 < sr.t.length && sr.t[j + 1]! <= axis[i]!) j++
    out[i] = j < 0 ? 0 : sr.v[j]!
  }
  return out
}

/**
 * The record of one run (`hmmlab.run-record/1`), checked against the record's schema so the
 * fixture can never drift from what the simulator writes; its numbers are the made-up story above.
 */
export function makeRecord(r: FixtureRun): RunRecord {
  const mib = r.mib ?? 64
  const bytes = mib * MiB
  const end = 15 * S
  const leakUntil = r.leakUntil === undefined ? 12 * S : r.leakUntil
  const freeAt = leakUntil ?? end
  const pt = Math.round(bytes / 512)
  const named: Record<string, { t: number[]; v: number[] }> = {
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
    named['memory.pages'] = { t, v }
  }
  const axis = [...new Set([...Object.values(named).flatMap((sr) => sr.t), end])].sort((a, b) => a - b)
  const series: RunRecord['series'] = { t: axis, memory: {}, leaked: {} }
  for (const [name, sr] of Object.entries(named)) {
    const [kind, type] = name.split('.') as ['memory' | 'leaked', string]
    series[kind][type] = onAxis(axis, sr)
  }
  const held = (from: number, b: number): number => (b * (freeAt - from)) / S
  const leaks: RunRecord['leaks']['rows'] = [
    {
      objectType: 'pages',
      owner: 'mm of pid 100 (A)',
      heldBy: ['fd 3 of pid 101 (B)', 'struct file /dev/kfd', "the mirror's mm_users reference", 'mm of pid 100 (A)', 'its pages'],
      bytesAtEnd: leakUntil === null ? bytes : 0,
      peakBytes: bytes,
      byteSeconds: held(2 * S, bytes),
      since: 2 * S,
      until: leakUntil,
    },
    {
      objectType: 'gpu_pagetable',
      owner: 'mm of pid 100 (A)',
      heldBy: ['fd 3 of pid 101 (B)', 'struct file /dev/kfd', "the file's mirror", 'gpu0 mirror of mm A', 'its gpu_pagetable'],
      bytesAtEnd: leakUntil === null ? pt : 0,
      peakBytes: pt,
      byteSeconds: held(2 * S, pt),
      since: 2 * S,
      until: leakUntil,
    },
    {
      objectType: 'mm_struct',
      owner: 'pid 100 (A)',
      heldBy: ['fd 3 of pid 101 (B)', 'struct file /dev/kfd', "the mirror's mm_count reference", 'pid 100 (A) mm_struct'],
      bytesAtEnd: leakUntil === null ? 1024 : 0,
      peakBytes: 1024,
      byteSeconds: held(2 * S, 1024),
      since: 2 * S,
      until: leakUntil,
    },
  ]
  const n = r.big ? r.big.invalidations : 40
  let x = 99
  const rand = (): number => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  const dict = { event: ['munmap', 'exit_mmap', 'migrate'], device: ['gpu0', 'iommu0'], mechanism: ['gpu_tlb', 'iotlb_psi', 'iotlb_dsi', 'ats'] }
  const inv = {
    t: [] as number[],
    event: [] as number[],
    start: [] as number[],
    end: [] as number[],
    device: [] as number[],
    mechanism: [] as number[],
    pages: [] as number[],
    costNs: [] as number[],
    dict,
  }
  for (let i = 0; i < n; i++) {
    const size = r.big ? 4096 * 2 ** Math.floor(rand() * 12) : 4096 * 2 ** (i % 10)
    const start = 0x7f0000000000 + i * (r.big ? 4096 : 0x200000)
    inv.t.push(r.big ? Math.round((i / n) * end) : 0.7 * S + i * 0.03 * S)
    inv.event.push(i % 3)
    inv.start.push(start)
    inv.end.push(start + size)
    inv.device.push(i % 2)
    inv.mechanism.push(i % 4)
    inv.pages.push(size / 4096)
    inv.costNs.push(Math.round(300 + size / 64 + (r.big ? rand() * 5000 : (i % 2) * 900)))
  }
  /** Exact aggregates of the invalidation table, grouped by the given key. */
  const stats = (key: (i: number) => { event?: string; device?: string; mechanism?: string }): InvalidationStat[] => {
    const groups = new Map<string, { k: ReturnType<typeof key>; costs: number[] }>()
    for (let i = 0; i < n; i++) {
      const k = key(i)
      const id = JSON.stringify(k)
      const g = groups.get(id) ?? { k, costs: [] }
      g.costs.push(inv.costNs[i]!)
      groups.set(id, g)
    }
    const rank = (c: number[], p: number): number => c[Math.max(0, Math.ceil((p / 100) * c.length) - 1)]!
    return [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, g]) => {
        const c = [...g.costs].sort((a, b) => a - b)
        return {
          ...g.k,
          count: c.length,
          totalNs: c.reduce((a, b) => a + b, 0),
          p50Ns: rank(c, 50),
          p90Ns: rank(c, 90),
          p99Ns: rank(c, 99),
          maxNs: c[c.length - 1]!,
        }
      })
  }
  const ev = (i: number): string => dict.event[inv.event[i]!]!
  const dv = (i: number): string => dict.device[inv.device[i]!]!
  const mc = (i: number): string => dict.mechanism[inv.mechanism[i]!]!
  const findings: RunRecord['findings']['rows'] = [
    {
      kind: 'warn',
      severity: 'warning',
      message: `${r.design} kept ${mib} MiB of A's address space alive after A exited`,
      signature: 'leak:page:A',
      t: 2 * S,
      paths: [{ label: 'held by', frames: ['do_exit', 'exit_mm', 'mmput', 'mirror->mm (fd 3 of B)'] }],
    },
  ]
  if (r.useAfterFree) {
    findings.push({
      kind: 'use_after_free',
      severity: 'error',
      message: 'free_notifier ran after the mm was freed',
      signature: 'uaf:free_notifier',
      t: 12.5 * S,
      paths: [
        { label: 'freed', frames: ['__mmdrop', 'free_mm'] },
        { label: 'used', frames: ['srcu_invoke_callbacks', 'mmu_notifier_free_rcu', 'kfd_process_free_notifier'] },
      ],
    })
  }
  const peakBytes = Object.fromEntries(MEM_TYPE_NAMES.map((t) => [t, 0])) as Record<MemTypeName, number>
  const finalBytes = { ...peakBytes }
  for (const [type, v] of Object.entries(series.memory)) {
    peakBytes[type as MemTypeName] = v.reduce((a, b) => Math.max(a, b), 0)
    finalBytes[type as MemTypeName] = v[v.length - 1]!
  }
  const leakedTotal = axis.map((_, i) => Object.values(series.leaked).reduce((a, v) => a + v[i]!, 0))
  const memTotal = axis.map((_, i) => Object.values(series.memory).reduce((a, v) => a + v[i]!, 0))
  const aggregates: RunRecord['aggregates'] = {
    invalidations: {
      count: n,
      totalNs: inv.costNs.reduce((a, b) => a + b, 0),
      by: stats((i) => ({ event: ev(i), device: dv(i), mechanism: mc(i) })),
      byEvent: stats((i) => ({ event: ev(i) })),
      byDevice: stats((i) => ({ device: dv(i) })),
      byMechanism: stats((i) => ({ mechanism: mc(i) })),
    },
    peakBytes,
    peakBytesTotal: memTotal.reduce((a, b) => Math.max(a, b), 0),
    finalBytes,
    leaked: { endBytes: leakedTotal[leakedTotal.length - 1]!, peakBytes: bytes + pt, byteSeconds: leaks.reduce((a, l) => a + l.byteSeconds, 0) },
    deviceTlbs: [{ device: 'gpu0', hits: 0, misses: 0, pageFlushes: n / 2, fullFlushes: 0 }],
    iommus: [{ name: 'iommu0', vendor: 'intel', psi: 10, dsi: 10, ats: 0, qiWaits: 20, iotlbHits: 0, iotlbMisses: 0 }],
    counters: {},
    srcuCallbacksPending: 0,
  }
  const expects: RunRecord['expects']['rows'] = [
    { step: 5, line: 12, t: 12 * S, what: 'mm_users(A) == 0', passed: true, checks: [{ what: 'mm_users(A)', expected: '0', actual: '0', passed: true }] },
  ]
  const outcome: RunRecord['outcome'] = { status: 'passed', simulatedNs: end, events: 1000, stepsDone: 6, stepsTotal: 6 }
  const tbl = <T>(rows: T[]): { rows: T[]; total: number; dropped: number } => ({ rows, total: rows.length, dropped: 0 })
  const design = DESIGN_TABLE[r.design as DesignId] ?? DESIGN_TABLE.D1
  const record: RunRecord = {
    schema: 'hmmlab.run-record/1',
    meta: {
      scenario: { name: 'fork after mirror', file: 'fork-after-mirror.yaml', hash: '00000000', text: SCENARIO_TEXT, description: 'fixture' },
      design: { id: design.id, title: design.title, summary: design.summary, correct: design.correct },
      seed: r.seed ?? 1,
      parameters: r.parameters ?? {},
      versions: { hmmlab: '0.1.0', node: process.versions.node },
      costs: { source: 'default' },
    },
    outcome,
    metrics: recordMetrics(outcome, aggregates, findings.length, 0),
    aggregates,
    invalidations: { rows: inv, total: n, dropped: 0 },
    trace: tbl(
      r.big
        ? bigTrace(r.big.traceEvents, end)
        : [
            { t: 0.5 * S, cat: 'task:100', name: 'mmap', detail: `start=0x7f0000000000 len=${bytes}` },
            { t: 0.6 * S, cat: 'dev:gpu0', name: 'hmm_range_fault', detail: `pages=${mib * 256}` },
            { t: 1 * S, cat: 'task:100', name: 'fork', detail: 'child=101' },
            { t: 2 * S, cat: 'task:100', name: 'exit', detail: '' },
            { t: 2.1 * S, cat: 'iommu:0', name: 'iotlb_inv_psi', detail: 'pasid=3' },
            { t: 12 * S, cat: 'task:101', name: 'close', detail: 'fd=3' },
          ],
    ),
    lanes: [
      { id: 'task:100', kind: 'task', label: 'A (pid 100)' },
      { id: 'task:101', kind: 'task', label: 'B (pid 101)' },
      { id: 'dev:gpu0', kind: 'device', label: 'gpu0' },
      { id: 'iommu:0', kind: 'iommu', label: 'iommu0' },
    ],
    steps: tbl([
      { op: 'mmap', line: 6, t0: 0.5 * S, t1: 0.5 * S, ret: 0, cpages: null, faults: null },
      { op: 'mirror', line: 7, t0: 0.6 * S, t1: 0.65 * S, ret: 0, cpages: mib * 256, faults: mib * 256 },
      { op: 'fork', line: 8, t0: 1 * S, t1: 1 * S, ret: 101, cpages: null, faults: null },
      { op: 'exit', line: 9, t0: 2 * S, t1: 2 * S, ret: 0, cpages: null, faults: null },
      { op: 'close', line: 10, t0: 12 * S, t1: 12 * S, ret: 0, cpages: null, faults: null },
      { op: 'expect', line: 12, t0: 12 * S, t1: 12 * S, ret: null, cpages: null, faults: null },
    ]),
    markers: tbl([
      { t: 1 * S, kind: 'fork', label: 'fork A→B' },
      { t: 2 * S, kind: 'exit', label: 'exit A' },
      { t: 12 * S, kind: 'close', label: 'close fd 3 (B)' },
      ...(leakUntil !== null ? [{ t: leakUntil, kind: 'free_notifier', label: 'free_notifier' }] : []),
    ]),
    findings: tbl(findings),
    expects: tbl(expects),
    leaks: tbl(leaks),
    liveAtEnd: tbl(leakUntil === null ? [{ type: 'pages' as const, owner: 'mm of pid 100 (A)', label: 'anon pages', bytes, allocT: 0.5 * S }] : []),
    series,
  }
  return RunRecord.parse(record)
}

/** A long trace over the four lanes: faults, and every fifth an invalidation. */
function bigTrace(count: number, end: number): RunRecord['trace']['rows'] {
  const lanes = ['task:100', 'task:101', 'dev:gpu0', 'iommu:0']
  return Array.from({ length: count }, (_, i) => ({
    t: Math.round((i / count) * end),
    cat: lanes[i % lanes.length]!,
    name: i % 5 ? 'fault' : 'invalidate',
    detail: '',
  }))
}

/** The stored files of one run, mapped by the same code the experiment service stores runs with. */
export function makeRun(r: FixtureRun): StoredRun {
  const text = SCENARIO_TEXT
  const ctx = {
    runId: r.id,
    ...(r.experimentId ? { experimentId: r.experimentId } : {}),
    design: r.design,
    seed: r.seed ?? 1,
    parameters: r.parameters ?? {},
    scenarioName: 'fork after mirror',
    fileName: 'fork-after-mirror.yaml',
    text,
    hash: createHash('sha256').update(text).digest('hex'),
    queuedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.100Z',
    finishedAt: r.finishedAt ?? '2026-01-01T00:00:01.000Z',
    node: process.versions.node,
  }
  const run = r.crashed ? storedRunOf({ status: 'failed', error: r.crashed }, ctx) : storedRunOf(makeRecord(r), ctx)
  RunManifestV2.parse(run.manifest)
  return run
}

export interface FixtureExperiment {
  id: string
  name: string
  sweep: Record<string, (string | number)[]>
  runIds: string[]
  /** Seeds per design (`seeds:`) and the sweep summary, for a seed sweep. */
  seeds?: number
  summary?: SweepSummary
}

/** The stored manifest of a fixture experiment. */
export function experimentManifest(e: FixtureExperiment): ExperimentManifest {
  return {
    schema: 'hmmlab.experiment/1',
    id: e.id,
    name: e.name,
    createdAt: '2026-01-01T00:00:00.000Z',
    scenario: { name: 'fork after mirror', fileName: 'fork-after-mirror.yaml', hash: createHash('sha256').update(SCENARIO_TEXT).digest('hex') },
    sweep: e.sweep,
    runIds: e.runIds,
    ...(e.seeds ? { seeds: e.seeds } : {}),
    ...(e.summary ? { summary: e.summary } : {}),
  }
}

/** Writes runs (and optionally an experiment) into `root` in the run store's layout. */
export function writeWorkspace(root: string, runs: FixtureRun[], experiments: FixtureExperiment[] = []): void {
  for (const r of runs) {
    const dir = join(root, 'runs', r.id)
    mkdirSync(dir, { recursive: true })
    const { manifest, result, series } = makeRun(r)
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result))
    writeFileSync(join(dir, 'series.json'), JSON.stringify(series))
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2))
  }
  if (experiments.length) mkdirSync(join(root, 'experiments'), { recursive: true })
  for (const e of experiments) writeFileSync(join(root, 'experiments', `${e.id}.json`), JSON.stringify(experimentManifest(e), null, 2))
  mkdirSync(join(root, 'scenarios', 'mine'), { recursive: true })
  writeFileSync(join(root, 'scenarios', 'mine', 'fork-after-mirror.yaml'), SCENARIO_TEXT)
}

/** The standard fixture: two single runs (D1 leaks until close, D4 never frees + use-after-free), a failed run, and a sweep. */
export function standardWorkspace(root: string): void {
  const sweepRuns: FixtureRun[] = []
  for (const design of ['D1', 'D4'])
    for (const mib of [16, 32, 64])
      sweepRuns.push({
        id: `sweep-${design}-${mib}`,
        design,
        mib,
        experimentId: 'exp-sweep',
        parameters: { 'machine.mirror_mib': mib },
        finishedAt: '2026-01-01T00:00:00.500Z',
      })
  writeWorkspace(
    root,
    [
      { id: 'run-d1', design: 'D1', finishedAt: '2026-01-01T00:00:03.000Z' },
      { id: 'run-d4', design: 'D4', leakUntil: null, useAfterFree: true, finishedAt: '2026-01-01T00:00:02.000Z' },
      { id: 'run-failed', design: 'D2', crashed: 'worker crashed: out of memory at step 7', finishedAt: '2026-01-01T00:00:01.000Z' },
      ...sweepRuns,
    ],
    [{ id: 'exp-sweep', name: 'mirror size sweep', sweep: { 'machine.mirror_mib': [16, 32, 64], design: ['D1', 'D4'] }, runIds: sweepRuns.map((r) => r.id) }],
  )
}

/**
 * Real runs of a shipped scenario (by default the 2014 fork scenario,
 * scenarios/thread-2014/a-fork-after-mirror.yaml) under the given designs, run by the simulator
 * here and stored by the service's own mapping as `<prefix>-<design>` (`fork-D1`): records with the
 * lifetimes timeline, refcount tracks and Held-by chains.
 */
export function writeRealRuns(root: string, designs: DesignId[], file = 'scenarios/thread-2014/a-fork-after-mirror.yaml', prefix = 'fork'): void {
  const text = readFileSync(join(ROOT, file), 'utf8')
  for (const [k, design] of designs.entries())
    // the first design is the newest
    writeSimulatedRun(root, `${prefix}-${design}`, text, file, design, new Date(Date.parse('2026-01-01T00:00:02.000Z') - k * 1000).toISOString())
}

/** One run of `text` under `design`, simulated here and stored as `id` by the service's own mapping. */
export function writeSimulatedRun(
  root: string,
  id: string,
  text: string,
  fileName: string,
  design: DesignId = 'D1',
  finishedAt = '2026-01-01T00:00:01.000Z',
): void {
  const record = runScenario(parseScenario(text, fileName), { design, meta: { text } })
  const run = storedRunOf(record, {
    runId: id,
    design,
    seed: 1,
    parameters: {},
    scenarioName: record.meta.scenario.name,
    fileName,
    text,
    queuedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.100Z',
    finishedAt,
    node: process.versions.node,
  })
  const dir = join(root, 'runs', id)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'result.json'), JSON.stringify(run.result))
  writeFileSync(join(dir, 'series.json'), JSON.stringify(run.series))
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(run.manifest, null, 2))
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
