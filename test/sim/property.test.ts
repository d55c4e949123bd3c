import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runScenario, type Scenario } from '../../src/sim/index'
import type { StepT } from '../../src/shared/scenario'

const TASKS = ['T0', 'T1']
const REGIONS = ['r0', 'r1', 'r2']
const FDS = ['f0', 'f1']
const DEVICES = ['gpu0', 'dm0']

const task = fc.constantFrom('T0', 'T0', 'T0', 'T1', 'T1', 'C0', 'C0', 'C1', 'C2')
const region = fc.constantFrom(...REGIONS)
const fd = fc.constantFrom(...FDS)
const pages = fc.integer({ min: 1, max: 64 })

/** One random step; `api` allows device users with no file (which leak by design under fd designs). */
function stepArb(api: boolean): fc.Arbitrary<StepT> {
  const devRef = api
    ? fc.oneof(
        fd.map((f) => ({ fd: f })),
        fc.constantFrom(...DEVICES).map((d) => ({ device: d })),
      )
    : fd.map((f) => ({ fd: f }))
  const range = fc.record({ task, region, off: fc.integer({ min: 0, max: 15 }), n: fc.integer({ min: 1, max: 16 }) })
  const r = (x: { task: string; region: string; off: number; n: number }) => ({ task: x.task, region: x.region, offset: x.off * 4096, size: x.n * 4096 })
  return fc.oneof(
    fc
      .record({ task, n: pages, huge: fc.boolean(), shared: fc.boolean(), prot: fc.constantFrom('rw', 'r', 'none') as fc.Arbitrary<'rw' | 'r' | 'none'> })
      .map((x) => ({
        mmap: { task: x.task, region: 'r3', size: (x.huge ? 1024 : x.n + 16) * 4096, huge: x.huge, shared: x.shared, prot: x.prot },
      })),
    fc.tuple(range, fc.boolean()).map(([x, w]) => ({ touch: { ...r(x), write: w } })),
    fc
      .tuple(range, fc.constantFrom('index', 'neg_index') as fc.Arbitrary<'index' | 'neg_index'>)
      .map(([x, pat]) => ({ write_data: { ...r(x), pattern: pat } })),
    fc.record({ task, device: fc.constantFrom(...DEVICES), fd }).map((x) => ({ open: x })),
    fc.tuple(task, devRef).map(([t, d]) => ({ mirror: { task: t, ...d } })),
    ...Array.from({ length: 6 }, () =>
      fc
        .tuple(
          range,
          devRef,
          fc.constantFrom(
            'device_read',
            'device_write',
            'device_read',
            'device_write',
            'migrate_to_device',
            'migrate_to_system',
            'snapshot',
            'exclusive',
            'check_exclusive',
          ),
        )
        .map(([x, d, op]) => ({ [op]: { ...r(x), ...d } }) as unknown as StepT),
    ),
    fc.record({ task, child: fc.constantFrom('C0', 'C1', 'C2') }).map((x) => ({ fork: x })),
    task.map((t) => ({ exit: { task: t } })),
    task.map((t) => ({ oom_kill: { task: t } })),
    fc.record({ task, fd }).map((x) => ({ close: x })),
    range.map((x) => ({ munmap: r(x) })),
    fc.tuple(range, fc.constantFrom('r', 'rw', 'none') as fc.Arbitrary<'r' | 'rw' | 'none'>).map(([x, p]) => ({ mprotect: { ...r(x), prot: p } })),
    fc
      .tuple(range, fc.constantFrom('dontneed', 'pageout', 'collapse', 'hugepage') as fc.Arbitrary<'dontneed' | 'pageout' | 'collapse' | 'hugepage'>)
      .map(([x, a]) => ({ madvise: { ...r(x), advice: a } })),
    range.map((x) => ({ mremap: { ...r(x), dontunmap: x.off % 2 === 0 } })),
    range.map((x) => ({ thp_split: r(x) })),
    range.map((x) => ({ numa_migrate: r(x) })),
    range.map((x) => ({ clear_refs: r(x) })),
    range.map((x) => ({ writeback: r(x) })),
    fc
      .record({
        task,
        region,
        count: fc.integer({ min: 1, max: 8 }),
        event: fc.constantFrom('clear', 'unmap', 'protection', 'migrate') as fc.Arbitrary<'clear' | 'unmap' | 'protection' | 'migrate'>,
      })
      .map((x) => ({
        invalidation_storm: { ...x, pages: 4, interval: 3000, background: true },
      })),
    fc.tuple(task, fd, fc.integer({ min: 1, max: 64 })).map(([t, f, k]) => ({ alloc_bo: { task: t, fd: f, size: k * 4096 } })),
    fc.integer({ min: 0, max: 3_000_000 }).map((ns) => ({ sleep: ns })),
  )
}

function scenario(steps: StepT[]): Scenario {
  const all = [...TASKS, 'C0', 'C1', 'C2']
  return {
    name: 'random',
    machine: {
      iommus: [{ name: 'io', vendor: 'intel' }],
      devices: [
        { name: 'gpu0', kind: 'gpu', iommu: 'io', ats: true },
        { name: 'dm0', kind: 'dmirror' },
      ],
    },
    steps: [
      ...TASKS.flatMap((t): StepT[] => [
        { spawn: { task: t } },
        { mmap: { task: t, region: 'r0', size: '256K' } },
        { mmap: { task: t, region: 'r1', size: '4M', huge: true } },
        { mmap: { task: t, region: 'r2', size: '128K', shared: true } },
        { touch: { task: t, region: 'r0', size: '64K', write: true } },
        { open: { task: t, device: 'gpu0', fd: 'f0' } },
        { open: { task: t, device: 'dm0', fd: 'f1' } },
        { mirror: { task: t, fd: 'f0' } },
        { mirror: { task: t, fd: 'f1' } },
      ]),
      ...steps,
      ...all.map((t) => ({ exit: { task: t } })),
      { sleep: '1s' },
    ],
  }
}

const MEMORY_SAFETY = new Set(['use_after_free', 'double_free', 'refcount_underflow', 'invariant'])

describe('random step sequences (fast-check)', () => {
  it('never crash the simulator under any design, broken ones included', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb(true), { maxLength: 30 }),
        fc.constantFrom('D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'B1', 'B2') as fc.Arbitrary<'D1'>,
        fc.nat(1000),
        (steps, design, seed) => {
          const r = runScenario(scenario(steps), { design, seed, maxEvents: 2_000_000 })
          expect(r.outcome.status).not.toBe('stopped')
        },
      ),
      { numRuns: 150 },
    )
  })

  for (const design of ['D1', 'D2', 'D3', 'D4', 'D5', 'D6'] as const) {
    it(`never break an invariant or memory safety under ${design}`, () => {
      fc.assert(
        fc.property(fc.array(stepArb(true), { maxLength: 30 }), fc.nat(1000), (steps, seed) => {
          const r = runScenario(scenario(steps), { design, seed })
          const bad = r.findings.rows.filter((f) => MEMORY_SAFETY.has(f.kind)).map((f) => f.message)
          expect(bad).toEqual([])
        }),
        { numRuns: 100 },
      )
    })
  }

  for (const design of ['D3', 'D4', 'D5'] as const) {
    it(`leave no leaked bytes after every task exited under ${design}`, () => {
      fc.assert(
        fc.property(fc.array(stepArb(false), { maxLength: 30 }), fc.nat(1000), (steps, seed) => {
          const r = runScenario(scenario(steps), { design, seed })
          expect(r.aggregates.leaked.endBytes).toBe(0)
          const total = Object.values(r.aggregates.finalBytes).reduce((a, b) => a + b, 0)
          expect(total).toBe(0)
        }),
        { numRuns: 100 },
      )
    })
  }

  it('are deterministic: the same sequence and seed give the same JSON', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb(true), { maxLength: 25 }),
        fc.constantFrom('D1', 'D4', 'D5', 'D6', 'B2') as fc.Arbitrary<'D1'>,
        fc.nat(1000),
        (steps, design, seed) => {
          const a = JSON.stringify(runScenario(scenario(steps), { design, seed }))
          const b = JSON.stringify(runScenario(scenario(steps), { design, seed }))
          expect(a).toBe(b)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('the broken variant B1 is caught on the simplest sequence', () => {
    const r = runScenario(scenario([{ open: { task: 'T0', device: 'dm0', fd: 'f0' } }, { mirror: { task: 'T0', fd: 'f0' } }]), { design: 'B1' })
    expect(r.findings.rows.some((f) => f.kind === 'use_after_free')).toBe(true)
  })
})
