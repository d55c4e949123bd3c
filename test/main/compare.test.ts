import { describe, expect, it } from 'vitest'
import { alignSeries, compareRuns, sampleStep, type ComparableRun } from '../../src/main/services/compare'
import type { RunManifest } from '../../src/shared/runs'

function run(id: string, design: string, metrics: Record<string, number>, findings: [string, string][], series: Record<string, unknown> = {}): ComparableRun {
  const manifest: RunManifest = {
    schema: 'hmmlab.run/2',
    id,
    scenario: { name: 's', fileName: 's.yaml', hash: '0'.repeat(64), text: '' },
    design,
    seed: 7,
    parameters: { 'machine.devices.count': 2 },
    versions: { hmmlab: '0', node: '20' },
    timings: { queuedAt: '', finishedAt: '', wallMs: 0 },
    status: 'passed',
    tags: [],
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { value: v, unit: 'count' as const }])),
    expects: { passed: 0, failed: 0 },
    findings: findings.length,
  }
  return { manifest, series, findings: findings.map(([kind, signature]) => ({ kind, signature, message: `${kind} ${signature}` })) }
}

describe('compare', () => {
  it('tabulates metrics with differences and ratios to the first run', () => {
    const c = compareRuns([run('a', 'D1', { leaked: 100, invalidations: 4 }, []), run('b', 'D4', { leaked: 25 }, [])])
    expect(c.runs.map((r) => r.label)).toEqual(['D1, seed 7, machine.devices.count=2', 'D4, seed 7, machine.devices.count=2'])
    expect(c.metrics).toEqual([
      { name: 'invalidations', unit: 'count', values: [4, null], deltas: [0, null], ratios: [1, null] },
      { name: 'leaked', unit: 'count', values: [100, 25], deltas: [0, -75], ratios: [1, 0.25] },
    ])
  })

  it('says how many rows each run’s invalidation table kept, when the route knows it', () => {
    const capped = { ...run('a', 'D5', { invalidation_count: 12003 }, []), invalidationRows: { total: 12003, dropped: 7907 } }
    const c = compareRuns([capped, run('b', 'D1', { invalidation_count: 4 }, [])])
    expect(c.runs.map((r) => r.invalidationRows)).toEqual([{ total: 12003, dropped: 7907 }, undefined])
    // the metric is the record's exact count, not the table's rows
    expect(c.metrics[0]!.values).toEqual([12003, 4])
  })

  it('splits findings into in all, only in one, and in some', () => {
    const c = compareRuns([
      run('a', 'D1', {}, [
        ['leak', 'mm'],
        ['uaf', 'release'],
      ]),
      run('b', 'D2', {}, [
        ['leak', 'mm'],
        ['uaf', 'release'],
        ['invariant', '4'],
      ]),
      run('c', 'D4', {}, [['leak', 'mm']]),
    ])
    expect(c.findings.inAll.map((f) => f.kind)).toEqual(['leak'])
    expect(c.findings.onlyIn.map((list) => list.map((f) => f.kind))).toEqual([[], ['invariant'], []])
    expect(c.findings.inSome).toEqual([{ finding: expect.objectContaining({ kind: 'uaf' }), runIds: ['a', 'b'] }])
  })

  it('aligns step series on the union of their times', () => {
    const aligned = alignSeries([{ mem: { t: [0, 10], v: [1, 2] } }, { mem: { t: [5], v: [7] }, other: { t: [0], v: [3] } }])
    expect(aligned).toEqual([
      {
        name: 'mem',
        t: [0, 5, 10],
        values: [
          [1, 1, 2],
          [null, 7, 7],
        ],
      },
      { name: 'other', t: [0], values: [[null], [3]] },
    ])
    expect(sampleStep({ t: [2, 4], v: [9, 8] }, [0, 2, 3, 4, 100])).toEqual([null, 9, 9, 8, 8])
  })

  it('needs two runs', () => {
    expect(() => compareRuns([run('a', 'D1', {}, [])])).toThrow('at least two runs')
  })
})
