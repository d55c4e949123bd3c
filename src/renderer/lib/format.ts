/**
 * Formatters for the lab's units: bytes in B/KiB/MiB/GiB/TiB, simulated time in ns/µs/ms/s, and
 * wall-clock durations for ETAs. Pure functions, shared by tables, tooltips and chart axes.
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const

/** Trims a number to `digits` significant digits without trailing zeros (1.50 → "1.5"). */
function sig(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value)
  if (value === 0) return '0'
  const abs = Math.abs(value)
  const text = abs >= 10 ** digits ? value.toFixed(0) : Number(value.toPrecision(digits)).toString()
  return text
}

/** Bytes with a binary unit: 0 B, 512 B, 1.5 KiB, 68 MiB, 2 GiB. */
export function formatBytes(bytes: number, digits = 3): string {
  if (!Number.isFinite(bytes)) return '—'
  const sign = bytes < 0 ? '-' : ''
  let v = Math.abs(bytes)
  let i = 0
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024
    i++
  }
  return `${sign}${sig(v, digits)} ${BYTE_UNITS[i]}`
}

/** Byte-seconds (a leak's area: bytes held × seconds), e.g. "68 MiB·s". */
export function formatByteSeconds(byteSeconds: number): string {
  return `${formatBytes(byteSeconds)}·s`
}

const TIME_UNITS: [number, string][] = [
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'µs'],
  [1, 'ns'],
]

/** Simulated nanoseconds with the largest fitting unit: 800 ns, 1.2 µs, 35 ms, 10 s. */
export function formatNs(ns: number, digits = 3): string {
  if (!Number.isFinite(ns)) return '—'
  const abs = Math.abs(ns)
  for (const [scale, unit] of TIME_UNITS) {
    if (abs >= scale || scale === 1) return `${sig(ns / scale, digits)} ${unit}`
  }
  return `${ns} ns`
}

/** Picks one time unit for a whole axis from its largest value, so ticks share a unit. */
export function timeUnitFor(maxNs: number): { scale: number; unit: string } {
  const abs = Math.abs(maxNs)
  for (const [scale, unit] of TIME_UNITS) if (abs >= scale) return { scale, unit }
  return { scale: 1, unit: 'ns' }
}

/** Picks one byte unit for a whole axis from its largest value. */
export function byteUnitFor(maxBytes: number): { scale: number; unit: string } {
  let scale = 1
  let i = 0
  while (Math.abs(maxBytes) >= scale * 1024 && i < BYTE_UNITS.length - 1) {
    scale *= 1024
    i++
  }
  return { scale, unit: BYTE_UNITS[i]! }
}

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

/**
 * A metric value by the unit its name ends with (`_bytes`, `_ns`, `_byte_seconds`, `_count`),
 * as the RunResult contract names them.
 */
export function formatMetric(name: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (/_byte_?seconds$|_bytes_?s$/.test(name)) return formatByteSeconds(value)
  if (/_bytes$/.test(name)) return formatBytes(value)
  if (/_ns$/.test(name)) return formatNs(value)
  if (/_count$/.test(name)) return String(Math.round(value))
  return sig(value, 4)
}

/** A signed difference in the metric's unit, e.g. "+12 MiB", "−3 µs", "0". */
export function formatDelta(name: string, delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return '—'
  if (delta === 0) return '0'
  const text = formatMetric(name, Math.abs(delta))
  return `${delta > 0 ? '+' : '−'}${text}`
}

/** A ratio to the baseline as "×1.25"; null → "—". */
export function formatRatio(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—'
  return `×${sig(ratio, 3)}`
}

/** A hex address range such as 0x7f0000000000–0x7f0000200000. */
export function formatRange(start: number, end: number): string {
  return `0x${start.toString(16)}–0x${end.toString(16)}`
}
