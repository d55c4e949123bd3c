/**
 * The lab's units in words, one implementation for every place that prints them (the app's tables,
 * tooltips and axes, the reports, the CLI, the probe): bytes in binary units (B, KiB, MiB, GiB, …)
 * and simulated time in ns/µs/ms/s.
 *
 * Two precisions: `{ digits: n }` keeps n significant digits and drops trailing zeros ("68 MiB",
 * "1.5 KiB": tables and axes), `{ decimals: n }` keeps n decimals ("68.0 MiB", "10.0 s": prose,
 * where the figures of one sentence line up). Pure functions; no Node or DOM.
 */

export const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const

const TIME_UNITS: readonly (readonly [number, string])[] = [
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'µs'],
  [1, 'ns'],
]

export type Precision = { digits: number } | { decimals: number }

const DEFAULT: Precision = { digits: 3 }

/** Trims a number to `digits` significant digits without trailing zeros (1.50 → "1.5"). */
export function significant(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value)
  if (value === 0) return '0'
  return Math.abs(value) >= 10 ** digits ? value.toFixed(0) : Number(value.toPrecision(digits)).toString()
}

/** A scaled value in the chosen precision; whole units of the base (B, ns) never get decimals. */
function scaled(value: number, base: boolean, precision: Precision): string {
  if (base && Number.isInteger(value)) return String(value)
  if ('decimals' in precision) return base ? String(Math.round(value)) : value.toFixed(precision.decimals)
  return significant(value, precision.digits)
}

/** Bytes with a binary unit: `512 B`, `1.5 KiB`, `68 MiB` (or `68.0 MiB` with `{ decimals: 1 }`); not finite → "—". */
export function formatBytes(bytes: number, precision: Precision = DEFAULT): string {
  if (!Number.isFinite(bytes)) return '—'
  const sign = bytes < 0 ? '-' : ''
  let v = Math.abs(bytes)
  let i = 0
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024
    i++
  }
  return `${sign}${scaled(v, i === 0, precision)} ${BYTE_UNITS[i]}`
}

/** Byte-seconds (a leak's area: bytes held × seconds): `68 MiB·s`. */
export function formatByteSeconds(byteSeconds: number, precision: Precision = DEFAULT): string {
  return `${formatBytes(byteSeconds, precision)}·s`
}

/** Simulated nanoseconds with the largest fitting unit: `800 ns`, `1.2 µs`, `35 ms`, `10 s`; not finite → "—". */
export function formatNs(ns: number, precision: Precision = DEFAULT): string {
  if (!Number.isFinite(ns)) return '—'
  const abs = Math.abs(ns)
  for (const [scale, unit] of TIME_UNITS) {
    if (abs >= scale || scale === 1) return `${scaled(ns / scale, scale === 1, precision)} ${unit}`
  }
  return `${ns} ns`
}

/** One time unit for a whole axis, from its largest value, so ticks share a unit. */
export function timeUnitFor(maxNs: number): { scale: number; unit: string } {
  const abs = Math.abs(maxNs)
  for (const [scale, unit] of TIME_UNITS) if (abs >= scale) return { scale, unit }
  return { scale: 1, unit: 'ns' }
}

/** One byte unit for a whole axis, from its largest value. */
export function byteUnitFor(maxBytes: number): { scale: number; unit: string } {
  let scale = 1
  let i = 0
  while (Math.abs(maxBytes) >= scale * 1024 && i < BYTE_UNITS.length - 1) {
    scale *= 1024
    i++
  }
  return { scale, unit: BYTE_UNITS[i]! }
}

/**
 * A metric value by the unit its name ends with (`_bytes`, `_ns`, `_byte_seconds`, `_count`, also
 * followed by a qualifier as in the simulator's `leaked_bytes_peak`); null or missing → "—".
 */
export function formatMetric(name: string, value: number | null | undefined, precision: Precision = DEFAULT): string {
  if (value === null || value === undefined) return '—'
  if (/_?byte_?seconds$|_bytes_?s$/.test(name)) return formatByteSeconds(value, precision)
  if (/_bytes(_(peak|end|max|min|final|total))?$/.test(name)) return formatBytes(value, precision)
  if (/_ns(_(peak|end|max|min|final|total))?$/.test(name)) return formatNs(value, precision)
  if (/_count$/.test(name) || Number.isInteger(value)) return String(Math.round(value))
  return significant(value, 4)
}

/** A value in the unit the record gives with it (`bytes`, `ns`, `byte_seconds`, `count`, `fraction`); null or missing → "—". */
export function formatUnit(unit: string, value: number | null | undefined, precision: Precision = DEFAULT): string {
  if (value === null || value === undefined) return '—'
  if (unit === 'bytes') return formatBytes(value, precision)
  if (unit === 'ns') return formatNs(value, precision)
  if (unit === 'byte_seconds') return formatByteSeconds(value, precision)
  if (unit === 'fraction') return value.toFixed(3)
  return Number.isInteger(value) ? String(value) : significant(value, 4)
}
