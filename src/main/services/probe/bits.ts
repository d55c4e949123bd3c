/** Small helpers for register decoding: hex parsing, bit ranges, sizes. Pure. */
import * as units from '../../../shared/units'

/**
 * Parses a hex register value as sysfs prints it (`%llx`: no `0x`, no padding) and as people paste
 * it (`0x…`, upper case, surrounding whitespace). Returns an explanation instead of throwing.
 */
export function parseHex(text: string, widthBits: number): { ok: true; value: bigint } | { ok: false; why: string } {
  const t = text.trim()
  if (t.length === 0) return { ok: false, why: 'empty value' }
  const body = /^0x/i.test(t) ? t.slice(2) : t
  if (!/^[0-9a-fA-F]+$/.test(body)) return { ok: false, why: `not a hex number: ${JSON.stringify(t.slice(0, 40))}` }
  const v = BigInt('0x' + body)
  if (v >> BigInt(widthBits) !== 0n) return { ok: false, why: `value 0x${v.toString(16)} does not fit in ${widthBits} bits` }
  return { ok: true, value: v }
}

/** Bits hi..lo of v as a number (fields are narrow). */
export function field(v: bigint, hi: number, lo: number): number {
  const mask = (1n << BigInt(hi - lo + 1)) - 1n
  return Number((v >> BigInt(lo)) & mask)
}

export function bit(v: bigint, n: number): boolean {
  return ((v >> BigInt(n)) & 1n) === 1n
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16)
}

/** `2 MiB`, `1 GiB`, `512 GiB`, `4 KiB`, `23.4 GiB`: the lab's byte formatter, one argument (safe in `map`). */
export const formatBytes = (n: number): string => units.formatBytes(n)

export function yesNo(b: boolean, yes = 'supported', no = 'not supported'): string {
  return b ? yes : no
}

/** `[2,3,4,5,9]` → `2–5, 9`. */
export function idRanges(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b)
  const out: string[] = []
  let i = 0
  while (i < sorted.length) {
    let j = i
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++
    out.push(j - i >= 2 ? `${sorted[i]}–${sorted[j]}` : sorted.slice(i, j + 1).join(', '))
    i = j + 1
  }
  return out.join(', ')
}

/** `['a','a','b']` → `2× a, b`. */
export function countList(items: string[]): string {
  const m = new Map<string, number>()
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1)
  return [...m].map(([k, n]) => (n > 1 ? `${n}× ${k}` : k)).join(', ')
}
