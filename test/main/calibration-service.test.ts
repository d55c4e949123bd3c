/**
 * The calibration service with a fake benchmark (no C compiler, no timing): progress events, the
 * file written where runs look for it, provenance of every parameter, import/export/delete, and
 * chooseCosts' answer to --costs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildCalibration, parseOutput } from '../../src/main/services/calibration/fit'
import { CalibrationService, type CalibrationEvent } from '../../src/main/services/calibration/service'
import { chooseCosts } from '../../src/main/services/calibration/store'
import type { Calibration } from '../../src/shared/calibration'

function fakeCalibration(): Calibration {
  const lines = ['info hostname gpuhost', 'info kernel 6.12.0', 'info cpus_online 8', 'info reps 2']
  for (const rep of [0, 1]) for (const x of [1000, 2000, 4000]) lines.push(`m fault_anon ${x} ${rep} ${x * 1200}`, `m munmap ${x} ${rep} ${5000 + x * 300}`)
  return buildCalibration(parseOutput(lines.join('\n')), {
    date: new Date('2026-01-02T03:04:05Z'),
    durationMs: 10,
    defaults: { cpu_full_flush: 3300, cpu_invlpg: 100, ipi_per_cpu: 200 },
  })
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(cond()).toBe(true)
}

describe('calibration service', () => {
  it('runs, reports progress, saves, and shows each parameter with its provenance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cal-'))
    const events: CalibrationEvent[] = []
    const svc = new CalibrationService(
      join(dir, 'calibration.json'),
      (e) => events.push(e),
      async (opts) => {
        opts?.onProgress?.({ done: 1, total: 2, bench: 'fault_anon' })
        opts?.onProgress?.({ done: 2, total: 2, bench: 'munmap' })
        return fakeCalibration()
      },
    )
    expect(svc.state().calibration).toBeNull()
    expect(svc.state().summary).toMatch(/^costs: defaults/)
    expect(svc.start(true)).toBe(true)
    expect(svc.start(true)).toBe(false) // one at a time
    await until(() => events.some((e) => e.state !== 'running'))
    expect(events.map((e) => e.bench)).toEqual(['fault_anon', 'munmap', 'munmap'])
    expect(events.at(-1)!.state).toBe('done')
    const s = svc.state()
    expect(s.running).toBe(false)
    expect(s.summary).toBe('costs: calibrated on gpuhost, 2026-01-02 03:04')
    const byName = Object.fromEntries(s.params.map((p) => [p.name, p]))
    expect(byName.cpu_fault).toMatchObject({ provenance: 'measured', value: 1200, side: 'cpu' })
    expect(byName.munmap_pte!.fit!.r2).toBeCloseTo(1, 6)
    expect(byName.cpu_cow_copy).toMatchObject({ provenance: 'assumed', side: 'cpu', calibrate: 'cow' })
    expect(byName.kfd_restore_delay).toMatchObject({ provenance: 'sourced', side: 'device' })
    expect(byName.gpu_tlb_flush_all).toMatchObject({ provenance: 'assumed', side: 'device' })
    expect(byName.iotlb_psi!.calibrate).toBeUndefined()

    // export → delete → import round trip
    const f = svc.export()!
    expect(f.fileName).toBe('calibration-gpuhost-2026-01-02.json')
    expect(svc.remove().calibration).toBeNull()
    expect(svc.export()).toBeNull()
    expect((await svc.import(f.content)).calibration!.host.hostname).toBe('gpuhost')
    await expect(svc.import('{"format":"hmmlab.calibration/1"}')).rejects.toThrow(/the imported calibration: date:/)
  })

  it('a failed run says why and leaves the old calibration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cal-'))
    const events: CalibrationEvent[] = []
    const svc = new CalibrationService(
      join(dir, 'calibration.json'),
      (e) => events.push(e),
      () => Promise.reject(new Error('no C compiler found')),
    )
    svc.start(false)
    await until(() => events.length > 0)
    expect(events[0]).toMatchObject({ state: 'failed', error: 'no C compiler found' })
    expect(svc.state().running).toBe(false)
  })

  it('a damaged calibration file is reported with its field, and --costs chooses as documented', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cal-'))
    const path = join(dir, 'calibration.json')
    expect(chooseCosts(undefined, {}, path)).toEqual({ table: undefined, used: { source: 'default' } })
    writeFileSync(path, JSON.stringify(fakeCalibration()))
    const auto = chooseCosts(undefined, {}, path)
    expect(auto.used).toEqual({ source: 'calibrated', host: 'gpuhost', date: '2026-01-02T03:04:05.000Z' })
    expect(auto.table!.cpu_fault).toBe(1200)
    expect(chooseCosts('default', {}, path).table).toBeUndefined()
    expect(chooseCosts(undefined, { HMMLAB_COSTS: 'default' }, path).used.source).toBe('default')
    expect(chooseCosts(path, {}, '/nonexistent').used).toMatchObject({ source: 'file', file: path })
    const doc = JSON.parse(readFileSync(path, 'utf8'))
    doc.params.cpu_fault.r2 = 'high'
    writeFileSync(path, JSON.stringify(doc))
    expect(() => chooseCosts(undefined, {}, path)).toThrow(/calibration.json: params.cpu_fault.r2:/)
    expect(new CalibrationService(path).state().problem).toMatch(/params.cpu_fault.r2/)
  })
})

describe('the benchmark program', () => {
  it('without a compiler, the error names the package to install', async () => {
    const { findCompiler } = await import('../../src/main/services/calibration/runner')
    expect(() => findCompiler({ PATH: '/nonexistent' })).toThrow(/build-essential.*gcc/)
  })

  it('compiles into the cache folder and prints records the fit reads (or says which compiler is missing)', async () => {
    const { buildBenchmark, runBenchmark, findCompiler, CalibrationError } = await import('../../src/main/services/calibration/runner')
    const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'hmmlab-cache-')) }
    let hasCc = true
    try {
      findCompiler(env)
    } catch (e) {
      hasCc = false
      expect(e).toBeInstanceOf(CalibrationError)
      expect(() => buildBenchmark(env)).toThrow(/no C compiler found/)
    }
    if (!hasCc) return
    const bin = buildBenchmark(env)
    expect(bin.startsWith(env.XDG_CACHE_HOME)).toBe(true)
    expect(buildBenchmark(env)).toBe(bin) // cached: same source and compiler
    const progress: number[] = []
    const raw = await runBenchmark(bin, ['--quick', '--only', 'syscall,mremap', '--reps', '1'], { env, onProgress: (p) => progress.push(p.done) })
    expect(raw.info.get('kernel')).toBeTruthy()
    expect([...raw.measurements.keys()].sort()).toEqual(['mremap', 'syscall'])
    expect([...raw.measurements.get('mremap')!.keys()]).toHaveLength(3)
    expect(progress.at(-1)).toBe(6)
    await expect(runBenchmark(bin, ['--bogus'], { env })).rejects.toThrow(/exited with 2.*usage/s)
  })
})
