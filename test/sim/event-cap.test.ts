/**
 * The event cap (issue 18 #8, docs/security.md "resource bounds"): a run that would execute more
 * events than its cap stops there, with a finding that names the cap and a `stop` of reason
 * `event_cap`, instead of running on. The default is 50 M events; the test lowers it.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim'
import { formatNs } from '../../src/shared/units'

const TEXT = `name: many events
designs: [D1]
steps:
  - spawn: { task: A }
  - mmap: { task: A, region: r, size: 4M, prot: rw }
  - repeat:
      times: 200
      steps:
        - touch: { task: A, region: r, write: true }
        - munmap: { task: A, region: r }
        - mmap: { task: A, region: r, size: 4M, prot: rw }
`

describe('the event cap', () => {
  it('stops a run at its cap with the reason, and the same run under a high cap finishes', () => {
    const sc = parseScenario(TEXT, 'many.yaml')
    const full = runScenario(sc, { design: 'D1', seed: 1 })
    expect(full.outcome.status).not.toBe('stopped')
    const capped = runScenario(sc, { design: 'D1', seed: 1, maxEvents: 50 })
    expect(capped.outcome.status).toBe('stopped')
    expect(capped.outcome.stop).toEqual({ reason: 'event_cap', message: 'run stopped after 50 events (event cap)' })
    expect(capped.findings.rows.some((f) => f.message === 'run stopped after 50 events (event cap)')).toBe(true)
  })

  it('a cancelled run says when in simulated time through the one formatter', () => {
    let polls = 0
    const r = runScenario(parseScenario(TEXT, 'many.yaml'), { design: 'D1', seed: 1, shouldStop: () => ++polls > 300 })
    expect(r.outcome.status).toBe('stopped')
    const t = r.outcome.simulatedNs
    expect(t).toBeGreaterThan(1000)
    expect(r.outcome.stop?.message).toMatch(new RegExp(`^cancelled at ${formatNs(t)} of simulated time, after \\d+ of 3 steps$`))
    expect(r.outcome.stop?.message).not.toContain(`${t} ns`)
  })
})
