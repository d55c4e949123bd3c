/**
 * The program compiler numbers steps exactly as the simulator's `step` hook does (containers and
 * expects included, repeats unrolled, `when` resolved for the design), and refuses the steps the
 * guest executor cannot perform with the step, line and why.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, type StepBegin } from '../../../src/sim/index'
import { compileProgram, findUnexpressible, mapDevices, patternArg } from '../../../src/main/services/oracle/kernel/program'
import { checkExpressible } from '../../../src/main/services/oracle/kernel/index'

const root = join(__dirname, '../../..')
const load = (rel: string) => parseScenario(readFileSync(join(root, rel), 'utf8'), rel)

function simSteps(sc: ReturnType<typeof load>, design: string): Array<{ index: number; line: number; op: string; task: string | null }> {
  const out: StepBegin[] = []
  runScenario(sc, { design: design as 'D5', hooks: { step: (s) => out.push(s) } })
  return out.map((s) => ({ index: s.index, line: s.line, op: s.op, task: s.task }))
}

const SYNTH = `name: numbering
designs: [D5, D1]
machine:
  devices:
    - { name: dev, kind: dmirror }
steps:
  - spawn: { task: a }
  - repeat:
      times: 2
      steps:
        - mmap: { task: a, region: r, size: 8K }
        - write_data: { task: a, region: r, pattern: { index_plus: 5, per_round: 10 } }
        - expect: { ret: 0, memory: { task: a, region: r, pattern: { index_plus: 5, per_round: 10 } } }
        - munmap: { task: a, region: r }
  - when:
      design: D1
      steps:
        - mmap: { task: a, region: never, size: 4K }
  - when:
      design: [D5]
      steps:
        - open: { task: a, device: dev, fd: f }
  - expect: { label: only D1, design: D1, memory: { task: a, region: r, pattern: zero } }
  - exit: { task: a }
`

describe('program compiler', () => {
  it('numbers steps like the simulator: containers, expects, unrolled repeats, resolved when', () => {
    const sc = parseScenario(SYNTH, 'synth.yaml')
    const p = compileProgram(sc, 'D5', 'x')
    expect(p.steps.map((s) => s.index)).toEqual(p.steps.map((_, i) => i))
    expect(p.steps).toEqual(simSteps(sc, 'D5'))
    expect(p.steps.map((s) => s.op)).toEqual([
      'spawn',
      'repeat',
      'mmap',
      'write_data',
      'expect',
      'munmap',
      'mmap',
      'write_data',
      'expect',
      'munmap',
      'when',
      'when',
      'open',
      'expect',
      'exit',
    ])
    // the round of the innermost repeat is resolved in patterns
    expect(p.text).toContain('step 3 a write_data region=r off=0 len=-1 pat=plus:5')
    expect(p.text).toContain('step 7 a write_data region=r off=0 len=-1 pat=plus:15')
    expect(p.text).toContain('part a memory region=r off=0 len=-1 pat=plus:15')
    // the D1-only expect has no data check under D5, and the D1-only mmap is not emitted
    expect(p.text).not.toContain('region=never')
    expect(p.text.split('\n').filter((l) => l.startsWith('part ')).length).toBe(2)
    expect(p.text).toContain('step 12 a open fd=f path=hmm_dmirror0')
    const d1 = compileProgram(sc, 'D1', 'y')
    expect(d1.steps).toEqual(simSteps(sc, 'D1'))
    expect(d1.text).toContain('region=never')
  })

  for (const rel of [
    'scenarios/selftests/anon_write_child.yaml',
    'scenarios/selftests/migrate_multiple.yaml',
    'scenarios/selftests/snapshot.coherent.yaml',
    'scenarios/examples/dmirror-ioctls.yaml',
    'scenarios/thread-2014/b-release-free-and-deferred-job.yaml',
  ]) {
    it(`matches the simulator's step hook on ${rel}`, () => {
      const sc = load(rel)
      expect(compileProgram(sc, 'D5', 'x').steps).toEqual(simSteps(sc, 'D5'))
    })
  }

  it('names the first step the executor cannot do, with its line and why', () => {
    const u = checkExpressible(load('scenarios/selftests/anon_teardown.yaml'), 'D5')
    expect(u).toMatchObject({ index: 6, line: 24, op: 'background' })
    expect(u?.why).toMatch(/one step at a time/)
    const gpu = findUnexpressible(load('scenarios/examples/kfd-eviction-storm.yaml'), 'D5')
    expect(gpu?.op).toBe('open')
    expect(gpu?.why).toMatch(/gpu/)
    expect(() => compileProgram(load('scenarios/selftests/anon_teardown.yaml'), 'D5', 'x')).toThrow(/anon_teardown.yaml: step 6 \(line 24, background\)/)
    const noFile = parseScenario('name: x\nsteps:\n  - spawn: { task: a }\n  - mirror: { task: a, device: dmirror0 }\n', 'nofile.yaml')
    expect(findUnexpressible(noFile, 'D5')).toMatchObject({ index: 1, line: 4, op: 'mirror' })
    const held = parseScenario(
      'name: x\nsteps:\n  - spawn: { task: a }\n  - mmap: { task: a, region: r, size: 4K }\n  - gup: { task: a, region: r, hold: p }\n',
      'held.yaml',
    )
    expect(findUnexpressible(held, 'D5')).toMatchObject({ index: 2, op: 'gup' })
    expect(findUnexpressible(load('scenarios/selftests/anon_read.yaml'), 'D5')).toBeNull()
    // the guest has no swap and cannot hold an OOM victim in an uninterruptible sleep
    expect(findUnexpressible(load('scenarios/examples/swap-and-mirror.yaml'), 'D5')?.why).toContain('machine.swap')
    const stuck = parseScenario('name: x\nsteps:\n  - spawn: { task: a }\n  - oom_kill: { task: a, blocked: 3s }\n', 'stuck.yaml')
    expect(findUnexpressible(stuck, 'D5')).toMatchObject({ index: 1, op: 'oom_kill' })
    expect(findUnexpressible(load('scenarios/examples/pageout-without-swap.yaml'), 'D5')).toBeNull()
  })

  it('runs mmap at: only as MAP_FIXED_NOREPLACE, and not below mmap_min_addr (the executor is root)', () => {
    const sc = (m: string, machine = '') =>
      parseScenario(`name: x\n${machine}steps:\n  - spawn: { task: a }\n  - mmap: { task: a, region: r, size: 4K, ${m} }\n`, 'at.yaml')
    const fixed = findUnexpressible(sc('at: 0x40000000'), 'D5')
    expect(fixed).toMatchObject({ index: 1, line: 4, op: 'mmap' })
    expect(fixed?.why).toMatch(/MAP_FIXED_NOREPLACE only: add noreplace: true/)
    expect(findUnexpressible(sc('at: 0x40000000, noreplace: true'), 'D5')).toBeNull()
    expect(findUnexpressible(sc('at: 0x1000, noreplace: true'), 'D5')?.why).toMatch(/below mmap_min_addr: the guest executor runs as root \(CAP_SYS_RAWIO\)/)
    expect(findUnexpressible(sc('at: 0x1000, noreplace: true', 'machine: { mmap_min_addr: 4096 }\n'), 'D5')).toBeNull()
    expect(findUnexpressible(load('scenarios/selftests/migrate_remap_fault.yaml'), 'D5')).toBeNull()
  })

  it('refuses HMM_DMIRROR_FLAGS on a kernel whose test_hmm has none (6.12), and lets it through where it exists', () => {
    const sc = load('scenarios/selftests/migrate_anon_huge_err.yaml')
    // without knowing the kernel: let through (the build decides)
    expect(findUnexpressible(sc, 'D5')).toBeNull()
    const u = findUnexpressible(sc, 'D5', { release: '6.12.118', dmirrorFlags: false })
    expect(u).toMatchObject({ line: 28, op: 'dmirror_flags' })
    expect(u?.why).toMatch(/HMM_DMIRROR_FLAGS: the guest kernel 6\.12\.118 has no such ioctl/)
    expect(u?.why).toMatch(/--kernel-tree/)
    expect(() => compileProgram(sc, 'D5', 'x', { release: '6.12.118', dmirrorFlags: false })).toThrow(
      /migrate_anon_huge_err.yaml: step \d+ \(line 28, dmirror_flags\)/,
    )
    expect(findUnexpressible(sc, 'D5', { release: '6.19.0', dmirrorFlags: true })).toBeNull()
    expect(compileProgram(sc, 'D5', 'x', { release: '6.19.0', dmirrorFlags: true }).text).toMatch(/ dmirror_flags fd=fd fail_alloc=1/)
  })

  it('maps private dmirrors to hmm_dmirror0/1 and coherent ones to 2/3', () => {
    const sc = parseScenario(
      'name: x\nmachine:\n  devices:\n    - { name: a, kind: dmirror }\n    - { name: c, kind: dmirror, memory: coherent }\n    - { name: hmm_dmirror0, kind: dmirror }\n    - { name: b, kind: dmirror }\nsteps: []\n',
      'devs.yaml',
    )
    const m = mapDevices(sc)
    expect(m.get('hmm_dmirror0')?.guest).toBe('hmm_dmirror0')
    expect(m.get('a')?.guest).toBe('hmm_dmirror1')
    expect(m.get('c')?.guest).toBe('hmm_dmirror2')
    expect(m.get('b')?.guest).toBeNull()
    expect(m.get('b')?.why).toMatch(/two private devices/)
    expect(mapDevices(parseScenario('name: x\nsteps: []\n', 'd.yaml')).get('dmirror0')?.guest).toBe('hmm_dmirror0')
  })

  it('writes patterns and sizes the executor understands', () => {
    expect(patternArg('zero', 3)).toBe('zero')
    expect(patternArg('neg_index', 3)).toBe('neg')
    expect(patternArg({ const: 7, per_round: 2 }, 3)).toBe('const:13')
    const sc = parseScenario(
      'name: x\nsteps:\n  - spawn: { task: a }\n  - mmap: { task: a, region: r, size: 16 pages, huge: true }\n  - touch: { task: a, region: r, offset: 8K, size: 4K, write: true }\n',
      'sizes.yaml',
    )
    const p = compileProgram(sc, 'D5', 'x')
    expect(p.text).toContain('step 1 a mmap region=r pages=16 prot=rw huge=1')
    expect(p.text).toContain('step 2 a touch region=r off=2 len=1 write=1')
    expect(p.scratchPages).toBe(16)
    expect(() => compileProgram(sc, 'D5', 'bad id')).toThrow(/program id/)
  })
})
