/**
 * kernel/page.ts: hexAddress writes the same text as toString(16) over the whole range of
 * integers a double holds exactly (the record's bytes depend on it), including every boundary of
 * its 24-bit pieces.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hexAddress, PAGE_SIZE } from '../../src/sim/kernel/page'

const slow = (n: number): string => `0x${n.toString(16)}`

describe('hexAddress', () => {
  it('matches toString(16) at the edges of its pieces', () => {
    const edges = [0, 1, 15, 16, 0xfff, PAGE_SIZE, 0xffffff, 0x1000000, 0x1000001, 2 ** 30, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 47, 2 ** 48 - 1, 2 ** 48]
    const more = [0x7f0000000000, 0x7fffffffffff, 0x10000000000000 - PAGE_SIZE, Number.MAX_SAFE_INTEGER]
    for (const n of [...edges, ...edges.map((e) => e + 0x100000), ...more]) expect(hexAddress(n), String(n)).toBe(slow(n))
    // a piece whose digits start with zeros keeps them: 0x1000000 + 0xa is 0x100000a
    expect(hexAddress(0x100000a)).toBe('0x100000a')
  })

  it('matches toString(16) on any integer 0..2^53-1 and any page address', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => hexAddress(n) === slow(n)))
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (pg) => hexAddress(pg * PAGE_SIZE) === slow(pg * PAGE_SIZE)))
  })
})
