/** A bounded ring of trace records (oldest dropped first), exportable in time order. */
export interface TraceRecord {
  /** Simulated time, ns. */
  t: number
  /** Category, e.g. `mm`, `notifier`, `file`, `device`, `iommu`, `srcu`, `ledger`, `step`. */
  cat: string
  /** Event name in kernel words, e.g. `__mmput`, `mmu_notifier_release`. */
  name: string
  /** Free text detail. */
  detail: string
}

export class TraceRing {
  private buf: TraceRecord[] = []
  private head = 0
  /** Records dropped because the ring was full. */
  dropped = 0

  constructor(readonly capacity: number) {}

  /** Appends one record. */
  push(r: TraceRecord): void {
    if (this.capacity <= 0) return
    if (this.buf.length < this.capacity) {
      this.buf.push(r)
      return
    }
    this.buf[this.head] = r
    this.head = (this.head + 1) % this.capacity
    this.dropped++
  }

  /** Records in time order. */
  toArray(): TraceRecord[] {
    return this.buf.slice(this.head).concat(this.buf.slice(0, this.head))
  }
}
