import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'

/** One process with a test_hmm device it mirrors through, then `steps`. */
const y = (steps: string, machine = '') => `
name: fixed
designs: [D5]
machine: { ${machine}devices: [ { name: dmirror0, kind: dmirror } ] }
steps:
  - spawn: { task: A }
  - open: { task: A, device: dmirror0, fd: fd }
${steps}
`
const run = (steps: string, machine = '') => runScenario(parseScenario(y(steps, machine), 'fixed.yaml'), { design: 'D5' })
const rets = (r: ReturnType<typeof run>, op: string) => r.steps.rows.filter((s) => s.op === op).map((s) => s.ret)
const parseError = (steps: string): string => {
  try {
    parseScenario(y(steps), 'fixed.yaml')
  } catch (e) {
    return String(e)
  }
  return ''
}

describe('mmap at: is MAP_FIXED (do_mmap → mmap_region)', () => {
  it('a fixed mapping over an existing one replaces it: one UNMAP the mirror sees, the old pages gone', () => {
    const r = run(`
  - mmap: { task: A, region: r, size: 16K, at: 0x40000000 }
  - write_data: { task: A, region: r, pattern: { const: 7 } }
  - device_read: { task: A, fd: fd, region: r }
  - expect: { device_pages: { task: A, device: dmirror0, count: 4 } }
  - mmap: { task: A, region: s, size: 4K, at: 0x40001000 }
  - expect: { ret: 0, counter: { name: invalidate.UNMAP, value: 1 } }
  - expect: { label: "the mirror dropped the replaced page only", device_pages: { task: A, device: dmirror0, count: 3 } }
  - expect: { label: "the new mapping is fresh anonymous memory", memory: { task: A, region: s, pattern: zero } }
  - expect: { label: "the rest of r keeps its data", memory: { task: A, region: r, size: 4K, pattern: { const: 7 } } }`)
    expect(rets(r, 'mmap')).toEqual([0, 0])
    expect(r.aggregates.counters['mmap.fixed_replaced']).toBe(1)
    expect(r.outcome.status).toBe('passed')
    expect(r.findings.rows).toEqual([])
  })

  it('noreplace (MAP_FIXED_NOREPLACE) gets -EEXIST on an overlap and leaves the mm alone; a free range is mapped', () => {
    const r = run(`
  - mmap: { task: A, region: r, size: 8K, at: 0x40000000 }
  - touch: { task: A, region: r, write: true }
  - mmap: { task: A, region: s, size: 4K, at: 0x40001000, noreplace: true }
  - expect: { ret: -EEXIST, counter: { name: invalidate.UNMAP, value: 0 } }
  - mmap: { task: A, region: t, size: 4K, at: 0x40002000, noreplace: true }
  - expect: { ret: 0 }`)
    expect(rets(r, 'mmap')).toEqual([0, -17, 0])
    expect(r.aggregates.counters['mmap.fixed_replaced']).toBeUndefined()
    expect(r.outcome.status).toBe('passed')
  })

  it('below mmap_min_addr is -EPERM (security_mmap_addr → cap_mmap_addr, no CAP_SYS_RAWIO); machine.mmap_min_addr moves it', () => {
    const steps = `
  - mmap: { task: A, region: z, size: 4K, at: 0 }
  - mmap: { task: A, region: low, size: 4K, at: 0xf000 }
  - mmap: { task: A, region: ok, size: 4K, at: 0x10000 }`
    expect(rets(run(steps), 'mmap')).toEqual([-1, -1, 0])
    expect(rets(run(steps, 'mmap_min_addr: 4096, '), 'mmap')).toEqual([-1, 0, 0])
    expect(rets(run(steps, 'mmap_min_addr: 0, '), 'mmap')).toEqual([0, 0, 0])
  })

  it('a MAP_FIXED hugetlb mapping the pool cannot back fails with -ENOMEM before anything is unmapped', () => {
    const r = run(`
  - mmap: { task: A, region: r, size: 4M, at: 0x40000000 }
  - touch: { task: A, region: r, write: true }
  - mmap: { task: A, region: h, size: 2M, at: 0x40000000, hugetlb: true }
  - expect: { ret: -ENOMEM, counter: { name: invalidate.UNMAP, value: 0 } }
  - expect: { memory: { task: A, region: r, pattern: zero } }`)
    expect(rets(r, 'mmap')).toEqual([0, -12])
    expect(r.outcome.status).toBe('passed')
  })
})

describe('the scenario checker bounds mmap.at and mremap.at by the model’s 16 TiB, naming the field', () => {
  it('a valid x86-64 address past 16 TiB is refused as the model’s limit, not the kernel’s', () => {
    const e = parseError('  - mmap: { task: A, region: r, size: 64K, at: 0x7ffff0000000 }')
    expect(e).toMatch(/steps\[2\]\.mmap\.at/)
    expect(e).toMatch(/0x7ffff0000000 \+ 65536 bytes ends at 0x7ffff0010000, past the model's 16 TiB address space/)
    expect(e).toMatch(/TASK_SIZE is 128 TiB, so the kernel would map it there/)
  })

  it('an address past TASK_SIZE (and past what a JS number holds exactly) says the kernel refuses it too', () => {
    const e = parseError('  - mmap: { task: A, region: r, size: 4K, at: 0xffffffffffff000 }')
    expect(e).toMatch(/steps\[2\]\.mmap\.at/)
    expect(e).toMatch(/past x86-64's TASK_SIZE \(128 TiB\) too/)
    expect(e).not.toMatch(/9007199254740991/)
    // 16 TiB itself is the first address the model cannot map; its last page is fine
    expect(parseError('  - mmap: { task: A, region: r, size: 4K, at: 0x100000000000 }')).toMatch(/16 TiB address space .*so the kernel would map it there/)
    expect(parseError('  - mmap: { task: A, region: r, size: 4K, at: 0xffffffff000 }')).toBe('')
    expect(parseError('  - mmap: { task: A, region: r, size: 4K, at: 0xffffffff000 }\n  - mremap: { task: A, region: r, at: 0x100000000000 }')).toMatch(
      /steps\[3\]\.mremap\.at: 0x100000000000 is past the model's 16 TiB/,
    )
  })

  it('noreplace needs at', () => {
    expect(parseError('  - mmap: { task: A, region: r, size: 4K, noreplace: true }')).toMatch(
      /steps\[2\]\.mmap\.noreplace: noreplace \(MAP_FIXED_NOREPLACE\) needs at/,
    )
  })
})
