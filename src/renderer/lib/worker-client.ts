/**
 * Loads a run's series for the charts off the main thread. The series worker fetches the binary
 * block itself over HTTP (browser host) or receives the bytes the page got over Electron IPC
 * (transferred, not copied), then decodes, stacks and picks the first level of detail; the page
 * receives typed arrays (transferred) and only builds the charts. When no worker can run (a host
 * that refuses it), the same steps run on the page, split across tasks.
 */
import { SERIES_BLOCK_ENCODING } from '../../shared/contracts/series-block'
import { BridgeError, type Bridge } from '../bridge'
import type { SeriesWorkerReply, SeriesWorkerRequest } from './series-protocol'
import { shapeSeriesBlock, type ShapedSeries } from './series-shape'

export type { ShapedSeries, ShapedStack } from './series-shape'

interface Pending {
  resolve: (r: { shaped: ShapedSeries; timings: { fetchMs: number; shapeMs: number } }) => void
  reject: (err: unknown) => void
}

/** Raised when the worker itself fails (not the host): the caller falls back to the page. */
class WorkerFailed extends Error {}

let worker: Worker | null | undefined
let nextId = 1
const pending = new Map<number, Pending>()

function failAll(reason: string): void {
  for (const p of pending.values()) p.reject(new WorkerFailed(reason))
  pending.clear()
}

function getWorker(): Worker | null {
  if (worker !== undefined) return worker
  try {
    const w = new Worker(new URL('../workers/series-worker.ts', import.meta.url), { type: 'module', name: 'hmmlab-series' })
    w.onmessage = (e: MessageEvent<SeriesWorkerReply>) => {
      const r = e.data
      const p = pending.get(r.id)
      if (!p) return
      pending.delete(r.id)
      if (r.ok) p.resolve({ shaped: r.shaped, timings: r.timings })
      else p.reject(new BridgeError(r.code, r.message, 'runs.series'))
    }
    w.onerror = (e) => {
      e.preventDefault()
      worker = null
      w.terminate()
      failAll(e.message || 'the series worker failed')
    }
    worker = w
  } catch {
    worker = null
  }
  return worker
}

function inWorker(w: Worker, req: Omit<SeriesWorkerRequest, 'id'>, transfer: Transferable[]): Promise<{ shaped: ShapedSeries; timings: { fetchMs: number; shapeMs: number } }> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    try {
      w.postMessage({ ...req, id } satisfies SeriesWorkerRequest, transfer)
    } catch (err) {
      pending.delete(id)
      reject(new WorkerFailed(String(err)))
    }
  })
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
      let got: { shaped: ShapedSeries; timings: { fetchMs: number; shapeMs: number } }
      if (access.kind === 'http') {
        got = await inWorker(w, { runId, prefixes: opts.prefixes, buckets: opts.buckets, via: access }, [])
      } else {
        // Electron: the page holds the IPC; it receives bytes (one copy, no parse) and hands them on.
        const block = await bridge.invoke('runs.series', { runId })
        const transfer = typeof block.data !== 'string' && block.data.byteOffset === 0 && block.data.byteLength === block.data.buffer.byteLength && block.data.buffer instanceof ArrayBuffer ? [block.data.buffer] : []
        got = await inWorker(w, { runId, prefixes: opts.prefixes, buckets: opts.buckets, via: { kind: 'block', block } }, transfer)
      }
      performance.measure('hmmlab:series worker: fetch, JSON, contract', { start: start, duration: got.timings.fetchMs })
      performance.measure('hmmlab:series worker: decode, stack, level of detail', { start: start + got.timings.fetchMs, duration: got.timings.shapeMs })
      return got.shaped
    }
  } catch (err) {
    if (!(err instanceof WorkerFailed)) throw err
  }
  // No worker: the same steps on the page, one task each.
  const block = await bridge.invoke('runs.series', { runId })
  if (block.encoding !== SERIES_BLOCK_ENCODING) throw new BridgeError('bad_answer', `unknown series encoding ${String(block.encoding)}`, 'runs.series')
  await nextTask()
  return shapeSeriesBlock(block, opts.prefixes, opts.buckets)
}
