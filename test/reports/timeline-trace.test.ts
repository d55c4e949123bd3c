/**
 * The Perfetto trace of a run with a timeline shows the app's tracks: one thread per timeline lane,
 * every slice of the record, every flow as an 's' → 'f' pair bound to its slices, refcount counters.
 */
import { describe, expect, it } from 'vitest'
import { exportStoredRuns, type TraceEventJson } from '../../src/main/services/reports'
import { forkRun } from '../fixtures/runs/make'
import type { StoredRecord } from '../../src/shared/record'

describe('trace export of the timeline', () => {
  it('D1: lanes are threads, slices are X events, flows are flow events, refcounts are counters', async () => {
    const run = forkRun('D1')
    const rec = run.result as StoredRecord
    const tl = rec.timeline!
    const rc = rec.refcounts!
    const trace = JSON.parse((await exportStoredRuns([run], 'trace', { probe: 'none' })).content) as { traceEvents: TraceEventJson[] }
    const ev = trace.traceEvents
    const threads = ev.filter((e) => e.name === 'thread_name').map((e) => String(e.args!.name))
    // task lanes are named as the task's lifetime slice ("A (pid 100)"), the others by their label
    for (const l of tl.lanes) expect(threads, l.label).toContain(l.kind === 'task' ? `${l.id.slice(5)} (pid ${l.id === 'task:A' ? 100 : 101})` : l.label)

    const cats = tl.slices.dict.cat
    for (const [ci, cat] of cats.entries()) {
      const want = tl.slices.cat.filter((c) => c === ci).length
      expect(ev.filter((e) => e.ph === 'X' && e.cat === cat).length, cat).toBe(want)
    }
    // invalidations come from the timeline only (not twice from the invalidation table)
    expect(ev.filter((e) => e.cat === 'invalidation').length).toBe(0)

    const starts = ev.filter((e) => e.ph === 's')
    const ends = ev.filter((e) => e.ph === 'f')
    expect(starts.length).toBe(tl.flows.from.length)
    expect(ends.length).toBe(tl.flows.from.length)
    const xs = ev.filter((e) => e.ph === 'X')
    const inside = (e: TraceEventJson): boolean => xs.some((x) => x.pid === e.pid && x.tid === e.tid && x.ts! <= e.ts! + 1e-9 && e.ts! <= x.ts! + x.dur! + 1e-9)
    for (const s of starts) expect(inside(s), `flow ${s.id} starts in a slice`).toBe(true)
    for (const f of ends) {
      expect(f.bp).toBe('e')
      expect(
        xs.some((x) => x.pid === f.pid && x.tid === f.tid && Math.abs(x.ts! - f.ts!) < 1e-9),
        `flow ${f.id} ends at a slice`,
      ).toBe(true)
      expect(starts.some((s) => s.id === f.id)).toBe(true)
    }
    // slices on one thread nest
    const byThread = new Map<string, TraceEventJson[]>()
    for (const x of xs) byThread.set(`${x.pid}/${x.tid}`, [...(byThread.get(`${x.pid}/${x.tid}`) ?? []), x])
    for (const list of byThread.values()) {
      const open: number[] = []
      for (const x of list) {
        while (open.length && open[open.length - 1]! <= x.ts! + 1e-9) open.pop()
        if (open.length) expect(x.ts! + x.dur!).toBeLessThanOrEqual(open[open.length - 1]! + 1e-9)
        open.push(x.ts! + x.dur!)
      }
    }
    const counters = ev.filter((e) => e.ph === 'C' && e.cat === 'refcount')
    expect(counters.length).toBe(rc.rows.t.length)
    expect(counters.some((c) => c.name === 'mm of A mm_users')).toBe(true)
  })
})
