/**
 * A valid run record built by hand for the fake run worker. Type imports only: the pool tests time
 * their runs, and loading the simulator or the zod schemas in every worker thread would add seconds.
 */
import type { Aggregates, Metrics, Outcome, RunRecord } from '../../../src/shared/record'

const MEM_TYPE_NAMES = [
  'mm_struct',
  'vma',
  'cpu_pagetable',
  'pages',
  'gpu_pagetable',
  'iommu_pagetable',
  'vram',
  'driver_object',
  'notifier',
  'pasid',
  'file',
] as const

export function fakeRecord(task: { design: string; seed: number; parameters: Record<string, string | number | boolean> }, stoppedAt?: number): RunRecord {
  const zero = Object.fromEntries(MEM_TYPE_NAMES.map((t) => [t, 0])) as Aggregates['peakBytes']
  const outcome: Outcome = {
    status: stoppedAt === undefined ? 'passed' : 'stopped',
    ...(stoppedAt === undefined ? {} : { stop: { reason: 'user' as const, message: `cancelled at step ${stoppedAt}` } }),
    simulatedNs: 1000,
    events: 1,
    stepsDone: stoppedAt ?? 1,
    stepsTotal: 1,
  }
  const aggregates: Aggregates = {
    invalidations: { count: 0, totalNs: 0, by: [], byEvent: [], byDevice: [], byMechanism: [] },
    peakBytes: zero,
    peakBytesTotal: 0,
    finalBytes: zero,
    leaked: { endBytes: 0, peakBytes: 0, byteSeconds: 0 },
    deviceTlbs: [],
    iommus: [],
    counters: { seed: task.seed },
    srcuCallbacksPending: 0,
  }
  const t = Array.from({ length: 1000 }, (_, i) => i)
  const empty = { rows: [], total: 0, dropped: 0 }
  return {
    schema: 'hmmlab.run-record/1',
    meta: {
      scenario: { name: 'fake', file: 'fake.yaml', hash: '0', text: '', description: '' },
      design: { id: task.design as RunRecord['meta']['design']['id'], title: task.design, summary: '', correct: true },
      seed: task.seed,
      parameters: task.parameters,
      versions: { hmmlab: '0' },
      costs: { source: 'default' },
    },
    outcome,
    metrics: {
      simulated_ns: { value: outcome.simulatedNs, unit: 'ns' },
      findings: { value: 0, unit: 'count' },
      'counter.seed': { value: task.seed, unit: 'count' },
    } satisfies Metrics,
    aggregates,
    invalidations: {
      rows: { t: [], event: [], start: [], end: [], device: [], mechanism: [], pages: [], costNs: [], dict: { event: [], device: [], mechanism: [] } },
      total: 0,
      dropped: 0,
    },
    trace: empty,
    lanes: [],
    steps: empty,
    markers: empty,
    findings: empty,
    expects: empty,
    leaks: empty,
    liveAtEnd: empty,
    series: { t, memory: { pages: t.map((i) => i * task.seed) }, leaked: {} },
  }
}
