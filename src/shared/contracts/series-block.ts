/**
 * A run's time series as one block of binary numbers (`runs.series`), so a million-sample series
 * reaches the renderer without a JSON parse of every number: each series contributes its sample
 * times then its values, `length` little-endian float64 each, one series after the other in the
 * order of `series`. The small parts (names, lengths, sizes) are checked by zod like every other
 * answer; the bulk is checked by `readSeriesBlock` (sizes, finite numbers not required: a store
 * may hold any number) before anything reads it.
 *
 * The bytes travel as base64 in a JSON body over HTTP (the browser host's transport is JSON) and
 * as a Uint8Array over Electron IPC (structured clone: one copy, no parse). Pure: no Node, no DOM.
 */
import { z } from 'zod'

export const SERIES_BLOCK_ENCODING = 'f64le' as const
/** Bytes per sample: a float64 time and a float64 value. */
export const SERIES_SAMPLE_BYTES = 16

export const SeriesBlockEntry = z.object({ name: z.string().min(1), length: z.number().int().nonnegative() })

export const SeriesBlock = z
  .object({
    encoding: z.literal(SERIES_BLOCK_ENCODING),
    series: z.array(SeriesBlockEntry),
    byteLength: z.number().int().nonnegative(),
    /** Base64 over JSON transports; bytes over Electron IPC. */
    data: z.union([z.string(), z.instanceof(Uint8Array)]),
    /** Stored series that are not `{ t: number[], v: number[] }` of one length (left out). */
    bad: z.array(z.string()),
  })
  .refine(
    (b) => b.byteLength === b.series.reduce((n, s) => n + s.length * SERIES_SAMPLE_BYTES, 0),
    'byteLength must be 16 bytes per sample of the listed series',
  )
export type SeriesBlock = z.infer<typeof SeriesBlock>

/** One decoded series: views into the block's buffer (no copy). */
export interface DecodedSeries {
  t: Float64Array
  v: Float64Array
}

/** Whether a stored series is well formed: two arrays of numbers of one length. */
function isNumberSeries(value: unknown): value is { t: number[]; v: number[] } {
  const s = value as { t?: unknown; v?: unknown } | null
  if (!s || typeof s !== 'object' || !Array.isArray(s.t) || !Array.isArray(s.v) || s.t.length !== s.v.length) return false
  const t = s.t as unknown[]
  const v = s.v as unknown[]
  for (let i = 0; i < t.length; i++) if (typeof t[i] !== 'number' || typeof v[i] !== 'number') return false
  return true
}

/** Packs stored series (`{ name: { t, v } }`) into the block's bytes; malformed series are named in `bad`. */
export function packSeries(raw: Readonly<Record<string, unknown>>): {
  series: { name: string; length: number }[]
  bytes: Uint8Array<ArrayBuffer>
  bad: string[]
} {
  const good: { name: string; s: { t: number[]; v: number[] } }[] = []
  const bad: string[] = []
  for (const name of Object.keys(raw).sort()) {
    const s = raw[name]
    if (name.length > 0 && isNumberSeries(s)) good.push({ name, s })
    else bad.push(name)
  }
  let samples = 0
  for (const g of good) samples += g.s.t.length
  const f = new Float64Array(samples * 2)
  let k = 0
  for (const { s } of good) {
    f.set(s.t, k)
    k += s.t.length
    f.set(s.v, k)
    k += s.v.length
  }
  const bytes = new Uint8Array(f.buffer)
  if (!LITTLE_ENDIAN) swap8(bytes)
  return { series: good.map((g) => ({ name: g.name, length: g.s.t.length })), bytes, bad }
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f

function swap8(bytes: Uint8Array): void {
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    for (let a = i, b = i + 7; a < b; a++, b--) {
      const x = bytes[a]!
      bytes[a] = bytes[b]!
      bytes[b] = x
    }
  }
}

/**
 * Reads the bytes of a block into series (Float64Array views over one aligned buffer). Throws
 * when the bytes do not match the listed lengths. `bytes` may be reused (its buffer is taken over
 * when aligned and whole).
 */
export function readSeriesBlock(entries: readonly { name: string; length: number }[], bytes: Uint8Array): Record<string, DecodedSeries> {
  let samples = 0
  for (const e of entries) {
    // a length of 0.5 or -1 would slice a series whose times and values differ in number
    if (!Number.isSafeInteger(e.length) || e.length < 0) throw new Error(`series block lists ${JSON.stringify(e.name.slice(0, 80))} with length ${e.length}`)
    samples += e.length
  }
  if (bytes.byteLength !== samples * SERIES_SAMPLE_BYTES)
    throw new Error(`series block has ${bytes.byteLength} bytes, its list says ${samples * SERIES_SAMPLE_BYTES}`)
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
  const own = whole ? bytes : bytes.slice()
  if (!LITTLE_ENDIAN) swap8(own)
  const f = new Float64Array(own.buffer as ArrayBuffer, 0, samples * 2)
  const out: Record<string, DecodedSeries> = {}
  let k = 0
  for (const e of entries) {
    const t = f.subarray(k, k + e.length)
    k += e.length
    const v = f.subarray(k, k + e.length)
    k += e.length
    // defined, not assigned: `out['__proto__'] = …` would set the object's prototype and lose the series
    Object.defineProperty(out, e.name, { value: { t, v }, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** Decodes standard base64 (no line breaks) to bytes. */
export function base64ToBytes(text: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64
  if (native) return native(text)
  const table = new Int16Array(128).fill(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--
  const out = new Uint8Array(Math.floor((end * 3) / 4))
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i)
    const d = c < 128 ? table[c]! : -1
    if (d < 0) throw new Error(`not base64 at ${i}`)
    acc = ((acc << 6) | d) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out.subarray(0, o)
}
