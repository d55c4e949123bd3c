/**
 * The calibration fit recovers known parameters from synthetic measurements with noise, and bad
 * output or a damaged calibration file gives an error naming the line or the field. No timing.
 */
import { describe, expect, it } from 'vitest'
import { buildCalibration, linearFit, parseOutput } from '../../src/main/services/calibration/fit'
import { CalibrationFileError, parseCalibration } from '../../src/main/services/calibration/store'

/** Deterministic uniform noise in [-1, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 31 - 1
  }
}

const TRUTH = {
  syscall: 500,
  pt_alloc: 2000,
  cpu_fault: 1500,
  cpu_zero_fault: 600,
  cpu_thp_fault: 150_000,
  cpu_cow_copy: 3000,
  zap_pte: 200,
  pt_free: 800,
  munmap_pte: 250,
  exit_pte: 120,
  mprotect_pte: 150,
  mremap_pte: 60,
  fork_pte: 90,
  fork_vma: 1500,
  fork_base: 100_000,
  dontneed_base: 10_000,
  munmap_base: 20_000,
  mprotect_base: 5000,
  mremap_base: 8000,
  exit_base: 300_000,
  ipi_base: 900,
  ipi_per_cpu: 300,
}
const FLUSH = 3300
const INVLPG = 100
const VMAS = 20

/**
 * bench → [sizes, slope, intercept] as the kernel paths above would produce them, charged the way
 * the simulator charges them: a THP fault allocates the PTE table it deposits (pt_alloc), DONTNEED
 * frees the tables it empties (PT_RECLAIM, pt_free per 512 pages), a COW break flushes the old PTE
 * (cpu_invlpg), munmap of one page per 2 MiB is
 * munmap_pte + pt_free per block.
 */
function benches(t: typeof TRUTH): Record<string, [number[], number, number]> {
  const pages = [2048, 4096, 8192, 16384]
  const pmds = [32, 64, 128, 256]
  return {
    syscall: [[2000, 4000, 8000, 16000], t.syscall, 0],
    fault_anon: [pages, t.cpu_fault + t.pt_alloc / 512, 0],
    fault_zero: [pages, t.cpu_zero_fault + t.pt_alloc / 512, 0],
    fault_sparse: [pmds, t.cpu_fault + t.pt_alloc, 0],
    fault_thp: [[8, 16, 32, 64], t.cpu_thp_fault + t.pt_alloc, 0],
    cow: [pages, t.cpu_cow_copy + INVLPG, 0],
    dontneed: [pages, t.zap_pte + t.pt_free / 512, t.syscall + FLUSH + t.dontneed_base],
    munmap_sparse: [pmds, t.munmap_pte + t.pt_free, t.syscall + FLUSH + t.munmap_base],
    munmap: [pages, t.munmap_pte + t.pt_free / 512, t.syscall + FLUSH + t.munmap_base],
    exit: [pages, t.exit_pte + t.pt_free / 512, t.exit_base],
    mprotect: [pages, t.mprotect_pte, t.syscall + FLUSH + t.mprotect_base],
    mremap: [pages, t.mremap_pte, t.syscall + FLUSH + t.mremap_base],
    fork_pte: [pages, t.fork_pte + t.pt_alloc / 512, t.fork_base + VMAS * t.fork_vma],
    fork_vma: [[64, 128, 256, 512], t.fork_vma + t.fork_pte, t.fork_base],
  }
}

function synthesize(noise: number, cpus: number, seed = 7): string {
  const rnd = lcg(seed)
  const lines = [
    'info kernel 6.12.0-test',
    'info hostname labhost',
    'info cpu_model Test CPU',
    `info cpus_online ${cpus}`,
    'info thp_enabled always [madvise] never',
    'info thp_defrag [madvise]',
    `info process_vmas ${VMAS}`,
    'info reps 5',
    'info quick 0',
    'info thp_obtained 64/64',
  ]
  for (const [name, [sizes, slope, icpt]] of Object.entries(benches(TRUTH))) {
    for (let rep = 0; rep < 5; rep++) for (const x of sizes) lines.push(`m ${name} ${x} ${rep} ${Math.round((icpt + slope * x) * (1 + noise * rnd()))}`)
  }
  for (let rep = 0; rep < 5; rep++) {
    for (let x = 1; x <= cpus; x++) {
      const y = 20_000 + (x > 1 ? TRUTH.ipi_base + TRUTH.ipi_per_cpu * (x - 1) : 0)
      lines.push(`m shootdown ${x} ${rep} ${Math.round(y * (1 + noise * rnd()))}`)
    }
  }
  return lines.join('\n') + '\n'
}

const defaults = { cpu_full_flush: FLUSH, cpu_invlpg: INVLPG, ipi_per_cpu: 200 }

describe('calibration fit', () => {
  it('linearFit recovers an exact line with R² 1', () => {
    const f = linearFit([1, 2, 3, 4], [13, 16, 19, 22])
    expect(f.slope).toBeCloseTo(3, 10)
    expect(f.intercept).toBeCloseTo(10, 10)
    expect(f.r2).toBeCloseTo(1, 10)
  })

  it('recovers every parameter from noiseless measurements', () => {
    const cal = buildCalibration(parseOutput(synthesize(0, 4)), { date: new Date(0), durationMs: 1, defaults })
    for (const [k, v] of Object.entries(TRUTH)) {
      expect(cal.params[k], k).toBeDefined()
      expect(cal.params[k]!.value, k).toBeCloseTo(v, 0)
    }
  })

  it('recovers per-unit costs within a few percent under 1% noise, and reports the spread', () => {
    const cal = buildCalibration(parseOutput(synthesize(0.01, 4, 11)), { date: new Date(0), durationMs: 1, defaults })
    const perUnit = [
      'syscall',
      'cpu_fault',
      'cpu_zero_fault',
      'cpu_thp_fault',
      'cpu_cow_copy',
      'zap_pte',
      'munmap_pte',
      'exit_pte',
      'mprotect_pte',
      'fork_pte',
      'fork_vma',
    ] as const
    for (const k of perUnit) expect(Math.abs(cal.params[k]!.value - TRUTH[k]) / TRUTH[k], k).toBeLessThan(0.05)
    // differences of two slopes carry both slopes' noise
    for (const k of ['pt_alloc', 'pt_free'] as const) expect(Math.abs(cal.params[k]!.value - TRUTH[k]) / TRUTH[k], k).toBeLessThan(0.15)
    // intercepts: within the noise of the largest measurement of their benchmark
    for (const [k, bench] of [
      ['munmap_base', 'munmap'],
      ['exit_base', 'exit'],
      ['fork_base', 'fork_pte'],
    ] as const) {
      const top = Math.max(...cal.fits[bench]!.points.map((p) => p.median))
      expect(Math.abs(cal.params[k]!.value - TRUTH[k]), k).toBeLessThan(0.02 * top)
    }
    for (const [name, f] of Object.entries(cal.fits)) {
      // the shootdown's line is small against its intercept: 1% noise is a visible part of it
      if (name !== 'shootdown') expect(f.r2, name).toBeGreaterThan(0.99)
      expect(f.spread).toBeGreaterThan(0)
      expect(f.spread).toBeLessThan(0.02)
    }
    expect(cal.params.ipi_per_cpu!.value).toBeGreaterThan(TRUTH.ipi_per_cpu * 0.5)
    expect(cal.host).toMatchObject({ hostname: 'labhost', kernel: '6.12.0-test', cpus: 4, thpObtained: '64/64' })
  })

  it('with two CPUs, fits the IPI base from the sourced per-CPU cost', () => {
    const cal = buildCalibration(parseOutput(synthesize(0, 2)), { date: new Date(0), durationMs: 1, defaults })
    expect(cal.params.ipi_per_cpu).toBeUndefined()
    expect(cal.params.ipi_base!.value).toBeCloseTo(TRUTH.ipi_base + TRUTH.ipi_per_cpu - defaults.ipi_per_cpu, 0)
  })

  it('a malformed output line is an error naming the line', () => {
    expect(() => parseOutput('info kernel x\nm fault_anon 12 0\n')).toThrow(/line 2/)
    expect(() => parseOutput('m fault_anon 12 0 abc\n')).toThrow(/line 1: non-numeric/)
  })

  it('a damaged calibration file is an error naming the field', () => {
    const cal = buildCalibration(parseOutput(synthesize(0, 2)), { date: new Date(0), durationMs: 1, defaults })
    const ok = JSON.stringify(cal)
    expect(parseCalibration(ok, 'c.json').params.cpu_fault!.value).toBeCloseTo(TRUTH.cpu_fault, 0)
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test breaks arbitrary fields of parsed JSON
    const bad = (mut: (d: Record<string, any>) => void): string => {
      const d = JSON.parse(ok)
      mut(d)
      return JSON.stringify(d)
    }
    expect(() => parseCalibration('{', 'c.json')).toThrow(/c.json: not valid JSON/)
    expect(() =>
      parseCalibration(
        bad((d) => (d.params.cpu_fault.value = 'x')),
        'c.json',
      ),
    ).toThrow(/c.json: params.cpu_fault.value:/)
    expect(() =>
      parseCalibration(
        bad((d) => (d.params.cpu_fault.value = -1)),
        'c.json',
      ),
    ).toThrow(/params.cpu_fault.value: a number ≥ 0/)
    expect(() =>
      parseCalibration(
        bad((d) => (d.params.not_a_cost = d.params.cpu_fault)),
        'c.json',
      ),
    ).toThrow(/params.not_a_cost: not a cost parameter/)
    expect(() =>
      parseCalibration(
        bad((d) => delete d.host.kernel),
        'c.json',
      ),
    ).toThrow(/host.kernel/)
    expect(() =>
      parseCalibration(
        bad((d) => (d.format = 'other')),
        'c.json',
      ),
    ).toThrow(CalibrationFileError)
  })
})
