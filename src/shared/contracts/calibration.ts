/**
 * Contracts of the calibration (docs/calibration.md): this machine's measured CPU-side costs, shown
 * with every cost parameter's provenance in the Hardware view, run with progress, exported and
 * imported (a lab can share its GPU host's calibration).
 */
import { z } from 'zod'
import { Calibration } from '../calibration'
import { defineEvent, defineRoute } from './define'

/** One cost parameter as a run would use it now, and where its value comes from. */
export const CostParamInfo = z.object({
  name: z.string(),
  unit: z.string(),
  /** The value a run uses now: the calibration's when measured, else the default. */
  value: z.number(),
  default: z.number(),
  /** measured: by this calibration; sourced: a published figure, the kernel source or a named measurement; assumed: a parameter. */
  provenance: z.enum(['measured', 'sourced', 'assumed']),
  /** Confidence tag of the default: V, S, M, U or I (docs/scenarios.md). */
  conf: z.string(),
  source: z.string(),
  /** cpu: a kernel path on the CPU (may be calibrated); device: GPU, IOMMU, driver costs, always sourced or assumed. */
  side: z.enum(['cpu', 'device']),
  /** The benchmark that measures it, for CPU parameters that can be calibrated. */
  calibrate: z.string().optional(),
  fit: z.object({ r2: z.number(), spread: z.number(), method: z.string(), from: z.array(z.string()) }).optional(),
})
export type CostParamInfo = z.infer<typeof CostParamInfo>

const CalibrationState = z.object({
  /** Where the calibration file lives (the user's data folder). */
  path: z.string(),
  calibration: Calibration.nullable(),
  /** Set when the file exists but cannot be used (names the field). */
  problem: z.string().optional(),
  running: z.boolean(),
  /** "costs: calibrated on HOST, DATE" or the defaults' line. */
  summary: z.string(),
  params: z.array(CostParamInfo),
})

export const calibrationRoutes = {
  'calibration.get': defineRoute(
    "The calibration of this machine's CPU-side costs (if any) and every cost parameter with its provenance",
    z.object({}).strict(),
    CalibrationState,
  ),
  'calibration.run': defineRoute(
    'Starts measuring this machine (a C micro-benchmark compiled with cc); progress and the end arrive as calibration.progress events',
    z.object({ quick: z.boolean() }).strict(),
    z.object({ started: z.literal(true) }),
  ),
  'calibration.import': defineRoute(
    'Makes a calibration file (e.g. from a GPU host) the one runs use; refused with the field named when malformed',
    z.object({ text: z.string().max(4 * 2 ** 20) }).strict(),
    CalibrationState,
  ),
  'calibration.export': defineRoute(
    'The calibration file, for saving or sharing',
    z.object({}).strict(),
    z.object({ fileName: z.string(), content: z.string() }),
  ),
  'calibration.delete': defineRoute('Removes the calibration: runs use the default costs again', z.object({}).strict(), CalibrationState),
}

export const calibrationEvents = {
  'calibration.progress': defineEvent(
    'Progress of a running calibration: measurements done / planned and the benchmark; state done or failed at the end',
    z.object({
      done: z.number().int().nonnegative(),
      total: z.number().int().nonnegative(),
      bench: z.string(),
      state: z.enum(['running', 'done', 'failed']),
      error: z.string().optional(),
    }),
  ),
}
