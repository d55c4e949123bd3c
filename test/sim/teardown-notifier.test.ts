/**
 * Teardown designs against the notifier core: D2 (KVM-like) never refuses the OOM reaper, as
 * kvm_mmu_notifier_invalidate_range_start returns 0 on a non-blockable range.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'

const oom = `
name: oom-vs-design
designs: [D1, D2]
machine: { devices: [ { name: gpu0, kind: gpu } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: f }
  - mirror: { task: A, fd: f }
  - mmap: { task: A, region: buf, size: 1M }
  - touch: { task: A, region: buf, write: true }
  - device_read: { task: A, fd: f, region: buf }
  - expect: { device_pages: { task: A, device: gpu0, count: 256 } }
  # the victim is stuck for 3 s, so the reaper (2 s after the kill, OOM_REAPER_DELAY) finds its memory mapped
  - oom_kill: { task: A, blocked: 3s }
  - sleep: 10ms
  - expect: { leaked: { owner: A, type: pages, bytes: 0 } }
`

describe('D2 and the OOM reaper', () => {
  it('D2 (KVM-like) zaps its mirror on the non-blockable range: the reaper reaps the VMA', () => {
    const r = runScenario(parseScenario(oom, 'oom.yaml'), { design: 'D2' })
    const c = r.aggregates.counters
    expect(c['invalidate_nonblock_eagain']).toBeUndefined()
    expect(c['oom_reaper.vma_skipped']).toBeUndefined()
    expect(c['oom_reaper.pages_reaped']).toBe(256)
    expect(r.findings.rows.filter((f) => f.kind !== 'warn')).toEqual([])
    expect(r.outcome.status).toBe('passed')
  })

  it('D1 (a driver that would wait for the device) refuses it: -EAGAIN, the VMA is skipped', () => {
    const r = runScenario(parseScenario(oom, 'oom.yaml'), { design: 'D1' })
    const c = r.aggregates.counters
    expect(c['invalidate_nonblock_eagain']).toBeGreaterThan(0)
    expect(c['oom_reaper.vma_skipped']).toBeGreaterThan(0)
  })
})

/** A closes its KFD fd but lives on: its kfd_process stays in the table (the notifier holds it). */
const unload = (sync: string) => `
name: module-unload
designs: [D4]
machine: { devices: [ { name: gpu0, kind: gpu } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - create_queue: { task: A, fd: kfd }
  - module_unload: {${sync}}
  - expect: { label: "the open file holds the module", ret: -EBUSY }
  - close: { task: A, fd: kfd }
  # kfd_cleanup_processes: release_internal → mmu_notifier_put → free_notifier after a grace period
  - module_unload: {${sync}}
  - expect: { ret: 0 }
  - sleep: 50ms
  - spawn: { task: B }
  - open: { task: B, device: gpu0, fd: kfd }
  - expect: { label: "no driver any more", ret: -ENODEV }
  - exit: { task: A }
  - sleep: 50ms
`

describe('module unload and mmu_notifier_synchronize', () => {
  it('with mmu_notifier_synchronize in __exit, free_notifier and kfd_process_wq_release run before the text goes', () => {
    const r = runScenario(parseScenario(unload(''), 'u.yaml'), { design: 'D4' })
    expect(r.aggregates.counters['mmu_notifier_synchronize']).toBe(1)
    expect(r.findings.rows).toEqual([])
    expect(r.metrics.leaked_bytes_end?.value).toBe(0)
    expect(r.outcome.status).toBe('passed')
    // the unload waited for the grace period (free_notifier) and the release work it queued
    const u = r.steps.rows.filter((s) => s.op === 'module_unload')[1]!
    const free = r.markers.rows.find((m) => m.kind === 'free_notifier')!
    const gone = r.markers.rows.find((m) => m.kind === 'driver_free')!
    expect(free.t).toBeGreaterThan(u.t0)
    expect(gone.t).toBeLessThanOrEqual(u.t1)
  })

  it('without it, the queued free_notifier calls into the freed module text: a use-after-free', () => {
    const r = runScenario(parseScenario(unload(' synchronize: false '), 'u.yaml'), { design: 'D4' })
    const uaf = r.findings.rows.filter((f) => f.kind === 'use_after_free')
    expect(uaf.length).toBeGreaterThanOrEqual(1)
    expect(uaf[0]!.message).toContain('free_notifier')
    expect(uaf[0]!.message).toContain('module text')
    expect(r.aggregates.counters['mmu_notifier_synchronize']).toBeUndefined()
    // the callback never returned: the kfd_process is never freed
    expect(r.metrics.leaked_bytes_end?.value).toBeGreaterThan(0)
  })
})
