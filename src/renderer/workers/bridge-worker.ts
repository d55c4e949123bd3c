/**
 * The bridge worker: route calls whose answers are large, made off the main thread.
 *
 * - `series`: fetches a run's series block (browser host: over HTTP with the page's token) or takes
 *   its bytes from the page (Electron: the page got them over IPC and transferred them), checks the
 *   answer against the contract, decodes, stacks and picks the first level of detail, and transfers
 *   the typed arrays back. The page never parses or walks a million samples.
 * - `run` (browser host only): a stored run without its series (`runs.get`, `series: false`), its
 *   result checked against RunResult here: a result with tens of thousands of invalidations or
 *   trace events is parsed and checked off the main thread.
 * - `invoke` (browser host only): one route call, its JSON parsed and checked against the contract
 *   here (e.g. `runs.list` of hundreds of manifests); the page receives the checked answer.
 */
import { SeriesBlock } from '../../shared/contracts/series-block'
import { postRoute } from '../bridge/http'
import { BridgeError } from '../bridge/types'
import { checkAnswer } from '../bridge/validate'
import { checkRun } from '../lib/check-run'
import { shapeSeriesBlock, shapedBuffers } from '../lib/series-shape'
import type { WorkerReply, WorkerRequest } from '../lib/worker-protocol'

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null
  postMessage(message: WorkerReply, transfer: Transferable[]): void
}

scope.onmessage = (e) => {
  void handle(e.data)
}

async function handle(req: WorkerRequest): Promise<void> {
  const t0 = performance.now()
  try {
    if (req.kind === 'invoke') {
      const result = checkAnswer(req.name, await postRoute(req.token, req.name, req.input))
      scope.postMessage({ id: req.id, ok: true, kind: 'invoke', result, timings: { fetchMs: performance.now() - t0 } }, [])
      return
    }
    if (req.kind === 'run') {
      const got = checkAnswer('runs.get', await postRoute(req.token, 'runs.get', { runId: req.runId, series: false }))
      const t1 = performance.now()
      const run = checkRun(req.runId, got.manifest, got.result)
      scope.postMessage({ id: req.id, ok: true, kind: 'run', run, timings: { fetchMs: t1 - t0, checkMs: performance.now() - t1 } }, [])
      return
    }
    let block: SeriesBlock
    if (req.via.kind === 'http') {
      block = checkAnswer('runs.series', await postRoute(req.via.token, 'runs.series', { runId: req.runId }))
    } else {
      const parsed = SeriesBlock.safeParse(req.via.block)
      if (!parsed.success) throw new BridgeError('bad_answer', "the host's answer to runs.series breaks its contract", 'runs.series')
      block = parsed.data
    }
    const t1 = performance.now()
    const shaped = shapeSeriesBlock(block, req.prefixes, req.buckets)
    const t2 = performance.now()
    scope.postMessage({ id: req.id, ok: true, kind: 'series', shaped, timings: { fetchMs: t1 - t0, shapeMs: t2 - t1 } }, shapedBuffers(shaped))
  } catch (err) {
    const code = err instanceof BridgeError ? err.code : 'bad_answer'
    scope.postMessage({ id: req.id, ok: false, code, message: err instanceof Error ? err.message : String(err) }, [])
  }
}
