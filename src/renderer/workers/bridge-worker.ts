/**
 * The series worker: fetches a run's series block (browser host: over HTTP with the page's token)
 * or takes its bytes from the page (Electron: the page got them over IPC and transferred them),
 * checks the answer against the contract, decodes, stacks and picks the first level of detail, and
 * transfers the typed arrays back. The page's main thread never parses or walks a million samples.
 */
import { SeriesBlock } from '../../shared/contracts/series-block'
import { postRoute } from '../bridge/http'
import { checkAnswer } from '../bridge/validate'
import { BridgeError } from '../bridge/types'
import { shapeSeriesBlock, shapedBuffers } from '../lib/series-shape'
import type { SeriesWorkerReply, SeriesWorkerRequest } from '../lib/series-protocol'

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SeriesWorkerRequest>) => void) | null
  postMessage(message: SeriesWorkerReply, transfer: Transferable[]): void
}

scope.onmessage = (e) => {
  void handle(e.data)
}

async function handle(req: SeriesWorkerRequest): Promise<void> {
  const t0 = performance.now()
  try {
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
    scope.postMessage({ id: req.id, ok: true, shaped, timings: { fetchMs: t1 - t0, shapeMs: t2 - t1 } }, shapedBuffers(shaped))
  } catch (err) {
    const code = err instanceof BridgeError ? err.code : 'bad_answer'
    scope.postMessage({ id: req.id, ok: false, code, message: err instanceof Error ? err.message : String(err) }, [])
  }
}
