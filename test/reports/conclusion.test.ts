/** The conclusion in words, from the record's numbers: the simulator's runs of the 2014 fork scenario. */
import { describe, expect, it } from 'vitest'
import { markerPhrase, ownerPhrase, runConclusion } from '../../src/shared/conclusion'
import { formatBytes, formatNs } from '../../src/shared/units'
import { StoredRecord } from '../../src/shared/record'
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
      `delivered ${d1.aggregates.invalidations.count} invalidations costing ${formatNs(d1.aggregates.invalidations.totalNs)}`,
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
