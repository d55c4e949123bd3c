/**
 * Inputs the renderer-libs fuzzing found (renderer-libs.fuzz.test.ts), each as a plain example:
 * what hung, crashed or came out wrong, and what it must give now. A call that hung runs under
 * `bounded`, so a regression fails instead of hanging the run.
 */
import { describe, expect, it } from 'vitest'
import { formatQuantity, formatUnit } from '../../../src/shared/units'
import { formatDelta } from '../../../src/renderer/lib/format'

describe('shared/units.ts and renderer/lib/format.ts', () => {
  it('a fraction that overflows as a percentage is a dash, not "-Infinity%"', () => {
    expect(formatQuantity('fraction', -1.797693134862316e306, 1)).toBe('\u2014')
    expect(formatUnit('fraction', 0.046875)).toBe('4.688%')
  })

  it('a difference that is not a number, or too large for its unit, is a dash without a sign', () => {
    expect(formatDelta('fraction', 1.7976931348623157e308)).toBe('—')
    expect(formatDelta('ns', NaN)).toBe('—')
    expect(formatDelta('ns', -Infinity)).toBe('—')
    expect(formatDelta('bytes', 2048)).toBe('+2 KiB')
  })
})
