import { describe, expect, it } from 'vitest'
import { runScenario } from '../../src/sim/index'
import { OracleSideSchema } from '../../src/shared/oracle'
import { runSimulatorSide } from '../../src/main/services/oracle/simulator-side'
import { loadScenario, scenarioFromText } from './helpers'

const COW = `name: cow-after-fork
designs: [D5]
machine:
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror0, fd: fd }
  - mmap: { task: self, region: a, size: 64K }
  - mmap: { task: self, region: b, size: 32K }
  - write_data: { task: self, region: a, pattern: index }
  - fork: { task: self, child: child }
  - write_data: { task: self, region: a, offset: 8K, size: 8K, pattern: neg_index }
  - expect: { memory: { task: self, region: a, offset: 8K, size: 8K, pattern: neg_index } }
  - expect: { memory: { task: child, region: a, pattern: neg_index } }
  - munmap: { task: self, region: b }
  - exit: { task: child }
  - close: { task: self, fd: fd }
`

describe('the simulator side of the oracle', () => {
  const sc = scenarioFromText(COW)
  const side = runSimulatorSide(sc, { design: 'D5' })

  it('is a valid observation document, one step per step the interpreter began', () => {
    expect(OracleSideSchema.safeParse(side).success).toBe(true)
    expect(side.side).toBe('simulator')
    expect(side.steps.map((s) => s.op)).toEqual([
      'spawn',
      'open',
      'mmap',
      'mmap',
      'write_data',
      'fork',
      'write_data',
      'expect',
      'expect',
      'munmap',
      'exit',
      'close',
    ])
    expect(side.steps.map((s) => s.line)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
    expect(side.steps.map((s) => s.index)).toEqual(side.steps.map((_, i) => i))
  })

  it('tags invalidations with the step and cuts them against the regions', () => {
    const fork = side.steps[5]!
    // copy_page_range: one PROTECTION_PAGE per COW VMA of the parent, to range_start and the interval subscriber
    const pp = fork.invalidations.filter((i) => i.event === 'PROTECTION_PAGE')
    expect(pp.length).toBeGreaterThan(0)
    expect(pp.every((i) => i.task === 'self' && !i.whole && i.outside_pages === 0)).toBe(true)
    expect(new Set(pp.flatMap((i) => i.slices.map((s) => s.region)))).toEqual(new Set(['a']))
    const cow = side.steps[6]!
    const clears = cow.invalidations.filter((i) => i.event === 'CLEAR' && i.via === 'range_start')
    expect(clears.length).toBeGreaterThan(0)
    for (const c of clears) for (const s of c.slices) expect(s.region === 'a' && s.first >= 2 && s.first + s.pages <= 4).toBe(true)
    const unmap = side.steps[9]!.invalidations.filter((i) => i.event === 'UNMAP' && i.via === 'range_start')
    expect(unmap).toEqual([
      { via: 'range_start', event: 'UNMAP', task: 'self', whole: false, slices: [{ region: 'b', first: 0, pages: 8 }], outside_pages: 0, owner: null },
    ])
  })

  it('reads return codes and data checks as the simulator sees them', () => {
    const result = runScenario(sc, { design: 'D5' })
    const logged = result.steps.rows.map((s) => s.ret)
    expect(side.steps.filter((s) => s.op !== 'expect').map((s) => s.ret)).toEqual(logged)
    expect(side.steps[7]!.data).toEqual([{ what: 'memory self a', ok: true, first_bad_page: null }])
    // the child kept the index: its first page differs from neg_index at page 1 (page 0 holds 0 = -0)
    expect(side.steps[8]!.data).toEqual([{ what: 'memory child a', ok: false, first_bad_page: 1 }])
  })

  it('reads pagemap, VmPTE and RssAnon of the step task after the step', () => {
    const w = side.steps[4]!
    expect(w.pagemap.find((p) => p.region === 'a')).toMatchObject({ pages: 16, present: 16, swapped: 0, zero_page: 0 })
    expect(w.rss_anon_kb).toBe(64)
    expect(w.vm_pte_kb).toBeGreaterThan(0)
    // after munmap of b, only a is read
    expect(side.steps[9]!.pagemap.map((p) => p.region)).toEqual(['a'])
    // the exited child has no /proc to read
    expect(side.steps[10]!.pagemap).toEqual([])
    expect(side.notes.some((n) => n.startsWith('not observed: pagemap.soft_dirty'))).toBe(true)
  })

  it('records SNAPSHOT bytes on the snapshot step', () => {
    const snap = runSimulatorSide(loadScenario('scenarios/selftests/snapshot.yaml'), { design: 'D5' })
    const steps = snap.steps.filter((s) => s.op === 'snapshot')
    expect(steps.length).toBeGreaterThan(0)
    for (const s of steps) expect(s.snapshot?.length).toBeGreaterThan(0)
    expect(snap.steps.filter((s) => s.op !== 'snapshot').every((s) => s.snapshot === null)).toBe(true)
  })

  it('is deterministic', () => {
    expect(JSON.stringify(runSimulatorSide(sc, { design: 'D5' }))).toBe(JSON.stringify(side))
  })

  it('marks a step that never returned as unfinished, with no return code', () => {
    // the vfork child has nothing left to run: A's next step waits in wait_for_vfork_done for good
    const stuck = runSimulatorSide(
      scenarioFromText(`name: stuck
designs: [D5]
steps:
  - spawn: { task: A }
  - mmap: { task: A, region: buf, size: 64K }
  - vfork: { task: A, child: C }
  - mmap: { task: A, region: b2, size: 64K }
`),
      { design: 'D5' },
    )
    expect(OracleSideSchema.safeParse(stuck).success).toBe(true)
    const last = stuck.steps[stuck.steps.length - 1]!
    expect(last).toMatchObject({ op: 'mmap', line: 7, ret: null, cpages: null, faults: null, unfinished: 'blocked' })
    expect(stuck.notes.some((n) => n.startsWith(`step ${last.index} (line 7, mmap) did not return`))).toBe(true)
    // completed steps carry no such mark
    expect(side.steps.every((s) => s.unfinished === undefined)).toBe(true)
  })

  it('unrolls repeats and counts when/expect steps as the interpreter does', () => {
    const s = scenarioFromText(`name: r
designs: [D5]
steps:
  - spawn: { task: t }
  - repeat:
      times: 2
      steps:
        - mmap: { task: t, region: x, size: 8K }
        - munmap: { task: t, region: x }
  - when: { design: D1, steps: [ { sleep: 1ms } ] }
  - when: { design: D5, steps: [ { sleep: 1ms } ] }
`)
    const o = runSimulatorSide(s, { design: 'D5' })
    expect(o.steps.map((x) => `${x.op}@${x.line}`)).toEqual([
      'spawn@4',
      'repeat@5',
      'mmap@8',
      'munmap@9',
      'mmap@8',
      'munmap@9',
      'when@10',
      'when@11',
      'sleep@11',
    ])
    expect(o.notes.filter((n) => !n.startsWith('not observed'))).toEqual([])
  })

  it('counts RssAnon as MM_ANONPAGES: private file COW copies yes, hugetlb pages no', () => {
    // do_cow_fault puts an anonymous page in MM_ANONPAGES; hugetlb_no_page counts nothing (HugetlbPages)
    const s = scenarioFromText(`name: rss
designs: [D5]
steps:
  - nr_hugepages: 1
  - spawn: { task: t }
  - open_tmpfile: { task: t, fd: file, size: 64K }
  - mmap: { task: t, region: priv, size: 64K, fd: file }
  - write_data: { task: t, region: priv, pattern: index }
  - mmap: { task: t, region: ro, size: 64K, fd: file }
  - touch: { task: t, region: ro }
  - mmap: { task: t, region: huge, size: 2M, hugetlb: true }
  - write_data: { task: t, region: huge, pattern: index }
  - munmap: { task: t, region: priv }
`)
    const o = runSimulatorSide(s, { design: 'D5' })
    const rss = o.steps.map((x) => [x.op, x.rss_anon_kb])
    expect(rss[4]).toEqual(['write_data', 64])
    expect(rss[6]).toEqual(['touch', 64])
    expect(rss[8]).toEqual(['write_data', 64])
    expect(rss[9]).toEqual(['munmap', 0])
  })

  it('gives pages two regions cover to the one placed last, as the kernel side does (an mremap into a partly unmapped region)', () => {
    const s = scenarioFromText(`name: remap-into-hole
designs: [D5]
machine:
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
steps:
  - spawn: { task: t }
  - open: { task: t, device: hmm_dmirror0, fd: fd }
  - mmap: { task: t, region: buf, size: 64K, at: 1073741824 }
  - munmap: { task: t, region: buf, offset: 16K, size: 16K }
  - write_data: { task: t, region: buf, size: 16K, pattern: index }
  - mremap: { task: t, region: buf, size: 16K, to_region: moved, at: 1073758208 }
  - munmap: { task: t, region: moved }
  - munmap: { task: t, region: buf }
`)
    const o = runSimulatorSide(s, { design: 'D5' })
    const slicesOf = (i: number) => o.steps[i]!.invalidations.filter((x) => x.via === 'range_start' && x.event === 'UNMAP').map((x) => x.slices)
    // `moved` lies in buf's unmapped pages 4..7: its munmap is moved's alone
    expect(slicesOf(6)).toEqual([[{ region: 'moved', first: 0, pages: 4 }]])
    // buf (still in the table: only part of it moved) unmapped whole: no slice of moved, which is gone
    expect(
      slicesOf(7)
        .flat()
        .map((x) => x.region),
    ).toContain('buf')
    expect(
      slicesOf(7)
        .flat()
        .every((x) => x.region === 'buf'),
    ).toBe(true)
  })
})
