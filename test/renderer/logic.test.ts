import { describe, expect, it } from 'vitest'
import { issuesToDiagnostics, languageOf, lineStarts } from '../../src/renderer/lib/diagnostics'
import {
  applyExperimentProgress,
  applyRunFinished,
  applyRunProgress,
  hasResults,
  storedHasResults,
  hasStarted,
  listedRuns,
  phaseWords,
  runEtaMs,
  runFraction,
  runLabel,
  runParts,
  startedExperiment,
} from '../../src/renderer/lib/progress'
import { buildSweep } from '../../src/renderer/lib/sweep-builder'

describe('validation issues to editor diagnostics', () => {
  const text = 'name: x\n  designs: [D9]\nsteps: []'
  it('marks the issue line from its first non-blank (or its column) to the end of the line', () => {
    expect(lineStarts(text)).toEqual([0, 8, 24])
    const [d] = issuesToDiagnostics(text, [{ line: 2, path: 'designs.0', message: 'unknown design D9' }])
    expect(d).toEqual({ from: 10, to: 23, line: 2, severity: 'error', message: 'designs.0: unknown design D9' })
    const [c] = issuesToDiagnostics(text, [{ line: 2, column: 13, path: 'designs.0', message: 'at designs.0: bad' }])
    expect(c!.from).toBe(20)
    expect(c!.message).toBe('at designs.0: bad')
  })
  it('clamps lines outside the text and defaults to line 1', () => {
    expect(issuesToDiagnostics(text, [{ line: 99, path: '', message: 'm' }])[0]!.line).toBe(3)
    expect(issuesToDiagnostics(text, [{ path: '', message: 'm' }])[0]).toMatchObject({ line: 1, from: 0, to: 7 })
  })
  it('picks the language from the file name', () => {
    expect(languageOf('a.json')).toBe('json')
    expect(languageOf('a.yaml')).toBe('yaml')
    expect(languageOf('a.YML')).toBe('yaml')
  })
})

describe('live progress', () => {
  it('folds run and experiment events; a finished run never goes back to running', () => {
    const { experiment, runs } = startedExperiment('e1', ['r1', 'r2'], 'my exp')
    expect(experiment).toMatchObject({ total: 2, done: 0, finished: false })
    expect(runs[0]!.phase).toBe('queued')
    let r = applyRunProgress(runs[0], { experimentId: 'e1', runId: 'r1', simTimeNs: 5e6, stepsDone: 1, stepsTotal: 4 }, 1000)
    expect(r).toMatchObject({ phase: 'running', stepsDone: 1, startedAt: 1000 })
    r = applyRunProgress(r, { experimentId: 'e1', runId: 'r1', simTimeNs: 1e7, stepsDone: 2, stepsTotal: 4 }, 3000)
    expect(runFraction(r)).toBe(0.5)
    expect(runEtaMs(r)).toBe(2000)
    r = applyRunFinished(r, { experimentId: 'e1', runId: 'r1', status: 'crashed', error: 'boom at step 3' }, 4000)
    expect(r).toMatchObject({ phase: 'crashed', error: 'boom at step 3' })
    expect(applyRunProgress(r, { experimentId: 'e1', runId: 'r1', simTimeNs: 2e7, stepsDone: 3, stepsTotal: 4 }, 5000).phase).toBe('crashed')
    // a run that did not go to its end keeps the steps it did: no full bar
    expect(runFraction(r)).toBe(0.5)
    expect(hasResults(r.phase)).toBe(false)
    expect(runEtaMs(r)).toBeNull()
    const e = applyExperimentProgress(experiment, { experimentId: 'e1', total: 2, done: 1, failed: 1, cancelled: 0, running: 1, etaMs: 500, finished: false })
    expect(e).toMatchObject({ name: 'my exp', done: 1, failed: 1, etaMs: 500, runIds: ['r1', 'r2'] })
  })
  it('an experiment started elsewhere takes its name and runs from the stored list (issue: id as title, no rows)', () => {
    const p = { experimentId: 'e9', total: 3, done: 2, failed: 0, cancelled: 0, running: 1, etaMs: 100, finished: false }
    // the event came first: named by its id until the list is read
    const seen = applyExperimentProgress(undefined, p)
    expect(seen).toMatchObject({ name: 'e9', runIds: [] })
    const listed = applyExperimentProgress(seen, p, { name: 'fork after mirror', runIds: ['e9.001-d1-s1', 'e9.002-d5-s1', 'e9.003-d6-s1'] })
    expect(listed).toMatchObject({ name: 'fork after mirror', runIds: ['e9.001-d1-s1', 'e9.002-d5-s1', 'e9.003-d6-s1'], done: 2 })
    // a name this page gave at start is kept
    expect(applyExperimentProgress(startedExperiment('e9', ['a'], 'mine').experiment, p, { name: 'other', runIds: ['b'] })).toMatchObject({
      name: 'mine',
      runIds: ['a'],
    })
    const stored = new Map([
      ['e9.001-d1-s1', { id: 'e9.001-d1-s1', experimentId: 'e9', status: 'passed' as const, metrics: { simulated_ns: { value: 15e9, unit: 'ns' as const } } }],
      [
        'e9.002-d5-s1',
        {
          id: 'e9.002-d5-s1',
          experimentId: 'e9',
          status: 'stopped' as const,
          stop: { reason: 'step_cap' as const, message: 'cap' },
          metrics: { simulated_ns: { value: 2e6, unit: 'ns' as const } },
        },
      ],
    ])
    const running = applyRunProgress(undefined, { experimentId: 'e9', runId: 'e9.002-d5-s1', simTimeNs: 1e6, stepsDone: 3, stepsTotal: 9 }, 5)
    const rows = listedRuns(listed, new Map([[running.runId, running]]), stored)
    expect(rows.map((r) => [r.runId, r.phase, r.simTimeNs])).toEqual([
      ['e9.001-d1-s1', 'passed', 15e9],
      ['e9.002-d5-s1', 'stopped', 2e6],
      ['e9.003-d6-s1', 'queued', 0],
    ])
    expect(rows[1]).toMatchObject({ stepsDone: 3, stepsTotal: 9, stop: { reason: 'step_cap' } })
    expect(runFraction(rows[0]!)).toBe(1)
    expect(phaseWords(rows[1]!.phase, rows[1]!.stop)).toBe('stopped (step cap)')
    // rows the page already follows to their end are left alone
    const done = new Map(rows.map((r) => [r.runId, r]))
    expect(listedRuns(listed, done, stored)).toEqual([])
  })
  it("a run that finished before its first progress event shows its record's steps and time, not 0/0 steps at 0 ns", () => {
    const queued = startedExperiment('e', ['e.001-d1-s1'], 'x').runs[0]!
    const done = applyRunFinished(queued, { experimentId: 'e', runId: 'e.001-d1-s1', status: 'passed', simTimeNs: 2.5e9, stepsDone: 12, stepsTotal: 12 }, 1)
    expect(done).toMatchObject({ phase: 'passed', simTimeNs: 2.5e9, stepsDone: 12, stepsTotal: 12 })
    expect(hasStarted(done)).toBe(true)
    // the record's numbers win over an older progress event's
    const seen = applyRunProgress(queued, { experimentId: 'e', runId: 'e.001-d1-s1', simTimeNs: 1e6, stepsDone: 3, stepsTotal: 12 }, 0)
    const stopped = applyRunFinished(
      seen,
      {
        experimentId: 'e',
        runId: 'e.001-d1-s1',
        status: 'stopped',
        stop: { reason: 'step_cap', message: 'cap' },
        simTimeNs: 4e6,
        stepsDone: 7,
        stepsTotal: 12,
      },
      1,
    )
    expect([stopped.stepsDone, stopped.simTimeNs, runFraction(stopped)]).toEqual([7, 4e6, 7 / 12])
    // cancelled while queued: no record, never started
    const cancelled = applyRunFinished(
      queued,
      { experimentId: 'e', runId: 'e.001-d1-s1', status: 'cancelled', stop: { reason: 'user', message: 'cancelled' } },
      1,
    )
    expect(hasStarted(cancelled)).toBe(false)
    expect(runFraction(cancelled)).toBe(0)
  })
  it("a live run's design and seed come from the id the experiment service gives it", () => {
    expect(runParts({ experimentId: '20261206-2359-fork-ab12', runId: '20261206-2359-fork-ab12.007-d4-s12' })).toEqual({ index: 7, design: 'D4', seed: 12 })
    expect(runParts({ experimentId: 'e', runId: 'e.002-b1-s-3' })).toEqual({ index: 2, design: 'B1', seed: -3 })
    expect(runParts({ experimentId: 'e', runId: 'other-run' })).toBeUndefined()
  })
  it('a finished event for a run never seen before still records its status', () => {
    expect(applyRunFinished(undefined, { experimentId: 'e', runId: 'x', status: 'passed' }, 1)).toMatchObject({ runId: 'x', phase: 'passed' })
  })

  it('stopped and cancelled runs look different from finished ones: their words, their bars, their links', () => {
    const running = applyRunProgress(undefined, { experimentId: 'e', runId: 'x', simTimeNs: 1, stepsDone: 1, stepsTotal: 4 }, 0)
    const stopped = applyRunFinished(
      running,
      { experimentId: 'e', runId: 'x', status: 'stopped', stop: { reason: 'step_cap', message: 'run stopped after 300000 steps (step cap)' } },
      1,
    )
    expect(phaseWords(stopped.phase, stopped.stop)).toBe('stopped (step cap)')
    expect(runFraction(stopped)).toBe(0.25)
    expect(hasResults(stopped.phase)).toBe(true)
    const cancelled = applyRunFinished(running, { experimentId: 'e', runId: 'x', status: 'cancelled', stop: { reason: 'user', message: 'cancelled' } }, 1)
    expect(phaseWords(cancelled.phase, cancelled.stop)).toBe('cancelled')
    expect(runFraction(cancelled)).toBe(0.25)
    expect(hasResults(cancelled.phase)).toBe(false)
    // stored: a run cancelled while it ran keeps its record (its metrics in the manifest) and opens in Results;
    // one cancelled in the queue has no record and no link
    const m = { value: 1, unit: 'ns' as const }
    expect(storedHasResults({ status: 'cancelled', metrics: { simulated_ns: m } })).toBe(true)
    expect(storedHasResults({ status: 'cancelled', metrics: {} })).toBe(false)
    expect(storedHasResults({ status: 'crashed', metrics: {} })).toBe(false)
    expect(storedHasResults({ status: 'stopped', metrics: { simulated_ns: m } })).toBe(true)
    expect(storedHasResults({ status: 'passed', metrics: { simulated_ns: m } })).toBe(true)
    const passed = applyRunFinished(running, { experimentId: 'e', runId: 'x', status: 'passed' }, 1)
    expect([phaseWords(passed.phase), runFraction(passed)]).toEqual(['passed', 1])
    expect(phaseWords('expects_failed')).toBe('expects failed')
    expect(phaseWords('crashed')).toBe('crashed')
  })
})

describe('sweep builder', () => {
  it('counts parameter sets × designs', () => {
    const s = buildSweep(
      [
        { param: 'seed', values: '1..4' },
        { param: 'machine.gpus', values: '1,2' },
        { param: '', values: '' },
      ],
      'product',
      2,
    )
    expect(s.sets).toBe(8)
    expect(s.runs).toBe(16)
    expect(s.spec).toEqual({ mode: 'product', axes: { seed: { from: 1, to: 4, step: 1 }, 'machine.gpus': [1, 2] } })
    expect(s.errors.size).toBe(0)
  })
  it('no rows: one set per design (at least one)', () => {
    expect(buildSweep([], 'product', 0)).toMatchObject({ spec: undefined, sets: 1, runs: 1 })
  })
  it('reports bad rows and uneven zips', () => {
    const s = buildSweep(
      [
        { param: 'seed', values: '' },
        { param: '9bad', values: '1' },
        { param: 'design', values: 'D1' },
      ],
      'product',
      1,
    )
    expect([...s.errors.keys()]).toEqual([0, 1, 2])
    const z = buildSweep(
      [
        { param: 'a', values: '1,2' },
        { param: 'b', values: '1,2,3' },
      ],
      'zip',
      1,
    )
    expect(z.error).toMatch(/equal length/)
  })
})

describe('live run names', () => {
  it('drop the experiment id the card already shows, keeping index, design and seed', () => {
    expect(runLabel({ experimentId: '20261206-fork-ab12', runId: '20261206-fork-ab12.007-d4-s3' })).toBe('007-d4-s3')
    expect(runLabel({ experimentId: 'e1', runId: 'other-run' })).toBe('other-run')
    expect(runLabel({ experimentId: 'e1', runId: 'e1.' })).toBe('e1.')
  })
})

describe('counter name completion', () => {
  it('offers the registry’s names at name: inside counter:, in flow and block style, YAML and JSON', async () => {
    const { counterNameAt, counterOptions } = await import('../../src/renderer/lib/counter-completion')
    const flow = '  - expect: { counter: { name: invalidate.PRO'
    expect(counterNameAt(flow, flow.length)).toEqual({ from: flow.length - 'invalidate.PRO'.length, prefix: 'invalidate.PRO' })
    expect(counterOptions('invalidate.PRO').map((o) => o.label)).toEqual(['invalidate.PROTECTION_PAGE', 'invalidate.PROTECTION_VMA'])
    const block = '  - expect:\n      counter:\n        name: hmm'
    expect(counterNameAt(block, block.length)?.prefix).toBe('hmm')
    expect(counterOptions('hmm').map((o) => o.label)).toContain('hmm_range_fault')
    const json = '{"expect": {"counter": {"name": "kfd.'
    expect(counterNameAt(json, json.length)?.prefix).toBe('kfd.')
    // a name: elsewhere (a task's name) is not a counter
    const spawn = '  - spawn:\n      name: A'
    expect(counterNameAt(spawn, spawn.length)).toBeNull()
  })
})
