/**
 * Where the calibration lives and how a run picks its costs. The calibration file is
 * `calibration.json` in the user's data folder (the workspace base, `$XDG_DATA_HOME/hmm-lab`);
 * `hmmlab run`, the experiment service and the app use it when present. `--costs default|FILE`
 * overrides. A malformed file is an error naming the file and the field.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Calibration, describeCosts, type CostsUsed } from '../../../shared/calibration'
import { COST_DEFAULTS, COST_NAMES } from '../../../sim/cost/model'
import { defaultWorkspace } from '../store/workspace'
import { writeFileAtomic } from '../store/atomic'

export class CalibrationFileError extends Error {}

/** `$XDG_DATA_HOME/hmm-lab/calibration.json` (beside the default workspace's runs). */
export function defaultCalibrationPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HMMLAB_CALIBRATION) return resolve(env.HMMLAB_CALIBRATION)
  return join(defaultWorkspace(env), 'calibration.json')
}

/** Validates a parsed calibration document; `where` names it in errors (a file path). */
export function checkCalibration(doc: unknown, where: string): Calibration {
  const r = Calibration.safeParse(doc)
  if (!r.success) {
    const i = r.error.issues[0]!
    const field = i.path.map(String).join('.') || '(document)'
    throw new CalibrationFileError(`${where}: ${field}: ${i.message}`)
  }
  for (const [name, p] of Object.entries(r.data.params)) {
    if (!(COST_NAMES as string[]).includes(name)) throw new CalibrationFileError(`${where}: params.${name}: not a cost parameter of this version of HMM Lab (expected one of ${COST_NAMES.join(', ')})`)
    if (COST_DEFAULTS[name as keyof typeof COST_DEFAULTS].unit !== p.unit) throw new CalibrationFileError(`${where}: params.${name}.unit: expected ${COST_DEFAULTS[name as keyof typeof COST_DEFAULTS].unit}`)
  }
  for (const [name, p] of Object.entries(r.data.params)) {
    for (const f of p.from) if (!(f in r.data.fits)) throw new CalibrationFileError(`${where}: params.${name}.from: names the benchmark "${f}", which has no entry in fits`)
  }
  return r.data
}

/** Parses calibration JSON text; errors name the file and the field (or the JSON position). */
export function parseCalibration(text: string, where: string): Calibration {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new CalibrationFileError(`${where}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  return checkCalibration(doc, where)
}

const MAX_BYTES = 4 * 2 ** 20

export function loadCalibration(path: string): Calibration {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CalibrationFileError(`cannot read the calibration ${path}: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (text.length > MAX_BYTES) throw new CalibrationFileError(`${path}: larger than ${MAX_BYTES} bytes; not a calibration`)
  return parseCalibration(text, path)
}

export async function saveCalibration(path: string, cal: Calibration): Promise<void> {
  checkCalibration(cal, path)
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
    if (e instanceof CalibrationFileError && /ENOENT/.test(e.message)) return { table: undefined, used: { source: 'default' } }
    throw e
  }
  return { table: calibrationCosts(cal), used: { source: 'calibrated', host: cal.host.hostname, date: cal.date }, calibration: cal }
}

export { describeCosts }
