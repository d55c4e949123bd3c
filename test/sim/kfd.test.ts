import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'
import { COST_DEFAULTS } from '../../src/sim/cost/model'

const MS = 1_000_000

/** A KFD process with one queue and an 8 MiB userptr BO, then `extra` steps. */
const GPU = 'machine: { devices: [ { name: gpu0, kind: gpu } ] }'
const y = (extra: string, costs = '', machine = GPU) => `
name: kfd
designs: [D4]
${machine}
${costs}
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - create_queue: { task: A, fd: kfd }
  - mmap: { task: A, region: buf, size: 8M }
  - mmap: { task: A, region: other, size: 1M }
  - touch: { task: A, region: buf, write: true }
  - touch: { task: A, region: other, write: true }
  - userptr: { task: A, fd: kfd, region: buf }
${extra}
`
const run = (extra: string, costs = '', machine = GPU) => runScenario(parseScenario(y(extra, costs, machine), 'k.yaml'), { design: 'D4' })
const step = (r: ReturnType<typeof run>, op: string, nth = 0) => r.steps.rows.filter((s) => s.op === op)[nth]!

describe('KFD userptr eviction and restore', () => {
  it('an invalidation that hits the BO quiesces the queues inside the notifier; the restore worker resumes them on the next tick', () => {
    const r = run(`
  - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - device_read: { task: A, fd: kfd, region: buf, size: 64K }
  - sleep: 10ms`)
    const c = r.aggregates.counters
    expect(c['kfd.evictions']).toBe(1)
    expect(c['kfd.range_invalidations']).toBe(1)
    expect(c['kfd.restores']).toBe(1)
    expect(c['kfd.device_work_stalled']).toBe(1)
    // the madvise itself took the HWS preemption (spent inside invalidate_range_start)
    const mp = step(r, 'madvise')
    expect(mp.t1 - mp.t0).toBeGreaterThanOrEqual(COST_DEFAULTS.kfd_quiesce.value)
    // the device read waited for the restore: ≥ restore delay after the eviction
    const rd = step(r, 'device_read')
    expect(rd.ret).toBe(0)
    expect(rd.t1 - mp.t1).toBeGreaterThanOrEqual(COST_DEFAULTS.kfd_restore_delay.value)
    expect(c['kfd.quiesced_ns']).toBeGreaterThanOrEqual(COST_DEFAULTS.kfd_restore_delay.value)
    // the restore faulted the dropped page back in: the whole BO is mapped again
    expect(r.findings.rows).toEqual([])
    expect(r.outcome.status).toBe('passed')
  })

  it('the restore worker runs on the tick after the eviction (msecs_to_jiffies(1 ms) = 1 jiffy), so machine.hz sets the wait', () => {
    const at = (hz: number | null) => {
      const m = hz === null ? GPU : `machine: { hz: ${hz}, devices: [ { name: gpu0, kind: gpu } ] }`
      const r = run(
        `
  - sleep: 200us
  - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - device_read: { task: A, fd: kfd, region: buf, size: 64K }
  - sleep: 20ms`,
        '',
        m,
      )
      const mp = step(r, 'madvise')
      const tick = 1e9 / (hz ?? 250)
      // the eviction happened inside madvise; the timer expires at the next tick boundary
      expect(Math.floor(mp.t0 / tick)).toBe(Math.floor(mp.t1 / tick))
      const fire = (Math.floor(mp.t0 / tick) + 1) * tick
      const rd = step(r, 'device_read')
      expect(rd.ret).toBe(0)
      expect(rd.t1).toBeGreaterThanOrEqual(fire + COST_DEFAULTS.workqueue_delay.value)
      expect(r.aggregates.counters['kfd.restores']).toBe(1)
      return { quiesced: r.aggregates.counters['kfd.quiesced_ns']!, fire, evicted: mp.t1 }
    }
    const def = at(null)
    const hz250 = at(250)
    const hz1000 = at(1000)
    expect(def).toEqual(hz250)
    // the eviction is at ~2.6 ms: at HZ=250 the queues stay down until the 4 ms tick, at HZ=1000
    // until the 3 ms one; the nominal 1 ms delay would have ended at ~3.6 ms
    expect(hz250.fire).toBe(4 * MS)
    expect(hz1000.fire).toBe(3 * MS)
    expect(hz250.quiesced).toBeGreaterThanOrEqual(hz250.fire - hz250.evicted)
    expect(hz250.quiesced - hz1000.quiesced).toBe(1 * MS)
  })

  it('machine.hz accepts only the CONFIG_HZ choices of kernel/Kconfig.hz', () => {
    expect(() => run('', '', 'machine: { hz: 200, devices: [ { name: gpu0, kind: gpu } ] }')).toThrow(/hz/)
  })

  it('a read-only page in the BO: every restore fails with -EPERM and the queues stay evicted until it is writable again', () => {
    // KFD userptrs are always write-faulted (amdgpu_ttm_tt_is_readonly is false for them), so
    // hmm_vma_fault answers -EPERM on the read-only VMA; update_invalid_user_pages forgives only
    // -EFAULT, the worker reschedules every AMDGPU_USERPTR_RESTORE_DELAY_MS
    const r = run(`
  - mprotect: { task: A, region: buf, size: 4K, prot: r }
  - background:
      steps:
        - device_read: { task: A, fd: kfd, region: buf, size: 64K }
  - sleep: 10ms
  - mprotect: { task: A, region: buf, size: 4K, prot: rw }
  - sleep: 10ms
  - expect: { device_pages: { task: A, device: gpu0, count: 2048 } }`)
    const c = r.aggregates.counters
    expect(c['kfd.evictions']).toBe(1)
    // one retry per jiffy (4 ms at the default HZ=250) over the 10 ms it stays read-only
    expect(c['kfd.restore_retries']).toBeGreaterThanOrEqual(2)
    expect(c['kfd.restore_failed_ranges']).toBeUndefined()
    expect(c['kfd.restores']).toBe(1)
    const back = step(r, 'mprotect', 1)
    const rd = step(r, 'device_read')
    expect(rd.ret).toBe(0)
    expect(rd.t1).toBeGreaterThan(back.t1)
    expect(r.findings.rows).toEqual([])
    expect(r.outcome.status).toBe('passed')

    // left read-only: the worker keeps failing; the model reports it after 64 attempts and the GPU
    // work never runs
    const stuck = run(`
  - mprotect: { task: A, region: buf, size: 4K, prot: r }
  - background:
      steps:
        - device_read: { task: A, fd: kfd, region: buf, size: 64K }
  - sleep: 200ms`)
    expect(stuck.aggregates.counters['kfd.restores']).toBeUndefined()
    expect(stuck.aggregates.counters['kfd.restore_retries']).toBe(64)
    const f = stuck.findings.rows.filter((x) => x.kind === 'livelock')
    expect(f).toHaveLength(1)
    expect(f[0]!.message).toContain('-EPERM')
    expect(stuck.steps.rows.some((x) => x.op === 'device_read')).toBe(false)
  })

  it('an invalidation outside every BO does not evict', () => {
    const r = run(`
  - mprotect: { task: A, region: other, prot: r }
  - device_read: { task: A, fd: kfd, region: buf, size: 64K }
  - sleep: 10ms`)
    expect(r.aggregates.counters['kfd.evictions']).toBeUndefined()
    expect(r.aggregates.counters['kfd.device_work_stalled']).toBeUndefined()
  })

  it('invalidations while the queues are down only mark the BO invalid; one more eviction after the restore', () => {
    const r = run(`
  - invalidation_storm: { task: A, region: buf, count: 5, pages: 1, interval: 100us, event: clear }
  - sleep: 5ms
  - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - sleep: 5ms
  - expect: { device_pages: { task: A, device: gpu0, count: 2048 } }`)
    const c = r.aggregates.counters
    expect(c['kfd.range_invalidations']).toBe(6)
    expect(c['kfd.evictions']).toBe(2)
    expect(c['kfd.restores']).toBe(2)
    expect(r.outcome.status).toBe('passed')
  })

  it('an invalidation during revalidation makes the worker retry; the queues resume only after a clean pass', () => {
    // revalidation of 2048 pages at 10 µs each takes ~20 ms; invalidations keep coming for 30 ms
    const r = run(
      `
  - invalidation_storm: { task: A, region: buf, count: 30, pages: 1, interval: 1ms, event: protection }
  - sleep: 100ms
  - expect: { device_pages: { task: A, device: gpu0, count: 2048 } }`,
      'costs: { hmm_range_fault_page: 10000 }',
    )
    const c = r.aggregates.counters
    expect(c['kfd.restore_retries']).toBeGreaterThan(0)
    expect(c['kfd.restores']).toBeGreaterThanOrEqual(1)
    expect(c['kfd.evictions']).toBe(c['kfd.restores'])
    expect(r.outcome.status).toBe('passed')
  })

  it('the OOM reaper cannot evict without blocking: -EAGAIN, the BO VMA is skipped', () => {
    // the victim is stuck past OOM_REAPER_DELAY (2 s), so the reaper finds its memory mapped
    const r = run(`
  - oom_kill: { task: A, blocked: 3s }
  - sleep: 10ms
  - expect: { leaked_bytes: 0 }`)
    const c = r.aggregates.counters
    expect(c['invalidate_nonblock_eagain']).toBeGreaterThan(0)
    expect(c['oom_reaper.vma_skipped']).toBeGreaterThan(0)
    // the reaper evicted nothing; the one eviction is the victim's own exit_mmap: mn_itree_release
    // sends RELEASE to the BO's interval (blockable), amdgpu_amdkfd_evict_userptr quiesces
    expect(c['kfd.evictions']).toBe(1)
    expect(r.findings.rows.filter((f) => f.kind !== 'warn')).toEqual([])
  })

  it('exit with a restore pending: the worker finds no mm, teardown cancels it, nothing leaks or is touched after free', () => {
    const r = run(`
  - mprotect: { task: A, region: buf, size: 4K, prot: r }
  - exit: { task: A }
  - sleep: 50ms
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`)
    expect(r.aggregates.counters['kfd.evictions']).toBe(1)
    expect(r.aggregates.counters['kfd.restores']).toBeUndefined()
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.leaked.endBytes).toBe(0)
  })

  it('exit while GPU work waits for a restore: ->release cancels the restore, the waiter gives up, nothing blocks', () => {
    const r = run(`
  - mprotect: { task: A, region: buf, size: 4K, prot: r }
  - background:
      steps:
        - device_read: { task: A, fd: kfd, region: buf, size: 64K }
  - exit: { task: A }
  - sleep: 50ms
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`)
    expect(r.aggregates.counters['kfd.device_work_stalled']).toBe(1)
    expect(r.aggregates.counters['kfd.restores']).toBeUndefined()
    expect(r.findings.rows).toEqual([])
    expect(r.outcome.status).toBe('passed')
  })

  it('the BO has its own interval notifier (amdgpu_hmm_register); D4 registers no invalidate_range_start', () => {
    const r = run(`
  - mprotect: { task: A, region: buf, size: 4K, prot: r }
  - sleep: 10ms
  - expect: { counter: { name: kfd.evictions, value: 1 } }`)
    const c = r.aggregates.counters
    // the SVM interval (whole address space) and the BO's
    expect(c['mmu_interval_notifier_insert']).toBe(2)
    expect(c['mmu_notifier_register']).toBe(1)
    expect(r.outcome.status).toBe('passed')
  })

  it("another process's slow eviction does not delay this process's exit (interval callbacks run outside SRCU)", () => {
    const r = run(
      `
  - spawn: { task: B }
  - open: { task: B, device: gpu0, fd: kfd }
  - mirror: { task: B, fd: kfd }
  - background:
      steps:
        - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - sleep: 1ms
  - exit: { task: B }
  - sleep: 100ms
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`,
      'costs: { kfd_quiesce: 50000000 }',
    )
    const exitB = step(r, 'exit')
    // B's mn_hlist_release ends with synchronize_srcu: one grace period, not A's 50 ms eviction
    expect(exitB.t1 - exitB.t0).toBeLessThan(10 * MS)
    expect(r.aggregates.counters['srcu.gp_waited_for_callbacks']).toBeUndefined()
    expect(r.aggregates.counters['kfd.evictions']).toBe(1)
    expect(r.outcome.status).toBe('passed')
  })

  it('queues are dequeued in kfd_process_wq_release, after the mm is gone; the patch moves it into ->release', () => {
    const exit = `
  - exit: { task: A }
  - sleep: 50ms
  - expect: { leaked_bytes: 0, findings: { count: 0 } }`
    const today = run(exit)
    expect(today.aggregates.counters['kfd.queues_destroyed_at_wq_release']).toBe(1)
    expect(today.aggregates.counters['kfd.queues_destroyed_at_release']).toBeUndefined()
    const patched = run(exit, '', 'machine: { devices: [ { name: gpu0, kind: gpu } ], patches: [kfd_dequeue_user_queues_when_mm_released] }')
    expect(patched.aggregates.counters['kfd.queues_destroyed_at_release']).toBe(1)
    expect(patched.aggregates.counters['kfd.queues_destroyed_at_wq_release']).toBeUndefined()
    expect(today.outcome.status).toBe('passed')
    expect(patched.outcome.status).toBe('passed')
  })

  it('6.12: an SVM-only process exits with a live queue: the GPU VM keeps freed pages mapped until wq_release; the patch dequeues at ->release', () => {
    const sc = (patches: string) => `
name: kfd-svm-exit
designs: [D4]
machine: { devices: [ { name: gpu0, kind: gpu } ]${patches} }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - create_queue: { task: A, fd: kfd }
  - mmap: { task: A, region: buf, size: 1M }
  - touch: { task: A, region: buf, write: true }
  - device_read: { task: A, fd: kfd, region: buf }
  - expect: { device_pages: { task: A, device: gpu0, count: 256 } }
  - exit: { task: A }
  - sleep: 50ms
  - expect: { leaked_bytes: 0 }
`
    const today = runScenario(parseScenario(sc(''), 's.yaml'), { design: 'D4' })
    expect(today.aggregates.counters['kfd.svm_unmap_after_release_skipped']).toBeGreaterThan(0)
    const stale = today.findings.rows.filter((f) => f.kind === 'invariant')
    expect(stale.length).toBeGreaterThan(0)
    expect(stale[0]!.message).toContain('survived a UNMAP invalidation')
    expect(today.aggregates.counters['kfd.queues_destroyed_at_wq_release']).toBe(1)
    const patched = runScenario(parseScenario(sc(', patches: [kfd_dequeue_user_queues_when_mm_released]'), 's.yaml'), { design: 'D4' })
    expect(patched.findings.rows).toEqual([])
    expect(patched.aggregates.counters['kfd.queues_destroyed_at_release']).toBe(1)
    expect(patched.outcome.status).toBe('passed')
  })

  it('the eviction storm example keeps evicting per burst, not per invalidation', () => {
    const f = 'scenarios/examples/kfd-eviction-storm.yaml'
    const r = runScenario(parseScenario(readFileSync(f, 'utf8'), f), { design: 'D4' })
    const c = r.aggregates.counters
    expect(r.outcome.status).toBe('passed')
    expect(c['kfd.range_invalidations']! / c['kfd.evictions']!).toBeGreaterThanOrEqual(5)
    expect(c['kfd.quiesced_ns']!).toBeGreaterThan(10 * MS)
  })
})

describe('KFD gets a userptr BO with one hmm_range_fault over the whole BO (amdgpu_hmm_range_get_pages)', () => {
  it('registration and each restore are one hmm_range_fault of all the BO pages, one call overhead each', () => {
    // kfd_restore_delay 0: the worker is queued at once, not on the next tick, so the eviction's
    // time does not move the restore by a tick
    const r = run(
      `
  - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - sleep: 10ms`,
      'costs: { kfd_restore_delay: 0 }',
    )
    const c = r.aggregates.counters
    // amdgpu_ttm_tt_get_user_pages in init_user_pages, then in update_invalid_user_pages
    expect(c['hmm_range_fault']).toBe(2)
    expect(c['kfd.restores']).toBe(1)
    // the restore's cost: one call overhead plus the walk of 2048 pages, inside the worker
    const costly = run(
      `
  - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - sleep: 10ms`,
      'costs: { hmm_range_fault_call: 3000000, kfd_restore_delay: 0 }',
    )
    // registration alone pays the 3 ms call overhead once (not once per page or per chunk)
    const reg = (x: ReturnType<typeof run>) => step(x, 'userptr').t1 - step(x, 'userptr').t0
    const d = reg(costly) - reg(r)
    expect(d).toBe(3000000 - COST_DEFAULTS.hmm_range_fault_call.value)
    expect(costly.aggregates.counters['kfd.quiesced_ns']! - c['kfd.quiesced_ns']!).toBe(d)
  })

  it('a BO above 2 GiB is faulted in 2 GiB pieces under one notifier sequence', () => {
    const sc = `
name: kfd-big
designs: [D4]
machine: { devices: [ { name: gpu0, kind: gpu } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - mmap: { task: A, region: buf, size: 2050M }
  - madvise: { task: A, region: buf, advice: hugepage }
  - userptr: { task: A, fd: kfd, region: buf }
  - expect: { ret: 0, device_pages: { task: A, device: gpu0, count: 524800 } }
`
    const r = runScenario(parseScenario(sc, 'big.yaml'), { design: 'D4' })
    expect(r.outcome.status).toBe('passed')
    // max_bytes = SZ_2G: 524288 pages, then the 512 left
    expect(r.aggregates.counters['hmm_range_fault']).toBe(2)
  })

  it("the ioctl fails with -EAGAIN when the BO's own COW-breaking faults move its sequence; the next call succeeds", () => {
    // after fork the BO's pages are COW-shared: hmm_range_fault's write faults break COW
    // (wp_page_copy: CLEAR of each page), which goes through the BO's interval notifier
    // (amdgpu_amdkfd_evict_userptr: an eviction), hmm_range_fault returns -EBUSY and
    // amdgpu_hmm_range_get_pages turns it into -EAGAIN without retrying
    const sc = `
name: kfd-cow
designs: [D4]
machine: { devices: [ { name: gpu0, kind: gpu } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - create_queue: { task: A, fd: kfd }
  - mmap: { task: A, region: buf, size: 1M }
  - touch: { task: A, region: buf, write: true }
  - fork: { task: A, child: B }
  - userptr: { task: A, fd: kfd, region: buf }
  - expect: { label: "first call: -EAGAIN", ret: -EAGAIN }
  - sleep: 5ms
  - userptr: { task: A, fd: kfd, region: buf }
  - expect: { label: "second call: the pages are A's own now", ret: 0, device_pages: { task: A, device: gpu0, count: 256 } }
  - sleep: 5ms
`
    const r = runScenario(parseScenario(sc, 'cow.yaml'), { design: 'D4' })
    expect(r.outcome.status).toBe('passed')
    const c = r.aggregates.counters
    expect(c['amdgpu_hmm_range_get_pages.eagain']).toBe(1)
    expect(c['kfd.userptr_alloc_eagain']).toBe(1)
    expect(c['kfd.userptr_bos']).toBe(1)
    // the COW breaks evicted the queues once; the worker found no invalid BO and resumed them
    expect(c['kfd.evictions']).toBe(1)
    expect(c['kfd.restores']).toBe(1)
    expect(r.findings.rows).toEqual([])
  })

  it("the process's own migration of BO pages to its GPU evicts too (amdgpu_amdkfd_evict_userptr has no event filter)", () => {
    const r = run(`
  - migrate_to_device: { task: A, fd: kfd, region: buf, size: 64K }
  - sleep: 10ms`)
    const c = r.aggregates.counters
    expect(c['kfd.range_invalidations']).toBeGreaterThan(0)
    expect(c['kfd.evictions']).toBe(1)
    expect(c['kfd.restores']).toBe(1)
  })

  it('an invalidation while the restore worker faults the BO: -EAGAIN, the worker reschedules, no timeout', () => {
    // a 20 ms hmm_range_fault (2048 pages at 10 µs) and a CLEAR every 3 ms in the middle of it
    const r = run(
      `
  - madvise: { task: A, region: buf, size: 4K, advice: dontneed }
  - sleep: 1500us
  - invalidation_storm: { task: A, region: buf, count: 5, pages: 1, interval: 3ms, event: clear }
  - sleep: 200ms
  - expect: { device_pages: { task: A, device: gpu0, count: 2048 } }`,
      'costs: { hmm_range_fault_page: 10000 }',
    )
    const c = r.aggregates.counters
    expect(c['amdgpu_hmm_range_get_pages.eagain']).toBeGreaterThan(0)
    expect(c['kfd.restore_retries']).toBeGreaterThan(0)
    expect(c['hmm_range_fault.timeout']).toBeUndefined()
    expect(c['kfd.restores']).toBe(1)
    expect(r.outcome.status).toBe('passed')
  })
})

describe('a KFD GPU fault on an SVM range (svm_range_restore_pages)', () => {
  const svm = (extra: string, costs = '') => `
name: kfd-svm
designs: [D4]
machine: { devices: [ { name: gpu0, kind: gpu } ] }
${costs}
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: kfd }
  - mirror: { task: A, fd: kfd }
  - create_queue: { task: A, fd: kfd }
  - mmap: { task: A, region: buf, size: 4M }
  - touch: { task: A, region: buf, write: true }
${extra}
`
  const runSvm = (extra: string, costs = '') => runScenario(parseScenario(svm(extra, costs), 'svm.yaml'), { design: 'D4' })

  it('maps the 2 MiB granule around the faulting address, one hmm_range_fault per fault', () => {
    const r = runSvm(`
  - device_read: { task: A, fd: kfd, region: buf, offset: 1M, size: 2M }
  - expect: { ret: 0, cpages: 512, faults: 2, device_pages: { task: A, device: gpu0, count: 1024 } }`)
    expect(r.outcome.status).toBe('passed')
    expect(r.aggregates.counters['svm_range_restore_pages']).toBe(2)
    expect(r.aggregates.counters['hmm_range_fault']).toBe(2)
  })

  it('the granule is clipped to the VMA of the faulting address', () => {
    const r = runSvm(`
  - mprotect: { task: A, region: buf, offset: 1M, size: 4K, prot: r }
  - device_read: { task: A, fd: kfd, region: buf, size: 8K }
  - expect: { ret: 0, cpages: 2, faults: 1, device_pages: { task: A, device: gpu0, count: 256 } }`)
    expect(r.outcome.status).toBe('passed')
  })

  it('a racing invalidation drops the fault and the GPU replays it; the access completes without a retry loop or timeout', () => {
    // 512 pages at 20 µs: a 10 ms hmm_range_fault per fault; a CLEAR every 4 ms
    const r = runSvm(
      `
  - invalidation_storm: { task: A, region: buf, count: 6, pages: 1, interval: 4ms, background: true, event: clear }
  - device_read: { task: A, fd: kfd, region: buf, size: 2M }
  - expect: { ret: 0, cpages: 512 }`,
      'costs: { hmm_range_fault_page: 20000 }',
    )
    expect(r.outcome.status).toBe('passed')
    const c = r.aggregates.counters
    expect(c['svm_range_restore_pages.replay']).toBeGreaterThan(0)
    // every replay is a new GPU fault and a new hmm_range_fault under a new sequence
    expect(c['svm_range_restore_pages']).toBe(c['svm_range_restore_pages.replay']! + 1)
    expect(step(r, 'device_read').faults).toBe(c['svm_range_restore_pages'])
    expect(c['mmu_interval_read_retry']).toBeUndefined()
    expect(c['hmm_range_fault.timeout']).toBeUndefined()
    expect(r.findings.rows).toEqual([])
  })

  it('a read of a writable VMA write-faults it (readonly = !(vm_flags & VM_WRITE)): the GPU mapping is writable', () => {
    const r = runSvm(`
  - mmap: { task: A, region: fresh, size: 2M }
  - device_read: { task: A, fd: kfd, region: fresh, size: 4K }
  - device_write: { task: A, fd: kfd, region: fresh, size: 2M }
  - expect: { ret: 0, cpages: 512, faults: 0 }`)
    expect(r.outcome.status).toBe('passed')
  })
})
