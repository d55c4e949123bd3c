/**
 * Physical frames (struct page / folio, reduced to what the model needs): reference count, order
 * (0 = 4 KiB, 9 = 2 MiB), where the frame lives (system RAM or a device's private memory) and the
 * ledger owner it is charged to. Stored in growable typed arrays; freed ids are reused LIFO.
 * Frame 0 is the shared zero page (never freed, never charged).
 */
import type { Ledger } from '../ledger/ledger'

export const ZERO_PFN = 0
export const PAGE_SIZE = 4096

export class Frames {
  refcount = new Int32Array(1024)
  owner = new Int32Array(1024)
  order = new Uint8Array(1024)
  /** 0 = system RAM, d+1 = device-private memory of device index d. */
  dev = new Uint8Array(1024)
  private top = 1
  private freeList: number[] = []
  /** Frames currently allocated (excluding the zero page). */
  live = 0

  constructor(private readonly ledger: Ledger) {
    this.refcount[0] = 1
  }

  private grow(): void {
    const n = this.refcount.length * 2
    const g = <T extends Int32Array | Uint8Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(n)
      b.set(a)
      return b
    }
    this.refcount = g(this.refcount, Int32Array)
    this.owner = g(this.owner, Int32Array)
    this.order = g(this.order, Uint8Array)
    this.dev = g(this.dev, Uint8Array)
  }

  /** Bytes of a frame. */
  bytes(pfn: number): number {
    return PAGE_SIZE << (this.order[pfn] as number)
  }

  /** Allocates a frame with refcount 1 charged to `owner`. */
  alloc(order: number, owner: number, dev = 0): number {
    let id = this.freeList.pop()
    if (id === undefined) {
      if (this.top >= this.refcount.length) this.grow()
      id = this.top++
    }
    this.refcount[id] = 1
    this.owner[id] = owner
    this.order[id] = order
    this.dev[id] = dev
    this.live++
    this.ledger.charge(dev === 0 ? 'pages' : 'vram', owner, PAGE_SIZE << order)
    return id
  }

  /** get_page. */
  get(pfn: number): void {
    if (pfn !== ZERO_PFN) this.refcount[pfn] = (this.refcount[pfn] as number) + 1
  }

  /**
   * put_page: drops one reference; frees at zero. If the frame survives and is charged to
   * `dropper`, the charge moves to `heir` (another owner still mapping it), when given.
   */
  put(pfn: number, dropper = -1, heir = -1): void {
    if (pfn === ZERO_PFN) return
    const r = (this.refcount[pfn] as number) - 1
    this.refcount[pfn] = r
    const o = this.owner[pfn] as number
    if (r === 0) {
      this.ledger.charge(this.dev[pfn] === 0 ? 'pages' : 'vram', o, -(PAGE_SIZE << (this.order[pfn] as number)))
      this.live--
      this.freeList.push(pfn)
    } else if (o === dropper && heir >= 0 && heir !== dropper) {
      this.ledger.move(this.dev[pfn] === 0 ? 'pages' : 'vram', o, heir, PAGE_SIZE << (this.order[pfn] as number))
      this.owner[pfn] = heir
    }
  }

  /**
   * Splits a 2 MiB frame into 512 4 KiB frames (THP split); returns their pfns (the first keeps the
   * id). Reference counts are copied to every piece, as split_huge_page distributes them.
   */
  split(pfn: number): number[] {
    const out = [pfn]
    const rc = this.refcount[pfn] as number
    const o = this.owner[pfn] as number
    const d = this.dev[pfn] as number
    const type = d === 0 ? 'pages' : 'vram'
    this.order[pfn] = 0
    this.ledger.charge(type, o, -(PAGE_SIZE * 511))
    for (let i = 1; i < 512; i++) {
      const id = this.alloc(0, o, d)
      this.refcount[id] = rc
      out.push(id)
    }
    return out
  }

  /** Approximate heap bytes used by the frame table. */
  heapBytes(): number {
    return this.refcount.length * 10
  }
}
