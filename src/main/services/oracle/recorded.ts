/**
 * Recorded kernel sides (`hmmlab oracle --kernel-results FILE.json`): the kernel's observations
 * of an earlier run, compared again with the simulator without booting anything. A run captured
 * on another machine, or on a patched kernel, stays useful after the simulator changes.
 *
 * A file is either an oracle results document (`hmmlab oracle --json`, `--report FILE.json`: the
 * kernel side of every compared scenario, and the scenarios the kernel could not run) or one
 * kernel side (`OracleSide` with `side: "kernel"`, as scripts/oracle-kernel-fixtures.ts writes).
 * A file that is not one of these, truncated, or corrupt is refused with where and why.
 */
import { readRegularFileSync } from '../safe-read'
import { ORACLE_FORMAT, OracleSideSchema, type OracleSide } from '../../../shared/oracle'
import { decodeResults, isResultsFormat, ORACLE_RESULTS_FORMAT, ORACLE_RESULTS_FORMAT_V1, ResultsFormatError, type OracleResults } from './results'

export type RecordedEntry =
  | { kind: 'side'; name: string; file: string; side: OracleSide }
  | { kind: 'inexpressible'; name: string; file: string; unsupported: { index: number; line: number; op: string; why: string } }
  | { kind: 'guest_failed'; name: string; file: string; message: string; console_tail: string }

export interface RecordedKernel {
  /** The file it was read from. */
  source: string
  /** The kernel that produced it. */
  kernel: { release: string; accel: string; source: string; image: string }
  design: string
  entries: RecordedEntry[]
}

/** A recording that cannot be used (exit 2); the message names the file and where. */
export class RecordingError extends Error {}

/** Line and column of a character offset, for a JSON syntax error. */
function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`
}

/**
 * Whether `text` is a valid beginning of JSON: it parses, or it fails only at its end (V8 names
 * the position of most errors; one at or past the end means the text merely stopped).
 */
function validPrefix(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    const at = /at position (\d+)/.exec(msg)
    return /end of JSON input/.test(msg) || (at !== null && Number(at[1]) >= text.length)
  }
}

/**
 * Parses JSON text; a syntax error becomes one that says where (line and column of the first
 * character that cannot continue it: the longest valid beginning, found by bisection) or that
 * the file stops early.
 */
export function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    if (text.trim() === '') throw new RecordingError(`${file}: empty file, not JSON`)
    if (validPrefix(text)) throw new RecordingError(`${file}: the JSON ends early after ${text.length} bytes: truncated`)
    let lo = 0
    let hi = text.length
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1
      if (validPrefix(text.slice(0, mid))) lo = mid
      else hi = mid
    }
    throw new RecordingError(`${file}: not valid JSON at ${lineCol(text, hi - 1)}: ${msg.split('\n')[0]?.slice(0, 120)}`)
  }
}

function firstIssue(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const i = error.issues[0]
  return `${i?.path.map(String).join('.') || '(document)'}: ${i?.message ?? 'invalid'}`
}

/** Reads an oracle results document (fidelity, --kernel-results); throws RecordingError. */
export function readResultsDocument(file: string): OracleResults {
  return decodeDocument(parseJsonFile(readText(file), file), file, 'an oracle results document')
}

/** Either format of results document, in memory; a field that does not fit is named. */
function decodeDocument(json: unknown, file: string, what: string): OracleResults {
  try {
    return decodeResults(json)
  } catch (e) {
    if (e instanceof ResultsFormatError) throw new RecordingError(`${file}: not ${what}: ${e.message}`, { cause: e })
    throw e
  }
}

/**
 * The largest recording read: the results of a full `npm run test:kernel` (90 scenarios with every
 * step's raw observations on both sides) are about 3 MB in format 2, 63 MB in format 1.
 */
const RECORDING_MAX_BYTES = 512 << 20

/** Bounded, non-blocking, no symlink as the last component (services/safe-read.ts). */
function readText(file: string): string {
  try {
    return readRegularFileSync(file, { maxBytes: RECORDING_MAX_BYTES, what: 'results' }).toString('utf8')
  } catch (e) {
    throw new RecordingError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  }
}

/** Reads a recorded kernel side: a results document or one kernel OracleSide. */
export function readKernelResults(file: string): RecordedKernel {
  const json = parseJsonFile(readText(file), file)
  const format = json !== null && typeof json === 'object' ? (json as { format?: unknown }).format : undefined
  if (format === ORACLE_FORMAT) {
    const r = OracleSideSchema.safeParse(json)
    if (!r.success) throw new RecordingError(`${file}: not a valid kernel side: ${firstIssue(r.error)}`)
    const side = r.data
    if (side.side !== 'kernel') throw new RecordingError(`${file}: this is the ${side.side}'s side of ${side.scenario.name}, not a kernel's`)
    const release = side.version.release
    if (!release) throw new RecordingError(`${file}: the kernel side does not say which kernel ran it (version.release)`)
    return {
      source: file,
      kernel: { release, accel: side.version.accel ?? 'unknown', source: `recorded in ${file}`, image: '' },
      design: side.design,
      entries: [{ kind: 'side', name: side.scenario.name, file: side.scenario.file, side }],
    }
  }
  if (isResultsFormat(format)) {
    const doc = decodeDocument(json, file, 'a valid oracle results document')
    if (!doc.kernel) throw new RecordingError(`${file}: nothing ran on a kernel in that run (its "kernel" is null): there is no kernel side to compare`)
    const entries: RecordedEntry[] = []
    for (const o of doc.scenarios) {
      if (o.status === 'compared') entries.push({ kind: 'side', name: o.name, file: o.file, side: o.kernel })
      else if (o.status === 'inexpressible') entries.push({ kind: 'inexpressible', name: o.name, file: o.file, unsupported: o.unsupported })
      else if (o.status === 'guest_failed') entries.push({ kind: 'guest_failed', name: o.name, file: o.file, message: o.message, console_tail: o.console_tail })
    }
    if (entries.length === 0) throw new RecordingError(`${file}: the results hold no scenario the kernel ran`)
    return { source: file, kernel: { ...doc.kernel, source: `${doc.kernel.source} (recorded in ${file})` }, design: doc.design, entries }
  }
  throw new RecordingError(
    `${file}: not a recorded kernel side: its "format" is ${format === undefined ? 'missing' : JSON.stringify(format)}; expected "${ORACLE_RESULTS_FORMAT}" or "${ORACLE_RESULTS_FORMAT_V1}" (hmmlab oracle --json, --report FILE.json) or "${ORACLE_FORMAT}" (one kernel side)`,
  )
}
