import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  byteUnitFor,
  formatBytes,
  formatByteSeconds,
  formatCount,
  formatFraction,
  formatNs,
  formatQuantity,
  formatTick,
  formatUnit,
  significant,
  timeUnitFor,
} from '../../src/shared/units'

describe('the lab units: one formatter', () => {
  it('bytes: binary units, four significant digits, whole bytes exact', () => {
    expect(formatBytes(68 * 2 ** 20)).toBe('68 MiB')
    expect(formatBytes(4229256)).toBe('4.033 MiB')
    expect(formatBytes(1.25 * 2 ** 20)).toBe('1.25 MiB')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(2 ** 60)).toBe('1 EiB')
    expect(formatBytes(-4096)).toBe('-4 KiB')
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('—')
    expect(formatByteSeconds(680 * 2 ** 20)).toBe('680 MiB·s')
    expect(formatByteSeconds(0.004096)).toBe('0.004096 B·s')
    expect(formatByteSeconds(0)).toBe('0 B·s')
  })

  it('simulated time: ns, µs, ms or s; whole nanoseconds exact', () => {
    expect(formatNs(0)).toBe('0 ns')
    expect(formatNs(120)).toBe('120 ns')
    expect(formatNs(850_000)).toBe('850 µs')
    expect(formatNs(11_730_000)).toBe('11.73 ms')
    expect(formatNs(34_250_350)).toBe('34.25 ms')
    expect(formatNs(10e9)).toBe('10 s')
    expect(formatNs(12_345e9)).toBe('12345 s')
    expect(formatNs(0.5)).toBe('0.5 ns')
    expect(formatNs(Number.NaN)).toBe('—')
  })

  it('counts are exact when whole; fractions read as percentages', () => {
    expect(formatCount(12003)).toBe('12003')
    expect(formatCount(2.99999)).toBe('3')
    expect(formatCount(1.23456)).toBe('1.235')
    expect(formatFraction(3 / 64)).toBe('4.688%')
    expect(formatFraction(1)).toBe('100%')
    expect(formatUnit('count', null)).toBe('—')
    expect(formatUnit('bytes', undefined)).toBe('—')
  })

  it('negative values keep their sign; zero has none', () => {
    expect(formatNs(-1500)).toBe('-1.5 µs')
    expect(formatUnit('count', -0)).toBe('0')
  })

  it('axis ticks keep three digits; plain numbers for ratios', () => {
    expect(formatTick('ns', 1_258_925)).toBe('1.26 ms')
    expect(formatTick('bytes', 4096)).toBe('4 KiB')
    expect(timeUnitFor(3e6)).toEqual({ scale: 1e6, unit: 'ms' })
    expect(byteUnitFor(3 * 2 ** 30)).toEqual({ scale: 2 ** 30, unit: 'GiB' })
    expect(significant(1234.5, 3)).toBe('1235')
    expect(significant(0.000123456, 2)).toBe('0.00012')
  })

  it('is self-contained: its source, evaluated alone (as the HTML report embeds it), formats every value the same', () => {
    const embedded = new Function(`return (${formatQuantity.toString()})`)() as typeof formatQuantity
    const units = ['bytes', 'ns', 'byte_seconds', 'count', 'fraction', '']
    fc.assert(
      fc.property(
        fc.constantFrom(...units),
        fc.oneof(fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), fc.double({ noNaN: false }), fc.constant(null)),
        fc.integer({ min: 1, max: 6 }),
        (unit, value, digits) => {
          expect(embedded(unit, value, digits)).toBe(formatQuantity(unit, value, digits))
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
    )
  })
})
