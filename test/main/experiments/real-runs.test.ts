/**
 * The experiment service end to end with the real run worker and simulator: a built-in scenario
 * under two designs, results saved in the stored shape, swept parameters applied to the scenario,
 * bad sweeps refused before anything runs, and the same seed giving the same numbers.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createLabServices } from '../../../src/main/services'
import { StoredRecord } from '../../../src/shared/record'
import { RunSeries } from '../../../src/shared/runs'
import { storedHasResults } from '../../../src/renderer/lib/progress'

/** Runs that have executed at least one step, from the services' progress events. */
const stepping = new Map<string, () => void>()
const services = createLabServices({
  workspace: mkdtempSync(join(tmpdir(), 'hmmlab-real-')),
  threads: 2,
  onEvent: (name, payload) => {
    const p = payload as { runId?: string; stepsDone?: number }
    if (name === 'run.progress' && p.runId && (p.stepsDone ?? 0) > 0) stepping.get(p.runId)?.()
  },
})
const firstStep = (runId: string): Promise<void> => new Promise((resolve) => stepping.set(runId, resolve))
afterAll(() => services.close())
const fileName = 'thread-2014/a-fork-after-mirror.yaml'
const text = readFileSync(join(__dirname, '../../../scenarios', fileName), 'utf8')

describe('experiments with the real simulator', () => {
  it('runs the fork scenario under D1 and D4 and stores results that follow the contract', async () => {
    const started = await services.experiments.start({ scenarioText: text, fileName, designs: ['D1', 'D4'] })
    const summary = await started.done
    expect(summary.runs.map((r) => [r.design, r.status])).toEqual([
      ['D1', 'passed'],
      ['D4', 'passed'],
    ])
    const [d1, d4] = await Promise.all(summary.runs.map((r) => services.store.getRun(r.id)))
    const r1 = StoredRecord.parse(d1!.result)
    RunSeries.parse(d1!.series)
    expect(r1.meta.design.id).toBe('D1')
    expect(r1.expects.rows.length).toBeGreaterThan(0)
    expect(r1.expects.rows.every((e) => e.passed)).toBe(true)
    expect(Object.keys(d1!.series)).toContain('memory.pages')
    // D1 keeps A's address space (its 64 MiB of pages) while B lives; D4 keeps driver objects and BOs, no pages.
    const r4 = StoredRecord.parse(d4!.result)
    const pagesHeld = (r: StoredRecord) => r.leaks.rows.filter((l) => l.objectType === 'pages').reduce((a, l) => a + l.peakBytes, 0)
    expect(pagesHeld(r1)).toBeGreaterThanOrEqual(64 << 20)
    expect(pagesHeld(r4)).toBe(0)
    // the manifest's metrics are the record's, same names and units
    expect(d1!.manifest.metrics).toEqual(r1.metrics)
    expect(d1!.manifest.metrics.leak_byte_seconds!.value).toBeGreaterThan(d4!.manifest.metrics.leak_byte_seconds!.value)
    // no calibration in the test environment (HMMLAB_COSTS=default): the run says it used the defaults,
    // in its record's meta and in the manifest copied from it
    expect(r1.meta.costs).toEqual({ source: 'default' })
    expect(d1!.manifest.costs).toEqual({ source: 'default' })
  })

  it('runs with a given cost table and records where it came from', async () => {
    const used = { source: 'file' as const, host: 'gpuhost', date: '2026-01-02T03:04:05.000Z', file: '/x/calibration.json' }
    const base = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D1'] })).done
    const slow = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D1'], costs: { table: { cpu_fault: 50_000 }, used } })).done
    const [rb, rs] = await Promise.all([services.store.getRun(base.runs[0]!.id), services.store.getRun(slow.runs[0]!.id)])
    expect(rs.manifest.costs).toEqual(used)
    expect(StoredRecord.parse(rs.result).meta.costs).toEqual(used)
    expect(StoredRecord.parse(rs.result).outcome.simulatedNs).toBeGreaterThan(StoredRecord.parse(rb.result).outcome.simulatedNs)
  })

  it('applies swept parameters to the scenario and refuses a path the scenario lacks', async () => {
    const started = await services.experiments.start({
      scenarioText: text,
      fileName,
      designs: ['D3'],
      sweep: { axes: { 'machine.devices.0.ats': [true, false] } },
    })
    const summary = await started.done
    expect(summary.runs.map((r) => r.parameters['machine.devices.0.ats'])).toEqual([true, false])
    expect(summary.runs.every((r) => r.status === 'passed')).toBe(true)
    await expect(services.experiments.start({ scenarioText: text, fileName, sweep: { axes: { 'machine.iomu.mode': ['x'] } } })).rejects.toThrow('machine.iomu')
    await expect(services.experiments.start({ scenarioText: text, fileName, sweep: { axes: { design: ['D9'] } } })).rejects.toThrow('unknown design "D9"')
  })

  it('gives identical results for the same scenario, design and seed', async () => {
    const a = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D4'], seed: 7 })).done
    const b = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D4'], seed: 7 })).done
    const [ra, rb] = await Promise.all([services.store.getRun(a.runs[0]!.id), services.store.getRun(b.runs[0]!.id)])
    expect(JSON.stringify(ra.result)).toBe(JSON.stringify(rb.result))
    expect(JSON.stringify(ra.series)).toBe(JSON.stringify(rb.series))
  })
})

describe('one planner for the CLI and the service', () => {
  const sweepText = readFileSync(join(__dirname, '../../../scenarios/thread-2014/b-release-free-and-deferred-job.yaml'), 'utf8')

  it('runs the seeds a scenario asks for and checks its sweep_expect; a failing one fails the experiment', async () => {
    // the shipped fractions hold: the experiment passes
    const good = await (await services.experiments.start({ scenarioText: sweepText, fileName: 'b.yaml', designs: ['B2'] })).done
    const seeds = /^seeds: (\d+)/m.exec(sweepText)![1]!
    expect(good.runs).toHaveLength(Number(seeds))
    expect(good.experiment.summary!.checks.length).toBeGreaterThan(0)
    expect(good.experiment.status).toBe('passed')
    // the same scenario asking for an impossible fraction fails, in the stored experiment too
    const bad = sweepText.replace(/sweep_expect:[\s\S]*$/, 'sweep_expect:\n  - { design: B2, finding: use_after_free, fraction: { gt: 1 } }\n')
    const failed = await (await services.experiments.start({ scenarioText: bad, fileName: 'b.yaml', designs: ['B2'] })).done
    expect(failed.experiment.status).toBe('failed')
    expect(failed.experiment.summary!.checks.map((c) => c.passed)).toEqual([false])
    expect((await services.store.getExperiment(failed.experimentId)).status).toBe('failed')
  }, 120_000)

  it("expects of a run with a swept machine parameter cite the lines of the user's file", async () => {
    const failing = text.replace('  - expect: { ret: 0 }\n', '  - expect: { ret: 1 }\n')
    const line = failing.split('\n').indexOf('  - expect: { ret: 1 }') + 1
    const summary = await (
      await services.experiments.start({ scenarioText: failing, fileName, designs: ['D3'], sweep: { axes: { 'machine.devices.0.ats': [false] } } })
    ).done
    const rec = StoredRecord.parse((await services.store.getRun(summary.runs[0]!.id)).result)
    const bad = rec.expects.rows.filter((e) => !e.passed)
    expect(bad.map((e) => e.line)).toEqual([line])
    expect(bad[0]!.checks[0]).toMatchObject({ what: 'ret', expected: '1', actual: '0', passed: false })
    for (const e of rec.expects.rows) expect(failing.split('\n')[e.line - 1]).toContain('expect')
  })
})

describe('a run the simulator stopped', () => {
  it('is stored as stopped with its reason (the step cap), not as cancelled, and reports say so', async () => {
    const capText = [
      'name: step cap (test)',
      'steps:',
      '  - spawn: { task: A }',
      '  - repeat:',
      '      times: 100000',
      '      steps:',
      ...Array.from({ length: 4 }, () => '        - sleep: 1'),
      '  - exit: { task: A }',
      '',
    ].join('\n')
    const summary = await (await services.experiments.start({ scenarioText: capText, fileName: 'cap.yaml', designs: ['D1'] })).done
    expect(summary.runs.map((r) => [r.status, r.stop?.reason])).toEqual([['stopped', 'step_cap']])
    expect(summary.experiment.status).toBe('incomplete')
    const stored = await services.store.getRun(summary.runs[0]!.id)
    expect(StoredRecord.parse(stored.result).outcome).toMatchObject({ status: 'stopped', stop: { reason: 'step_cap' } })
    const { exportReport } = await import('../../../src/main/services/reports')
    const html = (await exportReport(services.store, { kind: 'run', runId: summary.runs[0]!.id }, 'html', { probe: 'none' })).content
    expect(html).toContain('stopped (step cap)')
  }, 60_000)
})

describe('stopping real runs', () => {
  // A mirrored region under 100 steps of a million random accesses each: minutes of simulation, so only a stop ends it.
  const longFile = 'long-run.yaml'
  const longText = [
    'name: long run (test)',
    'machine:',
    '  iommus: [{ name: iommu0, vendor: intel }]',
    '  devices: [{ name: gpu0, kind: dmirror, iommu: iommu0, ats: true }]',
    'steps:',
    '  - spawn: { task: A }',
    '  - open: { task: A, device: gpu0, fd: dev }',
    '  - mmap: { task: A, region: buf, size: 8M, prot: rw }',
    '  - touch: { task: A, region: buf, write: true }',
    '  - mirror: { task: A, fd: dev }',
    ...Array.from({ length: 100 }, () => '  - random_access: { task: A, fd: dev, region: buf, count: 1000000, write_ratio: 0.3, cpu_ratio: 0.5 }'),
    '  - exit: { task: A }',
    '',
  ].join('\n')

  it('cancel stops a long simulator run and keeps it as cancelled', async () => {
    const started = await services.experiments.start({ scenarioText: longText, fileName: longFile, designs: ['D4'] })
    // cancel once the simulator is inside the steps (a loaded host may take seconds to start a run process)
    await firstStep(started.runIds[0]!)
    expect(services.experiments.cancelRun(started.runIds[0]!)).toBe(true)
    // 100 million accesses would take far longer than the test's limit: ending is the cancel working.
    const summary = await started.done
    expect(summary.runs.map((r) => r.status)).toEqual(['cancelled'])
    const stored = await services.store.getRun(started.runIds[0]!)
    expect(stored.manifest.status).toBe('cancelled')
    // the simulator's own record of the part that ran: a stop for the user
    const record = StoredRecord.parse(stored.result)
    expect(record.outcome).toMatchObject({ status: 'stopped', stop: { reason: 'user' } })
    // kept with its partial numbers: part of the steps, and the manifest's metrics are the record's
    expect(record.outcome.stepsTotal).toBe(106)
    expect(record.outcome.stepsDone).toBeGreaterThan(0)
    expect(record.outcome.stepsDone).toBeLessThan(record.outcome.stepsTotal)
    expect(stored.manifest.stop).toEqual(record.outcome.stop)
    expect(stored.manifest.metrics).toEqual(record.metrics)
    expect(stored.manifest.metrics.simulated_ns!.value).toBe(record.outcome.simulatedNs)
    expect(storedHasResults(stored.manifest)).toBe(true)
  })

  it('a run cancelled in the queue is stored as cancelled with no record; the running ones keep theirs', async () => {
    // three runs on two threads: the third waits in the queue until the cancel drops it
    const started = await services.experiments.start({ scenarioText: longText, fileName: longFile, designs: ['D4', 'D5', 'D6'] })
    await firstStep(started.runIds[0]!)
    expect(services.experiments.cancelExperiment(started.experimentId)).toBe(3)
    const summary = await started.done
    expect(summary.runs.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled'])
    expect(summary.experiment.status).toBe('incomplete')
    const [first, , queued] = await Promise.all(started.runIds.map((id) => services.store.getRun(id)))
    expect(StoredRecord.parse(first!.result).outcome.stop?.reason).toBe('user')
    expect(storedHasResults(first!.manifest)).toBe(true)
    // never started: nothing ran, so no record and no numbers; the manifest says it was cancelled by the user
    expect(queued!.result).toEqual({ error: 'cancelled' })
    expect(queued!.manifest).toMatchObject({ status: 'cancelled', stop: { reason: 'user' }, metrics: {} })
    expect(storedHasResults(queued!.manifest)).toBe(false)
  })

  it('a run over its time limit is stopped and saved as a timeout; a run beside it finishes', async () => {
    const long = await services.experiments.start({ scenarioText: longText, fileName: longFile, designs: ['D4'], timeoutMs: 1500 })
    const short = await services.experiments.start({ scenarioText: text, fileName, designs: ['D4'] })
    const [l, s] = await Promise.all([long.done, short.done])
    expect(l.runs.map((r) => [r.status, r.stop?.reason])).toEqual([['stopped', 'wall_time']])
    expect(l.runs[0]!.error).toContain('1500 ms')
    expect(s.runs.map((r) => r.status)).toEqual(['passed'])
  })
})

describe('routes over real runs', () => {
  it('exports a run as HTML and compares two runs through the route table', async () => {
    const { createHandlers } = await import('../../../src/main/api/handlers')
    const { createRouter } = await import('../../../src/main/api/router')
    const router = createRouter(createHandlers(services), { host: 'browser' })
    const summary = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D1', 'D3'] })).done
    const [a, b] = summary.runs.map((r) => r.id)
    const html = (await router.invoke('reports.export', { target: { kind: 'run', runId: a }, format: 'html' })) as {
      fileName: string
      mimeType: string
      content: string
    }
    expect(html.mimeType).toContain('text/html')
    expect(html.content).toMatch(/^<!doctype html>/i)
    expect(html.content).toContain('2014 (a)')
    const comparison = (await router.invoke('runs.compare', { runIds: [a, b] })) as { runs: { design: string }[]; metrics: { name: string }[] }
    expect(comparison.runs.map((r) => r.design)).toEqual(['D1', 'D3'])
    expect(comparison.metrics.map((m) => m.name)).toContain('leak_byte_seconds')
    await expect(router.invoke('reports.export', { target: { kind: 'run', runId: 'no-such-run' }, format: 'json' })).rejects.toMatchObject({
      code: 'bad_request',
    })
  })
})

describe('PDF export', () => {
  it('the browser host refuses PDF with a reason; a host that can print returns base64 PDF', async () => {
    const { createHandlers } = await import('../../../src/main/api/handlers')
    const { createRouter } = await import('../../../src/main/api/router')
    const summary = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D2'] })).done
    const target = { kind: 'run', runId: summary.runs[0]!.id }
    const browser = createRouter(createHandlers(services), { host: 'browser' })
    await expect(browser.invoke('reports.export', { target, format: 'pdf' })).rejects.toThrow('needs the desktop app')
    let printed = ''
    const desktop = createRouter(createHandlers(services), {
      host: 'electron',
      printToPdf: async (html) => {
        printed = html
        return new TextEncoder().encode('%PDF-1.7')
      },
    })
    const out = (await desktop.invoke('reports.export', { target, format: 'pdf' })) as { fileName: string; mimeType: string; content: string; encoding: string }
    expect(printed).toMatch(/^<!doctype html>/i)
    expect(out).toMatchObject({ mimeType: 'application/pdf', encoding: 'base64' })
    expect(out.fileName.endsWith('.pdf')).toBe(true)
    expect(Buffer.from(out.content, 'base64').toString()).toBe('%PDF-1.7')
  })
})
