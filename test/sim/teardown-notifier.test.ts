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
  - oom_kill: { task: A }
  - sleep: 10ms
  - expect: { leaked: { owner: A, type: pages, bytes: 0 } }
`

describe('D2 and the OOM reaper', () => {
  it('D2 (KVM-like) zaps its mirror on the non-blockable range: the reaper reaps the VMA', () => {
    const r = runScenario(parseScenario(oom, 'oom.yaml'), { design: 'D2' })
    const c = r.metrics.counters
    expect(c['invalidate_nonblock_eagain']).toBeUndefined()
    expect(c['oom_reaper.vma_skipped']).toBeUndefined()
    expect(c['oom_reaper.pages_reaped']).toBe(256)
    expect(r.findings.filter((f) => f.kind !== 'warn')).toEqual([])
    expect(r.status).toBe('passed')
  })

  it('D1 (a driver that would wait for the device) refuses it: -EAGAIN, the VMA is skipped', () => {
    const r = runScenario(parseScenario(oom, 'oom.yaml'), { design: 'D1' })
    const c = r.metrics.counters
    expect(c['invalidate_nonblock_eagain']).toBeGreaterThan(0)
    expect(c['oom_reaper.vma_skipped']).toBeGreaterThan(0)
  })
})
