/** Lines with equal numbers lie on top of each other: which are the same, and how the chart marks them. */
import { describe, expect, it } from 'vitest'
import { markSame, sameAs } from '../../src/renderer/lib/same-lines'

const line = (...ys: number[]) => ({ points: ys.map((y, x) => ({ x, y })) })

describe('identical lines', () => {
  it('names, for each line, the first earlier line with the very same points', () => {
    expect(sameAs([line(1, 2), line(1, 2), line(1, 3), line(1, 2), line(1, 3)])).toEqual([undefined, 0, undefined, 0, 2])
    // a different length or one point off is not the same
    expect(sameAs([line(1, 2), line(1, 2, 3), line(1, 2.0001)])).toEqual([undefined, undefined, undefined])
    expect(sameAs([line(), line()])).toEqual([undefined, 0])
  })

  it('marks each repeat in the legend and with its own dash and point shape; the first stays solid', () => {
    const sets: { label: string; borderDash?: number[]; pointStyle?: string; borderWidth?: number; order?: number }[] = [
      { label: 'design D1' },
      { label: 'design D2' },
      { label: 'design D3', borderWidth: 1.5 },
      { label: 'design D4' },
    ]
    expect(markSame(sets, sameAs([line(5, 6), line(0, 1), line(5, 6), line(5, 6)]))).toBe(2)
    expect(sets.map((s) => s.label)).toEqual(['design D1', 'design D2', 'design D3 (= design D1)', 'design D4 (= design D1)'])
    expect(sets[0]!.borderDash).toBeUndefined()
    expect(sets[1]!.borderDash).toBeUndefined()
    expect(sets[2]!.borderDash!.length).toBeGreaterThan(0)
    expect(sets[3]!.borderDash).not.toEqual(sets[2]!.borderDash)
    expect(sets[3]!.pointStyle).not.toEqual(sets[2]!.pointStyle)
    expect(sets[2]!.borderWidth).toBe(2)
    // drawn over the solid line (Chart.js draws the lowest order last), later repeats over earlier ones
    expect(sets[2]!.order).toBeLessThan(0)
    expect(sets[3]!.order).toBeLessThan(sets[2]!.order!)
  })
})
