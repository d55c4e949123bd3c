/**
 * The page's side of the bridge worker (workers/bridge-worker.ts): route calls with large answers
 * made off the main thread.
 *
 * - `loadShapedSeries`: a run's series for the charts. The worker fetches the binary block itself
 *   over HTTP (browser host) or receives the bytes the page got over Electron IPC (transferred, not
 *   copied), then decodes, stacks and picks the first level of detail; the page receives typed
 *   arrays (transferred) and only builds the charts.
 * - `invokeOffThread`: a route whose JSON answer is large (the stored lists), parsed and checked in
 *   the worker (browser host); over IPC it is an ordinary call.
 *
 * When no worker can run (a host that refuses it), the same steps run on the page.
 */
import type { RouteInput, RouteName, RouteOutput } from '../../shared/contracts'
import { SERIES_BLOCK_ENCODING } from '../../shared/contracts/series-block'
import { BridgeError, type Bridge } from '../bridge'
import type { ShapedSeries } from './series-shape'
import type { CheckedRun, WorkerReply, WorkerRequest } from './worker-protocol'

export type { ShapedSeries, ShapedStack } from './series-shape'

type Ok = Extract<WorkerReply, { ok: true }>
type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never

/** Raised when the worker itself fails (not the host): the caller falls back to the page. */
class WorkerFailed extends Error {}

let worker: Worker | null | undefined
let nextId = 1
const pending = new Map<number, { resolve: (r: Ok) => void; reject: (err: unknown) => void }>()

function getWorker(): Worker | null {
  if (worker !== undefined) return worker
  try {
    const w = new Worker(new URL('../workers/bridge-worker.ts', import.meta.url), { type: 'module', name: 'hmmlab-bridge' })
    w.onmessage = (e: MessageEvent<WorkerReply>) => {
      const r = e.data
      const p = pending.get(r.id)
      if (!p) return
      pending.delete(r.id)
      if (r.ok) p.resolve(r)
      else p.reject(new BridgeError(r.code, r.message))
    }
    w.onerror = (e) => {
      e.preventDefault()
      worker = null
      w.terminate()
      for (const p of pending.values()) p.reject(new WorkerFailed(e.message || 'the bridge worker failed'))
      pending.clear()
    }
    worker = w
  } catch {
    worker = null
  }
  return worker
}

function ask(w: Worker, req: Distributive<WorkerRequest>, transfer: Transferable[]): Promise<Ok> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    try {
      w.postMessage({ ...req, id } as WorkerRequest, transfer)
    } catch (err) {
      pending.delete(id)
      reject(new WorkerFailed(String(err)))
    }
  })
}

/**
 * Starts the bridge worker ahead of need (browser host), so the first run opened does not wait for
 * it to load its module; costs the page a Worker object, the rest happens on the worker's thread.
 */
export function warmBridgeWorker(bridge: Bridge): void {
  if (bridge.offThread().kind === 'http') getWorker()
}

const nextTask = (): Promise<void> => new Promise((r) => setTimeout(r, 0))

export interface LoadSeriesOptions {
  /** Prefixes to stack (`memory.`, `leaked.`). */
  prefixes: string[]
  /** Level-of-detail buckets of the first draw (about the chart's width in pixels). */
  buckets: number
}

/** A run's series, shaped for the stacked memory charts; rejects with a `BridgeError` from the host. */
export async function loadShapedSeries(bridge: Bridge, runId: string, opts: LoadSeriesOptions): Promise<ShapedSeries> {
  const start = performance.now()
  const w = getWorker()
  const access = bridge.offThread()
  try {
    if (w) {
      let got: Ok
      if (access.kind === 'http') {
        got = await ask(w, { kind: 'series', runId, prefixes: opts.prefixes, buckets: opts.buckets, via: access }, [])
      } else {
        // Electron: the page holds the IPC; it receives bytes (one copy, no parse) and hands them on.
        const block = await bridge.invoke('runs.series', { runId })
        const d = block.data
        const transfer =
          typeof d !== 'string' && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer ? [d.buffer] : []
        got = await ask(w, { kind: 'series', runId, prefixes: opts.prefixes, buckets: opts.buckets, via: { kind: 'block', block } }, transfer)
      }
      if (got.kind !== 'series') throw new WorkerFailed('unexpected reply')
      performance.measure('hmmlab:series worker: fetch, JSON, contract', { start, duration: got.timings.fetchMs })
      performance.measure('hmmlab:series worker: decode, stack, level of detail', { start: start + got.timings.fetchMs, duration: got.timings.shapeMs })
      return got.shaped
    }
  } catch (err) {
    if (!(err instanceof WorkerFailed)) throw err
  }
  // No worker: the same steps on the page, one task each.
  const block = await bridge.invoke('runs.series', { runId })
  if (block.encoding !== SERIES_BLOCK_ENCODING) throw new BridgeError('bad_answer', `unknown series encoding ${String(block.encoding)}`, 'runs.series')
  // Loaded only here: the shaping code stays out of the bundle every view loads.
  const { shapeSeriesBlock } = await import('./series-shape')
  await nextTask()
  return shapeSeriesBlock(block, opts.prefixes, opts.buckets)
}

/** Calls a route with a large JSON answer, parsed and checked in the worker when the host allows it. */
export async function invokeOffThread<N extends RouteName>(bridge: Bridge, name: N, input: RouteInput<N>): Promise<RouteOutput<N>> {
  const access = bridge.offThread()
  const w = access.kind === 'http' ? getWorker() : null
  if (w && access.kind === 'http') {
    try {
      const got = await ask(w, { kind: 'invoke', name, input, token: access.token }, [])
      if (got.kind === 'invoke') return got.result as RouteOutput<N>
    } catch (err) {
      if (!(err instanceof WorkerFailed)) throw err
    }
  }
  return bridge.invoke(name, input)
}

/**
 * A stored run without its series, its result checked against RunResult: in the worker in the
 * browser host (JSON parse and zod off the main thread), on the page over IPC.
 */
export async function loadCheckedRun(bridge: Bridge, runId: string): Promise<CheckedRun> {
  const start = performance.now()
  const access = bridge.offThread()
  const w = access.kind === 'http' ? getWorker() : null
  if (w && access.kind === 'http') {
    try {
      const got = await ask(w, { kind: 'run', runId, token: access.token }, [])
      if (got.kind === 'run') {
        performance.measure('hmmlab:runs.get worker: fetch, JSON, contract', { start, duration: got.timings.fetchMs })
        performance.measure('hmmlab:runs.get worker: RunResult check', { start: start + got.timings.fetchMs, duration: got.timings.checkMs })
        return got.run
      }
    } catch (err) {
      if (!(err instanceof WorkerFailed)) throw err
    }
  }
  const got = await bridge.invoke('runs.get', { runId, series: false })
  performance.measure('hmmlab:runs.get without series (fetch, JSON, contract)', { start, duration: performance.now() - start })
  const { checkRun } = await import('./check-run')
  await nextTask()
  const t = performance.now()
  const run = checkRun(runId, got.manifest, got.result)
  performance.measure('hmmlab:RunResult check', { start: t, duration: performance.now() - t })
  return run
}
