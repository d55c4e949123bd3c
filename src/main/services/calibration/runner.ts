/**
 * Running the calibration: compiles native/calibrate/calibrate.c with the machine's C compiler
 * into the user's cache folder (once per source and compiler), runs it, reports its progress and
 * fits the result (fit.ts). Linux only: the benchmarks measure the Linux kernel's mm paths.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { appRoot } from '../../paths'
import { COST_DEFAULTS } from '../../../sim/cost/model'
import type { Calibration } from '../../../shared/calibration'
import { buildCalibration, parseOutput, type RawRun } from './fit'

export class CalibrationError extends Error {}

export interface CalibrationProgress {
  /** Measurements done and planned. */
  done: number
  total: number
  /** The benchmark running now (or "compile"). */
  bench: string
}

export interface CalibrateOptions {
  quick?: boolean
  /** Only these benchmarks (names as in calibrate.c). */
  only?: string[]
  onProgress?: (p: CalibrationProgress) => void
  signal?: AbortSignal
  env?: NodeJS.ProcessEnv
}

/** Where the compiled benchmark lives: `$XDG_CACHE_HOME/hmm-lab` (`~/.cache/hmm-lab`). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hmm-lab')
}

export function sourcePath(): string {
  return join(appRoot(), 'native', 'calibrate', 'calibrate.c')
}

const COMPILERS = ['cc', 'gcc', 'clang']

/** The first C compiler on PATH, or a clear error naming the package to install. */
export function findCompiler(env: NodeJS.ProcessEnv = process.env): { cc: string; version: string } {
  for (const cc of COMPILERS) {
    const r = spawnSync(cc, ['--version'], { env, encoding: 'utf8', timeout: 10_000 })
    if (r.status === 0) return { cc, version: (r.stdout.split('\n')[0] ?? '').trim() }
  }
  throw new CalibrationError(
    'no C compiler found (tried cc, gcc, clang on PATH): hmmlab calibrate compiles its micro-benchmarks on this machine. ' +
      'Install one, e.g. `sudo apt-get install build-essential` (Debian/Ubuntu), `sudo dnf install gcc` (Fedora) or `sudo pacman -S gcc` (Arch)',
  )
}

/** Compiles the benchmark (or reuses the cached binary of the same source and compiler); returns its path. */
export function buildBenchmark(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform !== 'linux') throw new CalibrationError(`calibration measures the Linux kernel's mm paths; this machine runs ${process.platform}`)
  const src = sourcePath()
  if (!existsSync(src)) throw new CalibrationError(`the benchmark source is missing: ${src}`)
  const { cc, version } = findCompiler(env)
  const text = readFileSync(src)
  const key = createHash('sha256').update(text).update('\0').update(version).digest('hex').slice(0, 16)
  const dir = cacheDir(env)
  const bin = join(dir, `calibrate-${key}`)
  if (existsSync(bin)) return bin
  try {
    mkdirSync(dir, { recursive: true })
  } catch (e) {
    throw new CalibrationError(`cannot create the cache folder ${dir}: ${e instanceof Error ? e.message : String(e)}`)
  }
  const tmp = `${bin}.tmp-${process.pid}`
  const r = spawnSync(cc, ['-O2', '-Wall', '-pthread', '-o', tmp, src], { env, encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) {
    rmSync(tmp, { force: true })
    const why = (r.stderr || r.error?.message || `exit ${String(r.status)}`).trim().split('\n').slice(0, 8).join('\n')
    throw new CalibrationError(`${cc} could not compile ${src}:\n${why}`)
  }
  renameSync(tmp, bin)
  return bin
}

/** Runs the benchmark binary with `args`; resolves to its parsed output. */
export function runBenchmark(bin: string, args: string[], opts: Pick<CalibrateOptions, 'onProgress' | 'signal' | 'env'> = {}): Promise<RawRun> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new CalibrationError('calibration cancelled'))
    const child = spawn(bin, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let errTail = ''
    let partial = ''
    const limit = 16 * 2 ** 20
    const onAbort = (): void => {
      child.kill('SIGKILL')
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    // the full calibration takes ~1 min of CPU; on a loaded machine allow much more, never forever
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000)
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      if (out.length < limit) out += d
    })
    child.stderr.on('data', (d: string) => {
      const lines = (partial + d).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const m = /^progress (\d+) (\d+) (\S+)$/.exec(line)
        if (m) opts.onProgress?.({ done: Number(m[1]), total: Number(m[2]), bench: m[3]! })
        else errTail = (errTail + line + '\n').slice(-2000)
      }
    })
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new CalibrationError(`cannot run ${bin}: ${e.message}`))
    })
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      if (opts.signal?.aborted) return reject(new CalibrationError('calibration cancelled'))
      if (code !== 0)
        return reject(
          new CalibrationError(`the benchmark ${sig ? `was killed (${sig})` : `exited with ${String(code)}`}${errTail ? `: ${errTail.trim()}` : ''}`),
        )
      try {
        resolve(parseOutput(out))
      } catch (e) {
        reject(e)
      }
    })
  })
}

/** Compiles, measures and fits: the calibration of this machine. */
export async function calibrate(opts: CalibrateOptions = {}): Promise<Calibration> {
  const env = opts.env ?? process.env
  opts.onProgress?.({ done: 0, total: 1, bench: 'compile' })
  const bin = buildBenchmark(env)
  const args = [...(opts.quick ? ['--quick'] : []), ...(opts.only?.length ? ['--only', opts.only.join(',')] : [])]
  const t0 = Date.now()
  const raw = await runBenchmark(bin, args, { ...opts, env })
  return buildCalibration(raw, {
    date: new Date(),
    durationMs: Date.now() - t0,
    defaults: {
      cpu_full_flush: COST_DEFAULTS.cpu_full_flush.value,
      cpu_invlpg: COST_DEFAULTS.cpu_invlpg.value,
      ipi_per_cpu: COST_DEFAULTS.ipi_per_cpu.value,
    },
  })
}
