import { describe, expect, it } from 'vitest'
import { sleep } from '../../src/sim/engine/engine'
import { Kernel } from '../../src/sim/kernel/context'
import { spawnTask } from '../../src/sim/kernel/task'
import { mmapWriteLock, mmapWriteUnlock } from '../../src/sim/kernel/mmap_lock'
import { MAX_OOM_REAP_RETRIES, oomReapTask } from '../../src/sim/kernel/oom_kill'
import { parseScenario, runScenario } from '../../src/sim/index'
import type { NotifierRangeCall } from '../../src/sim/index'

const run = (body: string, design: 'D1' | 'D2' | 'D4' | 'D5' = 'D2', listeners: { notifierRange?: (r: NotifierRangeCall) => void } = {}) =>
  runScenario(parseScenario(`name: oom\ndesigns: [${design}]\n${body}`, 'oom.yaml'), { design, hooks: listeners })

describe('the OOM reaper (mm/oom_kill.c, today)', () => {
  it('a victim that exits by itself runs exit_mmap before its files are closed; the reaper finds MMF_OOM_SKIP', () => {
    // the reaper holds no mm_users reference (v4.19 on), so the victim's exit_mm → mmput is the
    // last one: __mmput and the notifier release run in do_exit, before exit_files' fput
    const r = run(`machine: { devices: [ { name: g, kind: gpu } ] }
steps:
  - spawn: { task: V }
  - open: { task: V, device: g, fd: f }
  - mmap: { task: V, region: a, size: 64M }
  - touch: { task: V, region: a, write: true }
  - mirror: { task: V, fd: f }
  - oom_kill: { task: V }
  - expect: { mm: { task: V, phase: freed } }
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`)
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['mmput_async.deferred']).toBeUndefined()
    expect(r.aggregates.counters['oom_reaper.victim_exited']).toBe(1)
    expect(r.aggregates.counters['oom_reaper.pages_reaped'] ?? 0).toBe(0)
    const at = (kind: string) => r.markers.rows.find((m) => m.kind === kind)!.t
    expect(at('__mmput')).toBeLessThan(at('release'))
    expect(at('notifier_release')).toBeLessThan(at('release'))
    expect(r.markers.rows.find((m) => m.kind === 'mmput')!.label).not.toContain('mmput_async')
  })

  it('a stuck victim is reaped 2 s after the kill: one non-blockable UNMAP per private VMA, also without pages; hugetlb and shared VMAs are skipped', () => {
    const calls: NotifierRangeCall[] = []
    const r = run(
      `steps:
  - spawn: { task: V }
  - nr_hugepages: 1
  - open: { task: V, device: dmirror0, fd: f }
  - mmap: { task: V, region: a, size: 1M }
  - mmap: { task: V, region: ro, size: 1M, prot: r }
  - mmap: { task: V, region: shm, size: 1M, shared: true }
  - mmap: { task: V, region: huge, size: 2M, hugetlb: true }
  - touch: { task: V, region: a, write: true }
  - touch: { task: V, region: shm, write: true }
  - touch: { task: V, region: huge, write: true }
  - mirror: { task: V, fd: f }
  - oom_kill: { task: V, blocked: 3s }
  - expect: { counter: { name: oom_reaper.pages_reaped, value: 256 } }
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`,
      'D2',
      { notifierRange: (c) => calls.push(c) },
    )
    expect(r.outcome.status).toBe('passed')
    const reaper = calls.filter((c) => !c.blockable)
    expect(reaper.map((c) => c.event)).toEqual(['UNMAP', 'UNMAP'])
    expect(reaper[0]!.t).toBeGreaterThanOrEqual(2e9)
    expect(reaper[1]!.end - reaper[1]!.start).toBe(256) // the read-only VMA with no page
  })

  it('mmap_read_trylock contention: 10 attempts HZ/10 apart, then it gives up and sets MMF_OOM_SKIP', () => {
    const w = new Kernel(1, undefined, 100)
    const counters = new Map<string, number>()
    w.hooks.on('counter', (e) => counters.set(e.name, (counters.get(e.name) ?? 0) + e.by))
    const mm = spawnTask(w, 'V', []).mm!
    w.engine.spawn(
      'writer',
      (function* () {
        yield* mmapWriteLock(w, mm)
        yield sleep(5e9)
        mmapWriteUnlock(w, mm)
      })(),
    )
    let reaped = -1
    w.engine.spawn(
      'oom_reaper',
      (function* () {
        yield sleep(1)
        reaped = yield* oomReapTask(w, mm, [])
      })(),
    )
    w.engine.runUntilIdle()
    expect(reaped).toBe(0)
    expect(counters.get('oom_reaper.trylock_failed')).toBe(MAX_OOM_REAP_RETRIES)
    expect(counters.get('oom_reaper.unable_to_reap')).toBe(1)
    expect(mm.flags.has('MMF_OOM_SKIP')).toBe(true)
    expect(mm.flags.has('MMF_UNSTABLE')).toBe(false)
    // the reaper took no reference of its own
    expect(mm.mm_users).toBe(1)
  })

  it('a refused VMA makes the whole attempt fail: retried until MAX_OOM_REAP_RETRIES, the other VMAs reaped on the first', () => {
    const r = run(
      `machine: { devices: [ { name: gpu0, kind: gpu } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - mmap: { task: A, region: buf, size: 8M }
  - mmap: { task: A, region: other, size: 1M, prot: r }
  - touch: { task: A, region: buf, write: true }
  - device_read: { task: A, fd: kfd, region: buf }
  - oom_kill: { task: A, blocked: 3s }
  - expect: { leaked_bytes: 0 }`,
      'D1', // D1 and D3 model a driver that must wait for its device: it refuses a non-blockable range
    )
    const c = r.aggregates.counters
    expect(c['oom_reaper.vma_skipped']).toBe(MAX_OOM_REAP_RETRIES)
    expect(c['oom_reaper.retries']).toBe(MAX_OOM_REAP_RETRIES)
    expect(c['oom_reaper.unable_to_reap']).toBe(1)
    expect(c['invalidate.UNMAP']).toBe(2 * MAX_OOM_REAP_RETRIES + 1) // + exit_mmap's
  })

  it('D2 (KVM-like) never refuses the reaper: its device mappings are zapped without sleeping', () => {
    const r = run(`machine: { devices: [ { name: gpu0, kind: gpu } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: f }
  - mmap: { task: A, region: buf, size: 8M }
  - touch: { task: A, region: buf, write: true }
  - mirror: { task: A, fd: f }
  - device_read: { task: A, fd: f, region: buf }
  - expect: { device_pages: { task: A, device: gpu0, count: 2048 } }
  - oom_kill: { task: A, blocked: 3s }
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`)
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['oom_reaper.vma_skipped']).toBeUndefined()
    expect(r.aggregates.counters['oom_reaper.pages_reaped']).toBe(2048)
  })

  it('after the reaper began (MMF_UNSTABLE), a fault that would populate the victim mm gets SIGBUS: -EFAULT', () => {
    const r = run(`steps:
  - spawn: { task: V }
  - mmap: { task: V, region: a, size: 1M }
  - touch: { task: V, region: a, write: true }
  - background: { steps: [ { oom_kill: { task: V, blocked: 3s } } ] }
  - sleep: 2500ms
  - touch: { task: V, region: a }
  - expect: { ret: -14 }
  - sleep: 1s
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`)
    expect(r.outcome.status).toBe('passed')
  })
})
