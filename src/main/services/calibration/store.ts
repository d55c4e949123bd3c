/**
 * Where the calibration lives and how a run picks its costs. The calibration file is
 * `calibration.json` in the user's data folder (the workspace base, `$XDG_DATA_HOME/hmm-lab`);
 * `hmmlab run`, the experiment service and the app use it when present. `--costs default|FILE`
 * overrides. A malformed file is an error naming the file and the field.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Calibration, describeCosts, type CostsUsed } from '../../../shared/calibration'
import { COST_DEFAULTS, COST_NAMES } from '../../../sim/cost/model'
import { defaultWorkspace } from '../store/workspace'
import { writeFileAtomic } from '../store/atomic'
import { checkOutputPath, readRegularFileSync, SafeReadError } from '../safe-read'
import { FORBIDDEN_KEYS, JSON_BODY_MAX_DEPTH, jsonDepth, jsonSyntaxMessage } from '../../../shared/text-limits'

/** The largest calibration file read or imported (a real one is about 30 KB). */
export const CALIBRATION_MAX_BYTES = 4 * 2 ** 20
const MAX_BYTES = CALIBRATION_MAX_BYTES

export class CalibrationFileError extends Error {
  constructor(
    message: string,
    /** ENOENT when the file does not exist (the default calibration is optional). */
    readonly code?: string,
  ) {
    super(message)
    this.name = 'CalibrationFileError'
  }
}

/** `$XDG_DATA_HOME/hmm-lab/calibration.json` (beside the default workspace's runs). */
export function defaultCalibrationPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HMMLAB_CALIBRATION) return resolve(env.HMMLAB_CALIBRATION)
  return join(defaultWorkspace(env), 'calibration.json')
}

/** Validates a parsed calibration document; `where` names it in errors (a file path). */
export function checkCalibration(doc: unknown, where: string): Calibration {
  // zod drops a `__proto__` key of a record silently: refuse such keys by name instead
  for (const part of ['params', 'fits'] as const) {
    const rec = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>)[part] : undefined
    if (rec === null || typeof rec !== 'object') continue
    const bad = Object.keys(rec).find((k) => FORBIDDEN_KEYS.has(k))
    if (bad !== undefined) throw new CalibrationFileError(`${where}: ${part}.${bad}: not a ${part === 'params' ? 'cost parameter' : 'benchmark'} name`)
  }
  const r = Calibration.safeParse(doc)
  if (!r.success) {
    const i = r.error.issues[0]!
    const field = i.path.map(String).join('.') || '(document)'
    throw new CalibrationFileError(`${where}: ${field}: ${i.message}`)
  }
  for (const [name, p] of Object.entries(r.data.params)) {
    if (!(COST_NAMES as string[]).includes(name))
      throw new CalibrationFileError(`${where}: params.${name}: not a cost parameter of this version of HMM Lab (expected one of ${COST_NAMES.join(', ')})`)
    if (COST_DEFAULTS[name as keyof typeof COST_DEFAULTS].unit !== p.unit)
      throw new CalibrationFileError(`${where}: params.${name}.unit: expected ${COST_DEFAULTS[name as keyof typeof COST_DEFAULTS].unit}`)
  }
  for (const [name, p] of Object.entries(r.data.params)) {
    for (const f of p.from)
      if (!Object.hasOwn(r.data.fits, f))
        throw new CalibrationFileError(`${where}: params.${name}.from: names the benchmark "${f}", which has no entry in fits`)
  }
  return r.data
}

/** Parses calibration JSON text; errors name the file and the field (or the JSON position). */
export function parseCalibration(text: string, where: string): Calibration {
  if (text.length > MAX_BYTES) throw new CalibrationFileError(`${where}: larger than ${MAX_BYTES} bytes; not a calibration`)
  // A calibration nests four levels; a deep one is refused before anything recurses over it.
  const { overAtLine } = jsonDepth(text, JSON_BODY_MAX_DEPTH)
  if (overAtLine > 0) throw new CalibrationFileError(`${where}:${overAtLine}: nested deeper than ${JSON_BODY_MAX_DEPTH} levels; not a calibration`)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    // V8's message may quote the text: never echo a file's contents
    throw new CalibrationFileError(`${where}: ${jsonSyntaxMessage(e, text)}`)
  }
  return checkCalibration(doc, where)
}

/**
 * Reads a calibration file: a regular file of at most 4 MiB, not a symlink, never waiting on a
 * FIFO or a device (safe-read.ts). Errors name the file; `code` is ENOENT when it does not exist.
 */
export function loadCalibration(path: string): Calibration {
  let text: string
  try {
    text = readRegularFileSync(path, { maxBytes: MAX_BYTES, what: 'calibration' }).toString('utf8')
  } catch (e) {
    if (e instanceof SafeReadError) throw new CalibrationFileError(e.code === 'TOO_LARGE' ? `${e.message}; not a calibration` : e.message, e.code)
    throw new CalibrationFileError(`cannot read the calibration ${path}: ${e instanceof Error ? e.message : String(e)}`)
  }
  return parseCalibration(text, path)
}

/** Writes a calibration atomically; a path that exists and is not a regular file is refused. */
export async function saveCalibration(path: string, cal: Calibration): Promise<void> {
  checkCalibration(cal, path)
  checkOutputPath(path, 'calibration')
  mkdirSync(dirname(path), { recursive: true })
  await writeFileAtomic(path, JSON.stringify(cal, null, 1) + '\n')
}

/** The cost table of a calibration: parameter → measured value. */
export function calibrationCosts(cal: Calibration): Record<string, number> {
  return Object.fromEntries(Object.entries(cal.params).map(([k, p]) => [k, p.value]))
}

/** What a run uses: a base cost table (undefined: the defaults) and the record of where it came from. */
export interface CostChoice {
  table: Record<string, number> | undefined
  used: CostsUsed
  calibration?: Calibration
}

/**
 * Resolves `--costs`: undefined (the default calibration when present, else the defaults),
 * `default`, or a calibration file. A damaged default calibration is an error, not a silent
 * fall-back, so a user never believes a run used their machine's costs when it did not.
 */
export function chooseCosts(flagArg: string | undefined, env: NodeJS.ProcessEnv = process.env, defaultPath: string = defaultCalibrationPath(env)): CostChoice {
  // HMMLAB_COSTS stands for the flag when it is absent (the unit tests set it to `default`)
  const flag = flagArg ?? (env.HMMLAB_COSTS || undefined)
  if (flag === 'default') return { table: undefined, used: { source: 'default' } }
  if (flag !== undefined && flag !== '') {
    const path = resolve(flag)
    const cal = loadCalibration(path)
    return { table: calibrationCosts(cal), used: { source: 'file', host: cal.host.hostname, date: cal.date, file: path }, calibration: cal }
  }
  const path = defaultPath
  let cal: Calibration
  try {
    cal = loadCalibration(path)
  } catch (e) {
    if (e instanceof CalibrationFileError && e.code === 'ENOENT') return { table: undefined, used: { source: 'default' } }
    throw e
  }
  return { table: calibrationCosts(cal), used: { source: 'calibrated', host: cal.host.hostname, date: cal.date }, calibration: cal }
}

export { describeCosts }
