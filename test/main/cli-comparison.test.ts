/**
 * `hmmlab run`'s comparison (review 8 #16): the columns of the app's per-design table, "Held at
 * the end" (leaked_bytes_end) among them, and the longest leak written `≥ 3 s (to the end)` when
 * the memory was never freed, through the shared words of src/shared/conclusion.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { runCommand } from '../../src/main/cli/commands/run'
import { DESIGN_TABLE_METRICS, longestLeakWords } from '../../src/shared/conclusion'
import { compareRuns, parseScenario, runScenario } from '../../src/sim/index'

/** A mirrors its memory into gpu0, forks B (which inherits the fd) and exits; B keeps the fd to the end, or closes it with `close`. */
const scenario = (close: boolean): string => `name: open leak
designs: [D3, D5]
machine:
  devices:
    - { name: gpu0, kind: dmirror }
steps:
  - spawn: { task: A }
  - open: { task: A, device: gpu0, fd: dev }
  - mmap: { task: A, region: buf, size: 64K, prot: rw }
  - touch: { task: A, region: buf, write: true }
  - device_read: { task: A, fd: dev, region: buf, size: 64K }
  - fork: { task: A, child: B }
  - exit: { task: A }
  - sleep: 2s
${close ? '  - close: { task: B, fd: dev }\n' : ''}  - sleep: 1s
`

describe('the comparison of hmmlab run', () => {
  it('has the per-design table’s columns, and a leak held to the end reads "≥ … (to the end)"', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hmmlab-compare-')), 'open-leak.yaml')
    writeFileSync(file, scenario(false))
    let out = ''
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(runCommand([file], {})).toBe(0)
    } finally {
      o.mockRestore()
      e.mockRestore()
    }
    const table = out.slice(out.indexOf('  comparison (open leak):'))
    const [, head, d3, d5] = table.split('\n')
    expect(head!.split(/\s+/).filter(Boolean)).toEqual(['design', ...DESIGN_TABLE_METRICS.map((m) => m.name), 'longest', 'leak', 'expects'])
    expect(head).toContain('leaked_bytes_end')
    // D5 keeps A's mm_struct, notifier and struct dmirror while B holds the fd: still held at the end
    expect(d5).toMatch(/^ {2}D5 +5\.688 KiB +5\.688 KiB .* ≥ 3 s \(to the end\) +0\/0$/)
    expect(d3).toMatch(/^ {2}D3 +0 B +0 B .* — +0\/0$/)
  })

  it('knows a leak that ended from one held to the end', () => {
    const row = (close: boolean) => compareRuns([runScenario(parseScenario(scenario(close), 'l.yaml'), { design: 'D5' })])[0]!
    const open = row(false)
    expect(open.longestLeakOpen).toBe(true)
    expect(open.leakedAtEnd).toBeGreaterThan(0)
    expect(longestLeakWords(open.longestLeakNs, open.longestLeakOpen)).toMatch(/^≥ 3 s \(to the end\)$/)
    const closed = row(true)
    expect(closed.longestLeakOpen).toBe(false)
    expect(closed.leakedAtEnd).toBe(0)
    expect(longestLeakWords(closed.longestLeakNs, closed.longestLeakOpen)).toMatch(/^2 s$/)
    expect(longestLeakWords(0, false)).toBe('—')
  })
})
