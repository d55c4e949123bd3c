/**
 * get_user_pages / pin_user_pages (mm/gup.c) as /sys/kernel/debug/gup_test drives them
 * (GUP_BASIC_TEST, GUP_FAST_BENCHMARK, PIN_FAST_BENCHMARK, PIN_LONGTERM_BENCHMARK).
 *
 * * The fast path (gup_fast) walks the page table without faulting and takes a reference on every
 *   present, permitted page up to the first one it cannot take (not present — swap, device-private
 *   and device-exclusive entries are not —, not writable for FOLL_WRITE, the zero page for a pin);
 *   the rest goes through the slow path, as get_user_pages_fast falls back.
 * * The slow path (__get_user_pages) faults what is missing with handle_mm_fault: a device-private
 *   page is migrated back to system memory by its pgmap's migrate_to_ram (GUP never returns a
 *   ZONE_DEVICE private page), a write to a COW page breaks the COW, a device-exclusive entry is
 *   restored.
 * * FOLL_LONGTERM (check_and_migrate_movable_folios): a page that may not be pinned long term is
 *   migrated out before the pin is taken: a DEVICE_COHERENT page goes back to system memory
 *   (migrate_device_coherent_folio). Device-private pages never get here (the fault brought them
 *   back); system RAM pages of the model are pinnable.
 * * Each page obtained holds one reference on its frame (get_page / FOLL_PIN's pin count), so a
 *   pinned page cannot be migrated (migrate_vma's refcount check) until it is released.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import type { MmStruct } from './objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT, PTE_WRITE, PTE_ZERO } from './pagetable'
import { checkAccess } from './vma'
import { faultIn } from './memory'
import { withMmapReadLock } from './mmap_lock'
import { EFAULT, EINVAL } from './errno'
import { migrateDeviceToRam } from './migrate-device'

export interface GupArgs {
  /** FOLL_WRITE. */
  write: boolean
  /** get_user_pages_fast / pin_user_pages_fast. */
  fast: boolean
  /** FOLL_PIN (pin_user_pages*). */
  pin: boolean
  /** FOLL_LONGTERM (only with FOLL_PIN). */
  longterm: boolean
}

export interface GupResult {
  ret: number
  /** Frames referenced, one per page obtained (a THP frame once per subpage). */
  pfns: number[]
}

/** Can the fast path take `page` without faulting? */
function fastOk(mm: MmStruct, page: number, a: GupArgs): boolean {
  const f = mm.pt.get(page)
  if (!(f & PTE_PRESENT) || f & (PTE_DEVPRIV | PTE_EXCL)) return false
  if (a.write && !(f & PTE_WRITE)) return false
  if (a.pin && f & PTE_ZERO) return false
  return true
}

/** GUP of [start, end) of `mm`: 0 and a reference per page, or a negative errno and none. */
export function* doGup(w: Kernel, mm: MmStruct, start: number, end: number, a: GupArgs, path: CallPath): Proc<GupResult> {
  const p = [...path, a.pin ? (a.fast ? 'pin_user_pages_fast' : 'pin_user_pages') : a.fast ? 'get_user_pages_fast' : 'get_user_pages']
  if (a.longterm && !a.pin) return { ret: EINVAL, pfns: [] }
  if (end <= start) return { ret: EINVAL, pfns: [] }
  let pg = start
  if (a.fast) {
    while (pg < end && fastOk(mm, pg, a)) pg++
    w.count('gup.fast_pages', pg - start)
  }
  if (pg < end) {
    // __get_user_pages: VMA permission checks, then faultin_page for what is not there yet
    const chk = checkAccess(mm, pg, end, a.write)
    if (chk < 0) return { ret: EFAULT, pfns: [] }
    const r = yield* withMmapReadLock(w, mm, faultIn(w, mm, pg, end, a.write, -1, [...p, '__get_user_pages', 'faultin_page']))
    if (r < 0) return { ret: r, pfns: [] }
    w.count('gup.slow_pages', end - pg)
  }
  if (a.longterm) {
    // check_and_migrate_movable_folios: DEVICE_COHERENT pages are not longterm-pinnable
    for (let q = start; q < end; q++) {
      const f = mm.pt.get(q)
      const d = f & PTE_PRESENT && !(f & PTE_DEVPRIV) ? (w.frames.dev[mm.pt.pfn(q)] as number) : 0
      if (d !== 0 && w.pgmaps[d - 1]?.type === 'coherent') {
        // migrate_device_coherent_folio: by pfn (no VMA), so CLEAR from try_to_migrate_one, not MIGRATE
        const n = yield* migrateDeviceToRam(w, d - 1, mm, q, q + 1, [...p, 'check_and_migrate_movable_folios', 'migrate_device_coherent_folio'], null, true)
        w.count('gup.longterm_migrated', n)
      }
    }
  }
  // every page is now present (and writable for FOLL_WRITE): take the references
  const pfns: number[] = []
  for (let q = start; q < end; q++) {
    const f = mm.pt.get(q)
    if (!(f & PTE_PRESENT) || f & (PTE_DEVPRIV | PTE_EXCL) || (a.write && !(f & PTE_WRITE))) {
      // raced with an invalidation between the fault and the walk: give back what was taken
      for (const x of pfns) w.frames.put(x)
      return { ret: EFAULT, pfns: [] }
    }
    const pfn = mm.pt.pfn(q)
    if (a.longterm && (w.frames.dev[pfn] as number) !== 0) {
      // a device page that could not be migrated out (e.g. shared with another mm): -EFAULT here
      // (the kernel retries and eventually fails the pin)
      for (const x of pfns) w.frames.put(x)
      return { ret: EFAULT, pfns: [] }
    }
    w.frames.get(pfn)
    pfns.push(pfn)
  }
  w.count(a.pin ? 'gup.pinned_pages' : 'gup.got_pages', pfns.length)
  return { ret: 0, pfns }
}

/** put_page / unpin_user_pages of references taken by doGup. */
export function gupRelease(w: Kernel, pfns: readonly number[]): void {
  for (const pfn of pfns) w.frames.put(pfn)
}
