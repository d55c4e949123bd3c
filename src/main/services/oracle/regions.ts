/**
 * Turning raw invalidation ranges into the oracle's normalised form: a range is cut into slices
 * relative to the scenario's regions of the task whose mm it concerns, the rest is counted as
 * `outside_pages`, and [0, ULONG_MAX) becomes `whole`.
 *
 * The region table follows the scenario, not the address layout (the guest places mappings
 * top-down near the stack, the simulator bottom-up from 4 GiB):
 * - `mmap` adds its region when it succeeds;
 * - `munmap` of a whole region removes it; a partial munmap keeps it;
 * - `mremap` moves the region (or, with `to_region`, adds that one and removes the old one unless
 *   `dontunmap`);
 * - `fork` gives the child a copy of the parent's table; `exit` empties the task's table.
 * An invalidation during a step is cut against the table as it was when the step began, plus the
 * regions the step itself created (mremap's target, mmap at a fixed address), so that a range is
 * never attributed to a region that was unmapped before.
 */
import type { OracleInvalidation, RegionSlice, MmuNotifyEvent } from '../../../shared/oracle'

export interface LiveRegion {
  name: string
  /** First page (absolute, in the side's own address space). */
  start: number
  pages: number
}

/** Task name → its live regions. */
export type RegionTable = Map<string, LiveRegion[]>

export function cloneTable(t: RegionTable): RegionTable {
  return new Map([...t].map(([k, v]) => [k, v.map((r) => ({ ...r }))]))
}

/** The regions of `before`, plus those of `after` that overlap none of them (created by the step). */
export function attributionRegions(before: readonly LiveRegion[], after: readonly LiveRegion[]): LiveRegion[] {
  const out = [...before]
  for (const r of after) {
    if (!before.some((b) => b.start < r.start + r.pages && r.start < b.start + b.pages)) out.push(r)
  }
  return out.sort((a, b) => a.start - b.start || a.name.localeCompare(b.name))
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
  const slices: RegionSlice[] = []
  let inside = 0
  for (const g of [...regions].sort((a, b) => a.start - b.start)) {
    const s = Math.max(r.start, g.start)
    const e = Math.min(r.end, g.start + g.pages)
    if (e <= s) continue
    slices.push({ region: g.name, first: s - g.start, pages: e - s })
    inside += e - s
  }
  return { via: r.via, event: r.event, task: r.task, whole: false, slices, outside_pages: Math.max(0, r.end - r.start - inside), owner: r.owner }
}
