import { describe, expect, it } from 'vitest'
import { Engine } from '../../src/sim/engine/engine'
import { Srcu } from '../../src/sim/engine/srcu'
import { Kernel } from '../../src/sim/kernel/context'
import { spawnTask } from '../../src/sim/kernel/task'
import { ClassicSub, type NotifierOps } from '../../src/sim/kernel/objects'
import {
  archInvalidateSecondaryTlbs,
  mmuNotifierGet,
  mmuNotifierPut,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  withInvalidation,
} from '../../src/sim/kernel/notifier'
import { parseScenario, runScenario } from '../../src/sim/index'

const MS = 1_000_000

describe('SRCU domain (kernel/rcu/srcutree.c)', () => {
  it('a grace period ends after its latency and after every reader that was in when it started', () => {
    const e = new Engine()
    const s = new Srcu('t', e, () => 2 * MS)
    const ends: number[] = []
    const r1 = s.readLock()
    e.at(1 * MS, 'gp', () => s.startGp('gp', () => ends.push(e.now)))
    // a reader that enters after the grace period started is not waited for
    let r2 = 0
    e.at(2 * MS, 'r2', () => (r2 = s.readLock()))
    e.at(10 * MS, 'u1', () => s.readUnlock(r1))
    e.at(20 * MS, 'u2', () => s.readUnlock(r2))
    // no reader at all: just the latency
    e.at(30 * MS, 'gp2', () => s.startGp('gp2', () => ends.push(e.now)))
    e.runUntilIdle()
    expect(ends).toEqual([10 * MS, 32 * MS])
    expect(s.extendedGps).toBe(1)
    expect(s.extendedNs).toBe(7 * MS)
    expect(s.readers).toBe(0)
  })

  it('a reader that leaves before the latency elapsed does not extend the grace period', () => {
    const e = new Engine()
    const s = new Srcu('t', e, () => 2 * MS)
    let end = -1
    const r = s.readLock()
    s.startGp('gp', () => (end = e.now))
    e.at(1 * MS, 'u', () => s.readUnlock(r))
    e.runUntilIdle()
    expect(end).toBe(2 * MS)
    expect(s.extendedGps).toBe(0)
  })
})

/** A world with task A and one classic subscription whose callbacks take the given times. */
function setup(startNs: number, archNs = 0) {
  const w = new Kernel(1, undefined, 100)
  const mm = spawnTask(w, 'A', []).mm!
  let freedAt = -1
  const ops: NotifierOps = {
    name: 'slow_ops',
    invalidateRangeStart: () => ({ ok: true, cost: startNs }),
    archInvalidateSecondaryTlbs: () => archNs,
    allocNotifier: (ww, m) => new ClassicSub(ww.id(), ops, m, ww.ledger.alloc('driver_object', 64, m.owner, 'slow notifier', [])),
    freeNotifier: (ww, sub) => {
      freedAt = ww.engine.now
      ww.ledger.free(sub.memId, ['free_notifier'])
    },
  }
  const sub = mmuNotifierGet(w, ops, mm, [])
  if (typeof sub === 'number') throw new Error('get failed')
  return { w, mm, sub, freedAt: () => freedAt }
}

describe('notifier callbacks take their time inside the SRCU read section', () => {
  it('free_notifier (call_srcu after mmu_notifier_put) cannot run before an in-flight invalidate_range_start returns', () => {
    const { w, mm, sub, freedAt } = setup(10 * MS)
    let invDone = -1
    w.engine.spawn(
      'munmap',
      withInvalidation(w, { mm, start: 0, end: 16, event: 'UNMAP', blockable: true, owner: -1 }, [], () => 0),
      () => (invDone = w.engine.now),
    )
    // the last put comes 1 ms into the 10 ms device invalidation
    w.engine.at(1 * MS, 'put', () => mmuNotifierPut(w, sub, []))
    w.engine.runUntilIdle()
    expect(invDone).toBe(10 * MS)
    // not at 1 ms + srcu_gp = 3 ms: the grace period waited for the callback
    expect(freedAt()).toBe(10 * MS)
    expect(w.srcu.extendedGps).toBe(1)
    // the list walk resumed on a subscription that was still allocated
    expect(w.findings).toEqual([])
  })

  it('a callback shorter than the grace period does not delay free_notifier', () => {
    const { w, mm, sub, freedAt } = setup((1 * MS) / 2)
    w.engine.spawn(
      'munmap',
      withInvalidation(w, { mm, start: 0, end: 16, event: 'UNMAP', blockable: true, owner: -1 }, [], () => 0),
    )
    w.engine.at(100_000, 'put', () => mmuNotifierPut(w, sub, []))
    w.engine.runUntilIdle()
    expect(freedAt()).toBe(100_000 + w.costs.srcu_gp)
    expect(w.srcu.extendedGps).toBe(0)
  })

  it('a driver that frees its subscription without waiting for SRCU is caught by the walk that resumes', () => {
    const { w, mm, sub } = setup(10 * MS)
    w.engine.spawn(
      'munmap',
      withInvalidation(w, { mm, start: 0, end: 16, event: 'UNMAP', blockable: true, owner: -1 }, [], () => 0),
    )
    // kfree instead of mmu_notifier_put: unhashed and freed at once, 1 ms into the callback
    w.engine.at(1 * MS, 'kfree', () => {
      sub.hashed = false
      mm.subs!.list.splice(mm.subs!.list.indexOf(sub), 1)
      w.ledger.free(sub.memId, ['bad_driver_free'])
    })
    w.engine.runUntilIdle()
    const uaf = w.findings.filter((f) => f.kind === 'use_after_free')
    expect(uaf).toHaveLength(1)
    expect(uaf[0]!.message).toContain('subscription->hlist.next')
    expect(uaf[0]!.t).toBe(10 * MS)
  })

  it('mmu_notifier_unregister (synchronize_srcu) returns only after an in-flight arch_invalidate_secondary_tlbs', () => {
    const w = new Kernel(1, undefined, 100)
    const mm = spawnTask(w, 'A', []).mm!
    const ops: NotifierOps = { name: 'sva_like', archInvalidateSecondaryTlbs: () => 7 * MS }
    const sub = new ClassicSub(w.id(), ops, mm, mm.ledgerId)
    expect(mmuNotifierRegister(w, sub, mm, [])).toBe(0)
    let flushed = -1
    let unregistered = -1
    w.engine.spawn('flush', archInvalidateSecondaryTlbs(w, mm, 0, 16, []), () => (flushed = w.engine.now))
    w.engine.at(1 * MS, 'unreg', () => w.engine.spawn('unreg', mmuNotifierUnregister(w, sub, mm, []), () => (unregistered = w.engine.now)))
    w.engine.runUntilIdle()
    expect(flushed).toBe(7 * MS)
    expect(unregistered).toBe(7 * MS)
    expect(mm.mm_count).toBe(1)
    expect(w.findings).toEqual([])
  })
})

describe('the global notifier SRCU couples processes (B2 and D4 scenarios)', () => {
  // X keeps a slow device invalidation in flight most of the time (the SRCU domain of
  // mm/mmu_notifier.c is global), while A exits.
  const y = (design: string, busyX: boolean) => `
name: srcu-coupling
designs: [${design}]
machine:
  devices:
    - { name: dm, kind: dmirror }
costs: { gpu_tlb_flush_all: 20000000 }
steps:
  - spawn: { task: X }
  - open: { task: X, device: dm, fd: fx }
  - mirror: { task: X, fd: fx }
  - mmap: { task: X, region: x, size: 1M }
  - touch: { task: X, region: x, write: true }
${
  busyX
    ? `  - background:
      steps:
        - repeat:
            times: 40
            steps:
              - device_read: { task: X, fd: fx, region: x }
              - madvise: { task: X, region: x, advice: dontneed }
              - touch: { task: X, region: x, write: true }`
    : ''
}
  - spawn: { task: A }
  - open: { task: A, device: dm, fd: fa }
  - mmap: { task: A, region: buf, size: 256K }
  - touch: { task: A, region: buf, write: true }
  - mirror: { task: A, fd: fa }
  - device_read: { task: A, fd: fa, region: buf }
  - sleep: 3ms
  - exit: { task: A }
  - sleep: 400ms
`

  function uafFraction(busyX: boolean): number {
    let hits = 0
    const seeds = 40
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runScenario(parseScenario(y('B2', busyX), 'c.yaml'), { design: 'B2', seed })
      if (r.findings.rows.some((f) => f.kind === 'use_after_free')) hits++
    }
    return hits / seeds
  }

  it("B2: another process's in-flight invalidation lengthens the grace period after ->release, and the deferred job loses the race less often", () => {
    const idle = uafFraction(false)
    const busy = uafFraction(true)
    expect(idle).toBeGreaterThan(0.2)
    // the 20 ms flush in flight outlasts the job's longest delay (2 × srcu_gp): never a hit
    expect(busy).toBe(0)
  })

  it("D4: X's in-flight invalidation runs in its interval notifier, outside SRCU: A's free_notifier does not wait for it", () => {
    const idle = runScenario(parseScenario(y('D4', false), 'c.yaml'), { design: 'D4', seed: 1 })
    const busy = runScenario(parseScenario(y('D4', true), 'c.yaml'), { design: 'D4', seed: 1 })
    const gap = (r: typeof idle) => {
      const put = r.markers.rows.find((m) => m.kind === '__mmput' && m.label === 'mm of A')!
      const fn = r.markers.rows.find((m) => m.kind === 'free_notifier' && m.label.includes('mm of A'))!
      return fn.t - put.t
    }
    // kfd_processes_srcu sync + one notifier grace period, busy or not: KFD's GPU mappings follow
    // interval notifiers (svm_range_cpu_invalidate_pagetables), which mn_itree_invalidate calls
    // outside the notifier SRCU; X's 20 ms flushes do not lengthen A's grace period
    expect(gap(idle)).toBeLessThan(5 * MS)
    expect(gap(busy)).toBe(gap(idle))
    expect(busy.aggregates.counters['device_invalidations'] ?? 0).toBeGreaterThan(idle.aggregates.counters['device_invalidations'] ?? 0)
    expect(idle.aggregates.counters['srcu.gp_waited_for_callbacks']).toBeUndefined()
    expect(busy.aggregates.counters['srcu.gp_waited_for_callbacks']).toBeUndefined()
    for (const r of [idle, busy]) {
      expect(r.findings.rows.filter((f) => f.kind !== 'warn')).toEqual([])
      expect(r.aggregates.leaked.endBytes).toBe(0)
    }
  })
})
