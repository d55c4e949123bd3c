import { describe, expect, it } from 'vitest'
import { Kernel } from '../../src/sim/kernel/context'
import { spawnTask } from '../../src/sim/kernel/task'
import { mmputAsync } from '../../src/sim/kernel/mm'
import { mmget } from '../../src/sim/kernel/mm-ref'

describe('mmput_async (kernel/fork.c)', () => {
  it('a reference that is not the last one is just dropped', () => {
    const w = new Kernel(1, undefined, 100)
    const mm = spawnTask(w, 'A', []).mm!
    mmget(w, mm, [])
    mmputAsync(w, mm, [])
    expect(mm.mm_users).toBe(1)
    w.engine.runUntilIdle()
    expect(mm.phase).toBe('live')
  })

  it('the last reference defers __mmput to a kworker: the caller returns with the mm still mapped', () => {
    const w = new Kernel(1, undefined, 100)
    const mm = spawnTask(w, 'A', []).mm!
    w.engine.at(1000, 'put', () => mmputAsync(w, mm, []))
    w.engine.runUntil(1000)
    expect(mm.mm_users).toBe(0)
    expect(mm.mm_count).toBe(1)
    expect(mm.phase).toBe('live')
    w.engine.runUntilIdle()
    expect(mm.phase).toBe('freed')
    const put = w.markers.find((m) => m.kind === 'mmput')!
    const slow = w.markers.find((m) => m.kind === '__mmput')!
    expect(put.t).toBe(1000)
    expect(slow.t).toBe(1000 + w.costs.workqueue_delay)
    expect(w.findings).toEqual([])
  })
})
