/**
 * A translation cache (GPU TLB, IOTLB, ATS device TLB): direct-mapped (size rounded up to a power
 * of two), tagged by address-space id (mirror id or PASID) and page; counts hits, misses and
 * invalidations.
 */
export class Tlb {
  private readonly tag: Int32Array
  private readonly asid: Int32Array
  hits = 0
  misses = 0
  flushedEntries = 0
  pageFlushes = 0
  fullFlushes = 0

  private readonly mask: number

  constructor(readonly entries: number) {
    let n = 1
    while (n < Math.max(1, entries | 0)) n <<= 1
    this.mask = n - 1
    this.tag = new Int32Array(n).fill(-1)
    this.asid = new Int32Array(n).fill(-1)
  }

  private slot(asid: number, page: number): number {
    return (page ^ Math.imul(asid, 0x9e3779b1) ^ (page >>> 13)) & this.mask
  }

  /** Looks a translation up; a miss fills the slot. Returns true on a hit. */
  lookup(asid: number, page: number): boolean {
    const s = this.slot(asid, page)
    if (this.tag[s] === (page | 0) && this.asid[s] === asid) {
      this.hits++
      return true
    }
    this.misses++
    this.tag[s] = page | 0
    this.asid[s] = asid
    return false
  }

  /** Invalidates [start, end) of one address space. */
  flushRange(asid: number, start: number, end: number): void {
    this.pageFlushes++
    const n = end - start
    if (n <= this.tag.length) {
      for (let p = start; p < end; p++) {
        const s = this.slot(asid, p)
        if (this.tag[s] === (p | 0) && this.asid[s] === asid) {
          this.tag[s] = -1
          this.asid[s] = -1
          this.flushedEntries++
        }
      }
    } else this.flushAsid(asid)
  }

  /** Invalidates every entry of one address space. */
  flushAsid(asid: number): void {
    for (let s = 0; s < this.tag.length; s++) {
      if (this.asid[s] === asid) {
        this.tag[s] = -1
        this.asid[s] = -1
        this.flushedEntries++
      }
    }
  }

  /** Invalidates everything. */
  flushAll(): void {
    this.fullFlushes++
    this.tag.fill(-1)
    this.asid.fill(-1)
  }
}
