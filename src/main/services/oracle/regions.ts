/**
 * Turning raw invalidation ranges into the oracle's normalised form: a range is cut into slices
 * relative to the scenario's regions of the task whose mm it concerns, the rest is counted as
 * `outside_pages`, and [0, ULONG_MAX) becomes `whole`. Both sides use these rules (the kernel
 * side in kernel/trace.ts with the guest executor's region records, the simulator side in
 * simulator-side.ts), so an address is attributed the same way on both.
 *
 * The region table follows the scenario, not the address layout (the guest places mappings
 * where the simulator does, but the two need not agree on everything around them):
 * - `mmap` adds its region when it succeeds;
 * - `munmap` of a whole region removes it; a partial munmap keeps it;
 * - `mremap` moves the region (or, with `to_region`, adds that one and removes the old one when
 *   all of it moved and not `dontunmap`);
 * - `fork` gives the child a copy of the parent's table; an exited task keeps its last table.
 * An invalidation during a step is cut against the table as it was when the step began, plus the
 * regions the step itself placed (mremap's target), so that a range is never attributed to a
 * region that was unmapped before.
 *
 * Regions may overlap: a partial munmap keeps the region whole in the table, and a later mapping
 * can be placed in the hole (migrate_remap_fault's mremap target lies in the part of `buf` it
 * unmapped). A page in several regions belongs to the one placed last (`seq`): a new mapping can
 * only be where nothing was mapped (MAP_FIXED_NOREPLACE) or where mremap(MREMAP_FIXED) just
 * unmapped the old contents, so the newest region is what the address means now.
 */
import type { OracleInvalidation, RegionSlice, MmuNotifyEvent } from '../../../shared/oracle'

export interface LiveRegion {
  name: string
  /** First page (absolute, in the side's own address space). */
  start: number
  pages: number
  /** Placement order within the task (larger: placed later); decides overlaps. */
  seq: number
}

/** Task name → its live regions. */
export type RegionTable = Map<string, LiveRegion[]>

export function cloneTable(t: RegionTable): RegionTable {
  return new Map([...t].map(([k, v]) => [k, v.map((r) => ({ ...r }))]))
}

/** The regions of `before`, plus those of `after` the step placed (not in `before` at the same place). */
export function attributionRegions(before: readonly LiveRegion[], after: readonly LiveRegion[]): LiveRegion[] {
  const out = [...before]
  for (const r of after) if (!before.some((b) => b.name === r.name && b.start === r.start && b.seq === r.seq)) out.push(r)
  return out.sort((a, b) => a.start - b.start || a.seq - b.seq)
}

/**
 * Cuts the pages [start, end) over `regions`: the newest region (largest `seq`) owns a page several
 * regions cover. Slices come out in address order; `inside` is the number of pages attributed.
 */
export function cutPages(start: number, end: number, regions: readonly LiveRegion[]): { slices: RegionSlice[]; inside: number } {
  const claimed: Array<[number, number]> = []
  const found: Array<{ at: number; slice: RegionSlice }> = []
  let inside = 0
  for (const g of [...regions].sort((a, b) => b.seq - a.seq || a.start - b.start)) {
    const s = Math.max(start, g.start)
    const e = Math.min(end, g.start + g.pages)
    if (e <= s) continue
    // [s, e) minus what newer regions claimed
    let pieces: Array<[number, number]> = [[s, e]]
    for (const [cs, ce] of claimed) {
      pieces = pieces.flatMap(([ps, pe]): Array<[number, number]> => {
        if (ce <= ps || pe <= cs) return [[ps, pe]]
        const left: Array<[number, number]> = ps < cs ? [[ps, cs]] : []
        return ce < pe ? [...left, [ce, pe]] : left
      })
    }
    claimed.push([s, e])
    for (const [ps, pe] of pieces) {
      found.push({ at: ps, slice: { region: g.name, first: ps - g.start, pages: pe - ps } })
      inside += pe - ps
    }
  }
  found.sort((a, b) => a.at - b.at)
  return { slices: found.map((f) => f.slice), inside }
}

/** Pages of [0, 2^32) pages: the simulator's whole address space; the kernel's [0, ULONG_MAX). */
export const WHOLE_PAGES = 0x100000000

export interface RawRange {
  via: 'range_start' | 'interval'
  event: MmuNotifyEvent
  task: string | null
  /** Page numbers in the side's own address space. */
  start: number
  end: number
  owner: string | null
}

/** Cuts one raw range into the normalised invalidation. */
export function normaliseRange(r: RawRange, regions: readonly LiveRegion[], wholeFrom = WHOLE_PAGES): OracleInvalidation {
  if (r.start <= 0 && r.end >= wholeFrom) {
    return { via: r.via, event: r.event, task: r.task, whole: true, slices: [], outside_pages: 0, owner: r.owner }
  }
  const { slices, inside } = cutPages(r.start, r.end, regions)
  return { via: r.via, event: r.event, task: r.task, whole: false, slices, outside_pages: Math.max(0, r.end - r.start - inside), owner: r.owner }
}
