/**
 * Swap (mm/swapfile.c, mm/swap_state.c, mm/page_io.c, and do_swap_page of mm/memory.c): one swap
 * device of `machine.swap` bytes (none by default, as on the machines this lab models). A slot
 * keeps the content token of the 4 KiB page written to it and its swap_map count (one per swap
 * PTE that names it: swap_duplicate at fork, swap_free at zap or swap-in).
 *
 * Not modelled: the swap cache. The kernel keeps a swapped-in folio in the swap cache (slot still
 * allocated) until it is written or swap runs short (should_try_to_free_swap); the model releases
 * the slot at swap-in, so a page swapped in by two processes after fork becomes two frames (the
 * kernel maps the one swap-cache folio in both until a write breaks COW).
 */
import type { Kernel } from './context'
import { PROT_WRITE, type MmStruct, type Vma } from './objects'
import { PTE_PRESENT, PTE_WRITE } from './pagetable'

/** struct swap_info_struct, reduced: slots, their counts (swap_map) and contents. */
export class SwapInfo {
  /** swap_map: references per slot (0 = free); grown as slots are first used. */
  count = new Int32Array(1024)
  /** The page each used slot holds (one content token per 4 KiB page). */
  data = new Int32Array(1024)
  private readonly freeList: number[] = []
  private top = 0
  /** Slots in use (si->inuse_pages). */
  inuse = 0

  /** `pages`: the device's size in 4 KiB pages (swapon of a `pages` × 4 KiB area). */
  constructor(readonly pages: number) {}

  /** Free slots (nr_swap_pages). */
  free(): number {
    return this.pages - this.inuse
  }

  /** get_swap_pages of one slot: its index, or -1 when swap is full. */
  alloc(): number {
    let s = this.freeList.pop()
    if (s === undefined) {
      if (this.top >= this.pages) return -1
      if (this.top >= this.count.length) {
        const n = this.count.length * 2
        const c = new Int32Array(n)
        c.set(this.count)
        this.count = c
        const d = new Int32Array(n)
        d.set(this.data)
        this.data = d
      }
      s = this.top++
    }
    this.count[s] = 1
    this.data[s] = 0
    this.inuse++
    return s
  }

  /** swap_duplicate: another swap PTE names the slot. */
  dup(slot: number): void {
    this.count[slot] = (this.count[slot] as number) + 1
  }

  /** swap_free / free_swap_and_cache: drops one reference; the slot is free at zero. */
  put(slot: number): void {
    const c = (this.count[slot] as number) - 1
    this.count[slot] = c
    if (c === 0) {
      this.inuse--
      this.freeList.push(slot)
    }
  }
}

/** swap_duplicate for a swap PTE fork copies (copy_nonpresent_pte). */
export function swapDuplicate(w: Kernel, slot: number): void {
  w.swap?.dup(slot)
}

/**
 * add_to_swap + swap_writepage of one 4 KiB page holding `token`: the slot, or -1 when there is no
 * swap or it is full (shrink_folio_list then keeps the page: activate_locked).
 */
export function swapOut(w: Kernel, token: number): number {
  const si = w.swap
  if (!si) return -1
  const s = si.alloc()
  if (s < 0) return -1
  si.data[s] = token
  w.count('pswpout')
  return s
}

/** swap_read_folio: the token a slot holds (the page read back on a fault). */
export function swapRead(w: Kernel, slot: number): number {
  return w.swap?.data[slot] ?? 0
}

/**
 * do_swap_page (mm/memory.c) for the swap PTE at `pg`: a new folio read back from its slot
 * (swap_read_folio: a major fault, PGMAJFAULT), the slot's reference dropped (swap_free_nr; no
 * swap cache kept, see the header), mapped writable when the entry carried the exclusive marker
 * (pte_swp_exclusive, PTE_WRITE here) and the VMA is writable, or on a write fault (do_wp_page
 * reuses the only reference). Returns the cost.
 */
export function doSwapPage(w: Kernel, mm: MmStruct, v: Vma, pg: number, f: number, write: boolean): number {
  const slot = mm.pt.pfn(pg)
  const np = w.frames.alloc(0, mm.owner)
  w.frames.data[np] = swapRead(w, slot)
  w.swap?.put(slot)
  v.anon_vma ||= w.id()
  const writable = (v.prot & PROT_WRITE) !== 0 && (write || (f & PTE_WRITE) !== 0)
  mm.pt.set(pg, PTE_PRESENT | (writable ? PTE_WRITE : 0), np)
  mm.maj_flt++
  w.count('pswpin')
  w.count('pgmajfault')
  return w.costs.swap_in_page
}
