import { describe, expect, it } from 'vitest'
import type { Aggregates, InvalidationColumns as InvalidationTable, Leak } from '../../src/shared/record'
import type { RunManifest } from '../../src/shared/runs'
import {
  cdf,
  compareSeries,
  costMatrix,
  costOverTime,
  costVsSize,
  countsBy,
  filterLeaks,
  histogram,
  leakWaterfall,
  lodStep,
  lowerBound,
  orderTypes,
  quantile,
  readSeries,
  resampleStep,
  sortFindings,
  sortLeaks,
  stackSeries,
  sweepLines,
  sweptParameters,
  timelineData,
  unionGrid,
} from '../../src/renderer/lib/shape'

describe('step series', () => {
  it('resamples step functions on the union of their times (value holds until the next sample, 0 before)', () => {
    const a = { t: [0, 10, 20], v: [1, 2, 3] }
    const b = { t: [5, 20], v: [7, 0] }
    const grid = unionGrid([a, b])
    expect([...grid]).toEqual([0, 5, 10, 20])
    expect([...resampleStep(a, grid)]).toEqual([1, 1, 2, 3])
    expect([...resampleStep(b, grid)]).toEqual([0, 7, 7, 0])
  })

  it('stacks memory.<type> series in the ledger order, tops are running sums', () => {
    const s = stackSeries(
      {
        'memory.pages': { t: [0, 10], v: [100, 50] },
        'memory.mm_struct': { t: [0], v: [1] },
        'memory.zz_custom': { t: [5], v: [2] },
        'leaked.page': { t: [0], v: [9] },
      },
      'memory.',
    )
    expect(s.types).toEqual(['mm_struct', 'pages', 'zz_custom'])
    expect([...s.grid]).toEqual([0, 5, 10])
    expect([...s.tops[0]!]).toEqual([1, 1, 1])
    expect([...s.tops[1]!]).toEqual([101, 101, 51])
    expect([...s.tops[2]!]).toEqual([101, 103, 53])
    expect(s.max).toBe(103)
  })

  it('leaves a total out of a stack of its parts, keeps it when alone', () => {
    expect(stackSeries({ 'leaked.total': { t: [0], v: [3] }, 'leaked.pages': { t: [0], v: [3] } }, 'leaked.').types).toEqual(['pages'])
    expect(stackSeries({ 'leaked.total': { t: [0], v: [3] } }, 'leaked.').types).toEqual(['total'])
  })

  it('orders unknown types after the known ones', () => {
    expect(orderTypes(['b', 'pages', 'a', 'mm_struct'])).toEqual(['mm_struct', 'pages', 'a', 'b'])
  })

  it('keeps only well-formed series', () => {
    const r = readSeries({ ok: { t: [1], v: [2] }, bad: { t: [1, 2], v: [1] }, worse: 3 })
    expect(Object.keys(r.series)).toEqual(['ok'])
    expect(r.bad).toEqual(['bad', 'worse'])
  })

  it('stacks series that start at different times (0 before the first sample)', () => {
    const s = stackSeries({ 'memory.vma': { t: [5, 10], v: [1, 0] }, 'memory.mm_struct': { t: [0, 10], v: [3, 3] } }, 'memory.')
    expect([...s.grid]).toEqual([0, 5, 10])
    expect([...s.values[1]!]).toEqual([0, 1, 0])
    expect([...s.tops[1]!]).toEqual([3, 4, 3])
  })

  it('level of detail: repeats dropped, min-max per bucket keeps the peaks, edges kept', () => {
    const n = 100_000
    const grid = Float64Array.from({ length: n }, (_, i) => i)
    const tops = Float64Array.from({ length: n }, (_, i) => (i === 54_321 ? 1e9 : i % 10))
    const pts = lodStep(grid, tops, tops, 0, n - 1, 100)
    expect(pts.length).toBeLessThanOrEqual(400)
    expect(pts.some((p) => p.y === 1e9 && p.x === 54_321)).toBe(true)
    expect(pts[0]!.x).toBe(0)
    expect(pts[pts.length - 1]!.x).toBe(n - 1)
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.x).toBeGreaterThan(pts[i - 1]!.x)
    // A zoomed range: only that range (plus one sample either side), at full detail when small.
    const zoom = lodStep(grid, tops, tops, 1000, 1100, 100)
    expect(zoom[0]!.x).toBe(999)
    expect(zoom[zoom.length - 1]!.x).toBe(1100)
    expect(zoom).toHaveLength(102)
    // A flat band costs two points however long the grid.
    expect(lodStep(grid, new Float64Array(n), new Float64Array(n), 0, n, 100)).toHaveLength(2)
    expect(lowerBound(grid, 10.5)).toBe(11)
  })

  it('level of detail: zoomed inside one step, the band keeps its value at both edges of the window', () => {
    const grid = new Float64Array([0, 100, 200])
    const tops = new Float64Array([5, 7, 9])
    // nothing changes between 10 and 20: the held value 5 is drawn from edge to edge
    expect(lodStep(grid, tops, tops, 10, 20)).toEqual([
      { x: 0, y: 5, v: 5 },
      { x: 10, y: 5, v: 5 },
      { x: 20, y: 5, v: 5 },
      { x: 100, y: 7, v: 7 },
    ])
    // a change inside the window: the end edge holds the value in effect there
    expect(lodStep(grid, tops, tops, 50, 150)).toEqual([
      { x: 0, y: 5, v: 5 },
      { x: 50, y: 5, v: 5 },
      { x: 100, y: 7, v: 7 },
      { x: 150, y: 7, v: 7 },
      { x: 200, y: 9, v: 9 },
    ])
    // every point the chart gets lies inside or at the first sample before / after the window
    const inside = lodStep(grid, tops, tops, 10, 20).filter((p) => p.x >= 10 && p.x <= 20)
    expect(inside.length).toBeGreaterThanOrEqual(2)
  })

  it('stacks a million points onto one grid', () => {
    const n = 1_000_000
    const t = Array.from({ length: n }, (_, i) => i)
    const v = Array.from({ length: n }, (_, i) => i % 97)
    const s = stackSeries({ 'memory.page': { t, v }, 'memory.vma': { t: [0, n / 2], v: [1, 2] } }, 'memory.')
    expect(s.grid.length).toBe(n)
    // At t = n - 1 the page band holds (n - 1) % 97 and the vma band 2 (its value since n / 2).
    expect(s.values[s.types.indexOf('page')]![n - 1]).toBe((n - 1) % 97)
    expect(s.values[s.types.indexOf('vma')]![n - 1]).toBe(2)
    expect(Math.max(...s.tops.map((top) => top[n - 1]!))).toBe(((n - 1) % 97) + 2)
    expect(s.max).toBe(96 + 2)
  })
})

const leak = (over: Partial<Leak>): Leak => ({
  objectType: 'pages',
  owner: 'mm of A',
  heldBy: ["B's fd 3", 'struct file'],
  bytesAtEnd: 0,
  peakBytes: 10,
  byteSeconds: 5,
  since: 1,
  until: 2,
  ...over,
})

describe('leaks', () => {
  const leaks = [
    leak({ objectType: 'pages', peakBytes: 30 }),
    leak({ objectType: 'pasid', owner: 'mm of Q', heldBy: [], peakBytes: 10, until: null }),
    leak({ objectType: 'vma', peakBytes: 20 }),
  ]

  it('sort by a column either way; never-freed sorts last ascending', () => {
    expect(sortLeaks(leaks, 'peakBytes', 'desc').map((l) => l.peakBytes)).toEqual([30, 20, 10])
    expect(sortLeaks(leaks, 'objectType', 'asc').map((l) => l.objectType)).toEqual(['pages', 'pasid', 'vma'])
    expect(sortLeaks(leaks, 'heldBy', 'asc').map((l) => l.heldBy.join(' → '))).toEqual(['', "B's fd 3 → struct file", "B's fd 3 → struct file"])
    expect(sortLeaks(leaks, 'until', 'asc').map((l) => l.until)).toEqual([2, 2, null])
  })

  it('filter by every word in type, owner or holder', () => {
    expect(filterLeaks(leaks, 'mm of Q').map((l) => l.objectType)).toEqual(['pasid'])
    expect(filterLeaks(leaks, 'fd 3 pages').map((l) => l.objectType)).toEqual(['pages'])
    expect(filterLeaks(leaks, '')).toHaveLength(3)
  })

  it('waterfall bars run from the owner gone to the free, or to the end of the run', () => {
    const bars = leakWaterfall(leaks, 100)
    expect(bars.map((b) => b.x)).toEqual([
      [1, 2],
      [1, 2],
      [1, 100],
    ])
    expect(bars.map((b) => b.bytes)).toEqual([30, 20, 10])
    expect(bars[2]!.open).toBe(true)
  })
})

const table: InvalidationTable = {
  t: [30, 10, 20, 40],
  event: [0, 1, 0, 0],
  start: [0, 0, 4096, 0],
  end: [4096, 2 ** 21, 8192, 0],
  device: [0, 0, 1, 1],
  mechanism: [0, 1, 1, 0],
  costNs: [100, 5000, 300, 200],
  pages: [1, 512, 1, 0],
  dict: { event: ['munmap', 'exit_mmap'], device: ['gpu0', 'iommu0'], mechanism: ['gpu_tlb', 'iotlb_psi'] },
}

/** Aggregates of more invalidations than the table above kept (the table is capped). */
const stat = (count: number, totalNs: number) => ({ count, totalNs, p50Ns: 1, p90Ns: 1, p99Ns: 1, maxNs: 1 })
const totals: Aggregates['invalidations'] = {
  count: 9,
  totalNs: 9000,
  by: [
    { event: 'munmap', device: 'gpu0', mechanism: 'gpu_tlb', ...stat(4, 400) },
    { event: 'exit_mmap', device: 'gpu0', mechanism: 'iotlb_psi', ...stat(1, 5000) },
    { event: 'munmap', device: 'iommu0', mechanism: 'gpu_tlb', ...stat(2, 2000) },
    { event: 'munmap', device: 'iommu0', mechanism: 'iotlb_psi', ...stat(2, 1600) },
  ],
  byEvent: [
    { event: 'exit_mmap', ...stat(1, 5000) },
    { event: 'munmap', ...stat(8, 4000) },
  ],
  byDevice: [],
  byMechanism: [],
}

describe('invalidations', () => {
  it('cost over time by device · mechanism, sorted by time', () => {
    const g = costOverTime(table, ['device', 'mechanism'])
    expect(g.map((x) => x.label)).toEqual(['gpu0 · gpu_tlb', 'gpu0 · iotlb_psi', 'iommu0 · gpu_tlb', 'iommu0 · iotlb_psi'])
    expect(costOverTime(table, ['mechanism']).find((x) => x.label === 'iotlb_psi')!.points).toEqual([
      { x: 10, y: 5000 },
      { x: 20, y: 300 },
    ])
  })

  it('cost vs size drops empty ranges (log axes)', () => {
    const pts = costVsSize(table, ['device']).flatMap((g) => g.points)
    expect(pts).toHaveLength(3)
    expect(pts).toContainEqual({ x: 2 ** 21, y: 5000 })
  })

  it('counts by event type and the device × mechanism matrix come from the record’s aggregates, not the capped table', () => {
    expect(countsBy(totals, 'event')).toEqual([
      { label: 'munmap', count: 8 },
      { label: 'exit_mmap', count: 1 },
    ])
    const m = costMatrix(totals)
    expect(m.devices).toEqual(['gpu0', 'iommu0'])
    expect(m.mechanisms).toEqual(['gpu_tlb', 'iotlb_psi'])
    expect(m.totals).toEqual([
      [400, 2000],
      [5000, 1600],
    ])
    expect(m.counts.flat().reduce((a, b) => a + b, 0)).toBe(totals.count)
  })

  it('histogram uses log bins across decades; CDF and quantiles', () => {
    const h = histogram([1, 10, 100, 1000, 10000], 4)
    expect(h.log).toBe(true)
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5)
    expect(h.edges[0]).toBeCloseTo(1)
    expect(h.edges[4]).toBeCloseTo(10000)
    const lin = histogram([1, 2, 3, 4], 2)
    expect(lin.log).toBe(false)
    expect(lin.counts).toEqual([2, 2])
    expect(histogram([]).counts).toEqual([])
    expect(cdf([3, 1, 2, 2])).toEqual([
      { x: 1, y: 0.25 },
      { x: 2, y: 0.75 },
      { x: 3, y: 1 },
    ])
    expect(quantile([5, 1, 3], 0.5)).toBe(3)
    expect(quantile([], 0.5)).toBeUndefined()
  })
})

describe('timeline', () => {
  it('orders lanes tasks, devices, IOMMUs; unknown lanes appended; slices carry their end', () => {
    const { lanes, points } = timelineData(
      [
        { id: 'i', kind: 'iommu', label: 'iommu0' },
        { id: 't', kind: 'task', label: 'A' },
        { id: 'd', kind: 'device', label: 'gpu0' },
      ],
      [
        { t: 5, lane: 'd', dur: 2 },
        { t: 1, lane: 't' },
        { t: 3, lane: 'x' },
      ],
    )
    expect(lanes.map((l) => l.label)).toEqual(['A', 'gpu0', 'iommu0', 'x'])
    expect(points).toEqual([
      { x: 1, y: 0, i: 1 },
      { x: 3, y: 3, i: 2 },
      { x: 5, y: 1, i: 0, x2: 7 },
    ])
  })
})

describe('findings', () => {
  it('errors first, then warnings, then info; earlier first', () => {
    const f = (severity: 'error' | 'warning' | 'info', t: number) => ({ kind: 'warn' as const, severity, message: '', signature: '', t, paths: [] })
    expect(sortFindings([f('info', 0), f('warning', 5), f('error', 9), f('warning', 1)]).map((x) => `${x.severity}@${x.t}`)).toEqual([
      'error@9',
      'warning@1',
      'warning@5',
      'info@0',
    ])
  })
})

const manifest = (design: string, mib: number, seed: number, metric: number): RunManifest =>
  ({ design, seed, status: 'passed', parameters: { 'machine.mib': mib }, metrics: { leak_bytes: { value: metric, unit: 'bytes' } } }) as unknown as RunManifest

describe('sweeps', () => {
  it('one line per design, values averaged over seeds, sorted by the parameter', () => {
    const runs = [manifest('D4', 32, 1, 10), manifest('D1', 16, 1, 1), manifest('D1', 32, 1, 2), manifest('D1', 16, 2, 3), manifest('D4', 16, 1, 20)]
    expect(sweptParameters(runs)).toEqual(['machine.mib', 'seed'])
    const s = sweepLines(runs, 'machine.mib', 'leak_bytes')
    expect(s.numeric).toBe(true)
    expect(s.lines).toEqual([
      {
        design: 'D1',
        points: [
          { x: 16, y: 2, n: 2 },
          { x: 32, y: 2, n: 1 },
        ],
      },
      {
        design: 'D4',
        points: [
          { x: 16, y: 20, n: 1 },
          { x: 32, y: 10, n: 1 },
        ],
      },
    ])
  })
})

describe('compare', () => {
  it('overlays one line per run and drops absent samples', () => {
    const c = {
      runs: [
        { id: 'a', label: 'A', design: 'D1', seed: 1, parameters: {} },
        { id: 'b', label: '', design: 'D4', seed: 1, parameters: {} },
      ],
      metrics: [],
      series: [
        {
          name: 'leaked.page',
          t: [0, 1, 2],
          values: [
            [0, 1, null],
            [null, 5, 6],
          ],
        },
      ],
      findings: { inAll: [], onlyIn: [[], []], inSome: [] },
    }
    expect(compareSeries(c, 'leaked.page')).toEqual([
      {
        label: 'A (a)',
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      },
      {
        label: 'D4 (b)',
        points: [
          { x: 1, y: 5 },
          { x: 2, y: 6 },
        ],
      },
    ])
  })
})
