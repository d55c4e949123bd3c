/**
 * From a `runs.series` block to what the memory charts draw: decode the float64 block (no JSON per
 * number), stack the series of each prefix (`memory.`, `leaked.`) on one grid, and pick the
 * level-of-detail indexes of the whole run for each band. Pure and DOM-free: the bridge worker runs
 * it off the main thread, and the page runs it only when no worker can be started.
 */
import { base64ToBytes, readSeriesBlock, type SeriesBlock } from '../../shared/contracts/series-block'
import { lodIndexes, stackSeries, type StackedSeries } from './shape'

export interface ShapedStack extends StackedSeries {
  /** Level-of-detail indexes of each band over the whole run (x from 0 to past the last sample). */
  initial: Int32Array[]
}

export interface ShapedSeries {
  /** Every series name of the run (including those not stacked). */
  names: string[]
  /** Stored series left out because they are malformed. */
  bad: string[]
  /** Samples in the block (all series). */
  samples: number
  /** Stacks by prefix; a prefix without series is absent. */
  stacks: Record<string, ShapedStack>
}

/** The block's bytes, decoded from base64 when it came over a JSON transport. */
export function blockBytes(block: Pick<SeriesBlock, 'data'>): Uint8Array {
  return typeof block.data === 'string' ? base64ToBytes(block.data) : block.data
}

/** Decodes a checked block, stacks each prefix and picks the first level of detail. */
export function shapeSeriesBlock(block: Pick<SeriesBlock, 'data' | 'series' | 'bad'>, prefixes: readonly string[], buckets: number): ShapedSeries {
  const decoded = readSeriesBlock(block.series, blockBytes(block))
  const stacks: Record<string, ShapedStack> = {}
  for (const prefix of prefixes) {
    const stack = stackSeries(decoded, prefix)
    if (stack.types.length === 0) continue
    const initial = stack.types.map((_, k) => lodIndexes(stack.grid, stack.tops[k]!, stack.values[k]!, 0, Number.POSITIVE_INFINITY, buckets))
    stacks[prefix] = { ...stack, initial }
  }
  let samples = 0
  for (const s of block.series) samples += s.length
  return { names: block.series.map((s) => s.name), bad: [...block.bad], samples, stacks }
}

/** The distinct buffers behind a shaped result, to transfer (not copy) it to the page. */
export function shapedBuffers(shaped: ShapedSeries): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>()
  const add = (a: { buffer: ArrayBufferLike }): void => {
    if (a.buffer instanceof ArrayBuffer) set.add(a.buffer)
  }
  for (const s of Object.values(shaped.stacks)) {
    add(s.grid)
    s.values.forEach(add)
    s.tops.forEach(add)
    s.initial.forEach(add)
  }
  return [...set]
}
