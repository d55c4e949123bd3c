/**
 * Formatters for the lab's views: the units shared with reports and the CLI (src/shared/units.ts:
 * bytes, simulated time, metrics by name, axis units), plus what only the UI needs (ETAs,
 * percentages, differences, ratios, address ranges).
 */

export {
  byteUnitFor,
  formatBytes,
  formatByteSeconds,
  formatCount,
  formatFraction,
  formatNs,
  formatTick,
  formatUnit,
  significant,
  timeUnitFor,
  VALUE_DIGITS,
} from '../../shared/units'
import { formatUnit, significant } from '../../shared/units'

/** A wall-clock duration for ETAs: "12 s", "3 min 5 s", "1 h 2 min"; null → "—". */
export function formatEta(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

/** A fraction as a percentage, clamped to 0–100. */
export function percent(done: number, total: number): number {
  if (!(total > 0)) return 0
  return Math.max(0, Math.min(100, (done / total) * 100))
}

/** A signed difference in the metric's unit (as the record gives it), e.g. "+12 MiB", "−3 µs", "0". */
export function formatDelta(unit: string, delta: number | null | undefined): string {
  if (delta === null || delta === undefined || !Number.isFinite(delta)) return '—'
  if (delta === 0) return '0'
  const text = formatUnit(unit, Math.abs(delta))
  // a difference too large for its unit (a fraction past 1.8e306) has no value to sign
  if (text === '—') return text
  return `${delta > 0 ? '+' : '−'}${text}`
}

/** A ratio to the baseline as "×1.25"; null → "—". */
export function formatRatio(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—'
  return `×${significant(ratio, 3)}`
}
