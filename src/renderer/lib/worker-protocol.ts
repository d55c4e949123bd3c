/** Messages between the page and the series worker (see workers/series-worker.ts). */
import type { ShapedSeries } from './series-shape'

export interface SeriesWorkerRequest {
  id: number
  runId: string
  prefixes: string[]
  buckets: number
  /** Fetch over HTTP with this token, or shape a block the page already has (its bytes transferred). */
  via: { kind: 'http'; token: string } | { kind: 'block'; block: unknown }
}

export type SeriesWorkerReply =
  | { id: number; ok: true; shaped: ShapedSeries; timings: { fetchMs: number; shapeMs: number } }
  | { id: number; ok: false; code: string; message: string }
