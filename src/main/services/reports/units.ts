/** Units in words for reports: binary sizes, simulated durations, byte-seconds. */

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

/** `512 B`, `4.0 KiB`, `68.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes)
  const sign = bytes < 0 ? '-' : ''
  let v = Math.abs(bytes)
  let i = 0
  while (v >= 1024 && i < SIZE_UNITS.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${sign}${Math.round(v)} B` : `${sign}${v.toFixed(1)} ${SIZE_UNITS[i]}`
}

/** A simulated duration given in ns: `120 ns`, `850 µs`, `3.2 ms`, `10.0 s`. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns)
  const a = Math.abs(ns)
  if (a < 1e3) return `${Math.round(ns)} ns`
  if (a < 1e6) return `${(ns / 1e3).toFixed(a < 1e4 ? 2 : 1)} µs`
  if (a < 1e9) return `${(ns / 1e6).toFixed(a < 1e7 ? 2 : 1)} ms`
  return `${(ns / 1e9).toFixed(1)} s`
}

/** Byte-seconds: `680.0 MiB·s`. */
export function formatByteSeconds(bs: number): string {
  return `${formatBytes(bs)}·s`
}

/** A metric value by its name's unit suffix (`_bytes`, `_ns`, `_byte_seconds`, `_count`). */
export function formatMetric(name: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (/byte_?seconds$/.test(name)) return formatByteSeconds(value)
  if (name.endsWith('_bytes')) return formatBytes(value)
  if (name.endsWith('_ns')) return formatNs(value)
  return Number.isInteger(value) ? String(value) : value.toPrecision(4)
}

/** `a`, `a and b`, `a, b and c`. */
export function joinWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? ''
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}
