/**
 * The ledger: every allocation the model makes, with type, size, owner, allocation and free time
 * and call paths. Individual kernel objects (mm_struct, files, driver objects, subscriptions,
 * PASIDs) are tracked one by one, so use-after-free and double free are caught like KASAN with both
 * call paths; bulk memory (pages, page-table pages, VRAM) is charged to (owner, type) pools.
 *
 * "Leaked" = bytes still held on behalf of an owner (a task) that has exited. The ledger integrates
 * leaked bytes over simulated time (bytes × seconds) and emits a memory sample (live bytes by type,
 * leaked bytes) for every time stamp at which memory changed; the series collector
 * (src/sim/metrics) subscribes to those samples and builds the series.
 */
import { MEM_TYPE_NAMES } from '../../shared/scenario'
import { formatBytes, formatNs } from '../../shared/units'

/** The object types the ledger accounts, in the scenario language's order (one list: src/shared/scenario.ts). */
export const MEM_TYPES = MEM_TYPE_NAMES
export type MemType = (typeof MEM_TYPES)[number]
const TYPE_INDEX: Record<MemType, number> = Object.fromEntries(MEM_TYPES.map((t, i) => [t, i])) as Record<MemType, number>

/** A call path, outermost first, e.g. ['do_exit', 'exit_mm', 'mmput', '__mmput']. */
export type CallPath = readonly string[]

export interface LedgerObject {
  readonly id: number
  readonly type: MemType
  readonly bytes: number
  owner: number
  readonly label: string
  readonly allocT: number
  readonly allocPath: CallPath
  freeT: number | null
  freePath: CallPath | null
}

export interface OwnerInfo {
  readonly id: number
  readonly label: string
  alive: boolean
  diedAt: number | null
}

interface Cell {
  bytes: number
  /** Most bytes held at once after the owner died, for a nonzero time (see `Ledger.peakLeaked`). */
  peakLeaked: number
  byteNs: number
  /** Time of the last change while the owner is dead (start of the current level). */
  lastT: number
  /** Start of the first episode of held bytes after death that lasted a nonzero time. */
  leakedSince: number | null
  /** End of the last such episode (meaningful while `bytes` is 0). */
  leakedUntil: number | null
  /** When `bytes` last went from 0 to more while the owner was dead (start of this episode). */
  heldFrom: number
}

export interface MemoryFinding {
  kind: 'use_after_free' | 'double_free' | 'refcount_underflow'
  t: number
  message: string
  object: string
  allocPath: CallPath
  freePath: CallPath | null
  accessPath: CallPath
}

export interface LeakRow {
  owner: string
  type: MemType
  /** Bytes leaked at the end of the run. */
  bytesAtEnd: number
  /** Most bytes held at once, counting only amounts held for a nonzero time or still held at the end. */
  peakBytes: number
  /** Leaked bytes × seconds. */
  byteSeconds: number
  /** When bytes of this owner/type were first held after the owner died (ns). */
  since: number | null
  /** When they were last released (ns), null if still held at the end. */
  until: number | null
  /** The chain of references that kept it alive once its owner was gone, holder first (see `heldBy`). */
  heldBy: readonly string[]
}

/**
 * A reference one thing holds on a tracked object, recorded when it is taken (`hold`) and closed
 * when it is put (`unhold`): an fd on a struct file, a driver's mm_users reference on an
 * mm_struct, an SVA bond on a PASID. `from` is the holding object, or null for a root (a task's
 * fd table entry, a CPU's lazy-TLB mm), named by `via`.
 */
export interface Hold {
  readonly to: number
  readonly from: number | null
  /** The reference in words: "B's fd 3", "D1's mm_users reference". */
  readonly via: string
  readonly takenT: number
  releasedT: number | null
}

/**
 * Memory at the end of simulated time `t` (nothing changes at `t` after it is emitted). The object
 * and its array are the ledger's own, reused: listeners read them during the call, never keep them.
 */
export interface MemorySample {
  t: number
  /** Live bytes by type, indexed like MEM_TYPES. */
  live: readonly number[]
  leaked: number
  /** Leaked bytes by type, indexed like MEM_TYPES. */
  leakedByType: readonly number[]
}

export type MemorySampleListener = (s: MemorySample) => void

/**
 * One allocation (a positive charge) of `type` (index into MEM_TYPES), with live bytes by type just
 * after it. Reused payload: listeners read it during the call, never keep it.
 */
export interface MemoryGrowth {
  type: number
  live: readonly number[]
}

export type MemoryGrowthListener = (g: MemoryGrowth) => void

/**
 * A reference count of a tracked object changed (or was set at its creation): `counter` is the
 * field's kernel name (mm_users, mm_count, f_count, users), `value` its value after the change,
 * `fn` the kernel function that changed it (mmget, fput, mmu_notifier_put, …). Reused payload:
 * listeners read it during the call, never keep it.
 */
export interface RefChange {
  id: number
  counter: string
  value: number
  fn: string
}

export type RefChangeListener = (r: RefChange) => void

export class Ledger {
  readonly owners: OwnerInfo[] = [{ id: 0, label: 'kernel', alive: true, diedAt: null }]
  readonly objects: LedgerObject[] = []
  private cells: Cell[][] = [[]]
  /** Live bytes by type. */
  readonly liveByType: number[] = MEM_TYPES.map(() => 0)
  /** Leaked bytes by type. */
  readonly leakedByType: number[] = MEM_TYPES.map(() => 0)
  leakedTotal = 0
  private leakByteNs = 0
  private lastLeakT = 0
  /** Highest `leakedTotal` that lasted a nonzero time (levels that ended; see `peakLeaked`). */
  private settledPeak = 0
  /** When `leakedTotal` last changed (start of the current level). */
  private levelT = 0
  /** Time of the sample being accumulated (-1: none yet). */
  private rowT = -1
  private readonly sampleEvent: MemorySample = { t: 0, live: this.liveByType, leaked: 0, leakedByType: this.leakedByType }
  private readonly growthEvent: MemoryGrowth = { type: 0, live: this.liveByType }
  /** References recorded by `hold` (open ones keyed by the caller's key). */
  readonly holds: Hold[] = []
  private readonly openHolds = new Map<string, number>()
  /** Allocations / frees counted (objects and pool charges). */
  allocs = 0
  frees = 0
  /** Listeners of every reference count change (the timeline's refcount tracks). */
  readonly refListeners: RefChangeListener[] = []
  private readonly refEvent: RefChange = { id: 0, counter: '', value: 0, fn: '' }

  constructor(
    private readonly clock: () => number,
    private readonly report: (f: MemoryFinding) => void,
    /** Listeners of memory samples (the world passes its `memory` hook's live listener array). */
    private readonly sampleListeners: ReadonlyArray<MemorySampleListener> = [],
    /** Listeners of every allocation (the world's `memory_growth` hook; e.g. exact peaks). */
    private readonly growthListeners: ReadonlyArray<MemoryGrowthListener> = [],
  ) {}

  /** Registers an owner (a task); returns its id. */
  addOwner(label: string): number {
    const id = this.owners.length
    this.owners.push({ id, label, alive: true, diedAt: null })
    this.cells.push([])
    return id
  }

  private cell(owner: number, type: MemType): Cell {
    const row = this.cells[owner] as Cell[]
    const ti = TYPE_INDEX[type]
    let c = row[ti]
    if (!c) {
      c = { bytes: 0, peakLeaked: 0, byteNs: 0, lastT: this.clock(), leakedSince: null, leakedUntil: null, heldFrom: 0 }
      row[ti] = c
    }
    return c
  }

  /**
   * Leaked bytes at their peak: the most bytes held at once on behalf of owners that had exited,
   * counting a level only when it lasted a nonzero simulated time (a page freed in the same instant
   * its owner exited was never leaked: 0 B·s) or is still held now (at the end of a run: never
   * freed). So a run with leak_byte_seconds 0 and nothing held at the end has a peak of 0.
   */
  get peakLeaked(): number {
    return Math.max(this.settledPeak, this.leakedTotal)
  }

  /** Called before `leakedTotal` changes at `now`: the level that ends counts if it lasted. */
  private settleLevel(now: number): void {
    if (now > this.levelT) {
      if (this.leakedTotal > this.settledPeak) this.settledPeak = this.leakedTotal
      this.levelT = now
    }
  }

  /** Called before a dead owner's cell changes at `now` (before `c.lastT` moves to `now`). */
  private settleCell(c: Cell, now: number): void {
    if (now > c.lastT && c.bytes > c.peakLeaked) c.peakLeaked = c.bytes
  }

  private integrate(): void {
    const now = this.clock()
    if (now > this.lastLeakT) {
      this.leakByteNs += this.leakedTotal * (now - this.lastLeakT)
      this.lastLeakT = now
    }
  }

  /** Changes the bytes of (owner, type) by delta; the one place memory is counted. */
  charge(type: MemType, owner: number, delta: number): void {
    if (delta === 0) return
    this.sample()
    this.integrate()
    const now = this.clock()
    const c = this.cell(owner, type)
    const o = this.owners[owner] as OwnerInfo
    if (!o.alive) {
      c.byteNs += c.bytes * (now - c.lastT)
      this.settleCell(c, now)
      // an episode whose first level lasted (heldFrom < now) makes the leak real from heldFrom
      if (c.bytes > 0 && now > c.heldFrom && c.leakedSince === null) c.leakedSince = c.heldFrom
      c.lastT = now
      if (c.bytes === 0 && delta > 0) c.heldFrom = now
      this.settleLevel(now)
      this.leakedTotal += delta
      this.leakedByType[TYPE_INDEX[type]] = (this.leakedByType[TYPE_INDEX[type]] as number) + delta
    }
    c.bytes += delta
    // an episode ending after a nonzero time is the latest end of the leak; one that began and
    // ended in the same instant (freed as the owner went away) is no leak and leaves no trace
    if (!o.alive && c.bytes === 0 && now > c.heldFrom) c.leakedUntil = now
    const ti = TYPE_INDEX[type]
    this.liveByType[ti] = (this.liveByType[ti] as number) + delta
    if (delta > 0) {
      this.allocs++
      const ls = this.growthListeners
      if (ls.length > 0) {
        const g = this.growthEvent
        g.type = ti
        for (let i = 0; i < ls.length; i++) (ls[i] as MemoryGrowthListener)(g)
      }
    } else this.frees++
  }

  /** Moves a charge between owners (e.g. a COW-shared page outliving the mm that allocated it). */
  move(type: MemType, from: number, to: number, bytes: number): void {
    if (from === to || bytes === 0) return
    this.charge(type, from, -bytes)
    this.charge(type, to, bytes)
  }

  /** Bytes currently charged to (owner, type). */
  bytesOf(owner: number, type: MemType): number {
    return this.cells[owner]?.[TYPE_INDEX[type]]?.bytes ?? 0
  }

  /** Marks an owner gone: from now on everything it still holds counts as leaked. */
  ownerDied(owner: number): void {
    const o = this.owners[owner]
    if (!o || !o.alive) return
    this.integrate()
    const now = this.clock()
    this.sample()
    o.alive = false
    o.diedAt = now
    const row = this.cells[owner] as Cell[]
    for (let ti = 0; ti < MEM_TYPES.length; ti++) {
      const c = row[ti]
      if (!c) continue
      c.lastT = now
      if (c.bytes > 0) {
        c.heldFrom = now
        this.settleLevel(now)
        this.leakedTotal += c.bytes
        this.leakedByType[ti] = (this.leakedByType[ti] as number) + c.bytes
      }
    }
  }

  /** Allocates a tracked object; returns its id. */
  alloc(type: MemType, bytes: number, owner: number, label: string, path: CallPath): number {
    const id = this.objects.length
    this.objects.push({ id, type, bytes, owner, label, allocT: this.clock(), allocPath: path, freeT: null, freePath: null })
    this.charge(type, owner, bytes)
    return id
  }

  /** Frees a tracked object; a second free is reported as a double free and ignored. */
  free(id: number, path: CallPath): void {
    const o = this.objects[id]
    if (!o) return
    if (o.freeT !== null) {
      this.report({
        kind: 'double_free',
        t: this.clock(),
        message: `double free of ${o.label} (${o.type}, ${formatBytes(o.bytes)})`,
        object: o.label,
        allocPath: o.allocPath,
        freePath: o.freePath,
        accessPath: path,
      })
      return
    }
    o.freeT = this.clock()
    o.freePath = path
    this.charge(o.type, o.owner, -o.bytes)
  }

  /** Re-charges a live tracked object to another owner (e.g. a shared file outliving its opener). */
  reown(id: number, owner: number): void {
    const o = this.objects[id]
    if (!o || o.freeT !== null || o.owner === owner) return
    this.charge(o.type, o.owner, -o.bytes)
    o.owner = owner
    this.charge(o.type, owner, o.bytes)
  }

  /**
   * Records a reference on tracked object `to`, taken now by `from` (a tracked object) or by a
   * root (null) named `via`. `key` names it for `unhold`; a key still open is closed first.
   */
  hold(key: string, to: number, from: number | null, via: string): void {
    if (this.openHolds.has(key)) this.unhold(key)
    this.openHolds.set(key, this.holds.push({ to, from, via, takenT: this.clock(), releasedT: null }) - 1)
  }

  /** Closes the reference `key` (no-op when none is open). */
  unhold(key: string): void {
    const i = this.openHolds.get(key)
    if (i === undefined) return
    this.openHolds.delete(key)
    ;(this.holds[i] as Hold).releasedT = this.clock()
  }

  /**
   * What kept an owner's memory alive at time `t` (just after it went away): from a tracked object
   * of that owner that something else held then, the references back to a root, holder first,
   * e.g. ["B's fd 3", "struct file /dev/dmirror", "D1's mm_users reference", "mm of A"]. Empty when
   * no recorded reference held any of its objects.
   */
  heldBy(owner: number, t: number): string[] {
    const liveAt = (h: Hold): boolean => h.takenT <= t && (h.releasedT === null || h.releasedT > t)
    const into = new Map<number, Hold[]>()
    for (const h of this.holds) {
      if (!liveAt(h)) continue
      const list = into.get(h.to)
      if (list) list.push(h)
      else into.set(h.to, [h])
    }
    const alive = (id: number): boolean => {
      const o = this.objects[id]
      return o !== undefined && o.allocT <= t && (o.freeT === null || o.freeT > t)
    }
    // holders from outside the owner first (its own references end with it)
    const outside = (h: Hold): boolean => h.from === null || (this.objects[h.from]?.owner ?? -1) !== owner
    for (const o of this.objects) {
      if (o.owner !== owner || !alive(o.id)) continue
      const first = (into.get(o.id) ?? []).filter(outside)
      if (first.length === 0) continue
      const chain: string[] = [o.label]
      const seen = new Set<number>([o.id])
      let h: Hold | undefined = first[0]
      while (h) {
        chain.unshift(h.via)
        if (h.from === null || seen.has(h.from)) break
        seen.add(h.from)
        const from = this.objects[h.from] as LedgerObject
        chain.unshift(from.label)
        h = (into.get(from.id) ?? []).find((x) => x.from === null || !seen.has(x.from))
      }
      return chain
    }
    return []
  }

  /**
   * Tells the refcount listeners that `counter` of tracked object `id` is now `value`, changed by
   * kernel function `fn` (a creation that sets it, or a change made outside getRef / dropRef).
   */
  setRef(id: number, counter: string, value: number, fn: string): void {
    const ls = this.refListeners
    if (ls.length === 0) return
    const e = this.refEvent
    e.id = id
    e.counter = counter
    e.value = value
    e.fn = fn
    for (let i = 0; i < ls.length; i++) (ls[i] as RefChangeListener)(e)
  }

  /** A get on the refcount `counter` of tracked object `id` (the caller checked the access): count + 1. */
  getRef<K extends string>(id: number, obj: Record<K, number>, counter: K, fn: string): void {
    obj[counter]++
    this.setRef(id, counter, obj[counter], fn)
  }

  /** Checks an access to a tracked object; an access after free is reported (KASAN-style). */
  access(id: number, path: CallPath, what: string): boolean {
    const o = this.objects[id]
    if (!o) return true
    if (o.freeT === null) return true
    this.report({
      kind: 'use_after_free',
      t: this.clock(),
      message: `use-after-free: ${what} touches ${o.label} (${o.type}) freed at ${formatNs(o.freeT)}`,
      object: o.label,
      allocPath: o.allocPath,
      freePath: o.freePath,
      accessPath: path,
    })
    return false
  }

  /** True if the object is still allocated. */
  isLive(id: number): boolean {
    const o = this.objects[id]
    return o !== undefined && o.freeT === null
  }

  /**
   * A put on the refcount `counter` of tracked object `id`: a put on a freed object is a
   * use-after-free, a put at zero an underflow (both reported, the count left alone); otherwise the
   * count drops by one. True when that put dropped the last reference.
   */
  dropRef<K extends string>(id: number, obj: Record<K, number>, counter: K, path: CallPath, what: string): boolean {
    if (!this.access(id, path, what)) return false
    if (obj[counter] <= 0) {
      this.underflow(id, counter, path)
      return false
    }
    obj[counter]--
    this.setRef(id, counter, obj[counter], path[path.length - 1] ?? what)
    return obj[counter] === 0
  }

  /** Reports a refcount underflow (put without get) on a tracked object. */
  underflow(id: number, counter: string, path: CallPath): void {
    const o = this.objects[id]
    this.report({
      kind: 'refcount_underflow',
      t: this.clock(),
      message: `${counter} underflow on ${o?.label ?? 'object'}`,
      object: o?.label ?? '?',
      allocPath: o?.allocPath ?? [],
      freePath: o?.freePath ?? null,
      accessPath: path,
    })
  }

  /** Called before every change: closes the sample of the previous time stamp. */
  private sample(): void {
    const now = this.clock()
    if (now === this.rowT) return
    if (this.rowT >= 0) this.emitSample(this.rowT)
    this.rowT = now
  }

  private emitSample(t: number): void {
    const ls = this.sampleListeners
    if (ls.length === 0) return
    const e = this.sampleEvent
    e.t = t
    e.leaked = this.leakedTotal
    for (let i = 0; i < ls.length; i++) (ls[i] as MemorySampleListener)(e)
  }

  /** Closes the samples at the current time (end of the run). */
  flush(): void {
    this.integrate()
    if (this.rowT >= 0) this.emitSample(this.rowT)
    const now = this.clock()
    if (now !== this.rowT) this.emitSample(now)
    this.rowT = -1
  }

  /** Leaked bytes × seconds so far. */
  leakByteSeconds(): number {
    this.integrate()
    return this.leakByteNs / 1e9
  }

  /** The leak table: one row per (dead owner, type) that ever held bytes after the owner died. */
  leakTable(): LeakRow[] {
    const now = this.clock()
    const rows: LeakRow[] = []
    for (const o of this.owners) {
      if (o.alive) continue
      const row = this.cells[o.id] as Cell[]
      for (let ti = 0; ti < MEM_TYPES.length; ti++) {
        const c = row[ti]
        if (!c) continue
        // bytes still held count from the start of their episode even if it began just now
        const since = c.leakedSince ?? (c.bytes > 0 ? c.heldFrom : null)
        if (since === null) continue
        const byteNs = c.byteNs + c.bytes * (now - c.lastT)
        rows.push({
          owner: o.label,
          type: MEM_TYPES[ti] as MemType,
          bytesAtEnd: c.bytes,
          peakBytes: Math.max(c.peakLeaked, c.bytes),
          byteSeconds: byteNs / 1e9,
          since,
          until: c.bytes === 0 ? c.leakedUntil : null,
          heldBy: this.heldChain(o.id, ti, since),
        })
      }
    }
    return rows
  }

  private heldChain(owner: number, ti: number, since: number): string[] {
    const chain = this.heldBy(owner, since)
    if (chain.length === 0) return chain
    const anchor = this.objects.find((o) => o.label === chain[chain.length - 1] && o.owner === owner)
    return anchor && anchor.type === MEM_TYPES[ti] ? chain : [...chain, `its ${MEM_TYPES[ti]}`]
  }

  /** Live tracked objects (and pool bytes) matching a filter. */
  live(type: MemType | undefined, owner: number | undefined): { count: number; bytes: number } {
    let count = 0
    for (const o of this.objects) {
      if (o.freeT !== null) continue
      if (type !== undefined && o.type !== type) continue
      if (owner !== undefined && o.owner !== owner) continue
      count++
    }
    let bytes = 0
    for (let oi = 0; oi < this.owners.length; oi++) {
      if (owner !== undefined && oi !== owner) continue
      const row = this.cells[oi] as Cell[]
      for (let ti = 0; ti < MEM_TYPES.length; ti++) {
        if (type !== undefined && MEM_TYPES[ti] !== type) continue
        bytes += row[ti]?.bytes ?? 0
      }
    }
    return { count, bytes }
  }

  /** Leaked bytes now, optionally for one type / owner. */
  leaked(type: MemType | undefined, owner: number | undefined): number {
    let bytes = 0
    for (const o of this.owners) {
      if (o.alive) continue
      if (owner !== undefined && o.id !== owner) continue
      const row = this.cells[o.id] as Cell[]
      for (let ti = 0; ti < MEM_TYPES.length; ti++) {
        if (type !== undefined && MEM_TYPES[ti] !== type) continue
        bytes += row[ti]?.bytes ?? 0
      }
    }
    return bytes
  }
}
