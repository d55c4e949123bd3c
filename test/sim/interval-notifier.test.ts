/**
 * The interval notifier protocol of mm/mmu_notifier.c (issue 13 item 7), one test per rule, each
 * written so that the model before the fix fails it:
 *
 * - mmu_interval_notifier_remove while the seq is even (an invalidation is active but hit no
 *   interval) takes effect at once; while odd it is deferred to mn_itree_inv_end and the remover
 *   sleeps until the seq moves on;
 * - mn_itree_release (exit_mmap) touches interval subscriptions only: classic subscriptions get
 *   ->release, never an invalidate_range_start/_end for the RELEASE;
 * - has_itree stays set once the first interval was inserted, also after the last one is removed;
 * - __mmu_notifier_invalidate_range_start returns -EAGAIN before any classic callback when an
 *   interval callback refuses a non-blockable range, and the interval side is already ended;
 * - at _end the interval tree ends (mn_itree_inv_end) before the classic invalidate_range_end
 *   callbacks (mn_hlist_invalidate_end).
 */
import { describe, expect, it } from 'vitest'
import { runNow } from './helpers'
import { sleep, type Proc } from '../../src/sim/engine/engine'
import { Kernel } from '../../src/sim/kernel/context'
import { spawnTask } from '../../src/sim/kernel/task'
import { ClassicSub, type IntervalOps, type NotifierOps, type NotifierRange } from '../../src/sim/kernel/objects'
import {
  invalidateRangeEnd,
  invalidateRangeStart,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  mmuNotifierRelease,
} from '../../src/sim/kernel/notifier'

const MS = 1_000_000

function world(): { w: Kernel; mm: NonNullable<ReturnType<typeof spawnTask>['mm']>; counters: Record<string, number> } {
  const w = new Kernel(1, undefined, 100)
  const counters: Record<string, number> = {}
  w.hooks.on('counter', (e) => (counters[e.name] = (counters[e.name] ?? 0) + e.by))
  const mm = spawnTask(w, 'A', []).mm!
  return { w, mm, counters }
}

/** An interval subscription whose ->invalidate takes `ns` and answers `ok`. */
function interval(ns = 0, ok = true, seen: NotifierRange[] = []): IntervalOps {
  return {
    invalidate(_w, s, r, cur) {
      seen.push(r)
      if (!ok && !r.blockable) return -1
      mmuIntervalSetSeq(s, cur)
      return ns
    },
  }
}

/** A classic subscription recording what it was called with. */
function classic(w: Kernel, mm: ReturnType<typeof world>['mm'], log: string[], startNs = 0): ClassicSub {
  const ops: NotifierOps = {
    name: 'rec',
    invalidateRangeStart(_w, _s, r) {
      log.push(`start ${r.event} seq=${mm.subs!.invalidate_seq}`)
      return { ok: true, cost: startNs }
    },
    invalidateRangeEnd(_w, _s, r) {
      log.push(`end ${r.event} seq=${mm.subs!.invalidate_seq}`)
      return 0
    },
    *release() {
      log.push('release')
    },
  }
  const sub = new ClassicSub(w.id(), ops, mm, mm.ledgerId)
  expect(mmuNotifierRegister(w, sub, mm, [])).toBe(0)
  return sub
}

/** An invalidation of [start, end) that sits between its start and end for `holdNs`. */
function* invalidation(w: Kernel, r: NotifierRange, holdNs: number): Proc<void> {
  yield* invalidateRangeStart(w, r, [])
  yield sleep(holdNs)
  yield* invalidateRangeEnd(w, r, [])
}

describe('mmu_interval_notifier_remove', () => {
  it('while an invalidation that hit no interval is active (seq even) takes effect at once', () => {
    const { w, mm } = world()
    const sub = mmuIntervalNotifierInsert(w, mm, 100, 200, interval(), mm.ledgerId, [])
    if (typeof sub === 'number') throw new Error('insert failed')
    const r: NotifierRange = { mm, start: 300, end: 400, event: 'CLEAR', blockable: true, owner: -1 }
    w.engine.spawn('munmap', invalidation(w, r, 10 * MS))
    let removedAt = -1
    w.engine.at(1 * MS, 'remove', () => {
      expect(mm.subs!.active_invalidate_ranges).toBe(1)
      expect(mm.subs!.invalidate_seq % 2).toBe(0)
      w.engine.spawn('remover', mmuIntervalNotifierRemove(w, sub, []), () => (removedAt = w.engine.now))
    })
    w.engine.runUntilIdle()
    expect(removedAt).toBe(1 * MS)
    expect(mm.subs!.itree).toEqual([])
    expect(mm.mm_count).toBe(1)
    expect(w.findings).toEqual([])
  })

  it('while the tree is invalidating (seq odd) is deferred to mn_itree_inv_end; the remover sleeps until then', () => {
    const { w, mm, counters } = world()
    const sub = mmuIntervalNotifierInsert(w, mm, 100, 200, interval(), mm.ledgerId, [])
    if (typeof sub === 'number') throw new Error('insert failed')
    const r: NotifierRange = { mm, start: 150, end: 160, event: 'CLEAR', blockable: true, owner: -1 }
    w.engine.spawn('munmap', invalidation(w, r, 10 * MS))
    let removedAt = -1
    w.engine.at(1 * MS, 'remove', () => {
      expect(mm.subs!.invalidate_seq % 2).toBe(1)
      w.engine.spawn('remover', mmuIntervalNotifierRemove(w, sub, []), () => (removedAt = w.engine.now))
    })
    w.engine.at(5 * MS, 'look', () => expect(mm.subs!.itree).toEqual([sub]))
    w.engine.runUntilIdle()
    expect(removedAt).toBe(10 * MS)
    expect(mm.subs!.itree).toEqual([])
    expect(counters['mmu_interval_notifier_remove_wait']).toBe(1)
  })

  it('an insert during an invalidation that hit no interval goes into the tree at once, seq made odd (collided)', () => {
    const { w, mm } = world()
    const r: NotifierRange = { mm, start: 300, end: 400, event: 'CLEAR', blockable: true, owner: -1 }
    mmuIntervalNotifierInsert(w, mm, 0, 10, interval(), mm.ledgerId, [])
    w.engine.spawn('munmap', invalidation(w, r, 10 * MS))
    w.engine.at(1 * MS, 'insert', () => {
      const sub = mmuIntervalNotifierInsert(w, mm, 100, 200, interval(), mm.ledgerId, [])
      if (typeof sub === 'number') throw new Error('insert failed')
      expect(sub.inTree).toBe(true)
      expect(mm.subs!.invalidate_seq % 2).toBe(1)
      expect(sub.invalidate_seq).toBe(mm.subs!.invalidate_seq)
    })
    w.engine.runUntilIdle()
    expect(mm.subs!.invalidate_seq % 2).toBe(0)
    expect(w.findings).toEqual([])
  })
})

describe('mn_itree_release and has_itree', () => {
  it('exit_mmap sends RELEASE to interval subscriptions only; classic ones get ->release and no range', () => {
    const { w, mm } = world()
    const seen: NotifierRange[] = []
    mmuIntervalNotifierInsert(w, mm, 0, 10, interval(0, true, seen), mm.ledgerId, [])
    const log: string[] = []
    classic(w, mm, log)
    w.engine.spawn('exit_mmap', mmuNotifierRelease(w, mm, []))
    w.engine.runUntilIdle()
    expect(seen.map((r) => r.event)).toEqual(['RELEASE'])
    expect(log).toEqual(['release'])
    expect(mm.subs!.invalidate_seq % 2).toBe(0)
    expect(mm.subs!.active_invalidate_ranges).toBe(0)
  })

  it('has_itree stays set after the last interval is removed: exit still runs mn_itree_release', () => {
    const { w, mm, counters } = world()
    const sub = mmuIntervalNotifierInsert(w, mm, 0, 10, interval(), mm.ledgerId, [])
    if (typeof sub === 'number') throw new Error('insert failed')
    runNow(mmuIntervalNotifierRemove(w, sub, []))
    expect(mm.subs!.itree).toEqual([])
    expect(mm.subs!.has_itree).toBe(true)
    // every later invalidation takes the interval-tree path: counted as active while in flight
    const r: NotifierRange = { mm, start: 0, end: 10, event: 'CLEAR', blockable: true, owner: -1 }
    runNow(invalidateRangeStart(w, r, []))
    expect(mm.subs!.active_invalidate_ranges).toBe(1)
    runNow(invalidateRangeEnd(w, r, []))
    expect(mm.subs!.active_invalidate_ranges).toBe(0)
    runNow(mmuNotifierRelease(w, mm, []))
    expect(counters['invalidate.RELEASE']).toBe(1)
    expect(w.findings).toEqual([])
  })
})

describe('__mmu_notifier_invalidate_range_start / _end order', () => {
  it('an interval refusing a non-blockable range: -EAGAIN before any classic callback, later intervals skipped, tree ended', () => {
    const { w, mm } = world()
    const first: NotifierRange[] = []
    const second: NotifierRange[] = []
    mmuIntervalNotifierInsert(w, mm, 0, 10, interval(0, false, first), mm.ledgerId, [])
    mmuIntervalNotifierInsert(w, mm, 5, 20, interval(0, true, second), mm.ledgerId, [])
    const log: string[] = []
    classic(w, mm, log)
    const r: NotifierRange = { mm, start: 0, end: 20, event: 'UNMAP', blockable: false, owner: -1 }
    const res = runNow(invalidateRangeStart(w, r, []))
    expect(res.ret).toBe(-11)
    expect(first).toHaveLength(1)
    expect(second).toHaveLength(0)
    expect(log).toEqual([])
    // the caller must not call _end: the core already ended the interval side
    expect(mm.subs!.active_invalidate_ranges).toBe(0)
    expect(mm.subs!.invalidate_seq % 2).toBe(0)
    expect(w.findings).toEqual([])
  })

  it('a classic callback refusing a non-blockable range: every classic _end runs at once and the tree is ended', () => {
    const { w, mm } = world()
    mmuIntervalNotifierInsert(w, mm, 100, 200, interval(), mm.ledgerId, [])
    const log: string[] = []
    classic(w, mm, log)
    const refuse: NotifierOps = { name: 'refuse', invalidateRangeStart: () => ({ ok: false, cost: 0 }) }
    mmuNotifierRegister(w, new ClassicSub(w.id(), refuse, mm, mm.ledgerId), mm, [])
    const r: NotifierRange = { mm, start: 0, end: 20, event: 'UNMAP', blockable: false, owner: -1 }
    const res = runNow(invalidateRangeStart(w, r, []))
    expect(res.ret).toBe(-11)
    expect(log.map((s) => s.split(' ')[0])).toEqual(['start', 'end'])
    expect(mm.subs!.active_invalidate_ranges).toBe(0)
  })

  it('at _end the interval tree ends first: the classic invalidate_range_end already sees an even seq', () => {
    const { w, mm } = world()
    mmuIntervalNotifierInsert(w, mm, 0, 10, interval(), mm.ledgerId, [])
    const log: string[] = []
    classic(w, mm, log)
    const r: NotifierRange = { mm, start: 0, end: 10, event: 'CLEAR', blockable: true, owner: -1 }
    runNow(invalidateRangeStart(w, r, []))
    runNow(invalidateRangeEnd(w, r, []))
    const seqs = log.map((s) => Number(s.split('seq=')[1]) % 2)
    expect(log.map((s) => s.split(' ')[0])).toEqual(['start', 'end'])
    // odd while the classic start ran (the tree was invalidating), even by the classic end
    expect(seqs).toEqual([1, 0])
  })

  it('a reader sleeping in mmu_interval_read_begin wakes before a slow classic invalidate_range_end returns', () => {
    const { w, mm } = world()
    const sub = mmuIntervalNotifierInsert(w, mm, 0, 10, interval(), mm.ledgerId, [])
    if (typeof sub === 'number') throw new Error('insert failed')
    const slowEnd: NotifierOps = { name: 'slow_end', invalidateRangeEnd: () => 5 * MS }
    mmuNotifierRegister(w, new ClassicSub(w.id(), slowEnd, mm, mm.ledgerId), mm, [])
    const r: NotifierRange = { mm, start: 0, end: 10, event: 'CLEAR', blockable: true, owner: -1 }
    let endDone = -1
    let readerDone = -1
    w.engine.spawn('munmap', invalidation(w, r, 1 * MS), () => (endDone = w.engine.now))
    w.engine.at(MS / 2, 'reader', () => w.engine.spawn('reader', mmuIntervalReadBegin(w, sub), () => (readerDone = w.engine.now)))
    w.engine.runUntilIdle()
    expect(endDone).toBe(6 * MS)
    expect(readerDone).toBe(1 * MS)
  })
})
