/**
 * The oracle finds a wrong rule in the simulator: a rule is planted in the simulator's notifier
 * module (vi.mock, this test only), the scenario runs in the planted simulator, and the comparison
 * with the reference observations must name the step and the scenario line where they part.
 *
 * The planted rule: a CPU fault's COW CLEAR (handle_mm_fault → wp_page_copy) covers the whole VMA
 * instead of the pages that were copied. The reference is the unplanted simulator relabelled as a
 * kernel, which on this scenario raises per-fault CLEARs over the faulted pages only.
 */
import { describe, expect, it, vi } from 'vitest'
import { scenarioFromText, asKernel } from './helpers'

const plant = vi.hoisted(() => ({ on: false }))

vi.mock('../../src/sim/kernel/notifier', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/sim/kernel/notifier')>()
  return {
    ...orig,
    invalidateRangeStart: function* (
      w: Parameters<typeof orig.invalidateRangeStart>[0],
      r: Parameters<typeof orig.invalidateRangeStart>[1],
      path: Parameters<typeof orig.invalidateRangeStart>[2],
    ) {
      if (plant.on && r.event === 'CLEAR' && path.includes('handle_mm_fault')) {
        const v = r.mm.vmas.find((x) => x.start <= r.start && r.start < x.end)
        // the same object goes to invalidate_range_end: widen it in place so start and end agree
        if (v) Object.assign(r, { start: v.start, end: v.end })
      }
      return yield* orig.invalidateRangeStart(w, r, path)
    },
  }
})

const { runSimulatorSide } = await import('../../src/main/services/oracle/simulator-side')
const { compareSides } = await import('../../src/main/services/oracle/compare')
const { loadDeclarations } = await import('../../src/main/services/oracle/declarations')

const SCENARIO = `name: planted-cow
designs: [D5]
machine:
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror0, fd: fd }
  - mmap: { task: self, region: buf, size: 256K }
  - write_data: { task: self, region: buf, pattern: index }
  - fork: { task: self, child: child }
  - write_data: { task: self, region: buf, offset: 16K, size: 4K, pattern: { const: 7 } }
  - expect: { memory: { task: child, region: buf, pattern: index } }
  - exit: { task: child }
  - close: { task: self, fd: fd }
`

describe('a wrong rule planted in the simulator', () => {
  const sc = scenarioFromText(SCENARIO, 'scenarios/planted-cow.yaml')
  // no declarations: the plant must be found on its own; the shipped declarations are checked
  // separately below (a known difference as broad as "every CLEAR of a write" would hide it)
  const decl = { tolerances: [], known: [], files: { tolerances: '', known: '' } }

  it('without the plant, the simulator agrees with the reference', () => {
    plant.on = false
    const reference = asKernel(runSimulatorSide(sc, { design: 'D5' }))
    const c = compareSides(reference, runSimulatorSide(sc, { design: 'D5' }), decl)
    expect(c.verdict).toBe('agree')
    // the step the plant changes raises a one-page CLEAR in the reference
    const cow = reference.steps.find((s) => s.line === 12)!
    expect(cow.invalidations.filter((i) => i.event === 'CLEAR' && i.via === 'range_start').map((i) => i.slices)).toEqual([
      [{ region: 'buf', first: 4, pages: 1 }],
    ])
  })

  it('with the plant, the oracle names the step and line where it differs', () => {
    plant.on = false
    const reference = asKernel(runSimulatorSide(sc, { design: 'D5' }))
    plant.on = true
    try {
      const planted = runSimulatorSide(sc, { design: 'D5' })
      const c = compareSides(reference, planted, decl)
      expect(c.verdict).toBe('differ')
      const first = c.differences[0]!
      expect(first).toMatchObject({ step: 5, line: 12, op: 'write_data', task: 'self', field: 'invalidations', subject: 'self/buf', status: 'new' })
      expect(first.events).toContain('CLEAR')
      expect(first.kernel).toContain('item 1: CLEAR page 4 (range_start)')
      expect(first.simulator).toContain('item 1: CLEAR pages 0..63 (range_start)')
      // with the shipped declarations it is still reported at the same step and line, as new:
      // no declared tolerance or known difference may cover a per-page COW rule gone wrong
      const shipped = compareSides(reference, planted, loadDeclarations(process.cwd()))
      expect(shipped.verdict).toBe('differ')
      expect(shipped.differences[0]).toMatchObject({ step: 5, line: 12, field: 'invalidations', subject: 'self/buf', status: 'new' })
    } finally {
      plant.on = false
    }
  })
})
