/** The conclusion in words, from the numbers, for the fixtures and for the simulator's own wording. */
import { describe, expect, it } from 'vitest'
import { markerPhrase, ownerPhrase, runConclusion } from '../../src/main/services/reports/conclusion'
import { summarize } from '../../src/main/services/reports'
import { formatBytes, formatNs } from '../../src/main/services/reports/units'
import { RunResult } from '../../src/shared/run-result'
import { forkRun } from '../fixtures/runs/fork'

describe('conclusion', () => {
  it('names what each design kept, how long, after and until what', () => {
    const d1 = forkRun('D1')
    const s = summarize(RunResult.parse(d1.result), d1.series as never)
    expect(s.conclusion[0]).toBe(
      "D1 kept 68.0 MiB of A's address space (pages, CPU page tables, GPU page tables, IOMMU page tables, VMAs and the mm_struct) alive for 10.0 s after A exited, until B closed fd 3; held by fd 3 of pid 101 (B).",
    )
    const d6 = forkRun('D6')
    expect(summarize(RunResult.parse(d6.result), d6.series as never).conclusion[0]).toMatch(/alive for 13\.0 s after A exited, and still at the end of the run \(t = 15\.0 s\)/)
    const d3 = forkRun('D3')
    const c3 = summarize(RunResult.parse(d3.result), d3.series as never).conclusion
    expect(c3[0]).toBe('D3 kept no memory alive after its owner went away.')
    expect(c3[1]).toMatch(/^D3 has 1 error finding \(use_after_free\)/)
  })

  it('reads the simulator’s owners and markers', () => {
    expect(ownerPhrase('task A')).toBe("A's memory")
    expect(ownerPhrase('mm of pid 100 (A)')).toBe("A's address space")
    expect(ownerPhrase('kernel')).toBe('kernel')
    const r = RunResult.parse(forkRun('D4').result)
    r.markers = [
      { t: 5, kind: 'exit', label: 'A (pid 100)' },
      { t: 9, kind: 'close', label: 'B closes 3' },
      { t: 9, kind: 'mmput', label: 'mm#1 mm_users → 0' },
      { t: 11, kind: 'pasid_free', label: 'PASID 1 of mm#1' },
    ]
    expect(markerPhrase(r, 5)).toBe('A exited')
    expect(markerPhrase(r, 9)).toBe('B closed fd 3')
    expect(markerPhrase(r, 11)).toBe('PASID 1 of mm#1 was freed')
    expect(markerPhrase(r, 7)).toBeUndefined()
    r.leaks = [{ objectType: 'page', owner: 'task A', count: 1, bytes: 3 << 20, byteSeconds: 12, since: 5, until: 9 }]
    const [line] = runConclusion('D1', r, summarize(r, {}))
    expect(line).toBe(`D1 kept 3.0 MiB of A's memory (pages) alive for ${formatNs(4)} after A exited, until B closed fd 3.`)
    // the ledger orphans memory a little after the exit marker (exit_mm, __mmdrop): still "after A exited"
    r.markers.push({ t: 6, kind: '__mmdrop', label: 'mm of A' }, { t: 10, kind: 'driver_free', label: 'kfd_process for mm of A' }, { t: 10, kind: 'pasid_free', label: 'kfd_process for mm of A' })
    r.markers.sort((a, b) => a.t - b.t)
    r.leaks = [{ objectType: 'vram', owner: 'task A', count: 1, bytes: 16 << 20, byteSeconds: 64, since: 6, until: 10 }]
    expect(runConclusion('D4', r, summarize(r, {}))[0]).toBe(`D4 kept 16.0 MiB of A's memory (VRAM) alive for ${formatNs(4)} after A exited, until kfd_process for mm of A was freed.`)
  })

  it('formats units the way kernel people read them', () => {
    expect(formatBytes(68 * 1024 * 1024)).toBe('68.0 MiB')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatNs(10e9)).toBe('10.0 s')
    expect(formatNs(850)).toBe('850 ns')
    expect(formatNs(14_646)).toBe('14.6 µs')
  })
})
