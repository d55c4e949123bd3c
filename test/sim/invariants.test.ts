import { describe, expect, it } from 'vitest'
import { runNow } from './helpers'
import { Kernel } from '../../src/sim/kernel/context'
import { spawnTask } from '../../src/sim/kernel/task'
import { ClassicSub } from '../../src/sim/kernel/objects'
import { invalidateRangeEnd, invalidateRangeStart, mmuIntervalNotifierInsert, mmuNotifierRegister, mmuNotifierPut } from '../../src/sim/kernel/notifier'
import { mmdrop } from '../../src/sim/kernel/mm-ref'
import { Mirror } from '../../src/sim/drivers/mirror'
import { Device } from '../../src/sim/devices/device'
import { DPTE_PRESENT } from '../../src/sim/kernel/pagetable'

function world(): Kernel {
  const w = new Kernel(1, undefined, 100)
  return w
}

const ops = { name: 'probe_ops' }

describe('run-time invariant checks fire (domain.md §7.4)', () => {
  it('2: registering on an mm whose mm_users reached 0', () => {
    const w = world()
    const mm = spawnTask(w, 'A', []).mm!
    mm.mm_users = 0
    const r = mmuNotifierRegister(w, new ClassicSub(w.id(), ops, mm, mm.ledgerId), mm, ['test'])
    expect(r).toBe(-22)
    expect(w.findings.map((f) => f.invariant)).toEqual([2])
  })

  it('2: an mm freed while a subscription still exists', () => {
    const w = world()
    const mm2 = spawnTask(w, 'B', []).mm!
    mmuNotifierRegister(w, new ClassicSub(w.id(), ops, mm2, mm2.ledgerId), mm2, [])
    mm2.mm_users = 0 // a buggy path dropped mm_users without __mmput
    mmdrop(w, mm2, [])
    mmdrop(w, mm2, []) // ...and the registration's mm_count

    expect(w.findings.some((f) => f.invariant === 2 && f.message.includes('subscription'))).toBe(true)
  })

  it('3: invalidate_seq left odd with no active invalidation', () => {
    const w = world()
    const mm = spawnTask(w, 'A', []).mm!
    const r = { mm, start: 0, end: 10, event: 'CLEAR' as const, blockable: true, owner: -1 }
    // an interval elsewhere sets has_itree: every range now takes the interval-tree path
    mmuIntervalNotifierInsert(w, mm, 1000, 1001, { invalidate: () => 0 }, mm.ledgerId, [])
    runNow(invalidateRangeStart(w, r, []))
    mm.subs!.invalidate_seq |= 1
    mm.subs!.itree.length = 0
    // end sees the odd seq, makes it even; corrupt it again to simulate a lost update
    const saved = mm.subs!.invalidate_seq
    runNow(invalidateRangeEnd(w, r, []))
    expect(mm.subs!.invalidate_seq).toBe(saved + 1)
    runNow(invalidateRangeStart(w, r, []))
    Object.defineProperty(mm.subs!, 'invalidate_seq', { get: () => 5, set: () => {} })
    runNow(invalidateRangeEnd(w, r, []))
    expect(w.findings.some((f) => f.invariant === 3)).toBe(true)
  })

  it('4: a device PTE surviving an invalidation of its range', () => {
    const w = world()
    const mm = spawnTask(w, 'A', []).mm!
    const dev = new Device(0, { name: 'gpu0', kind: 'gpu', iommu: null, ats: false, tlbEntries: 64, vramBytes: 1 << 30, faultChunkPages: 512 })
    const m = new Mirror(w, w.id(), dev, mm)
    m.pt.set(5, DPTE_PRESENT, 1)
    m.checkInvalidated(w, { mm, start: 0, end: 10, event: 'UNMAP', blockable: true, owner: -1 }, ['test'])
    expect(w.findings.map((f) => f.invariant)).toEqual([4])
  })

  it('6: free_notifier after the mm reference was dropped', () => {
    const w = world()
    const mm = spawnTask(w, 'A', []).mm!
    const sub = new ClassicSub(w.id(), ops, mm, mm.ledgerId)
    sub.users = 1
    mmuNotifierRegister(w, sub, mm, [])
    mmuNotifierPut(w, sub, [])
    mm.mm_count = 0 // somebody dropped the subscription's mm_count early
    w.engine.runUntilIdle()
    expect(w.findings.some((f) => f.invariant === 6)).toBe(true)
  })

  it('1: a device walking an mm after its release', async () => {
    const { hmmRangeFault } = await import('../../src/sim/kernel/hmm')
    const w = world()
    const mm = spawnTask(w, 'A', []).mm!
    const dev = new Device(0, { name: 'gpu0', kind: 'gpu', iommu: null, ats: false, tlbEntries: 64, vramBytes: 1 << 30, faultChunkPages: 512 })
    const m = new Mirror(w, w.id(), dev, mm)
    mm.releasedAt = 0
    w.engine.spawn('walk', hmmRangeFault(w, m, 0, 4, false, false, 0, new Uint8Array(4), new Int32Array(4), ['test']))
    w.engine.runUntilIdle()
    expect(w.findings.map((f) => f.invariant)).toContain(1)
  })

  it('4: a device PTE that survives a munmap, seen by the mirror observing range_end', async () => {
    const { doMmap, doMunmap } = await import('../../src/sim/kernel/mmap')
    const { PROT_READ, PROT_WRITE } = await import('../../src/sim/kernel/types')
    const w = world()
    const mm = spawnTask(w, 'A', []).mm!
    const dev = new Device(0, { name: 'gpu0', kind: 'gpu', iommu: null, ats: false, tlbEntries: 64, vramBytes: 1 << 30, faultChunkPages: 512 })
    // a mirror with no notifier subscription: nothing zaps its entries on an invalidation
    const m = new Mirror(w, w.id(), dev, mm)
    const start = runNow(doMmap(w, mm, { pages: 4, prot: PROT_READ | PROT_WRITE, shared: false, huge: false, file: null, at: null }, []))
    expect(start).toBeGreaterThan(0)
    m.pt.set(start + 1, DPTE_PRESENT, 1)
    expect(runNow(doMunmap(w, mm, start, start + 4, ['test']))).toBe(0)
    expect(w.findings.map((f) => f.invariant)).toEqual([4])
    // a destroyed mirror stops observing
    m.pt.set(start + 1, DPTE_PRESENT, 1)
    m.destroy()
    m.pt.set(start + 1, DPTE_PRESENT, 1)
    const again = runNow(doMmap(w, mm, { pages: 4, prot: PROT_READ | PROT_WRITE, shared: false, huge: false, file: null, at: start }, []))
    expect(runNow(doMunmap(w, mm, again, again + 4, ['test']))).toBe(0)
    expect(w.hooks.has('range_end')).toBe(false)
  })
})

describe('callback rules', () => {
  it('mmu_notifier_unregister from its own ->release is reported as a deadlock', async () => {
    const { mmuNotifierUnregister } = await import('../../src/sim/kernel/notifier')
    const { doExit } = await import('../../src/sim/kernel/task')
    const w = world()
    const t = spawnTask(w, 'A', [])
    const mm = t.mm!
    const selfUnregister = {
      name: 'bad_ops',
      *release(ww: Kernel, sub: ClassicSub, m: typeof mm) {
        yield* mmuNotifierUnregister(ww, sub, m, ['bad_release'])
      },
    }
    mmuNotifierRegister(w, new ClassicSub(w.id(), selfUnregister, mm, mm.ledgerId), mm, [])
    w.engine.spawn('exit', doExit(w, t, []))
    w.engine.runUntilIdle()
    expect(w.findings.some((f) => f.message.startsWith('deadlock: bad_ops'))).toBe(true)
    expect(mm.phase).toBe('freed')
  })
})
