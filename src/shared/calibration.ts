/**
 * A calibration: the CPU-side cost parameters measured on one machine's kernel by
 * `hmmlab calibrate` (docs/calibration.md), with the fits they came from and the machine they
 * describe. Stored as JSON in the user's data folder (`calibration.json`) or anywhere with `-o`;
 * a lab can share one (the GPU host's) by exporting and importing the file.
 *
 * Also: which costs a run used (`CostsUsed`), recorded with every run.
 */
import { z } from 'zod'
import { CostsProvenance, costsWords } from './record'

export const CALIBRATION_FORMAT = 'hmmlab.calibration/1'

const Finite = z.number().refine(Number.isFinite, 'a finite number')
const NonNeg = Finite.refine((n) => n >= 0, 'a number ≥ 0')

/** One benchmark's regression of CPU time on size: medians per size, then least squares. */
export const CalibrationFit = z
  .object({
    /** What x counts: pages, pmds (2 MiB blocks), vmas, calls, cpus. */
    unit: z.string().min(1).max(32),
    /** ns per unit. */
    slope: Finite,
    /** ns at x = 0 (the fixed part). */
    intercept: Finite,
    /** Coefficient of determination of the line over the per-size medians (1: a perfect line). */
    r2: Finite,
    /** Largest relative standard deviation across repetitions at one size (0.05: 5%). */
    spread: NonNeg,
    points: z
      .array(z.object({ x: NonNeg, median: NonNeg, reps: z.array(NonNeg).max(1000) }).strict())
      .min(1)
      .max(64),
  })
  .strict()
export type CalibrationFit = z.infer<typeof CalibrationFit>

/** One cost parameter as measured: its value and how it was derived from the fits. */
export const CalibratedParam = z
  .object({
    value: NonNeg,
    unit: z.literal('ns'),
    /** The benchmarks it comes from (keys of `fits`). */
    from: z.array(z.string()).min(1).max(8),
    /** How: "slope of munmap − pt_free/512", … */
    method: z.string().min(1).max(400),
    /** Fit quality of the main benchmark, copied for display. */
    r2: Finite,
    spread: NonNeg,
  })
  .strict()
export type CalibratedParam = z.infer<typeof CalibratedParam>

export const CalibrationHost = z
  .object({
    hostname: z.string().max(256),
    kernel: z.string().max(256),
    machine: z.string().max(64),
    cpuModel: z.string().max(256),
    cpus: z.number().int().positive().max(65536),
    thpEnabled: z.string().max(128),
    thpDefrag: z.string().max(128),
    /** THP faults that got a huge page, e.g. "32/32" (absent when the THP benchmark did not run). */
    thpObtained: z.string().max(32).optional(),
  })
  .strict()
export type CalibrationHost = z.infer<typeof CalibrationHost>

export const Calibration = z
  .object({
    format: z.literal(CALIBRATION_FORMAT),
    /** ISO 8601 time the measurements ended. */
    date: z.string().datetime(),
    host: CalibrationHost,
    quick: z.boolean(),
    reps: z.number().int().positive().max(100),
    durationMs: NonNeg,
    /** Cost name (src/sim/cost/model.ts) → measured value. Names are checked against the model when loaded. */
    params: z.record(z.string(), CalibratedParam),
    fits: z.record(z.string(), CalibrationFit),
    skipped: z.array(z.object({ bench: z.string(), reason: z.string() }).strict()).max(64),
  })
  .strict()
export type Calibration = z.infer<typeof Calibration>

/**
 * Which costs a run used: the run record's cost provenance (`meta.costs`, src/shared/record.ts),
 * copied into the run's manifest and printed by the CLI. One schema, defined with the record.
 */
export const CostsUsed = CostsProvenance
export type CostsUsed = CostsProvenance

/** "costs: calibrated on HOST, DATE" and friends. */
export function describeCosts(c: CostsUsed): string {
  if (c.source === 'default') return 'costs: defaults (published figures and assumptions; run `hmmlab calibrate` to measure this machine)'
  return costsWords(c)
}
