/**
 * The calibration as the app sees it: the file in the user's data folder, a run of the benchmark
 * (one at a time) with progress events, import (validated, then saved atomically), export, delete,
 * and every cost parameter with its provenance for the Hardware view.
 */
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs'
import { CALIBRATION_FORMAT, describeCosts, type Calibration } from '../../../shared/calibration'
import type { CostParamInfo } from '../../../shared/contracts/calibration'
import { COST_DEFAULTS, COST_NAMES, type CostParam } from '../../../sim/cost/model'
import { calibrate, type CalibrationProgress } from './runner'
import { CalibrationFileError, CALIBRATION_MAX_BYTES, loadCalibration, parseCalibration, saveCalibration } from './store'
import { readRegularFileSync } from '../safe-read'

/** Costs of the device side: GPU, IOMMU, ATS, driver and HMM walks. They stay sourced or assumed. */
const DEVICE = /^(iotlb_|qi_|smmu_|ats_|gpu_|iommu_|device_|iopf|hmm_|dev_|migrate_|kfd_)/

export interface CalibrationState {
  path: string
  calibration: Calibration | null
  problem?: string
  running: boolean
  summary: string
  params: CostParamInfo[]
}

export type CalibrationEvent = CalibrationProgress & { state: 'running' | 'done' | 'failed'; error?: string }

/** Every cost parameter: the value a run uses with this calibration, and where it comes from. */
export function costParamInfo(cal: Calibration | null): CostParamInfo[] {
  return COST_NAMES.map((name) => {
    const d: CostParam = COST_DEFAULTS[name]
    const m = cal?.params[name]
    const info: CostParamInfo = {
      name,
      unit: d.unit,
      value: m ? m.value : d.value,
      default: d.value,
      provenance: m ? 'measured' : d.conf === 'V' || d.conf === 'S' || d.conf === 'M' ? 'sourced' : 'assumed',
      conf: d.conf,
      source: d.source,
      side: DEVICE.test(name) ? 'device' : 'cpu',
    }
    if (d.calibrate) info.calibrate = d.calibrate
    if (m) info.fit = { r2: m.r2, spread: m.spread, method: m.method, from: m.from }
    return info
  })
}

export class CalibrationService {
  private running = false

  constructor(
    readonly path: string,
    private readonly emit: (e: CalibrationEvent) => void = () => {},
    private readonly measure: typeof calibrate = calibrate,
  ) {}

  state(): CalibrationState {
    let calibration: Calibration | null = null
    let problem: string | undefined
    try {
      calibration = loadCalibration(this.path)
    } catch (e) {
      if (!(e instanceof CalibrationFileError && e.code === 'ENOENT')) problem = e instanceof Error ? e.message : String(e)
    }
    const summary = calibration
      ? describeCosts({ source: 'calibrated', host: calibration.host.hostname, date: calibration.date })
      : describeCosts({ source: 'default' })
    return { path: this.path, calibration, ...(problem ? { problem } : {}), running: this.running, summary, params: costParamInfo(calibration) }
  }

  /** Starts a calibration in the background; false if one is running already. */
  start(quick: boolean): boolean {
    if (this.running) return false
    this.running = true
    let last: CalibrationProgress = { done: 0, total: 0, bench: 'compile' }
    void this.measure({ quick, onProgress: (p) => this.emit({ ...(last = p), state: 'running' }) })
      .then(async (cal) => {
        await saveCalibration(this.path, cal)
        this.running = false
        this.emit({ ...last, done: last.total, state: 'done' })
      })
      .catch((e: unknown) => {
        this.running = false
        this.emit({ ...last, state: 'failed', error: e instanceof Error ? e.message : String(e) })
      })
    return true
  }

  async import(text: string): Promise<CalibrationState> {
    const cal = parseCalibration(text, 'the imported calibration')
    await saveCalibration(this.path, cal)
    return this.state()
  }

  export(): { fileName: string; content: string } | null {
    const s = this.state()
    if (!s.calibration) return null
    const host = s.calibration.host.hostname.replace(/[^A-Za-z0-9._-]/g, '_')
    return { fileName: `calibration-${host}-${s.calibration.date.slice(0, 10)}.json`, content: JSON.stringify(s.calibration, null, 1) + '\n' }
  }

  /**
   * Deletes the calibration file, and only that: a folder, a symbolic link (which may point out
   * of the data folder), a FIFO or device, or a regular file that is not a calibration (no
   * `"format": "hmmlab.calibration/1"`; an empty one counts as a calibration cut short) is
   * refused with a CalibrationFileError naming the path; its contents are never quoted.
   */
  remove(): CalibrationState {
    const refuse = (why: string): never => {
      throw new CalibrationFileError(`calibration ${this.path}: ${why}; not deleted`)
    }
    let st
    try {
      st = lstatSync(this.path)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return this.state()
      refuse(`cannot check it (${code ?? 'EIO'})`)
    }
    if (st!.isSymbolicLink()) {
      let to = ''
      try {
        to = ` (to ${readlinkSync(this.path)})`
      } catch {
        // gone meanwhile
      }
      refuse(`is a symbolic link${to}`)
    }
    if (st!.isDirectory()) refuse('is a folder, not a calibration file')
    if (!st!.isFile()) refuse('not a regular file (a FIFO, socket or device)')
    let text: string
    try {
      text = readRegularFileSync(this.path, { maxBytes: CALIBRATION_MAX_BYTES, what: 'calibration' }).toString('utf8')
    } catch (e) {
      throw new CalibrationFileError(`${e instanceof Error ? e.message : String(e)}; not deleted`)
    }
    if (text.length > 0 && !text.includes(CALIBRATION_FORMAT)) refuse(`not a calibration file (no "format": "${CALIBRATION_FORMAT}")`)
    try {
      // unlink never removes a folder, should one have taken the file's place meanwhile
      unlinkSync(this.path)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
      if (code !== 'ENOENT') refuse(`cannot delete it (${code})`)
    }
    return this.state()
  }
}
