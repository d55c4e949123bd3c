import { describe, expect, it } from 'vitest'
import { logTicks, niceStep } from '../../src/renderer/lib/ticks'
import { byteUnitFor, formatBytes, formatByteSeconds, formatDelta, formatEta, formatNs, formatRatio, percent, timeUnitFor } from '../../src/renderer/lib/format'

describe('formatters', () => {
  it('bytes use binary units with four significant digits', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(68 * 2 ** 20)).toBe('68 MiB')
    expect(formatBytes(4229256)).toBe('4.033 MiB')
    expect(formatBytes(2 * 2 ** 30)).toBe('2 GiB')
    expect(formatBytes(-4096)).toBe('-4 KiB')
    expect(formatBytes(Number.NaN)).toBe('—')
    expect(formatByteSeconds(2 ** 20)).toBe('1 MiB·s')
  })

  it('simulated time picks ns, µs, ms or s', () => {
    expect(formatNs(0)).toBe('0 ns')
    expect(formatNs(800)).toBe('800 ns')
    expect(formatNs(1200)).toBe('1.2 µs')
    expect(formatNs(35e6)).toBe('35 ms')
    expect(formatNs(10e9)).toBe('10 s')
    expect(formatNs(1234e9)).toBe('1234 s')
  })

  it('axis units come from the largest value', () => {
    expect(timeUnitFor(15e9)).toEqual({ scale: 1e9, unit: 's' })
    expect(timeUnitFor(999)).toEqual({ scale: 1, unit: 'ns' })
    expect(timeUnitFor(5e5)).toEqual({ scale: 1e3, unit: 'µs' })
    expect(byteUnitFor(64 * 2 ** 20)).toEqual({ scale: 2 ** 20, unit: 'MiB' })
    expect(byteUnitFor(100)).toEqual({ scale: 1, unit: 'B' })
  })

  it('ETA and percentages', () => {
    expect(formatEta(null)).toBe('—')
    expect(formatEta(12_400)).toBe('12 s')
    expect(formatEta(185_000)).toBe('3 min 5 s')
    expect(formatEta(3_720_000)).toBe('1 h 2 min')
    expect(percent(1, 4)).toBe(25)
    expect(percent(5, 4)).toBe(100)
    expect(percent(1, 0)).toBe(0)
  })

  it('differences and ratios', () => {
    expect(formatDelta('bytes', 2 ** 20)).toBe('+1 MiB')
    expect(formatDelta('ns', -3000)).toBe('−3 µs')
    expect(formatDelta('a_ns', 0)).toBe('0')
    expect(formatRatio(1.25)).toBe('×1.25')
    expect(formatRatio(null)).toBe('—')
  })
})

describe('axis ticks', () => {
  it('log ticks are powers of the base, thinned, with the ends when the range is narrow', () => {
    expect(logTicks(1000, 1e6, 10)).toEqual([1e3, 1e4, 1e5, 1e6])
    expect(logTicks(4096, 2 ** 21, 2)).toEqual([2 ** 12, 2 ** 14, 2 ** 16, 2 ** 18, 2 ** 20])
    expect(logTicks(300, 900, 10)).toEqual([300, 900])
  })
  it('nice steps are 1, 2 or 5 × 10^k', () => {
    expect(niceStep(66)).toBe(20)
    expect(niceStep(60)).toBe(10)
    expect(niceStep(7)).toBe(2)
    expect(niceStep(0)).toBe(1)
  })
})
