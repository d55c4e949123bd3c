/**
 * The lab's one formatter of quantities with units, for every place that shows one: the app's
 * tables, tooltips and panels, the HTML report (its text and its charts' tooltips, which embed
 * `formatQuantity` itself), the CLI summaries, the conclusion's sentences and the probe. The same
 * number reads the same everywhere: `11.73 ms` in the app, the report and the terminal.
 *
 * A value keeps VALUE_DIGITS (4) significant digits without trailing zeros (`11.73 ms`, `4.033 MiB`,
 * `68 MiB`): enough that two designs whose costs differ by 0.1 % do not read the same while Compare
 * shows a difference between them. Whole bytes, whole nanoseconds and whole counts are printed
 * exactly (`512 B`, `850 ns`, `12003`). Bytes use binary units (B, KiB, MiB, …), simulated time
 * ns/µs/ms/s, fractions read as percentages. Axis ticks alone keep fewer digits
 * (`formatTick`): a tick labels a place on an axis, not a measured value.
 *
 * Pure functions; no Node or DOM. The units are the record's (src/shared/record.ts `UNITS`).
 */

export const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const

/** Significant digits of every value the lab shows. */
export const VALUE_DIGITS = 4

/** Significant digits of an axis tick label. */
export const TICK_DIGITS = 3

const TIME_UNITS: readonly (readonly [number, string])[] = [
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'µs'],
  [1, 'ns'],
]

/**
 * A quantity in a unit (`bytes`, `ns`, `byte_seconds`, `fraction`, `count`; anything else reads
 * as a plain number) with `digits` significant digits; null, missing or not finite → "—".
 *
 * The whole implementation, self-contained on purpose: the HTML report's script embeds this
 * function's source (src/main/services/reports/client.ts), so it references nothing outside its
 * body, declares no inner functions and uses no syntax newer than ES2017.
 */
export function formatQuantity(unit: string, value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !isFinite(value)) return '\u2014'
  const sign = value < 0 ? '-' : ''
  let v = Math.abs(value)
  let suffix = ''
  // whole base units (B, ns, counts) are exact
  let exact = Math.round(v) === v
  if (unit === 'bytes' || unit === 'byte_seconds') {
    const names = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']
    let i = 0
    while (v >= 1024 && i < names.length - 1) {
      v /= 1024
      i++
    }
    if (i > 0) exact = false
    suffix = ' ' + names[i] + (unit === 'byte_seconds' ? '\u00b7s' : '')
  } else if (unit === 'ns') {
    let scale = 1
    let name = 'ns'
    if (v >= 1e9) {
      scale = 1e9
      name = 's'
    } else if (v >= 1e6) {
      scale = 1e6
      name = 'ms'
    } else if (v >= 1e3) {
      scale = 1e3
      name = '\u00b5s'
    }
    if (scale > 1) exact = false
    v /= scale
    suffix = ' ' + name
  } else if (unit === 'fraction') {
    v *= 100
    exact = false
    suffix = '%'
  }
  // a fraction past 1.8e306 overflows as a percentage: no number to show
  if (!isFinite(v)) return '\u2014'
  let text: string
  if (exact) text = String(v)
  else if (v === 0) text = '0'
  else if (v >= Math.pow(10, digits)) text = v.toFixed(0)
  else text = String(Number(v.toPrecision(digits)))
  return (text === '0' ? '' : sign) + text + suffix
}

/** A value in the unit the record gives with it (`bytes`, `ns`, `byte_seconds`, `count`, `fraction`); null or missing → "—". */
export function formatUnit(unit: string, value: number | null | undefined): string {
  return formatQuantity(unit, value, VALUE_DIGITS)
}

/** An axis tick label in a unit: TICK_DIGITS (3) significant digits (`1.25 MiB`, `35 µs`). */
export function formatTick(unit: string, value: number, digits: number = TICK_DIGITS): string {
  return formatQuantity(unit, value, digits)
}

/** Bytes with a binary unit: `512 B`, `1.5 KiB`, `4.033 MiB`; not finite → "—". */
export const formatBytes = (bytes: number): string => formatUnit('bytes', bytes)

/** Byte-seconds (a leak's area: bytes held × seconds): `68 MiB·s`. */
export const formatByteSeconds = (byteSeconds: number): string => formatUnit('byte_seconds', byteSeconds)

/** Simulated nanoseconds with the largest fitting unit: `800 ns`, `1.2 µs`, `11.73 ms`, `10 s`; not finite → "—". */
export const formatNs = (ns: number): string => formatUnit('ns', ns)

/** A count: exact when whole (`12003`), else 4 significant digits. */
export const formatCount = (n: number): string => formatUnit('count', n)

/** A fraction as a percentage: 0.046875 → `4.688%`. */
export const formatFraction = (f: number): string => formatUnit('fraction', f)

/** A plain number with `digits` significant digits and no trailing zeros (1.50 → "1.5"), for ratios. */
export function significant(value: number, digits = 3): string {
  return formatQuantity('', value, digits)
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
