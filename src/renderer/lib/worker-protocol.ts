/** Messages between the page and the bridge worker (see workers/bridge-worker.ts). */
import type { RouteName } from '../../shared/contracts'
import type { RunManifest } from '../../shared/runs'
import type { StoredRecord } from '../../shared/record'
import type { ShapedSeries } from './series-shape'

/** A stored run without its series: the manifest, and its record checked against the record's schema (or why not: an old format, a run without a record). */
export interface CheckedRun {
  manifest: RunManifest
  result: { ok: true; value: StoredRecord } | { ok: false; message: string }
}

export type WorkerRequest =
  | {
      id: number
      kind: 'series'
      runId: string
      prefixes: string[]
      buckets: number
      /** Fetch over HTTP with this token, or shape a block the page already has (its bytes transferred). */
      via: { kind: 'http'; token: string } | { kind: 'block'; block: unknown }
    }
  | { id: number; kind: 'invoke'; name: RouteName; input: unknown; token: string }
  | { id: number; kind: 'run'; runId: string; token: string }

export type WorkerReply =
  | { id: number; ok: true; kind: 'series'; shaped: ShapedSeries; timings: { fetchMs: number; shapeMs: number } }
  | { id: number; ok: true; kind: 'invoke'; result: unknown; timings: { fetchMs: number } }
  | { id: number; ok: true; kind: 'run'; run: CheckedRun; timings: { fetchMs: number; checkMs: number } }
  | { id: number; ok: false; code: string; message: string }
