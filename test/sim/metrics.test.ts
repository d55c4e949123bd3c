import { describe, expect, it } from 'vitest'
import { Kernel } from '../../src/sim/kernel/context'
import { attachMetrics } from '../../src/sim/metrics/collectors'
import { parseScenario, runScenario } from '../../src/sim/index'

describe('peak bytes by memory type (memory_growth subscriber)', () => {
  it('counts a peak that lasts no simulated time (allocated and freed in one time stamp)', () => {
    const w = new Kernel(1, undefined, 10)
    const m = attachMetrics(w.hooks)
    const owner = w.ledger.addOwner('task A')
    const a = w.ledger.alloc('vma', 1000, owner, 'a', [])
    const b = w.ledger.alloc('vma', 500, owner, 'b', [])
    w.ledger.free(b, [])
    w.ledger.charge('pages', owner, 4096)
    w.ledger.charge('pages', owner, -4096)
    w.ledger.free(a, [])
    w.ledger.alloc('vma', 200, owner, 'c', [])
    w.ledger.flush()
    const p = m.peak.byType()
    expect(p.vma).toBe(1500)
    expect(p.pages).toBe(4096)
    expect(p.mm_struct).toBe(0)
    // the series only sees the end of the time stamp
    expect(m.memory.series.byType.vma).toEqual([200])
  })

  it('in a run, every type peaks at least at its final and at every sampled value', () => {
    const sc = parseScenario(
      `
name: peaks
machine: { devices: [ { name: d, kind: dmirror } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: d, fd: f }
  - mmap: { task: A, region: a, size: 4M }
  - touch: { task: A, region: a, write: true }
  - mirror: { task: A, fd: f }
  - device_read: { task: A, fd: f, region: a }
  - munmap: { task: A, region: a }
  - exit: { task: A }
  - sleep: 10ms
`,
      'p.yaml',
    )
    const r = runScenario(sc, { design: 'D4' })
    for (const [t, v] of Object.entries(r.aggregates.peakBytes)) {
      const series = r.series.memory[t] ?? []
      expect(v).toBeGreaterThanOrEqual(Math.max(0, ...series))
      expect(v).toBeGreaterThanOrEqual(r.aggregates.finalBytes[t as keyof typeof r.aggregates.finalBytes])
    }
    expect(r.aggregates.peakBytes.pages).toBe(4 * 2 ** 20)
  })
})

describe('the cost model table in docs/scenarios.md', () => {
  it('lists every default of COST_DEFAULTS with its value and confidence, and nothing else', async () => {
    const { readFileSync } = await import('node:fs')
    const { COST_DEFAULTS, COST_NAMES } = await import('../../src/sim/cost/model')
    const doc = readFileSync('docs/scenarios.md', 'utf8')
    const sec = doc.slice(doc.indexOf('## Cost model'), doc.indexOf('## What the model does'))
    const rows = [...sec.matchAll(/^\| `([a-z_0-9]+)` \| (\d+)(?: [a-z]+)? \| \[([VSMUI])\] /gm)].map((m) => [m[1], Number(m[2]), m[3]])
    expect(rows).toEqual(COST_NAMES.map((n) => [n, COST_DEFAULTS[n].value, COST_DEFAULTS[n].conf]))
    for (const n of COST_NAMES) expect(COST_DEFAULTS[n].source.length).toBeGreaterThan(10)
  })
})
