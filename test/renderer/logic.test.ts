import { describe, expect, it } from 'vitest'
import { issuesToDiagnostics, languageOf, lineStarts } from '../../src/renderer/lib/diagnostics'
import { applyExperimentProgress, applyRunFinished, applyRunProgress, runEtaMs, runFraction, runLabel, startedExperiment } from '../../src/renderer/lib/progress'
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
    r = applyRunFinished(r, { experimentId: 'e1', runId: 'r1', status: 'failed', error: 'boom at step 3' }, 4000)
    expect(r).toMatchObject({ phase: 'failed', error: 'boom at step 3' })
    expect(applyRunProgress(r, { experimentId: 'e1', runId: 'r1', simTimeNs: 2e7, stepsDone: 3, stepsTotal: 4 }, 5000).phase).toBe('failed')
    expect(runFraction(r)).toBe(1)
    expect(runEtaMs(r)).toBeNull()
    const e = applyExperimentProgress(experiment, { experimentId: 'e1', total: 2, done: 1, failed: 1, running: 1, etaMs: 500, finished: false })
    expect(e).toMatchObject({ name: 'my exp', done: 1, failed: 1, etaMs: 500, runIds: ['r1', 'r2'] })
  })
  it('a finished event for a run never seen before still records its status', () => {
    expect(applyRunFinished(undefined, { experimentId: 'e', runId: 'x', status: 'ok' }, 1)).toMatchObject({ runId: 'x', phase: 'ok' })
  })
})

describe('sweep builder', () => {
  it('counts parameter sets × designs', () => {
    const s = buildSweep([{ param: 'seed', values: '1..4' }, { param: 'machine.gpus', values: '1,2' }, { param: '', values: '' }], 'product', 2)
    expect(s.sets).toBe(8)
    expect(s.runs).toBe(16)
    expect(s.spec).toEqual({ mode: 'product', axes: { seed: { from: 1, to: 4, step: 1 }, 'machine.gpus': [1, 2] } })
    expect(s.errors.size).toBe(0)
  })
  it('no rows: one set per design (at least one)', () => {
    expect(buildSweep([], 'product', 0)).toMatchObject({ spec: undefined, sets: 1, runs: 1 })
  })
  it('reports bad rows and uneven zips', () => {
    const s = buildSweep([{ param: 'seed', values: '' }, { param: '9bad', values: '1' }, { param: 'design', values: 'D1' }], 'product', 1)
    expect([...s.errors.keys()]).toEqual([0, 1, 2])
    const z = buildSweep([{ param: 'a', values: '1,2' }, { param: 'b', values: '1,2,3' }], 'zip', 1)
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
