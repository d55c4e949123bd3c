/**
 * The Perfetto trace: a Chrome trace-event JSON object that parses, whose every event is well
 * formed for its phase, with tracks for tasks, devices and IOMMUs, invalidation slices carrying
 * their cost, properly nested slices per thread, and memory counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportReport, exportStoredRuns, type TraceEventJson } from '../../src/main/services/reports'
import { forkRun } from '../fixtures/runs/make'
import { fixtureWorkspace, type FixtureWorkspace } from './helpers'
import { StoredRecord } from '../../src/shared/record'

let ws: FixtureWorkspace
beforeAll(async () => {
  ws = await fixtureWorkspace()
})
afterAll(async () => {
  await ws.dispose()
})

interface Parsed {
  traceEvents: TraceEventJson[]
  displayTimeUnit?: string
  otherData?: Record<string, unknown>
}

/** Checks one event against the trace-event format; returns the problems found. */
function problems(ev: TraceEventJson): string[] {
  const out: string[] = []
  if (typeof ev.name !== 'string' || ev.name === '') out.push('name')
  if (!['X', 'i', 'C', 'M', 'B', 'E', 'I', 's', 'f'].includes(ev.ph)) out.push(`ph ${ev.ph}`)
  if ((ev.ph === 's' || ev.ph === 'f') && !Number.isInteger(ev.id)) out.push('flow id')
  if (!Number.isInteger(ev.pid) || !Number.isInteger(ev.tid)) out.push('pid/tid')
  if (ev.ph !== 'M' && (typeof ev.ts !== 'number' || !Number.isFinite(ev.ts) || ev.ts < 0)) out.push('ts')
  if (ev.ph === 'X' && (typeof ev.dur !== 'number' || ev.dur < 0)) out.push('dur')
  if (ev.ph === 'i' && !['t', 'p', 'g'].includes(ev.s ?? '')) out.push('instant scope')
  if (ev.ph === 'C' && (!ev.args || Object.values(ev.args).some((v) => typeof v !== 'number'))) out.push('counter args')
  if (ev.ph === 'M') {
    if (!['process_name', 'thread_name', 'process_sort_index', 'thread_sort_index'].includes(ev.name)) out.push(`metadata ${ev.name}`)
    if (ev.name.endsWith('_name') && typeof ev.args?.name !== 'string') out.push('metadata name')
  }
  if (ev.args) for (const v of Object.values(ev.args)) if (!['string', 'number', 'boolean'].includes(typeof v)) out.push('args')
  return out
}

async function trace(target: Parameters<typeof exportReport>[1]): Promise<Parsed> {
  const r = await exportReport(ws.store, target, 'trace', { probe: 'none' })
  expect(r.mimeType).toBe('application/json')
  expect(r.fileName.endsWith('.trace.json')).toBe(true)
  return JSON.parse(r.content) as Parsed
}

describe('trace export', () => {
  it('a run trace is valid trace-event JSON with tracks, slices and counters', async () => {
    const t = await trace({ kind: 'run', runId: ws.runIds[0]! })
    expect(Array.isArray(t.traceEvents)).toBe(true)
    expect(t.displayTimeUnit).toBe('ns')
    const bad = t.traceEvents.map((e, i) => ({ i, p: problems(e) })).filter((x) => x.p.length)
    expect(bad.slice(0, 5)).toEqual([])

    const procs = new Map(t.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, String(e.args!.name)]))
    const procNames = [...procs.values()]
    for (const g of ['tasks', 'devices', 'IOMMUs', 'kernel', 'memory'])
      expect(
        procNames.some((n) => n.endsWith(`: ${g}`)),
        g,
      ).toBe(true)
    const threads = t.traceEvents.filter((e) => e.name === 'thread_name').map((e) => `${procs.get(e.pid)} / ${String(e.args!.name)}`)
    for (const name of ['tasks / A (pid 100)', 'tasks / B (pid 101)', 'devices / device gpu0', 'IOMMUs / IOMMU iommu0'])
      expect(
        threads.some((x) => x.endsWith(name)),
        name,
      ).toBe(true)

    // the record's timeline: its device TLB and IOMMU slices (each as long as its cost); the record's totals in otherData
    const run = await ws.store.getRun(ws.runIds[0]!)
    const rec = StoredRecord.parse(run.result)
    const tl = rec.timeline!
    const inv = t.traceEvents.filter((e) => e.cat === 'device_tlb' || e.cat === 'iommu')
    expect(inv.length).toBe(tl.slices.cat.filter((c) => ['device_tlb', 'iommu'].includes(tl.slices.dict.cat[c]!)).length)
    for (const e of inv) {
      expect(e.ph).toBe('X')
      // the detail gives the cost through the lab's formatter (4 significant digits)
      const m = /, ([\d.]+) (ns|µs|ms|s)$/.exec(String(e.args!.detail))
      expect(m, String(e.args!.detail)).not.toBeNull()
      const costUs = (Number(m![1]) * { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 }[m![2] as 'ns' | 'µs' | 'ms' | 's']) / 1000
      expect(Math.abs(e.dur! - costUs)).toBeLessThanOrEqual(costUs * 5e-4)
    }
    expect(String(t.otherData!.invalidations)).toContain(`${rec.aggregates.invalidations.count} costing ${rec.aggregates.invalidations.totalNs} ns`)
    const markers = t.traceEvents.filter((e) => e.cat?.startsWith('marker'))
    expect(markers.length).toBe(rec.markers.rows.length)
    // task lifetimes as slices on the task tracks: A from spawn to exit, B from the fork to its exit
    const lifetimes = t.traceEvents.filter((e) => e.cat === 'task')
    expect(lifetimes.map((e) => e.name)).toEqual(['A (pid 100)', 'B (pid 101)'])

    const counters = t.traceEvents.filter((e) => e.ph === 'C')
    const counterNames = new Set(counters.map((e) => e.name))
    expect(counterNames.has('memory.pages')).toBe(true)
    expect(counterNames.has('leaked.pages')).toBe(true)
    const page = counters.filter((e) => e.name === 'memory.pages')
    expect(Math.max(...page.map((e) => Number(e.args!.bytes)))).toBe(rec.aggregates.peakBytes.pages)
  })

  it('a record without a timeline (stored before it) gives the invalidation table as slices', async () => {
    const run = forkRun('D1')
    const rec = run.result as StoredRecord
    delete rec.timeline
    const t = JSON.parse((await exportStoredRuns([run], 'trace', { probe: 'none' })).content) as Parsed
    const inv = t.traceEvents.filter((e) => e.cat === 'invalidation')
    expect(inv.length).toBe(rec.invalidations.rows.t.length)
    for (const e of inv) {
      expect(e.ph).toBe('X')
      expect(e.dur).toBeCloseTo(Number(e.args!.cost_ns) / 1000, 9)
      expect(e.name.startsWith('invalidate ')).toBe(true)
    }
    expect(t.traceEvents.some((e) => e.ph === 's')).toBe(false)
  })

  it('slices on one thread never overlap without nesting (the format requires nesting)', async () => {
    const t = await trace({ kind: 'experiment', experimentId: ws.experimentId })
    const byThread = new Map<string, TraceEventJson[]>()
    for (const e of t.traceEvents.filter((x) => x.ph === 'X')) {
      const k = `${e.pid}:${e.tid}`
      byThread.set(k, [...(byThread.get(k) ?? []), e])
    }
    for (const [k, list] of byThread) {
      list.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!)
      const stack: number[] = []
      for (const e of list) {
        while (stack.length && stack[stack.length - 1]! <= e.ts!) stack.pop()
        const end = e.ts! + e.dur!
        if (stack.length) expect(end <= stack[stack.length - 1]! + 1e-9, `thread ${k}: slice at ${e.ts} crosses its parent`).toBe(true)
        stack.push(end)
      }
    }
    // six runs, five processes each, all distinct
    const pids = new Set(t.traceEvents.filter((e) => e.name === 'process_name').map((e) => e.pid))
    expect(pids.size).toBe(30)
  })
})
