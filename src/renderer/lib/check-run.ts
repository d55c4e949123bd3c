/** Checks a stored run's result against the run record's schema (in the bridge worker, or on the page over IPC). */
import { describeNotARecord, statusWords, StoredRecord } from '../../shared/record'
import type { RunManifest } from '../../shared/runs'
import type { CheckedRun } from './worker-protocol'

export function checkRun(runId: string, manifest: RunManifest, result: unknown): CheckedRun {
  const parsed = StoredRecord.safeParse(result)
  if (parsed.success) return { manifest, result: { ok: true, value: parsed.data } }
  // a run without a record (crashed, cancelled before the simulator answered) says why, an old run says so
  const noRecord = result !== null && typeof result === 'object' && !('schema' in result) && !('format' in result)
  const why = noRecord
    ? `run ${runId} has no record: ${statusWords(manifest.status, manifest.stop)}${manifest.error ? ` (${manifest.error})` : ''}`
    : describeNotARecord(result, runId)
  return { manifest, result: { ok: false, message: why } }
}
