/** The conclusion in words, from the record's numbers: the simulator's runs of the 2014 fork scenario. */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import {
  conclusionExamples,
  experimentConclusion,
  INVALIDATION_WORDS,
  markerPhrase,
  ownerPhrase,
  runConclusion,
  someNames,
  type ConclusionRun,
} from '../../src/shared/conclusion'
import { formatByteSeconds, formatBytes, formatNs } from '../../src/shared/units'
import { statusOfOutcome, StoredRecord } from '../../src/shared/record'
import { summarizeSweep } from '../../src/shared/plan'
import { parseScenario, runScenario } from '../../src/sim/index'
import { forkRun } from '../fixtures/runs/make'

const record = (d: 'D1' | 'D3' | 'D4' | 'D6') => StoredRecord.parse(forkRun(d).result)

describe('conclusion', () => {
  it('names what each design kept, how long, after and until what', () => {
    const d1 = record('D1')
    const c1 = runConclusion('D1', d1)
    expect(c1[0]).toMatch(/^D1 kept up to 64\.\d+ MiB of A's memory \(.*pages.*\) alive for 10\.\d+ s after A exited/)
    const c3 = runConclusion('D3', record('D3'))
    expect(c3[0]).toBe('D3 kept no memory alive after its owner went away.')
    // the invalidation sentence reads the exact aggregates
    expect(c1.find((s) => s.includes('invalidation'))).toContain(
      `made ${d1.aggregates.invalidations.count} device invalidations (${INVALIDATION_WORDS}) costing ${formatNs(d1.aggregates.invalidations.totalNs)}`,
    )
  })

  it('says when a run did not go to its end', () => {
    const r = record('D4')
    r.outcome = { ...r.outcome, status: 'stopped', stop: { reason: 'step_cap', message: 'run stopped after 300000 steps (step cap)' } }
    expect(runConclusion('D4', r)[0]).toMatch(/^D4 did not run to its end: stopped \(step cap\) at t = .* after \d+ of \d+ steps/)
  })

  it('reads the simulator’s owners and markers', () => {
    expect(ownerPhrase('task A')).toBe("A's memory")
    expect(ownerPhrase('mm of pid 100 (A)')).toBe("A's address space")
    expect(ownerPhrase('kernel')).toBe('kernel')
    const r = record('D4')
    r.markers = {
      rows: [
        { t: 5, kind: 'exit', label: 'A (pid 100)' },
        { t: 9, kind: 'close', label: 'B closes 3' },
        { t: 9, kind: 'mmput', label: 'mm#1 mm_users → 0' },
        { t: 11, kind: 'pasid_free', label: 'PASID 1 of mm#1' },
      ],
      total: 4,
      dropped: 0,
    }
    expect(markerPhrase(r, 5)).toBe('A exited')
    expect(markerPhrase(r, 9)).toBe('B closed fd 3')
    expect(markerPhrase(r, 11)).toBe('PASID 1 of mm#1 was freed')
    expect(markerPhrase(r, 7)).toBeUndefined()
    r.leaks = {
      rows: [
        {
          objectType: 'pages',
          owner: 'task A',
          heldBy: ["B's fd 3", 'struct file', 'mm of A'],
          bytesAtEnd: 0,
          peakBytes: 3 << 20,
          byteSeconds: 12,
          since: 5,
          until: 9,
        },
      ],
      total: 1,
      dropped: 0,
    }
    r.findings = { rows: [], total: 0, dropped: 0 }
    const [line] = runConclusion('D1', r)
    expect(line).toBe(
      `D1 kept up to 3 MiB of A's memory (pages) alive for ${formatNs(4)} after A exited, until B closed fd 3; held by B's fd 3 → struct file → mm of A.`,
    )
  })

  it('formats units the way kernel people read them', () => {
    expect(formatBytes(68 * 1024 * 1024)).toBe('68 MiB')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatNs(10e9)).toBe('10 s')
    expect(formatNs(850)).toBe('850 ns')
    expect(formatNs(14_646)).toBe('14.65 µs')
  })
})

/** Real runs of the 2014 (b) scenario: B1, B2, D4 over seeds 1–8, as the report hands them over (every record). */
const B_FILE = 'scenarios/thread-2014/b-release-free-and-deferred-job.yaml'
const bScenario = parseScenario(readFileSync(B_FILE, 'utf8'), B_FILE)
const bRuns: ConclusionRun[] = (['B1', 'B2', 'D4'] as const).flatMap((design) =>
  [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
    const { series: _series, ...result } = runScenario(bScenario, { design, seed })
    const record = StoredRecord.parse(result)
    return { design, seed, parameters: {}, status: statusOfOutcome(record.outcome), result: record }
  }),
)
const bSummary = summarizeSweep(
  bRuns.map((r) => ({ ...r, status: r.status!, findingKinds: r.result!.findings.rows.map((f) => f.kind) })),
  bScenario.sweep_expect ?? [],
)

describe('the conclusion of a sweep: per design, across its seeds', () => {
  const told = experimentConclusion(bRuns, { summary: bSummary }).conclusion

  it('states each design once, its seeds summarised, never a sentence or a name per seed', () => {
    expect(told.length).toBeLessThan(14)
    for (const d of ['B1', 'B2', 'D4']) expect(told.some((s) => s.startsWith(d))).toBe(true)
    // no list of runs inline, no seed of D4 or B1 named: their seeds are all alike
    expect(told.join('\n')).not.toMatch(/seed 1, .*seed 2/)
    expect(told.filter((s) => /^(B1|D4), seed /.test(s))).toEqual([])
    expect(told.some((s) => s.startsWith('B1 (all 8 seeds equal) kept up to '))).toBe(true)
    expect(told.some((s) => s.startsWith('D4 (all 8 seeds equal) kept up to '))).toBe(true)
  })

  it("gives the seeds' fractions in the sweep summary's words and tells a median seed and a seed with the finding", () => {
    const b2 = bSummary.groups.find((g) => g.design === 'B2')!
    expect(b2.hits.use_after_free).toBe(2)
    expect(told).toContain('B2: use_after_free in 2/8 seeds (25%).')
    const examples = told.filter((s) => /^B2, seed \d+ /.test(s))
    expect(examples[0]).toMatch(/^B2, seed \d+ \(its median seed by memory held\) /)
    const withFinding = examples.find((s) => s.includes('(its first seed with findings)'))!
    const first = bRuns.find((r) => r.design === 'B2' && r.result!.findings.rows.some((f) => f.kind === 'use_after_free'))!
    expect(withFinding).toMatch(new RegExp(`^B2, seed ${first.seed} \\(its first seed with findings\\) has \\d+ error findings? \\(use_after_free\\)`))
  })

  it('the app, reading only the examples’ records, says the very sentences the report says from every record', () => {
    const examples = conclusionExamples(bRuns)
    expect(examples.length).toBeLessThanOrEqual(6)
    const app: ConclusionRun[] = bRuns.map((r, i) => ({
      design: r.design,
      seed: r.seed,
      parameters: r.parameters,
      status: r.status,
      metrics: r.result!.metrics,
      ...(examples.includes(i) ? { result: r.result } : {}),
    }))
    expect(experimentConclusion(app, { summary: bSummary }).conclusion).toEqual(told)
  })

  it('spreads numbers that differ between seeds: min, median, max', () => {
    const runs: ConclusionRun[] = [5, 1, 3, 2, 4].map((k, i) => ({
      design: 'B2',
      seed: i + 1,
      parameters: {},
      metrics: {
        leak_byte_seconds: { value: k * 1024, unit: 'byte_seconds' },
        leaked_bytes_peak: { value: k * 4096, unit: 'bytes' },
        invalidation_count: { value: k, unit: 'count' },
        invalidation_cost_ns: { value: k * 1000, unit: 'ns' },
      },
    }))
    const c = experimentConclusion(runs).conclusion
    expect(c[0]).toBe(
      `B2, seeds 1–5: memory held after owners went away min ${formatByteSeconds(1024)}, median ${formatByteSeconds(3072)}, max ${formatByteSeconds(5120)}, peak up to ${formatBytes(20480)}; held in 5 of 5 seeds.`,
    )
    expect(c[1]).toBe(
      `B2: device invalidations per seed min 1, median 3, max 5; their cost min ${formatNs(1000)}, median ${formatNs(3000)}, max ${formatNs(5000)}.`,
    )
    // the median seed (seed 3 holds 3 KiB·s), told from its metrics where its record was not read
    expect(c[2]).toBe(
      `B2, seed 3 (its median seed by memory held) held ${formatByteSeconds(3072)} of memory after owners went away (peak ${formatBytes(12288)}).`,
    )
    expect(conclusionExamples(runs)).toEqual([2])
  })
})

describe('the conclusion across designs', () => {
  it('never calls a design without invalidations the cheapest ("0 ns over 0")', () => {
    const d1 = record('D1')
    const d3 = record('D3')
    const d4 = record('D4')
    d3.metrics.invalidation_count = { value: 0, unit: 'count' }
    d3.metrics.invalidation_cost_ns = { value: 0, unit: 'ns' }
    d3.aggregates.invalidations = { ...d3.aggregates.invalidations, count: 0, totalNs: 0, by: [], byEvent: [], byDevice: [], byMechanism: [] }
    const runs = [d1, d3, d4].map((r, i) => ({ design: ['D1', 'D3', 'D4'][i]!, seed: 1, parameters: {}, result: r }))
    const c = experimentConclusion(runs).conclusion
    expect(c.join('\n')).not.toMatch(/over 0\)/)
    const cost = c.find((s) => s.startsWith('Cheapest device invalidations'))!
    const [cheap, dear] = d1.aggregates.invalidations.totalNs <= d4.aggregates.invalidations.totalNs ? ['D1', 'D4'] : ['D4', 'D1']
    expect(cost).toMatch(new RegExp(`^Cheapest device invalidations: ${cheap} \\(.* over \\d+\\); costliest: ${dear} \\(.* over \\d+\\); D3 made none\\.$`))
    // single runs of distinct designs: each told by its design, as before
    expect(c.some((s) => s.startsWith('D3 kept no memory alive'))).toBe(true)
  })

  it('says designs tie when they cost (or hold) exactly the same, instead of picking one by sort order (review 8 #14)', () => {
    // the oom-reaper experiment's shape: D1–D5 cost the same, D6 less; D2–D5 hold the same, D1 less
    const runs: ConclusionRun[] = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6'].map((design) => ({
      design,
      seed: 1,
      parameters: {},
      metrics: {
        leak_byte_seconds: { value: design === 'D1' ? 0 : 2048, unit: 'byte_seconds' },
        leaked_bytes_peak: { value: design === 'D1' ? 0 : 4096, unit: 'bytes' },
        invalidation_count: { value: 3, unit: 'count' },
        invalidation_cost_ns: { value: design === 'D6' ? 10_000 : 18_240, unit: 'ns' },
      },
    }))
    const c = experimentConclusion(runs).conclusion
    expect(c).toContain(
      `Least memory held after owners went away: D1 (${formatByteSeconds(0)}); most: D2, D3, D4, D5 and D6 (${formatByteSeconds(2048)} each).`,
    )
    expect(c).toContain(`Cheapest device invalidations: D6 (${formatNs(10_000)} over 3); costliest: D1, D2, D3, D4 and D5 (${formatNs(18_240)} each).`)
    expect(c.join('\n')).not.toMatch(/costliest: D5 \(/)
  })

  it('names at most six designs inline', () => {
    expect(someNames(['a', 'b', 'c'])).toBe('a, b and c')
    expect(someNames(['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'D8'])).toBe('D1, D2, D3, D4, D5 and 3 others')
  })
})
