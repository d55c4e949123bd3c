import { describe, expect, it } from 'vitest'
import { Kernel } from '../../src/sim/kernel/context'
import { spawnTask } from '../../src/sim/kernel/task'
import { mmputAsync } from '../../src/sim/kernel/mm'
import { mmget } from '../../src/sim/kernel/mm-ref'
import { parseScenario, runScenario } from '../../src/sim/index'

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

  const y = (size: string) => `
name: oom
designs: [D4]
machine: { devices: [ { name: g, kind: gpu } ] }
steps:
  - spawn: { task: V }
  - open: { task: V, device: g, fd: f }
  - mmap: { task: V, region: a, size: ${size} }
  - touch: { task: V, region: a, write: true }
  - mirror: { task: V, fd: f }
  - oom_kill: { task: V }
  - expect: { counter: { name: oom_reaper.pages_reaped, value: { gt: 0 } } }
  - sleep: 50ms
  - expect: { leaked_bytes: 0, findings: { count: 0 } }
`

  it("OOM kill of a large victim: it exits while the reaper still holds mm_users; the reaper's last put runs exit_mmap from a kworker", () => {
    // reaping 64 MiB takes longer than the victim's way to exit_mm
    const r = runScenario(parseScenario(y('64M'), 'o.yaml'), { design: 'D4' })
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['mmput_async.deferred']).toBe(1)
    const at = (kind: string) => r.markers.rows.find((m) => m.kind === kind && (m.label.startsWith('V') || m.label.startsWith('mm of V')))!
    // exit (do_exit of the victim) → the reaper's mmput_async drops the last mm_users → kworker __mmput
    expect(at('exit').t).toBeLessThanOrEqual(at('mmput').t)
    expect(at('mmput').label).toContain('mmput_async')
    expect(at('__mmput').t).toBeGreaterThanOrEqual(at('mmput').t + 50_000)
    expect(at('notifier_release').t).toBeGreaterThan(at('__mmput').t)
  })

  it('OOM kill of a small victim: the reaper is done first and the victim\'s own mmput runs __mmput', () => {
    // small against the victim's way to exit_mm (exit_base): 8 pages × zap_pte
    const r = runScenario(parseScenario(y('32K'), 'o.yaml'), { design: 'D4' })
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['mmput_async.deferred']).toBeUndefined()
    const put = r.markers.rows.find((m) => m.kind === 'mmput')!
    expect(put.label).not.toContain('mmput_async')
    expect(r.markers.rows.find((m) => m.kind === '__mmput')!.t).toBe(put.t)
  })
})
