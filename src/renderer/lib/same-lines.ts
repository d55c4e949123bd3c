/**
 * Lines with equal numbers (two designs, two runs, two groups with the same values) lie exactly on
 * top of each other, so the one under looks missing. Which lines are the same, and how a chart
 * marks them. Pure (unit-tested in test/renderer/same-lines.test.ts).
 */

/**
 * For each line, the index of the first earlier line with the very same points (same x and y, in
 * order), or undefined. Lines with equal numbers lie exactly on top of each other: the chart must
 * show that the hidden one is there (`markSame`).
 */
export function sameAs(lines: readonly { points: readonly { x: unknown; y: unknown }[] }[]): (number | undefined)[] {
  const out: (number | undefined)[] = []
  lines.forEach((l, k) => {
    let found: number | undefined
    for (let j = 0; j < k && found === undefined; j++) {
      if (out[j] !== undefined) continue
      const o = lines[j]!.points
      if (o.length === l.points.length && o.every((p, i) => p.x === l.points[i]!.x && p.y === l.points[i]!.y)) found = j
    }
    out.push(found)
  })
  return out
}

/** Dash patterns for the second, third … line drawn over an identical one, so the one under it shows through. */
const SAME_DASHES = [
  [6, 4],
  [2, 3],
  [10, 3, 2, 3],
  [1, 5],
]
const SAME_POINTS = ['rect', 'triangle', 'rectRot', 'star'] as const

/**
 * Marks datasets whose line is identical to an earlier one's: the legend label says which
 * ("design D4 (= design D1)"), the line is dashed (a pattern per repeat) and drawn over the solid
 * one, and point markers, where drawn, take another shape (the legend keeps dataset order). Returns how many datasets were marked.
 */
export function markSame(
  datasets: { label?: string; borderDash?: number[]; pointStyle?: string; borderWidth?: number; order?: number }[],
  same: readonly (number | undefined)[],
): number {
  const repeats = new Map<number, number>()
  let marked = 0
  same.forEach((j, k) => {
    const d = datasets[k]
    if (j === undefined || !d) return
    const n = repeats.get(j) ?? 0
    repeats.set(j, n + 1)
    d.label = `${d.label ?? ''} (= ${datasets[j]?.label ?? ''})`
    d.borderDash = SAME_DASHES[n % SAME_DASHES.length]!
    d.pointStyle = SAME_POINTS[n % SAME_POINTS.length]!
    d.borderWidth = Math.max(2, d.borderWidth ?? 2)
    // Chart.js draws the lowest order last: the dashed repeat goes over the solid line it repeats
    d.order = -1 - n
    marked++
  })
  return marked
}
