/**
 * The record's refcount tracks and timeline: every refcount change the ledger saw, ending at the
 * object's real count; slices and flows that point at kept slices; bounded under a storm; the
 * same bytes for the same scenario and seed.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'
import { RunRecord, TIMELINE_CAPS } from '../../src/shared/record'
import type { World } from '../../src/sim/world'
import { read } from './helpers'

const FORK = 'scenarios/thread-2014/a-fork-after-mirror.yaml'

function run(file: string, design: 'D1' | 'D2' | 'D3' | 'D4' | 'D5' | 'D6', onWorld?: (w: World) => void): RunRecord {
  return runScenario(parseScenario(read(file), file), { design, ...(onWorld ? { hooks: { world: onWorld } } : {}) })
}

/** Values of one track in row order. */
function values(r: RunRecord, object: string, counter: string): number[] {
  const rc = r.refcounts!
  const ti = rc.tracks.findIndex((t) => t.object === object && t.counter === counter)
  expect(ti, `${object}.${counter} has a track`).toBeGreaterThanOrEqual(0)
  return rc.rows.value.filter((_, i) => rc.rows.track[i] === ti)
}

/** fork, threads (CLONE_VM mmget), vfork, execve (exec_mmap's mmput), dup2/dup3 and SCM_RIGHTS. */
const LANGUAGE = ['threads', 'vfork', 'execve-keeps-fds', 'fork-flags', 'fd-passing'].map((n) => `scenarios/language/${n}.yaml`)
const CASES: [string, 'D1' | 'D2' | 'D4' | 'D6'][] = [
  ...(['D1', 'D2', 'D4', 'D6'] as const).map((d): [string, typeof d] => [FORK, d]),
  ...LANGUAGE.flatMap((f) => (['D1', 'D4'] as const).map((d): [string, typeof d] => [f, d])),
]

describe('refcount tracks', () => {
  for (const [file, design] of CASES) {
    it(`${file.split('/').pop()} ${design}: each track steps by one from its creation value and ends at the object's real count`, () => {
      let world: World | undefined
      const r = run(file, design, (w) => (world = w))
      const rc = r.refcounts!
      expect(RunRecord.parse(r)).toBeTruthy()
      expect(rc.dropped).toBe(0)
      expect(rc.total).toBe(rc.rows.t.length)
      const w = world!
      for (const [ti, tr] of rc.tracks.entries()) {
        const idx = rc.rows.track.flatMap((t, i) => (t === ti ? [i] : []))
        expect(idx.length).toBe(tr.changes)
        const vals = idx.map((i) => rc.rows.value[i]!)
        // time order, and every change after the first is a get or a put of one reference
        for (let k = 1; k < idx.length; k++) {
          expect(rc.rows.t[idx[k]!]!).toBeGreaterThanOrEqual(rc.rows.t[idx[k - 1]!]!)
          expect(Math.abs(vals[k]! - vals[k - 1]!)).toBe(1)
        }
        expect(vals[vals.length - 1]).toBe(tr.final)
        expect(Math.max(...vals)).toBe(tr.peak)
        // the ledger: a freed struct ended at zero; a live mm_struct's count is the model's
        const obj = w.ledger.objects.find((o) => o.label === tr.object && o.type === tr.type)!
        expect(obj, tr.object).toBeDefined()
        if (obj.freeT !== null && tr.counter !== 'users') expect(tr.final, `${tr.object}.${tr.counter} freed at ${obj.freeT}`).toBe(0)
        const mm = w.mms.find((m) => m.ledgerId === obj.id)
        if (mm && (tr.counter === 'mm_users' || tr.counter === 'mm_count')) expect(tr.final).toBe(mm[tr.counter])
      }
      // every mm of the run has both tracks
      for (const mm of w.mms) {
        expect(rc.tracks.some((t) => t.object === mm.label && t.counter === 'mm_users')).toBe(true)
        expect(rc.tracks.some((t) => t.object === mm.label && t.counter === 'mm_count')).toBe(true)
      }
    })
  }

  it('dup and SCM_RIGHTS of a tmpfile: every get and put of its f_count is a row', () => {
    const yaml = [
      'name: tmpfile passing',
      'seed: 1',
      'designs: [D1]',
      'steps:',
      '  - spawn: { task: A }',
      '  - spawn: { task: B }',
      '  - open_tmpfile: { task: A, fd: t, size: 64K }',
      '  - dup: { task: A, fd: t, as: t2 }',
      '  - send_fd: { task: A, fd: t2, socket: sock }',
      '  - close: { task: A, fd: t }',
      '  - close: { task: A, fd: t2 }',
      '  - recv_fd: { task: B, socket: sock, fd: got }',
      '  - close: { task: B, fd: got }',
    ].join('\n')
    const r = runScenario(parseScenario(yaml, 'tmpfile.yaml'), { design: 'D1' })
    const rc = r.refcounts!
    const ti = rc.tracks.findIndex((t) => t.object === 'tmpfile (opened by A as t)' && t.counter === 'f_count')
    expect(ti).toBeGreaterThanOrEqual(0)
    const rows = rc.rows.track.flatMap((t, i) => (t === ti ? [i] : []))
    // open, dup2's get_file, scm_fp_copy's get_file, two closes; recvmsg hands the skb's reference to the fd
    expect(rows.map((i) => rc.rows.value[i])).toEqual([1, 2, 3, 2, 1, 0])
    expect(rows.map((i) => rc.rows.dict.fn[rc.rows.fn[i]!])).toEqual(['alloc_file', 'get_file', 'get_file', 'fput', 'fput', 'fput'])
  })

  it('D1: the fork, the exits and the fd name the steps and kernel functions that changed them', () => {
    const r = run(FORK, 'D1')
    const rc = r.refcounts!
    expect(values(r, 'mm of A', 'mm_users')).toEqual([1, 2, 3, 2, 1, 2, 1, 0])
    const file = rc.tracks.find((t) => t.type === 'file')!
    expect(file.counter).toBe('f_count')
    // open → 1, fork's dup_fd → 2, A's exit → 1, B's exit → 0
    expect(values(r, file.object, 'f_count')).toEqual([1, 2, 1, 0])
    const fi = rc.tracks.indexOf(file)
    const rows = rc.rows.track.flatMap((t, i) => (t === fi ? [i] : []))
    expect(rows.map((i) => rc.rows.dict.fn[rc.rows.fn[i]!])).toEqual(['alloc_file', 'get_file', 'fput', 'fput'])
    const lines = rows.map((i) => rc.rows.line[i])
    const text = read(FORK).split('\n')
    expect(text[lines[0]! - 1]).toMatch(/- open:/)
    expect(text[lines[1]! - 1]).toMatch(/- fork:/)
    expect(text[lines[2]! - 1]).toMatch(/- exit: \{ task: A/)
    expect(text[lines[3]! - 1]).toMatch(/- exit: \{ task: B/)
  })

  it('bounds a storm of gets and puts and keeps the counts exact', () => {
    const yaml = `name: storm
designs: [D1]
steps:
  - spawn: { task: A }
  - open: { task: A, device: dmirror0, fd: dev }
  - mmap: { task: A, region: buf, size: 64K, prot: rw }
  - touch: { task: A, region: buf, write: true }
  - mirror: { task: A, fd: dev }
  - repeat:
      times: 1500
      steps:
        - madvise: { task: A, region: buf, advice: dontneed }
        - device_read: { task: A, fd: dev, region: buf, size: 4K }
        - open: { task: A, device: dmirror0, fd: tmp }
        - close: { task: A, fd: tmp }
  - exit: { task: A }
`
    const r = runScenario(parseScenario(yaml, 'storm.yaml'), { design: 'D1' })
    const rc = r.refcounts!
    const mm = rc.tracks.find((t) => t.object === 'mm of A' && t.counter === 'mm_users')!
    // every device_read after a DONTNEED faults: mmget_not_zero + mmput each round
    expect(mm.changes).toBeGreaterThan(2 * 1500)
    expect(mm.final).toBe(0)
    expect(mm.peak).toBe(3)
    // 1500 files opened and closed: only the first TIMELINE_CAPS.refcountTracks objects get a track
    expect(rc.tracks.length).toBe(TIMELINE_CAPS.refcountTracks)
    expect(rc.tracksDropped).toBeGreaterThan(1500 - TIMELINE_CAPS.refcountTracks)
    expect(mm.dropped).toBe(mm.changes - TIMELINE_CAPS.refcountRowsPerTrack)
    expect(rc.rows.t.length).toBeLessThanOrEqual(TIMELINE_CAPS.refcountRows)
    expect(rc.total - rc.dropped).toBe(rc.rows.t.length)
    expect(rc.total).toBe(rc.tracks.reduce((s, t) => s + t.changes, 0))
    expect(JSON.stringify(rc).length).toBeLessThan(200_000)
    const tl = r.timeline!
    expect(tl.slices.t0.length).toBeLessThanOrEqual(TIMELINE_CAPS.slices + TIMELINE_CAPS.stepSlices)
    expect(tl.slicesDropped).toBeGreaterThan(0)
    expect(tl.slicesTotal).toBe(tl.slices.t0.length + tl.slicesDropped)
    expect(JSON.stringify(tl).length).toBeLessThan(1_000_000)
  })
})

describe('timeline slices and flows', () => {
  it('D1: lanes per task, device and IOMMU; munmap-like invalidations flow to device TLB and IOMMU slices', () => {
    const r = run(FORK, 'D1')
    const tl = r.timeline!
    expect(tl.lanes.map((l) => l.id)).toEqual(expect.arrayContaining(['task:A', 'task:B', 'device:gpu0', 'iommu:iommu0']))
    const n = tl.slices.t0.length
    for (const col of [tl.slices.lane, tl.slices.t1, tl.slices.name, tl.slices.cat, tl.slices.step, tl.slices.detail]) expect(col.length).toBe(n)
    for (let i = 0; i < n; i++) {
      expect(tl.slices.t1[i]!).toBeGreaterThanOrEqual(tl.slices.t0[i]!)
      if (i > 0) expect(tl.slices.t0[i]!).toBeGreaterThanOrEqual(tl.slices.t0[i - 1]!)
    }
    const cat = (i: number): string => tl.slices.dict.cat[tl.slices.cat[i]!]!
    const name = (i: number): string => tl.slices.dict.name[tl.slices.name[i]!]!
    // the fork step → its PROTECTION_PAGE invalidation → device / IOMMU slices inside it
    const fork = tl.slices.name.findIndex((_, i) => cat(i) === 'step' && name(i) === 'fork')
    const inv = tl.flows.to[tl.flows.from.findIndex((f, k) => f === fork && cat(tl.flows.to[k]!) === 'invalidate')]!
    expect(name(inv)).toBe('invalidate PROTECTION_PAGE')
    const effects = tl.flows.to.filter((_, k) => tl.flows.from[k] === inv).map((i) => cat(i))
    expect(effects).toEqual(expect.arrayContaining(['device_tlb', 'iommu']))
    for (const e of tl.flows.to.filter((_, k) => tl.flows.from[k] === inv)) {
      expect(tl.slices.t0[e]!).toBeGreaterThanOrEqual(tl.slices.t0[inv]!)
      expect(tl.slices.t1[e]!).toBeLessThanOrEqual(tl.slices.t1[inv]!)
    }
    for (let k = 0; k < tl.flows.from.length; k++) expect(tl.flows.to[k]!).toBeLessThan(n)
    expect(tl.flowsTotal).toBe(tl.flows.from.length + tl.flowsDropped)
  })

  it('D4: the SRCU grace period of mmu_notifier_put is a slice from call_srcu to its callback', () => {
    const r = run(FORK, 'D4')
    const tl = r.timeline!
    const gp = tl.slices.cat.map((c, i) => (tl.slices.dict.cat[c] === 'srcu_gp' ? i : -1)).filter((i) => i >= 0)
    expect(gp.length).toBeGreaterThan(0)
    for (const i of gp) expect(tl.slices.t1[i]! - tl.slices.t0[i]!).toBeGreaterThan(0)
    expect(tl.lanes.find((l) => l.id === 'srcu')?.kind).toBe('kernel')
  })

  it('is deterministic: the same scenario and seed give the same bytes', () => {
    const a = JSON.stringify(run(FORK, 'D4'))
    const b = JSON.stringify(run(FORK, 'D4'))
    expect(a).toBe(b)
  })
})

describe('a run without the collector (timeline: false, for benchmarks)', () => {
  const STORM = 'scenarios/examples/fault-vs-invalidation-race.yaml'
  for (const [file, design] of [
    [FORK, 'D1'],
    [STORM, 'D4'],
  ] as const) {
    it(`${file.split('/').pop()} ${design}: the record lacks refcounts and timeline and is otherwise the same`, () => {
      const sc = parseScenario(read(file), file)
      const full = runScenario(sc, { design })
      const bare = runScenario(sc, { design, timeline: false })
      expect(full.refcounts?.rows.t.length).toBeGreaterThan(0)
      expect(full.timeline?.slices.t0.length).toBeGreaterThan(0)
      expect(bare.refcounts).toBeUndefined()
      expect(bare.timeline).toBeUndefined()
      expect(RunRecord.parse(bare)).toBeTruthy()
      const { refcounts: _r, timeline: _t, ...rest } = full
      expect(JSON.stringify(bare)).toBe(JSON.stringify(rest))
    })
  }
})
