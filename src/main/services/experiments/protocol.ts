/**
 * What crosses the thread boundary between the experiment service and a run worker. Large number
 * arrays travel as transferred typed arrays (no copy, no JSON); the worker reports progress on its
 * own MessagePort and watches a shared flag for a cooperative cancel.
 */
import type { MessagePort } from 'node:worker_threads'
import type { ParamValue } from '../../../shared/runs'
import type { CostsProvenance } from '../../../shared/record'
import type { ProbeMachine } from '../../../shared/probe-machine'

export interface RunTask {
  runId: string
  scenarioText: string
  fileName: string
  design: string
  seed: number
  /** Swept scenario parameters (path → value), design and seed excluded. */
  parameters: Record<string, ParamValue>
  /** A probed machine that replaces the scenario's `machine:` (src/shared/simulate-machine.ts `machineForScenario`). */
  machine?: ProbeMachine
  /** Where the machine came from (the record's meta). */
  machineOrigin?: string
  /** A base cost table (a calibration) under the scenario's `costs:`. */
  costs?: Record<string, number>
  /** Where that cost table came from (the record's `meta.costs`). */
  costsUsed?: CostsProvenance
  progressPort: MessagePort
  /** Int32 at index 0: 0 = run, 1 = stop at the next step boundary. */
  cancelFlag: SharedArrayBuffer
}

export interface RunProgress {
  /** Simulated time reached, in ns. */
  simTimeNs: number
  stepsDone: number
  stepsTotal: number
}

/** What a run worker answers: the run record (src/shared/record.ts), its long arrays packed. */
export interface RunTaskResult {
  status: 'record'
  /** The record; typed arrays inside are restored by `unpackArrays`. */
  record: unknown
}

/** A run as the service queues it (the pool adds the progress port and the cancel flag). */
export type SubmitTask = Omit<RunTask, 'progressPort' | 'cancelFlag'>

/**
 * How a run ended: its record, or why it has none. `failed`: the worker threw, ran out of memory
 * or died (stored as crashed); `timeout`: the host's wall-time budget ran out (stored as stopped
 * for wall_time); `cancelled`: the user's stop came before the simulator could answer.
 */
export type RunOutcome = RunTaskResult | { status: 'failed' | 'timeout' | 'cancelled'; error: string }

/** Parent → run process (process isolation, see process-pool.ts): at most one run at a time. */
export type ToRunProcess = { type: 'run'; id: number; task: SubmitTask; timeoutMs?: number } | { type: 'cancel'; id: number }

/** Run process → parent. The outcome keeps its typed arrays (the IPC channel uses V8 serialization). */
export type FromRunProcess = { type: 'progress'; id: number; progress: RunProgress } | { type: 'done'; id: number; outcome: RunOutcome }

/** Arrays of numbers at least this long travel as Float64Array. */
const PACK_THRESHOLD = 64

/**
 * Replaces long number arrays in a JSON-like value with Float64Arrays and collects their buffers
 * for the transfer list.
 */
export function packArrays<T>(value: T, buffers: ArrayBuffer[] = []): { packed: T; buffers: ArrayBuffer[] } {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      if (v.length >= PACK_THRESHOLD && v.every((x) => typeof x === 'number')) {
        const typed = Float64Array.from(v as number[])
        buffers.push(typed.buffer)
        return typed
      }
      return v.map(walk)
    }
    if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[k] = walk(x)
      return out
    }
    return v
  }
  return { packed: walk(value) as T, buffers }
}

/** Turns the typed arrays of a packed value back into plain arrays (for JSON files and HTTP). */
export function unpackArrays<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (v instanceof Float64Array) return Array.from(v)
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[k] = walk(x)
      return out
    }
    return v
  }
  return walk(value) as T
}

/**
 * Wraps a worker's answer so piscina transfers `buffers` instead of copying them (piscina's
 * transferable-object protocol: a moved object exposing its buffers and its value).
 */
export function movable<T>(value: T, buffers: ArrayBuffer[], piscina: { move(v: ArrayBuffer): unknown; transferableSymbol: symbol; valueSymbol: symbol }): T {
  const wrapper = {
    get [piscina.transferableSymbol]() {
      return buffers
    },
    get [piscina.valueSymbol]() {
      return value
    },
  }
  return piscina.move(wrapper as unknown as ArrayBuffer) as T
}
