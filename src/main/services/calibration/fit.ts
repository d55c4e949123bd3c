/**
 * Fitting: from the C program's measurement lines to cost parameters. Each benchmark's CPU time is
 * regressed on its size (least squares over the per-size medians): the slope is the per-unit
 * cost, the intercept the fixed part. Fit quality is R² of that line; spread is the largest
 * relative standard deviation across repetitions at one size. Parameters that share a kernel path
 * are separated by difference (e.g. a PTE table's allocation = the sparse fault's slope − the
 * dense fault's slope). Pure: no I/O, so a unit test can feed it synthetic measurements.
 */
import type { CalibratedParam, Calibration, CalibrationFit, CalibrationHost } from '../../../shared/calibration'
import { CALIBRATION_FORMAT } from '../../../shared/calibration'

/** What the C program printed, parsed. */
export interface RawRun {
  info: Map<string, string>
  /** bench → x → CPU ns per repetition. */
  measurements: Map<string, Map<number, number[]>>
  skipped: { bench: string; reason: string }[]
  /** bench-mode phases: pattern → CPU ns per repetition. */
  phases: Map<string, { pages: number; ns: number[] }>
}

/** Units of each benchmark's x (as the C program defines them). */
export const BENCH_UNITS: Record<string, string> = {
  syscall: 'calls',
  fault_anon: 'pages',
  fault_zero: 'pages',
  fault_sparse: 'pmds',
  fault_thp: 'pmds',
  cow: 'pages',
  fork_pte: 'pages',
  fork_vma: 'vmas',
  munmap: 'pages',
  munmap_sparse: 'pmds',
  dontneed: 'pages',
  exit: 'pages',
  mprotect: 'pages',
  mremap: 'pages',
  shootdown: 'cpus',
}

export class CalibrationParseError extends Error {}

/** Parses the C program's stdout; a malformed line is an error naming its line number. */
export function parseOutput(text: string): RawRun {
  const run: RawRun = { info: new Map(), measurements: new Map(), skipped: [], phases: new Map() }
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    const f = line.split(' ')
    const bad = (why: string): never => {
      throw new CalibrationParseError(`calibrate output line ${i + 1}: ${why}: ${JSON.stringify(line.slice(0, 120))}`)
    }
    if (f[0] === 'info') {
      if (f.length < 2) bad('info without a key')
      run.info.set(f[1]!, f.slice(2).join(' '))
    } else if (f[0] === 'm') {
      if (f.length !== 5) bad('expected "m NAME X REP NS"')
      const x = Number(f[2])
      const ns = Number(f[4])
      if (!Number.isFinite(x) || !Number.isFinite(ns) || ns < 0) bad('non-numeric size or time')
      let byX = run.measurements.get(f[1]!)
      if (!byX) run.measurements.set(f[1]!, (byX = new Map()))
      const arr = byX.get(x) ?? []
      arr.push(ns)
      byX.set(x, arr)
    } else if (f[0] === 'b') {
      if (f.length !== 5) bad('expected "b PATTERN PAGES REP NS"')
      const pages = Number(f[2])
      const ns = Number(f[4])
      if (!Number.isFinite(pages) || !Number.isFinite(ns)) bad('non-numeric size or time')
      const p = run.phases.get(f[1]!) ?? { pages, ns: [] }
      p.ns.push(ns)
      run.phases.set(f[1]!, p)
    } else if (f[0] === 'skip') {
      run.skipped.push({ bench: f[1] ?? '?', reason: f.slice(2).join(' ') })
    } else bad('unknown record')
  })
  return run
}

export function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2
}

function relStd(a: readonly number[]): number {
  if (a.length < 2) return 0
  const m = a.reduce((s, v) => s + v, 0) / a.length
  if (m === 0) return 0
  const v = a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1)
  return Math.sqrt(v) / m
}

/** Least squares of y on x: slope, intercept, R². */
export function linearFit(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length
  if (n === 0) return { slope: 0, intercept: 0, r2: 0 }
  const mx = xs.reduce((s, v) => s + v, 0) / n
  const my = ys.reduce((s, v) => s + v, 0) / n
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    syy += (ys[i]! - my) ** 2
  }
  if (sxx === 0) return { slope: 0, intercept: my, r2: 0 }
  const slope = sxy / sxx
  const intercept = my - slope * mx
  let ssr = 0
  for (let i = 0; i < n; i++) ssr += (ys[i]! - (intercept + slope * xs[i]!)) ** 2
  return { slope, intercept, r2: syy === 0 ? 1 : 1 - ssr / syy }
}

/** Fits one benchmark: medians per size, a line through them, the spread across repetitions. */
export function fitBench(unit: string, byX: Map<number, number[]>): CalibrationFit {
  const xs = [...byX.keys()].sort((a, b) => a - b)
  const points = xs.map((x) => ({ x, median: median(byX.get(x)!), reps: byX.get(x)! }))
  const { slope, intercept, r2 } = linearFit(
    points.map((p) => p.x),
    points.map((p) => p.median),
  )
  return { unit, slope, intercept, r2, spread: Math.max(0, ...points.map((p) => relStd(p.reps))), points }
}

/** Values of parameters not measured here that a derivation takes out (the cost model's defaults). */
export interface CalibrationDefaults {
  cpu_full_flush: number
  cpu_invlpg: number
  ipi_per_cpu: number
}

/** Entries per PTE table (x86-64 PTRS_PER_PTE). */
const PTRS = 512

/**
 * The cost parameters from the fits. Each names its benchmarks and how it was derived, so the
 * Hardware view and docs/calibration.md can show where every number comes from. `defaults` gives
 * the values used to subtract a part that is not measured here (the local TLB flushes).
 */
export function deriveParams(fits: Record<string, CalibrationFit>, info: Map<string, string>, defaults: CalibrationDefaults): Record<string, CalibratedParam> {
  const out: Record<string, CalibratedParam> = {}
  const pos = (v: number): number => Math.max(0, v)
  const put = (name: string, value: number, from: string[], method: string): void => {
    const main = fits[from[0]!]
    if (!main || !Number.isFinite(value)) return
    out[name] = { value: Math.round(pos(value) * 10) / 10, unit: 'ns', from, method, r2: main.r2, spread: main.spread }
  }
  const has = (...names: string[]): boolean => names.every((n) => fits[n] !== undefined)
  const slope = (n: string): number => fits[n]!.slope
  const icpt = (n: string): number => fits[n]!.intercept

  if (has('syscall')) put('syscall', slope('syscall'), ['syscall'], 'slope of getppid() calls: syscall entry + exit')
  const syscall = out.syscall?.value ?? 0
  // a PTE table page: the sparse fault (one page per 2 MiB, each needing a new table) against the
  // dense one (a table per 512 pages): s_sparse − s_dense = pt_alloc × (1 − 1/512)
  if (has('fault_sparse', 'fault_anon'))
    put(
      'pt_alloc',
      (slope('fault_sparse') - slope('fault_anon')) / (1 - 1 / PTRS),
      ['fault_sparse', 'fault_anon'],
      'slope of one write fault per 2 MiB (each allocates a PTE table) − slope of dense write faults, over 1 − 1/512',
    )
  const ptAlloc = out.pt_alloc?.value ?? 0
  if (has('fault_anon'))
    put(
      'cpu_fault',
      slope('fault_anon') - ptAlloc / PTRS,
      ['fault_anon'],
      'slope of dense write faults (do_anonymous_page: allocate + zero 4 KiB) − pt_alloc/512',
    )
  if (has('fault_zero'))
    put(
      'cpu_zero_fault',
      slope('fault_zero') - ptAlloc / PTRS,
      ['fault_zero'],
      'slope of dense read faults (do_anonymous_page maps the zero page) − pt_alloc/512',
    )
  // a THP fault also allocates the PTE table it deposits (__do_huge_pmd_anonymous_page →
  // pte_alloc_one, pgtable_trans_huge_deposit), which the simulator charges as pt_alloc
  if (has('fault_thp'))
    put(
      'cpu_thp_fault',
      slope('fault_thp') - ptAlloc,
      ['fault_thp'],
      'slope of one write fault per 2 MiB with MADV_HUGEPAGE (do_huge_pmd_anonymous_page: allocate + clear 2 MiB) − pt_alloc (the deposited PTE table)',
    )
  // wp_page_copy clears the old PTE with ptep_clear_flush: one local flush per page, which the
  // simulator charges as cpu_invlpg (sourced, not measured here)
  if (has('cow'))
    put(
      'cpu_cow_copy',
      slope('cow') - defaults.cpu_invlpg,
      ['cow'],
      'slope of parent writes to pages a child still maps (wp_page_copy: allocate + copy 4 KiB) − cpu_invlpg (the flush of the old PTE)',
    )
  // a PTE table's free: munmap of one written page per 2 MiB (a table freed per page) against dense
  // munmap (a table per 512 pages): s_sparse − s_dense = pt_free × (1 − 1/512)
  if (has('munmap_sparse', 'munmap'))
    put(
      'pt_free',
      (slope('munmap_sparse') - slope('munmap')) / (1 - 1 / PTRS),
      ['munmap_sparse', 'munmap'],
      'slope of munmap of one written page per 2 MiB (free_pgtables frees a PTE table each) − slope of dense munmap, over 1 − 1/512',
    )
  const ptFree = out.pt_free?.value ?? 0
  // DONTNEED frees the pages, and with CONFIG_PT_RECLAIM (v6.13) the PTE tables it emptied whole
  // (zap_page_range_single_batched → try_to_free_pte); the simulator charges those as pt_free
  if (has('dontneed'))
    put(
      'zap_pte',
      slope('dontneed') - ptFree / PTRS,
      ['dontneed'],
      'slope of MADV_DONTNEED of written pages (zap_pte_range + freeing the folios) − pt_free/512 (PT_RECLAIM frees the emptied tables)',
    )
  if (has('dontneed'))
    put('dontneed_base', icpt('dontneed') - syscall - defaults.cpu_full_flush, ['dontneed'], 'intercept of MADV_DONTNEED − syscall − cpu_full_flush')
  if (has('munmap'))
    put(
      'munmap_base',
      icpt('munmap') - syscall - defaults.cpu_full_flush,
      ['munmap'],
      'intercept of munmap − syscall − cpu_full_flush (VMA detach, unmap_region setup)',
    )
  if (has('munmap'))
    put('munmap_pte', slope('munmap') - ptFree / PTRS, ['munmap'], 'slope of munmap of written pages − pt_free/512 (zap + page free on the munmap path)')
  if (has('exit'))
    put(
      'exit_pte',
      slope('exit') - ptFree / PTRS,
      ['exit'],
      'slope of a child’s exit over its written pages (exit_mmap: unmap_vmas with a full-mm gather + page free) − pt_free/512',
    )
  if (has('exit')) put('exit_base', icpt('exit'), ['exit'], 'intercept of a child’s exit (do_exit and exit_mmap of a small C process)')
  if (has('mprotect')) put('mprotect_pte', slope('mprotect'), ['mprotect'], 'slope of mprotect(PROT_READ) over written pages (change_pte_range per PTE)')
  if (has('mprotect'))
    put(
      'mprotect_base',
      icpt('mprotect') - syscall - defaults.cpu_full_flush,
      ['mprotect'],
      'intercept of mprotect − syscall − cpu_full_flush (mprotect_fixup, VMA flags)',
    )
  // the destination's tables are allocated as the source's are freed: the simulator charges no net table work here
  if (has('mremap'))
    put(
      'mremap_pte',
      slope('mremap'),
      ['mremap'],
      'slope of mremap to a destination off 2 MiB alignment (move_ptes per PTE, tables allocated at the destination and freed at the source included)',
    )
  if (has('mremap'))
    put(
      'mremap_base',
      icpt('mremap') - syscall - defaults.cpu_full_flush,
      ['mremap'],
      'intercept of mremap − syscall − cpu_full_flush (VMA copy and unmap of the old range)',
    )
  // fork: per VMA from n one-page VMAs; per PTE from one VMA of n pages (the child's tables included)
  if (has('fork_pte'))
    put(
      'fork_pte',
      slope('fork_pte') - ptAlloc / PTRS,
      ['fork_pte'],
      'slope of fork() over written pages of one VMA (copy_present_pte: rmap + refcount + write-protect) − pt_alloc/512',
    )
  const forkPte = out.fork_pte?.value ?? 0
  if (has('fork_vma'))
    put(
      'fork_vma',
      slope('fork_vma') - forkPte,
      ['fork_vma', 'fork_pte'],
      'slope of fork() over one-page VMAs (vm_area_dup, anon_vma_fork, copy_page_range setup) − fork_pte',
    )
  const vmas = Number(info.get('process_vmas') ?? '0')
  if (has('fork_pte'))
    put(
      'fork_base',
      icpt('fork_pte') - (Number.isFinite(vmas) ? vmas : 0) * (out.fork_vma?.value ?? 0),
      ['fork_pte', 'fork_vma'],
      `intercept of fork() − the C process's own ${vmas} VMAs × fork_vma (copy_process fixed part)`,
    )
  // shootdown: mprotect of one page while threads of the mm spin on 1..n CPUs
  const sd = fits.shootdown
  if (sd && sd.points.length >= 2) {
    const p = sd.points
    const one = p.find((q) => q.x === 1)
    const two = p.find((q) => q.x === 2)
    if (one && two) {
      if (p.length >= 3) {
        const more = p.filter((q) => q.x >= 2)
        const f = linearFit(
          more.map((q) => q.x),
          more.map((q) => q.median),
        )
        put('ipi_per_cpu', f.slope, ['shootdown'], 'slope of mprotect(1 page) over 2..n CPUs running the mm (one more IPI target each)')
        put(
          'ipi_base',
          f.intercept + 2 * f.slope - one.median - f.slope,
          ['shootdown'],
          'mprotect(1 page) on 2 CPUs (fitted) − on 1 CPU − ipi_per_cpu: sending and waiting for the first IPI',
        )
      } else {
        put(
          'ipi_base',
          two.median - one.median - defaults.ipi_per_cpu,
          ['shootdown'],
          'mprotect(1 page) on 2 CPUs − on 1 CPU − ipi_per_cpu (sourced: only 2 CPUs here, so base and per-CPU cannot be separated)',
        )
      }
    }
  }
  return out
}

/** Host facts from the info lines. */
export function hostOf(info: Map<string, string>): CalibrationHost {
  const cpus = Number(info.get('cpus_online') ?? '1')
  const host: CalibrationHost = {
    hostname: info.get('hostname') ?? 'unknown',
    kernel: info.get('kernel') ?? 'unknown',
    machine: info.get('machine') ?? 'unknown',
    cpuModel: info.get('cpu_model') ?? 'unknown',
    cpus: Number.isInteger(cpus) && cpus > 0 ? cpus : 1,
    thpEnabled: info.get('thp_enabled') ?? 'unknown',
    thpDefrag: info.get('thp_defrag') ?? 'unknown',
  }
  const got = info.get('thp_obtained')
  if (got) host.thpObtained = got
  return host
}

/** The calibration document from one parsed run. */
export function buildCalibration(raw: RawRun, opts: { date: Date; durationMs: number; defaults: CalibrationDefaults }): Calibration {
  const fits: Record<string, CalibrationFit> = {}
  for (const [bench, byX] of raw.measurements) fits[bench] = fitBench(BENCH_UNITS[bench] ?? 'units', byX)
  const reps = Number(raw.info.get('reps') ?? '1')
  return {
    format: CALIBRATION_FORMAT,
    date: opts.date.toISOString(),
    host: hostOf(raw.info),
    quick: raw.info.get('quick') === '1',
    reps: Number.isInteger(reps) && reps > 0 ? reps : 1,
    durationMs: Math.round(opts.durationMs),
    params: deriveParams(fits, raw.info, opts.defaults),
    fits,
    skipped: raw.skipped,
  }
}
