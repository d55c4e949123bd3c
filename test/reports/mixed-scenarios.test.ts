/**
 * Runs of different scenarios compared or reported together are never pooled as seeds of one
 * design: grouped by (scenario, design, parameters), each named by its scenario, and the
 * comparison and the report say first that the runs come from different scenarios (review 8 #20).
 */
import { describe, expect, it } from 'vitest'
import { compareRuns } from '../../src/main/services/compare'
import { documentFromRuns, renderHtml } from '../../src/main/services/reports'
import { experimentConclusion, type ConclusionRun } from '../../src/shared/conclusion'
import { StoredRecord } from '../../src/shared/record'
import { mixedScenariosWarning, scenarioLabels } from '../../src/shared/scenario-mix'
import type { StoredRun } from '../../src/main/services/store/run-store'
import { forkRun, stormRun } from '../fixtures/runs/make'

const fork = forkRun('D5')
const storm = stormRun()
const FORK = fork.manifest.scenario.name
const STORM = storm.manifest.scenario.name
const comparable = (r: StoredRun) => ({ manifest: r.manifest, series: r.series, findings: [] })

describe('runs of different scenarios', () => {
  it('the fixtures are one design and seed under two scenarios (the reviewer’s case)', () => {
    expect([fork.manifest.design, storm.manifest.design]).toEqual(['D5', 'D5'])
    expect(fork.manifest.seed).toBe(storm.manifest.seed)
    expect(FORK).not.toBe(STORM)
  })

  it('a comparison labels each run by its scenario and says the runs are not seeds of one experiment', () => {
    const c = compareRuns([storm, fork].map(comparable))
    expect(c.mixedScenarios).toBe(
      `These runs come from 2 different scenarios (“${STORM}” and “${FORK}”): their numbers are not seeds of one experiment, and a difference between them is not the design's alone. Each run is named by its scenario.`,
    )
    expect(c.runs.map((r) => r.label)).toEqual([`D5 of “${STORM}”, seed 1`, `D5 of “${FORK}”, seed 1`])
    expect(c.runs.map((r) => r.scenario?.label)).toEqual([STORM, FORK])
  })

  it('a comparison of one scenario’s runs says nothing of scenarios', () => {
    const c = compareRuns([forkRun('D1'), fork].map(comparable))
    expect(c.mixedScenarios).toBeUndefined()
    expect(c.runs.map((r) => r.label)).toEqual(['D1, seed 1', 'D5, seed 1'])
  })

  it('the report says so first, never pools them as seeds, and names each by its scenario', async () => {
    const doc = await documentFromRuns('compare', [storm, fork], { probe: 'none' })
    expect(doc.conclusion[0]).toMatch(/^These runs come from 2 different scenarios/)
    const text = doc.conclusion.join('\n')
    expect(text).not.toMatch(/\d+ seeds|seeds \d/)
    expect(text).toContain(`D5 of “${FORK}”`)
    expect(text).toContain(`D5 of “${STORM}”`)
    expect(doc.title).toBe(`Comparison of 2 scenarios — D5 of “${STORM}” vs D5 of “${FORK}”`)
    expect(doc.runs.map((r) => r.label)).toEqual([`D5 of “${STORM}”`, `D5 of “${FORK}”`])
    const html = renderHtml(doc)
    const warning = html.indexOf('id="mixed-scenarios"')
    expect(warning).toBeGreaterThan(0)
    // above the conclusion, and said once
    expect(warning).toBeLessThan(html.indexOf('id="conclusion"'))
    expect(html.split('These runs come from 2 different scenarios')).toHaveLength(2)
  })

  it('the conclusion groups by scenario, design and parameters, never by design alone', () => {
    const rec = StoredRecord.parse(fork.result)
    const run = (scenario: string | undefined, seed: number): ConclusionRun => ({
      design: 'D1',
      seed,
      parameters: {},
      result: rec,
      ...(scenario ? { scenario } : {}),
    })
    // two seeds of one scenario are summarised as seeds
    expect(experimentConclusion([run(undefined, 1), run(undefined, 2)]).conclusion.join(' ')).toMatch(/D1 \(all 2 seeds equal\)|D1, seeds 1–2/)
    const told = experimentConclusion([run('X', 1), run('Y', 1)])
    expect(told.names).toEqual(['D1 of “X”', 'D1 of “Y”'])
    expect(told.conclusion.join(' ')).not.toMatch(/seeds/)
    expect(told.conclusion.some((s) => s.startsWith('D1 of “X”'))).toBe(true)
    expect(told.conclusion.some((s) => s.startsWith('D1 of “Y”'))).toBe(true)
  })

  it('two texts under one scenario name are two scenarios, told apart by their hash', () => {
    const labels = scenarioLabels([
      { name: 's', hash: 'a'.repeat(64) },
      { name: 's', hash: 'b'.repeat(64) },
      { name: 't', hash: 'c'.repeat(64) },
      { name: 's', hash: 'a'.repeat(64) },
    ])
    expect(labels).toEqual(['s (text aaaaaaaa)', 's (text bbbbbbbb)', 't', 's (text aaaaaaaa)'])
    expect(mixedScenariosWarning(labels)).toMatch(/^These runs come from 3 different scenarios/)
    expect(mixedScenariosWarning(['t', 't'])).toBeUndefined()
  })
})
