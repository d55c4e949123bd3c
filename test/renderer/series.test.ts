import { describe, expect, it } from 'vitest'
import { base64ToBytes, packSeries, readSeriesBlock } from '../../src/shared/contracts/series-block'
import { shapeSeriesBlock, shapedBuffers } from '../../src/renderer/lib/series-shape'
import { lodIndexes, lodStep, stackSeries } from '../../src/renderer/lib/shape'

/** The reference min-max reduction (the one lodIndexes replaced), to check it keeps the same samples. */
function referenceLod(grid: Float64Array, tops: Float64Array, values: Float64Array, x0: number, x1: number, buckets: number): number[] {
  const lower = (x: number): number => {
    let i = 0
    while (i < grid.length && grid[i]! < x) i++
    return i
  }
  const n = grid.length
  const a = Math.max(0, lower(x0) - 1)
  const b = Math.min(n - 1, lower(x1))
  const out: number[] = []
  const push = (i: number): void => {
    const l = out[out.length - 1]
    if (l !== undefined && i !== b && tops[l] === tops[i] && values[l] === values[i]) return
    out.push(i)
  }
  if (b - a + 1 <= 4 * buckets) {
    for (let i = a; i <= b; i++) push(i)
    return out
  }
  const span = (grid[b]! - grid[a]!) / buckets || 1
  let i = a
  while (i <= b) {
    const end = grid[a]! + (Math.floor((grid[i]! - grid[a]!) / span) + 1) * span
    const first = i
    let lo = i
    let hi = i
    while (i <= b && (grid[i]! < end || i === first)) {
      if (tops[i]! < tops[lo]!) lo = i
      if (tops[i]! > tops[hi]!) hi = i
      i++
    }
    let prev = -1
    for (const p of [first, lo, hi, i - 1].sort((p, q) => p - q)) if (p !== prev) push((prev = p))
  }
  return out
}

describe('series block', () => {
  it('packs and reads series back exactly, malformed ones named and left out', () => {
    const raw = {
      'memory.pages': { t: [0, 1.5, 1e10], v: [-1, 0.1, Number.MAX_SAFE_INTEGER] },
      'memory.a': { t: [], v: [] },
      'memory.short': { t: [1, 2], v: [1] },
      'memory.text': { t: [1], v: ['1'] },
      other: 'x',
    }
    const packed = packSeries(raw)
    expect(packed.bad.sort()).toEqual(['memory.short', 'memory.text', 'other'])
    expect(packed.series).toEqual([
      { name: 'memory.a', length: 0 },
      { name: 'memory.pages', length: 3 },
    ])
    expect(packed.bytes.byteLength).toBe(3 * 16)
    const back = readSeriesBlock(packed.series, packed.bytes)
    expect(Array.from(back['memory.pages']!.t)).toEqual([0, 1.5, 1e10])
    expect(Array.from(back['memory.pages']!.v)).toEqual([-1, 0.1, Number.MAX_SAFE_INTEGER])
    expect(back['memory.a']!.t.length).toBe(0)
    expect(() => readSeriesBlock([{ name: 'x', length: 4 }], packed.bytes)).toThrow(/bytes/)
  })

  it('reads an unaligned view (copied) as well as a whole buffer', () => {
    const packed = packSeries({ s: { t: [1, 2], v: [3, 4] } })
    const shifted = new Uint8Array(packed.bytes.byteLength + 1)
    shifted.set(packed.bytes, 1)
    const back = readSeriesBlock(packed.series, shifted.subarray(1))
    expect(Array.from(back.s!.v)).toEqual([3, 4])
  })

  it('decodes base64 like Node does, padding or not', () => {
    for (const len of [0, 1, 2, 3, 4, 5, 31, 32, 33, 1000]) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 255)
      const text = Buffer.from(bytes).toString('base64')
      expect(Array.from(base64ToBytes(text)), `length ${len}`).toEqual(Array.from(bytes))
      expect(Array.from(base64ToBytes(text.replace(/=+$/, ''))), `length ${len}, no padding`).toEqual(Array.from(bytes))
    }
    expect(() => base64ToBytes('ab$d')).toThrow()
  })
})

describe('shaping a block (series worker)', () => {
  it('stacks each prefix and picks the level of detail of the whole run, as the page would', () => {
    const n = 50_000
    const t = Array.from({ length: n }, (_, i) => i * 1000)
    const v = Array.from({ length: n }, (_, i) => (i % 2 ? 4096 : 0) + (i === 31_337 ? 1e9 : 0))
    const raw = {
      'memory.pages': { t, v },
      'memory.mm_struct': { t: [0, 5e6], v: [1024, 2048] },
      'leaked.pages': { t: [0, 2e7], v: [0, 4096] },
      'cost.x': { t: [0], v: [1] },
    }
    const packed = packSeries(raw)
    const shaped = shapeSeriesBlock(
      { series: packed.series, data: Buffer.from(packed.bytes).toString('base64'), bad: [] },
      ['memory.', 'leaked.', 'none.'],
      200,
    )
    expect(shaped.names.sort()).toEqual(Object.keys(raw).sort())
    expect(shaped.samples).toBe(n + 5)
    expect(Object.keys(shaped.stacks).sort()).toEqual(['leaked.', 'memory.'])
    const mem = shaped.stacks['memory.']!
    const ref = stackSeries(raw, 'memory.')
    expect(mem.types).toEqual(ref.types)
    expect(Array.from(mem.grid)).toEqual(Array.from(ref.grid))
    expect(Array.from(mem.tops[1]!)).toEqual(Array.from(ref.tops[1]!))
    for (let k = 0; k < mem.types.length; k++) {
      expect(Array.from(mem.initial[k]!)).toEqual(Array.from(lodIndexes(ref.grid, ref.tops[k]!, ref.values[k]!, 0, Number.POSITIVE_INFINITY, 200)))
    }
    // The peak survives the reduction.
    const top = mem.types.length - 1
    expect(Array.from(mem.initial[top]!).some((i) => mem.tops[top]![i]! >= 1e9)).toBe(true)
    expect(mem.initial[top]!.length).toBeLessThanOrEqual(4 * 202)
    // The Electron shape of the block (bytes, not base64) gives the same result.
    const fromBytes = shapeSeriesBlock({ series: packed.series, data: packed.bytes.slice(), bad: [] }, ['memory.'], 200)
    expect(Array.from(fromBytes.stacks['memory.']!.tops[1]!)).toEqual(Array.from(mem.tops[1]!))
    // Every array it hands back rides on a transferable buffer.
    const buffers = shapedBuffers(shaped)
    expect(buffers.length).toBeGreaterThan(0)
    for (const b of buffers) expect(b).toBeInstanceOf(ArrayBuffer)
  })

  it('lodIndexes keeps exactly the samples of the reference min-max reduction', () => {
    let x = 7
    const rand = (): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff) % 1000) / 10
    for (const n of [0, 1, 5, 400, 5_000, 40_000]) {
      const grid = Float64Array.from({ length: n }, (_, i) => i * 3 + (i % 7 === 0 ? 0.5 : 0))
      const tops = Float64Array.from({ length: n }, () => Math.round(rand()) % 5)
      const values = Float64Array.from(tops, (y) => y / 2)
      for (const [x0, x1, buckets] of [
        [0, Number.POSITIVE_INFINITY, 100],
        [100, 2_000, 50],
        [n * 1.5, n * 2.5, 30],
      ] as const) {
        const got = Array.from(lodIndexes(grid, tops, values, x0, x1, buckets))
        expect(got, `n=${n} [${x0}, ${x1}] /${buckets}`).toEqual(n === 0 ? [] : referenceLod(grid, tops, values, x0, x1, buckets))
      }
    }
    expect(lodStep(new Float64Array([1, 2]), new Float64Array([3, 4]), new Float64Array([5, 6]), 0, 9)).toEqual([
      { x: 1, y: 3, v: 5 },
      { x: 2, y: 4, v: 6 },
    ])
  })

  it('lodIndexes on a non-linear axis buckets equal shares of the width, so a first millisecond keeps its detail', () => {
    // 10,000 samples in the first ms, 10,000 over the next 10 s
    const n = 20000
    const grid = new Float64Array(n)
    const tops = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      grid[i] = i < n / 2 ? i * 100 : 1e6 + (i - n / 2) * 1e6
      tops[i] = (i * 7919) % 1000
    }
    const values = tops
    const early = (idx: Int32Array): number => Array.from(idx).filter((i) => grid[i]! < 1e6).length
    const linear = lodIndexes(grid, tops, values, 0, grid[n - 1]!, 100)
    // half the width for the first ms (as an events-only axis with one knot there would draw it)
    const pos = (t: number): number => (t < 1e6 ? (t / 1e6) * 0.5 : 0.5 + ((t - 1e6) / (grid[n - 1]! - 1e6)) * 0.5)
    const spread = lodIndexes(grid, tops, values, 0, grid[n - 1]!, 100, pos)
    expect(early(linear)).toBeLessThanOrEqual(8)
    expect(early(spread)).toBeGreaterThan(150)
    expect(spread.length).toBeLessThanOrEqual(4 * 102)
  })
})
