/**
 * Real user addresses (x86-64: up to 2^47) do not fit the simulator's address space (2^32 pages =
 * 16 TiB, `doMmap`'s ENOMEM check). AddrMap moves each cluster of the real address space that a
 * log or a maps file uses — the 1 GiB-aligned windows around its mappings, merged where they touch
 * — below 16 TiB, one after the other with a 1 GiB gap. Offsets inside a cluster are kept, and so
 * are 2 MiB (THP) alignment, adjacency of mappings and the distance between them.
 */

export const GIB = 2 ** 30
export const PAGE = 4096
/** first simulated address used (the simulator's own mmap base is at 4 GiB; we start at 1 TiB) */
const SIM_BASE = 2 ** 40
/** the simulator's limit: 2^32 pages */
export const SIM_LIMIT = 2 ** 32 * PAGE

export interface Cluster {
  realStart: number
  realEnd: number
  simStart: number
}

/** The address space a log or maps file needs does not fit below 16 TiB; `line` is where it overflows. */
export class AddrMapError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    super(message)
    this.name = 'AddrMapError'
  }
}

const TIB = 2 ** 40

export class AddrMap {
  readonly clusters: Cluster[]

  /**
   * `ranges`: [start, end) byte ranges of the real address space that will be referenced, each
   * with the line that maps it (optional), named when the ranges do not fit.
   */
  constructor(ranges: Array<[number, number] | [number, number, number]>) {
    const rs = ranges
      .filter(([s, e]) => Number.isFinite(s) && Number.isFinite(e) && e > s && s >= 0)
      .map(([s, e, line]): [number, number, number | null] => [Math.floor(s / GIB) * GIB, Math.ceil(e / GIB) * GIB, line ?? null])
      .sort((a, b) => a[0] - b[0])
    // each merged window keeps the line of its largest range: the one to blame when it does not fit
    const merged: Array<[number, number, number | null, number]> = []
    for (const r of rs) {
      const last = merged[merged.length - 1]
      const size = r[1] - r[0]
      if (last && r[0] <= last[1]) {
        last[1] = Math.max(last[1], r[1])
        if (r[2] !== null && (size > last[3] || last[2] === null)) {
          last[2] = r[2]
          last[3] = size
        }
      } else merged.push([r[0], r[1], r[2], size])
    }
    let sim = SIM_BASE
    let over: { line: number | null; start: number; end: number } | null = null
    this.clusters = merged.map(([s, e, line]) => {
      const c = { realStart: s, realEnd: e, simStart: sim }
      sim += e - s + GIB
      if (over === null && sim > SIM_LIMIT) over = { line, start: s, end: e }
      return c
    })
    if (over !== null) {
      const o = over as { line: number | null; start: number; end: number }
      const n = this.clusters.length
      const total = (sim - GIB - SIM_BASE) / GIB
      const span = n === 1 ? `one window of ${total} GiB` : `${n} windows, ${total} GiB in all with the 1 GiB gaps between them`
      throw new AddrMapError(
        `the mapped address ranges, each rounded out to whole GiB, make ${span}; imported mappings go between 1 TiB and ` +
          `the simulator's 16 TiB limit (2^32 pages), ${(SIM_LIMIT - SIM_BASE) / TIB} TiB of room: ` +
          `the window ${hex(o.start)}-${hex(o.end)}${o.line !== null ? ', mapped on this line,' : ''} is the first that does not fit`,
        o.line,
      )
    }
  }

  /** The simulated address of a real one (which must lie in a cluster given at construction). */
  toSim(real: number): number {
    let lo = 0
    let hi = this.clusters.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const c = this.clusters[mid] as Cluster
      if (real < c.realStart) hi = mid - 1
      else if (real >= c.realEnd) lo = mid + 1
      else return c.simStart + (real - c.realStart)
    }
    throw new Error(`address 0x${real.toString(16)} lies outside every mapped window`)
  }

  /** Whether toSim(real) is defined. */
  has(real: number): boolean {
    return this.clusters.some((c) => real >= c.realStart && real < c.realEnd)
  }
}

/** Rounds a byte length up to whole pages (PAGE_ALIGN). */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE) * PAGE
}

/** A size for YAML: "2M", "64K" or bytes. */
export function sizeText(n: number): string | number {
  if (n > 0 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`
  if (n > 0 && n % 1024 === 0) return `${n / 1024}K`
  return n
}

/** A scenario name from free text: letters, digits, "_", ".", "-", starting with a letter. */
export function safeName(s: string, fallback: string): string {
  let t = s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z]+/, '')
  if (t.length > 40) t = t.slice(0, 40)
  return t.length > 0 ? t : fallback
}

export function hex(n: number): string {
  return '0x' + n.toString(16)
}

/** "1, 3-5, 9" from sorted line numbers. */
export function lineRanges(lines: number[]): string {
  const xs = [...new Set(lines)].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < xs.length;) {
    let j = i
    while (j + 1 < xs.length && (xs[j + 1] as number) === (xs[j] as number) + 1) j++
    out.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`)
    i = j + 1
  }
  return out.join(', ')
}
