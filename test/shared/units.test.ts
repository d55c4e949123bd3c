import { describe, expect, it } from 'vitest'
import { byteUnitFor, formatBytes, formatByteSeconds, formatMetric, formatNs, significant, timeUnitFor } from '../../src/shared/units'

describe('the lab units', () => {
  it('bytes: significant digits for tables and axes, fixed decimals for prose', () => {
    expect(formatBytes(68 * 2 ** 20)).toBe('68 MiB')
    expect(formatBytes(68 * 2 ** 20, { decimals: 1 })).toBe('68.0 MiB')
    expect(formatBytes(1.25 * 2 ** 20, { decimals: 1 })).toBe('1.3 MiB')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(512, { decimals: 1 })).toBe('512 B')
    expect(formatBytes(2 ** 60)).toBe('1 EiB')
    expect(formatBytes(-4096, { digits: 2 })).toBe('-4 KiB')
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('—')
    expect(formatByteSeconds(680 * 2 ** 20, { decimals: 1 })).toBe('680.0 MiB·s')
  })

  it('simulated time: whole nanoseconds never get decimals', () => {
    expect(formatNs(120, { decimals: 1 })).toBe('120 ns')
    expect(formatNs(850_000, { decimals: 1 })).toBe('850.0 µs')
    expect(formatNs(10e9, { decimals: 1 })).toBe('10.0 s')
    expect(formatNs(2_040_000, { digits: 4 })).toBe('2.04 ms')
    expect(formatNs(0.5)).toBe('0.5 ns')
    expect(formatNs(Number.NaN)).toBe('—')
  })

  it('metrics by the unit their name ends with', () => {
    expect(formatMetric('leaked_bytes_peak', 3 * 2 ** 20)).toBe('3 MiB')
    expect(formatMetric('leak_byte_seconds', 2 ** 30, { decimals: 1 })).toBe('1.0 GiB·s')
    expect(formatMetric('invalidation_cost_ns', 1500)).toBe('1.5 µs')
    expect(formatMetric('faults_count', 2.9999)).toBe('3')
    expect(formatMetric('ratio', 1.23456)).toBe('1.235')
    expect(formatMetric('x', undefined)).toBe('—')
  })

  it('axis units and significant digits', () => {
    expect(timeUnitFor(3e6)).toEqual({ scale: 1e6, unit: 'ms' })
    expect(byteUnitFor(3 * 2 ** 30)).toEqual({ scale: 2 ** 30, unit: 'GiB' })
    expect(significant(1234.5, 3)).toBe('1235')
    expect(significant(0.000123456, 2)).toBe('0.00012')
  })
})
