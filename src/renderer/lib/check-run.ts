/** Checks a stored run's result document against RunResult (in the bridge worker, or on the page over IPC). */
import { RunResult } from '../../shared/run-result'
import type { RunManifest } from '../../shared/runs'
import type { CheckedRun } from './worker-protocol'

export function checkRun(runId: string, manifest: RunManifest, result: unknown): CheckedRun {
  const parsed = RunResult.safeParse(result)
  if (parsed.success) return { manifest, result: { ok: true, value: parsed.data } }
  const issue = parsed.error.issues[0]
  return { manifest, result: { ok: false, message: `result.json of run ${runId} is not an hmmlab.result/1 document${issue ? ` (at ${issue.path.join('.') || 'top'}: ${issue.message})` : ''}` } }
}
