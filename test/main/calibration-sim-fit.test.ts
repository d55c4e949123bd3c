/**
 * The fit inverts the simulator's own charging: each calibration benchmark is replayed as a
 * scenario at the C program's sizes, the simulator's time for the timed step stands in for the
 * CPU time, and the fit must give back the cost table the simulator ran with. A parameter the
 * simulator charges in one place and the fit derives as if it were charged in another (the THP
 * fault's deposited table once counted twice this way) shows up here as a wrong value. No timing.
 */
import { describe, expect, it } from 'vitest'
import { runScenario, type Scenario } from '../../src/sim/index'
import type { StepT } from '../../src/shared/scenario'
import { buildCalibration, type RawRun } from '../../src/main/services/calibration/fit'

/** Distinct values, far from the defaults, so a parameter read in place of another is visible. */
const COSTS = {
  syscall: 700,
  cpu_full_flush: 4100,
  cpu_invlpg: 100,
  pt_alloc: 2300,
  pt_free: 900,
  cpu_fault: 1700,
  cpu_zero_fault: 650,
  cpu_thp_fault: 120_000,
  cpu_cow_copy: 3100,
  zap_pte: 210,
  munmap_pte: 260,
  exit_pte: 130,
  mprotect_pte: 170,
  mremap_pte: 75,
  fork_pte: 95,
  munmap_base: 21_000,
  dontneed_base: 11_000,
  mprotect_base: 6000,
  exit_base: 310_000,
}

const HPAGE = 2 << 20
const GiB = 1 << 30

/** One benchmark at one size: the steps before, the timed steps, the steps after. */
type Build = (x: number) => { setup: StepT[]; timed: StepT[] }

const region = (size: number, extra: Record<string, unknown> = {}): StepT =>
  ({ mmap: { task: 'A', region: 'r', size: `${size / 1024}K`, at: String(GiB), ...extra } }) as unknown as StepT
const touch = (write: boolean): StepT => ({ touch: { task: 'A', region: 'r', write } }) as StepT
const pages = (n: number): number => n * 4096

const BENCHES: Record<string, { sizes: number[]; build: Build }> = {
  fault_anon: { sizes: [1024, 2048, 4096, 8192], build: (x) => ({ setup: [region(pages(x))], timed: [touch(true)] }) },
  fault_zero: { sizes: [1024, 2048, 4096, 8192], build: (x) => ({ setup: [region(pages(x))], timed: [touch(false)] }) },
  fault_sparse: {
    sizes: [32, 64, 128],
    build: (x) => ({
      setup: [region(x * HPAGE)],
      timed: Array.from({ length: x }, (_, i) => ({ touch: { task: 'A', region: 'r', offset: String(i * HPAGE), size: '4K', write: true } }) as StepT),
    }),
  },
  fault_thp: { sizes: [8, 16, 32], build: (x) => ({ setup: [region(x * HPAGE, { huge: true })], timed: [touch(true)] }) },
  cow: {
    sizes: [1024, 2048, 4096],
    build: (x) => ({ setup: [region(pages(x)), touch(true), { fork: { task: 'A', child: 'C' } } as StepT], timed: [touch(true)] }),
  },
  munmap: {
    sizes: [1024, 2048, 4096, 8192],
    build: (x) => ({ setup: [region(pages(x)), touch(true)], timed: [{ munmap: { task: 'A', region: 'r' } } as StepT] }),
  },
  munmap_sparse: {
    sizes: [32, 64, 128],
    build: (x) => ({
      setup: [
        region(x * HPAGE),
        ...Array.from({ length: x }, (_, i) => ({ touch: { task: 'A', region: 'r', offset: String(i * HPAGE), size: '4K', write: true } }) as StepT),
      ],
      timed: [{ munmap: { task: 'A', region: 'r' } } as StepT],
    }),
  },
  dontneed: {
    sizes: [1024, 2048, 4096, 8192],
    build: (x) => ({ setup: [region(pages(x)), touch(true)], timed: [{ madvise: { task: 'A', region: 'r', advice: 'dontneed' } } as StepT] }),
  },
  mprotect: {
    sizes: [1024, 2048, 4096, 8192],
    build: (x) => ({ setup: [region(pages(x)), touch(true)], timed: [{ mprotect: { task: 'A', region: 'r', prot: 'r' } } as StepT] }),
  },
  // calibrate.c's m_mremap: source one page past a 2 MiB boundary, destination two pages past
  // another, so move_page_tables moves PTE by PTE
  mremap: {
    sizes: [1024, 2048, 4096, 8192],
    build: (x) => ({
      setup: [region(pages(x), { at: String(GiB + 4096) }), touch(true)],
      timed: [{ mremap: { task: 'A', region: 'r', to_region: 'm', at: String(GiB + (256 << 20) + 8192) } } as StepT],
    }),
  },
  fork_pte: {
    sizes: [1024, 2048, 4096, 8192],
    build: (x) => ({ setup: [region(pages(x)), touch(true)], timed: [{ fork: { task: 'A', child: 'C' } } as StepT] }),
  },
  exit: {
    sizes: [1024, 2048, 4096, 8192],
    build: (x) => ({ setup: [region(pages(x)), touch(true)], timed: [{ exit: { task: 'A' } } as StepT] }),
  },
}

/**
 * The simulated time of the timed steps of one benchmark at size x. A page elsewhere in the same
 * 1 GiB stays mapped throughout, as the C program's other mappings do, so no benchmark frees or
 * allocates the PMD table itself. The interpreter charges every step a syscall entry; a touch is a
 * user access (calibrate.c makes no syscall there), so that entry is taken out of timed touches.
 */
function simulate(name: string, x: number): number {
  const { setup, timed } = BENCHES[name]!.build(x)
  const keep = { mmap: { task: 'A', region: 'keep', size: '4K', at: String(GiB + (512 << 20)) } } as unknown as StepT
  const keepTouched = { touch: { task: 'A', region: 'keep', write: true } } as StepT
  const steps: StepT[] = [{ spawn: { task: 'A' } } as StepT, keep, keepTouched, ...setup, ...timed]
  const sc = { name: `calibration ${name} ${x}`, machine: { cpus: 1 }, designs: ['D1'], costs: COSTS, steps } as unknown as Scenario
  const r = runScenario(sc, { design: 'D1', seed: 1 })
  expect(r.steps.dropped, `${name} ${x}: step log dropped steps`).toBe(0)
  const first = steps.length - timed.length
  let ns = 0
  r.steps.rows.forEach((s, i) => {
    if (i >= first) ns += s.t1 - s.t0 - ('touch' in steps[i]! ? COSTS.syscall : 0)
  })
  return ns
}

describe('the fit inverts the simulator’s charging', () => {
  const raw: RawRun = { info: new Map([['process_vmas', '0']]), measurements: new Map(), skipped: [], phases: new Map() }
  for (const [name, b] of Object.entries(BENCHES)) {
    const byX = new Map<number, number[]>()
    for (const x of b.sizes) byX.set(x, [simulate(name, x)])
    raw.measurements.set(name, byX)
  }
  // syscall: no getppid step in a scenario; its slope is the parameter by definition
  raw.measurements.set('syscall', new Map([2000, 4000].map((n) => [n, [n * COSTS.syscall]])))
  const cal = buildCalibration(raw, { date: new Date(0), durationMs: 1, defaults: { cpu_full_flush: COSTS.cpu_full_flush, cpu_invlpg: 100, ipi_per_cpu: 200 } })

  const perUnit = [
    'pt_alloc',
    'pt_free',
    'cpu_fault',
    'cpu_zero_fault',
    'cpu_thp_fault',
    'cpu_cow_copy',
    'zap_pte',
    'munmap_pte',
    'exit_pte',
    'mprotect_pte',
    'mremap_pte',
    'fork_pte',
  ] as const
  for (const k of perUnit) {
    it(`${k}: the simulator's ${COSTS[k]} ns comes back`, () => {
      expect(cal.params[k], k).toBeDefined()
      expect(cal.params[k]!.value, k).toBeCloseTo(COSTS[k], 0)
    })
  }
  for (const k of ['munmap_base', 'dontneed_base', 'mprotect_base'] as const) {
    it(`${k}: the simulator's ${COSTS[k]} ns comes back`, () => {
      expect(cal.params[k]!.value, k).toBeCloseTo(COSTS[k], 0)
    })
  }
})
