/**
 * The model parts added for the last hmm-tests: the hugetlb pool and MAP_HUGETLB, tmpfs files with a
 * page cache (open_tmpfile / pwrite / pread / file mmaps), GUP pins, HMM_DMIRROR_FLAG_FAIL_ALLOC as a
 * one-shot flag, and pagemap bits. Small scenarios, each checked through the step log and expects.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, ScenarioError, type RunRecord } from '../../src/sim/index'

function run(steps: string): RunRecord {
  const y = `name: t
designs: [D5]
machine:
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror0, fd: fd0 }
${steps
  .trim()
  .split('\n')
  .map((l) => '  ' + l.trim())
  .join('\n')}
`
  return runScenario(parseScenario(y, 't.yaml'), { design: 'D5' })
}

const failed = (r: RunRecord) =>
  r.expects.rows.filter((e) => !e.passed).map((e) => `${e.what}: ${e.checks.map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`).join('; ')}`)
const rets = (r: RunRecord, op: string) => r.steps.rows.filter((s) => s.op === op).map((s) => s.ret)

describe('hugetlb pool and MAP_HUGETLB', () => {
  it('mmap fails with -ENOMEM without a free huge page, and reserves what it maps', () => {
    const r = run(`
      - mmap: { task: self, region: a, size: 2M, hugetlb: true }
      - expect: { ret: -ENOMEM, hugetlb_free: 0 }
      - nr_hugepages: 2
      - mmap: { task: self, region: a, size: 4M, hugetlb: true }
      - expect: { ret: 0, hugetlb_free: 2 }
      - mmap: { task: self, region: b, size: 2M, hugetlb: true }
      - expect: { label: "both pages are reserved by a", ret: -ENOMEM }
      - munmap: { task: self, region: a, size: 2M }
      - mmap: { task: self, region: b, size: 1M, hugetlb: true }
      - expect: { label: "the length is rounded up to 2 MiB and the freed reservation is reused", ret: 0 }`)
    expect(failed(r)).toEqual([])
  })

  it('faults take pages from the pool (no zero page), never split; unaligned munmap/mprotect is -EINVAL; exit gives them back', () => {
    const r = run(`
      - nr_hugepages: 1
      - mmap: { task: self, region: h, size: 2M, hugetlb: true }
      - touch: { task: self, region: h, size: 4K }
      - expect: { label: "a read fault allocates the huge page", ret: 0, hugetlb_free: 0, memory: { task: self, region: h, pattern: zero } }
      - snapshot: { task: self, fd: fd0, region: h }
      - expect: { snapshot: { all: 0x05 } }
      - write_data: { task: self, region: h, pattern: index }
      - munmap: { task: self, region: h, offset: 4K, size: 4K }
      - expect: { ret: -EINVAL }
      - mprotect: { task: self, region: h, size: 1M, prot: r }
      - expect: { ret: -EINVAL }
      - thp_split: { task: self, region: h }
      - migrate_to_device: { task: self, fd: fd0, region: h }
      - expect: { label: "migrate_vma_setup refuses hugetlb VMAs", ret: -EINVAL }
      - snapshot: { task: self, fd: fd0, region: h }
      - expect: { snapshot: { all: 0x06 }, memory: { task: self, region: h, pattern: index } }
      - fork: { task: self, child: c }
      - write_data: { task: c, region: h, pattern: neg_index }
      - expect: { label: "a COW break needs a second pool page: SIGBUS (-EFAULT) with an empty pool", ret: -EFAULT }
      - nr_hugepages: 2
      - write_data: { task: c, region: h, pattern: neg_index }
      - expect: { ret: 0, hugetlb_free: 0, memory: { task: self, region: h, pattern: index } }
      - exit: { task: c }
      - close: { task: self, fd: fd0 }
      - exit: { task: self }
      - sleep: 10ms
      - expect: { hugetlb_free: 2, leaked_bytes: 0 }`)
    expect(failed(r)).toEqual([])
    expect(r.aggregates.counters.thp_split ?? 0).toBe(0)
  })
})

describe('tmpfs files: page cache, MAP_SHARED and MAP_PRIVATE', () => {
  it('a private mapping reads the page cache (and later pwrites) until a write copies the page', () => {
    const r = run(`
      - open_tmpfile: { task: self, fd: f, size: 64K }
      - pwrite: { task: self, fd: f, pattern: { index_plus: 100 } }
      - expect: { ret: 65536 }
      - mmap: { task: self, region: p, size: 64K, prot: r, fd: f }
      - mmap: { task: self, region: s, size: 64K, fd: f, shared: true }
      - touch: { task: self, region: p }
      - expect: { memory: { task: self, region: p, pattern: { index_plus: 100 } } }
      - snapshot: { task: self, fd: fd0, region: p }
      - expect: { label: "page-cache pages mapped read-only", snapshot: { all: 0x01 } }
      - write_data: { task: self, region: s, offset: 4K, size: 4K, pattern: { const: 7 } }
      - expect: { label: "a store through the shared mapping is seen by the private one (same page)", memory: { task: self, region: p, offset: 4K, size: 4K, pattern: { const: 7 } } }
      - mprotect: { task: self, region: p, prot: rw }
      - write_data: { task: self, region: p, size: 4K, pattern: { const: 9 } }
      - pread: { task: self, fd: f, size: 8K, into: b }
      - expect: { label: "the private write did not reach the file", ret: 8192, buffer: { name: b, size: 4K, pattern: { index_plus: 100 } } }
      - expect: { buffer: { name: b, offset: 4K, size: 4K, pattern: { const: 7 } } }
      - pread: { task: self, fd: f, offset: 60K, size: 8K, into: tail }
      - expect: { label: "a read past i_size is short", ret: 4096 }`)
    expect(failed(r)).toEqual([])
  })

  it('the page cache outlives the fd while mapped and is freed with the last user; an fd is not a device', () => {
    const r = run(`
      - open_tmpfile: { task: self, fd: f, size: 16K }
      - pwrite: { task: self, fd: f, pattern: index }
      - mmap: { task: self, region: s, size: 16K, fd: f, shared: true }
      - close: { task: self, fd: f }
      - expect: { ret: 0, live: { type: file, owner: self, count: 1 } }
      - touch: { task: self, region: s }
      - expect: { memory: { task: self, region: s, pattern: index } }
      - pwrite: { task: self, fd: f, pattern: index }
      - expect: { ret: -EBADF }
      - munmap: { task: self, region: s }
      - expect: { live: { type: pages, owner: self, bytes: 0 } }
      - open_tmpfile: { task: self, fd: g }
      - device_read: { task: self, fd: g, region: s }
      - expect: { ret: -EBADF }`)
    expect(failed(r)).toEqual([])
  })
})

describe('GUP pins', () => {
  it('a held pin keeps the page from migrating until unpin; GUP faults device-private pages back first', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 16K }
      - write_data: { task: self, region: b, pattern: index }
      - gup: { task: self, region: b, offset: 12K, size: 4K, pin: true, longterm: true, hold: p }
      - expect: { ret: 0 }
      - migrate_to_device: { task: self, fd: fd0, region: b }
      - expect: { label: "the pinned page is not migrated (cpages: the pages readable from the start)", ret: -ENOENT, cpages: 3 }
      - unpin: { pins: p }
      - migrate_to_device: { task: self, fd: fd0, region: b }
      - expect: { ret: 0, cpages: 4, pagemap: { task: self, region: b, swap: true, present: false } }
      - gup: { task: self, region: b, write: false, fast: true }
      - expect: { ret: 0, counter: { name: migrate_to_ram, value: 4 }, pagemap: { task: self, region: b, swap: false, present: true } }
      - gup: { task: self, region: b, longterm: true }
      - expect: { label: "FOLL_LONGTERM needs FOLL_PIN", ret: -EINVAL }
      - mprotect: { task: self, region: b, prot: r }
      - gup: { task: self, region: b }
      - expect: { label: "FOLL_WRITE on a read-only mapping", ret: -EFAULT }
      - munmap: { task: self, region: b }
      - expect: { live: { type: pages, owner: self, bytes: 0 } }`)
    expect(failed(r)).toEqual([])
    expect(r.aggregates.counters['gup.fast_pages'] ?? 0).toBe(0)
  })

  it('names of pins are declared: unpin of an unknown name is a parse error naming file, line and field', () => {
    const y = `name: t
steps:
  - spawn: { task: a }
  - unpin: { pins: nope }
`
    expect(() => parseScenario(y, 'x.yaml')).toThrow(ScenarioError)
    try {
      parseScenario(y, 'x.yaml')
    } catch (e) {
      expect((e as ScenarioError).line).toBe(4)
      expect((e as ScenarioError).message).toContain('x.yaml:4: steps[1].unpin.pins')
    }
  })
})

describe('HMM_DMIRROR_FLAG_FAIL_ALLOC is one-shot', () => {
  it('consumed by the next allocation: a THP falls back once; an order-0 allocation fails the ioctl with -ENOMEM', () => {
    const r = run(`
      - mmap: { task: self, region: h, size: 4M, huge: true }
      - write_data: { task: self, region: h, pattern: index }
      - dmirror_flags: { task: self, fd: fd0, fail_alloc: true }
      - migrate_to_device: { task: self, fd: fd0, region: h }
      - expect: { ret: 0, cpages: 1024, counter: { name: migrate_to_device.thp, value: 1 } }
      - snapshot: { task: self, fd: fd0, region: h, size: 2M }
      - expect: { label: "first THP in 4 KiB device pages, the second whole", snapshot: { all: 0x22 }, cpages: 512 }
      - snapshot: { task: self, fd: fd0, region: h, offset: 2M }
      - expect: { snapshot: { all: 0x26 } }
      - mmap: { task: self, region: s, size: 16K }
      - write_data: { task: self, region: s, pattern: index }
      - dmirror_flags: { task: self, fd: fd0, fail_alloc: true }
      - migrate_to_device: { task: self, fd: fd0, region: s }
      - expect: { ret: -ENOMEM }
      - migrate_to_device: { task: self, fd: fd0, region: s }
      - expect: { ret: 0, cpages: 4 }`)
    expect(failed(r)).toEqual([])
    expect(rets(r, 'dmirror_flags')).toEqual([0, 0])
  })
})

describe('DEVICE_COHERENT device memory', () => {
  function runCoherent(steps: string): RunRecord {
    const y = `name: t
designs: [D5]
machine:
  devices:
    - { name: c2, kind: dmirror, memory: coherent }
    - { name: c3, kind: dmirror, memory: coherent }
    - { name: p0, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: c2, fd: f2 }
  - open: { task: self, device: c3, fd: f3 }
  - open: { task: self, device: p0, fd: f0 }
${steps
  .trim()
  .split('\n')
  .map((l) => '  ' + l.trim())
  .join('\n')}
`
    return runScenario(parseScenario(y, 't.yaml'), { design: 'D5' })
  }

  it('the CPU uses migrated pages in place; other devices see them; MIGRATE_TO_SYS brings them back', () => {
    const r = runCoherent(`
      - mmap: { task: self, region: b, size: 64K }
      - write_data: { task: self, region: b, pattern: index }
      - migrate_to_device: { task: self, fd: f2, region: b }
      - expect: { ret: 0, cpages: 16, live: { type: vram, bytes: 65536 } }
      - write_data: { task: self, region: b, size: 4K, pattern: { const: 77 } }
      - expect: { label: "a CPU store goes to device memory, no fault back", counter: { name: migrate_to_ram, value: 0 }, live: { type: vram, bytes: 65536 } }
      - device_read: { task: self, fd: f2, region: b, into: m }
      - expect: { ret: 0, cpages: 16, faults: 0, buffer: { name: m, size: 4K, pattern: { const: 77 } } }
      - snapshot: { task: self, fd: f3, region: b, size: 4K }
      - expect: { label: "remote coherent page", snapshot: [0x52] }
      - migrate_to_device: { task: self, fd: f3, region: b }
      - expect: { label: "pages on another device are not selected", ret: -ENOENT, cpages: 0 }
      - migrate_to_device: { task: self, fd: f0, region: b }
      - expect: { label: "nor by a device-private device", ret: -ENOENT }
      - numa_migrate: { task: self, region: b }
      - migrate_to_system: { task: self, fd: f2, region: b }
      - expect: { ret: 0, cpages: 16, live: { type: vram, bytes: 0 }, memory: { task: self, region: b, offset: 4K, pattern: index } }`)
    expect(failed(r)).toEqual([])
  })

  it('a COW-shared coherent page is not migrated back until the COW is broken', () => {
    const r = runCoherent(`
      - mmap: { task: self, region: b, size: 16K }
      - write_data: { task: self, region: b, pattern: index }
      - migrate_to_device: { task: self, fd: f2, region: b }
      - fork: { task: self, child: c }
      - migrate_to_system: { task: self, fd: f2, region: b }
      - expect: { ret: 0, cpages: 0 }
      - write_data: { task: c, region: b, pattern: neg_index }
      - migrate_to_system: { task: self, fd: f2, region: b }
      - expect: { ret: 0, cpages: 4, memory: { task: self, region: b, pattern: index } }
      - expect: { memory: { task: c, region: b, pattern: neg_index } }`)
    expect(failed(r)).toEqual([])
  })
})

describe('random sequences over hugetlb, tmpfiles, GUP pins, FAIL_ALLOC and coherent memory', () => {
  function rng(seed: number): () => number {
    let a = seed >>> 0
    return () => {
      a = (a * 1664525 + 1013904223) >>> 0
      return a / 4294967296
    }
  }
  const OPS = [
    '- mmap: { task: self, region: h, size: 2M, hugetlb: true }',
    '- write_data: { task: self, region: h, size: 8K, pattern: index }',
    '- munmap: { task: self, region: h }',
    '- mprotect: { task: self, region: h, prot: r }',
    '- gup: { task: self, region: h, size: 4K, hold: ph }',
    '- mmap: { task: self, region: f, size: 32K, fd: tf, shared: SHARED }',
    '- write_data: { task: self, region: f, pattern: { index_plus: 5 } }',
    '- touch: { task: self, region: f }',
    '- pwrite: { task: self, fd: tf, size: 16K, pattern: neg_index }',
    '- pread: { task: self, fd: tf, into: pb }',
    '- migrate_to_device: { task: self, fd: DEV, region: f }',
    '- migrate_to_device: { task: self, fd: DEV, region: a }',
    '- migrate_to_system: { task: self, fd: DEV, region: a }',
    '- dmirror_flags: { task: self, fd: DEV, fail_alloc: true }',
    '- gup: { task: self, region: a, size: 8K, pin: true, longterm: true, fast: FAST, hold: pa }',
    '- gup: { task: self, region: a, offset: 4K, size: 4K, fast: FAST }',
    '- unpin: { pins: pa }',
    '- unpin: { pins: ph }',
    '- fork: { task: self, child: CHILD }',
    '- write_data: { task: self, region: a, pattern: index }',
    '- snapshot: { task: self, fd: DEV, region: a }',
    '- thp_split: { task: self, region: a }',
    '- madvise: { task: self, region: a, advice: dontneed }',
  ]

  it('never stop, break an invariant or leak once every task has exited and every pin is released', () => {
    const total: Record<string, number> = {}
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed)
      const steps: string[] = []
      let child = 0
      for (let i = 0; i < 25; i++) {
        let op = OPS[Math.floor(r() * OPS.length)] as string
        op = op
          .replace('SHARED', r() < 0.5 ? 'true' : 'false')
          .replace('FAST', r() < 0.5 ? 'true' : 'false')
          .replace('DEV', r() < 0.5 ? 'fp' : 'fc')
        if (op.includes('CHILD')) op = op.replace('CHILD', `c${child++}`)
        steps.push(op)
      }
      const y = `name: random ${seed}
designs: [D5]
machine:
  devices:
    - { name: p0, kind: dmirror }
    - { name: c2, kind: dmirror, memory: coherent }
steps:
  - nr_hugepages: 2
  - spawn: { task: self }
  - open: { task: self, device: p0, fd: fp }
  - open: { task: self, device: c2, fd: fc }
  - open_tmpfile: { task: self, fd: tf, size: 32K }
  - mmap: { task: self, region: a, size: 4M, huge: true }
  - write_data: { task: self, region: a, pattern: index }
  - mmap: { task: self, region: h, size: 2M, hugetlb: true }
  - mmap: { task: self, region: f, size: 32K, fd: tf, shared: true }
${steps.map((l) => '  ' + l).join('\n')}
  - gup: { task: self, region: a, size: 4K, hold: pa }
  - gup: { task: self, region: a, size: 4K, hold: ph }
  - unpin: { pins: pa }
  - unpin: { pins: ph }
${Array.from({ length: child }, (_, k) => `  - exit: { task: c${k} }`).join('\n')}
  - exit: { task: self }
  - sleep: 10ms
  - expect: { label: end, leaked_bytes: 0, hugetlb_free: 2, findings: { count: 0 } }
`
      const res = runScenario(parseScenario(y, `random-${seed}.yaml`), { design: 'D5' })
      expect(res.outcome.status, `seed ${seed}: ${res.findings.rows.map((f) => f.message).join('; ')}`).not.toBe('stopped')
      expect(failed(res), `seed ${seed}\n${y}`).toEqual([])
      for (const [k, v] of Object.entries(res.aggregates.counters)) total[k] = (total[k] ?? 0) + v
    }
    // the sequences do reach the paths under test
    for (const k of [
      'hugetlb_fault',
      'gup.pinned_pages',
      'gup.got_pages',
      'gup.longterm_migrated',
      'migrate_to_device.thp_fallback',
      'migrate_to_ram',
      'cow_break',
      'pagecache.pwrite_pages',
    ])
      expect(total[k] ?? 0, k).toBeGreaterThan(0)
  })
})

describe('bad input for the new steps names file, line and field', () => {
  const cases: Array<[string, string, number, string]> = [
    ['  - pread: { task: a, fd: t }', 'steps[2].pread.into', 5, 'expected string'],
    ['  - mmap: { task: a, region: r, size: 2M, hugetlb: "yes" }', 'steps[2].mmap.hugetlb', 5, 'expected boolean'],
    ['  - open_tmpfile: { task: a, fd: u, size: 5000 }', 'steps[2].open_tmpfile.size', 5, 'multiple of the 4 KiB page size'],
    ['  - nr_hugepages: -1', 'steps[2].nr_hugepages', 5, ''],
    ['  - pwrite: { task: a, fd: nope, pattern: index }', 'steps[2].pwrite.fd', 5, 'unknown fd "nope"'],
    ['  - gup: { task: a, region: r, pin: true, bogus: 1 }', 'steps[2].gup.bogus', 5, 'unknown field'],
    ['  - expect: { pagemap: { task: a, region: nowhere, swap: true } }', 'steps[2].expect.pagemap.region', 5, 'unknown region "nowhere"'],
  ]
  for (const [step, field, line, msg] of cases) {
    it(field, () => {
      const y = `name: t\nsteps:\n  - spawn: { task: a }\n  - open_tmpfile: { task: a, fd: t }\n${step}\n  - mmap: { task: a, region: r, size: 4K }\n`
      let err: ScenarioError | null = null
      try {
        parseScenario(y, 'bad.yaml')
      } catch (e) {
        err = e as ScenarioError
      }
      expect(err).toBeInstanceOf(ScenarioError)
      expect(err?.message).toContain(`bad.yaml:${line}: ${field}`)
      if (msg) expect(err?.message).toContain(msg)
    })
  }
})

describe('patterns with per_round inside repeat', () => {
  it('round r of the innermost repeat adds per_round × r (0 outside any repeat), also in background steps', () => {
    const r = run(`
      - mmap: { task: self, region: b, size: 16K }
      - repeat: { times: 3, steps: [ { write_data: { task: self, region: b, size: 4K, pattern: { index_plus: 10, per_round: 100 } } }, { expect: { memory: { task: self, region: b, size: 4K, pattern: { index_plus: 10, per_round: 100 } } } }, { background: { steps: [ { sleep: 1us }, { write_data: { task: self, region: b, offset: 4K, size: 4K, pattern: { const: 5, per_round: 2 } } } ] } }, { sleep: 10us } ] }
      - expect: { label: "last round was 2", memory: { task: self, region: b, size: 4K, pattern: { index_plus: 210 } } }
      - expect: { label: "background of round 2", memory: { task: self, region: b, offset: 4K, size: 4K, pattern: { const: 9 } } }
      - write_data: { task: self, region: b, size: 4K, pattern: { index_plus: 1, per_round: 7 } }
      - expect: { label: "round 0 outside a repeat", memory: { task: self, region: b, size: 4K, pattern: { index_plus: 1 } } }`)
    expect(failed(r)).toEqual([])
    expect(r.expects.rows.length).toBe(6)
  })
})

describe('MADV_HUGEPAGE on a private file mapping', () => {
  it('faults 4 KiB pages from the page cache; file holes and mapped page-cache pages are not migrated, COW copies are', () => {
    const r = run(`
      - open_tmpfile: { task: self, fd: f, size: 2M }
      - pwrite: { task: self, fd: f, pattern: { index_plus: 1 } }
      - mmap: { task: self, region: p, size: 2M, fd: f, huge: true }
      - touch: { task: self, region: p, size: 4K }
      - expect: { memory: { task: self, region: p, size: 4K, pattern: { index_plus: 1 } }, counter: { name: thp_fault, value: 0 } }
      - mmap: { task: self, region: q, size: 2M, fd: f, huge: true }
      - migrate_to_device: { task: self, fd: fd0, region: q }
      - expect: { label: "holes of a file mapping are not migrated", ret: -ENOENT, cpages: 0 }
      - write_data: { task: self, region: q, size: 8K, pattern: { const: 4 } }
      - touch: { task: self, region: q, offset: 8K, size: 4K }
      - migrate_to_device: { task: self, fd: fd0, region: q, size: 12K }
      - expect: { label: "COW copies migrate, a mapped page-cache page does not", ret: -ENOENT, cpages: 2 }
      - mmap: { task: self, region: h, size: 2M, fd: f, hugetlb: true }
      - expect: { ret: -EINVAL }`)
    expect(failed(r)).toEqual([])
  })
})
