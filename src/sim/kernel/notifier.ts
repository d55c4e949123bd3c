/**
 * mmu_notifier (mm/mmu_notifier.c): classic subscriptions with register / get / put / unregister,
 * SRCU-deferred free_notifier, interval notifiers with the invalidate_seq collision-retry protocol,
 * the invalidate_range_start/end fan-out, arch_invalidate_secondary_tlbs and
 * __mmu_notifier_release. Callbacks spend their device cost as simulated time inside the SRCU
 * read-side section (classic) or the active_invalidate_ranges window (interval), so grace periods
 * and interval removal wait for callbacks in flight.
 */
import { sleep, waitOn, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { ClassicSub, IntervalSub, SIZEOF, Subscriptions, type IntervalOps, type MmStruct, type NotifierOps, type NotifierRange } from './objects'
import { mmdrop, mmgrab } from './mm-ref'
import { EAGAIN, EINVAL, ENOMEM } from './errno'

/** ULONG_MAX as a page number bound. */
export const ALL_PAGES = 0x100000000

function ensureSubs(w: Kernel, mm: MmStruct, path: CallPath): Subscriptions {
  if (!mm.subs) {
    const id = w.ledger.alloc('notifier', SIZEOF.mmu_notifier_subscriptions, mm.owner, `mmu_notifier_subscriptions of ${mm.label}`, path)
    mm.subs = new Subscriptions(id, mm.label)
  }
  return mm.subs
}

/** __mmu_notifier_register: mm_users must be > 0; hashes the subscription and takes mm_count. */
export function mmuNotifierRegister(w: Kernel, sub: ClassicSub, mm: MmStruct, path: CallPath): number {
  const p = [...path, '__mmu_notifier_register']
  w.ledger.access(mm.ledgerId, p, 'mmu_notifier_register')
  if (mm.mm_users <= 0) {
    w.violation('SUBSCRIPTION_PINS_MM', `registration of ${sub.ops.name} on ${mm.label} with mm_users = ${mm.mm_users}`, p)
    return EINVAL
  }
  const subs = ensureSubs(w, mm, p)
  mmgrab(w, mm, p)
  sub.mm = mm
  sub.hashed = true
  subs.list.push(sub)
  w.count('mmu_notifier_register')
  w.log('notifier', 'mmu_notifier_register', `${sub.ops.name} on ${mm.label}`)
  return 0
}

/** mmu_notifier_get: one subscription per (ops, mm); users++ or ops->alloc_notifier. */
export function mmuNotifierGet(w: Kernel, ops: NotifierOps, mm: MmStruct, path: CallPath): ClassicSub | number {
  const p = [...path, 'mmu_notifier_get']
  if (mm.subs) {
    for (const s of mm.subs.list) {
      if (s.ops === ops && s.hashed && s.users > 0) {
        w.ledger.getRef(s.memId, s, 'users', 'mmu_notifier_get')
        return s
      }
    }
  }
  if (!ops.allocNotifier) return EINVAL
  const sub = ops.allocNotifier(w, mm, p)
  if (!sub) return ENOMEM
  sub.users = 1
  w.ledger.setRef(sub.memId, 'users', 1, 'mmu_notifier_get')
  const r = mmuNotifierRegister(w, sub, mm, p)
  if (r < 0) {
    ops.freeNotifier?.(w, sub, p)
    return r
  }
  return sub
}

function unhash(w: Kernel, sub: ClassicSub, path: CallPath): void {
  // hlist_del_init_rcu writes into the subscription: a freed container is a use-after-free.
  w.ledger.access(sub.memId, path, 'hlist_del_init_rcu(&subscription->hlist)')
  const subs = sub.mm.subs
  if (subs) {
    const i = subs.list.indexOf(sub)
    if (i >= 0) subs.list.splice(i, 1)
  }
  sub.hashed = false
}

/**
 * The driver module's text, once it has been unloaded (delete_module freed it): a ledger object
 * whose every later call into the module's ops is a use-after-free.
 */
const moduleText = new WeakMap<Kernel, number>()

/** Records that the driver module is gone: `textId` is its freed ledger object. */
export function moduleTextFreed(w: Kernel, textId: number): void {
  moduleText.set(w, textId)
}

/** True once the driver module was unloaded. */
export function moduleUnloaded(w: Kernel): boolean {
  return moduleText.has(w)
}

/**
 * mmu_notifier_synchronize: synchronize_srcu on the notifier domain, so that every free_notifier
 * queued by mmu_notifier_put (call_srcu) has run when it returns. A module using
 * mmu_notifier_put must call it in its __exit before its text goes.
 */
export function* mmuNotifierSynchronize(w: Kernel): Proc<void> {
  w.count('mmu_notifier_synchronize')
  yield* w.synchronizeSrcu()
}

/**
 * mmu_notifier_put: drops users; at zero unhashes and call_srcu → free_notifier, then mmdrop.
 * Safe from ->release. If the module was unloaded before the callback ran (no
 * mmu_notifier_synchronize in its __exit), the call into ops->free_notifier is a use-after-free of
 * the module text: reported; the callback never returns, so nothing after it runs.
 */
export function mmuNotifierPut(w: Kernel, sub: ClassicSub, path: CallPath): void {
  const p = [...path, 'mmu_notifier_put']
  w.ledger.access(sub.memId, p, 'mmu_notifier_put')
  if (sub.users <= 0) {
    w.ledger.underflow(sub.memId, 'mmu_notifier.users', p)
    return
  }
  sub.users--
  w.ledger.setRef(sub.memId, 'users', sub.users, 'mmu_notifier_put')
  if (sub.users > 0) return
  if (sub.hashed) unhash(w, sub, p)
  const putAt = w.engine.now
  sub.lastPutAt = putAt
  const mm = sub.mm
  w.callSrcu(`mmu_notifier_free_rcu ${sub.ops.name}`, () => {
    const fp = ['srcu_invoke_callbacks', 'mmu_notifier_free_rcu']
    if (w.engine.now - putAt < w.costs.srcu_gp) w.violation('FREE_NOTIFIER_AFTER_GP', `free_notifier of ${sub.ops.name} ran before an SRCU grace period`, fp)
    if (mm.mm_count < 1) w.violation('FREE_NOTIFIER_AFTER_GP', `free_notifier of ${sub.ops.name} runs after its mm reference was dropped`, fp)
    const text = moduleText.get(w)
    if (text !== undefined && sub.ops.freeNotifier) {
      w.ledger.access(text, [...fp, `${sub.ops.name}.free_notifier`], `subscription->ops->free_notifier (${sub.ops.name})`)
      return
    }
    w.mark('free_notifier', `${sub.ops.name} for ${mm.label}`)
    sub.ops.freeNotifier?.(w, sub, [...fp, `${sub.ops.name}.free_notifier`])
    mmdrop(w, mm, fp)
  })
}

/** mmu_notifier_unregister: ->release if still hashed, unhash, synchronize_srcu, mmdrop. */
export function* mmuNotifierUnregister(w: Kernel, sub: ClassicSub, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, 'mmu_notifier_unregister']
  w.ledger.access(sub.memId, p, 'mmu_notifier_unregister')
  if (sub.inRelease) {
    // synchronize_srcu inside the SRCU read section of the caller's own callback never returns
    w.finding({
      kind: 'warn',
      message: `deadlock: ${sub.ops.name} calls mmu_notifier_unregister from its own ->release (synchronize_srcu inside an SRCU read section)`,
      accessPath: p,
    })
    if (sub.hashed) unhash(w, sub, p)
    mmdrop(w, mm, p)
    return
  }
  if (sub.hashed) {
    if (sub.ops.release) {
      const idx = w.srcu.readLock()
      yield* callRelease(w, sub, mm, [...p, `${sub.ops.name}.release`])
      w.srcu.readUnlock(idx)
    }
    unhash(w, sub, p)
  }
  yield* w.synchronizeSrcu()
  mmdrop(w, mm, p)
}

function* callRelease(w: Kernel, s: ClassicSub, mm: MmStruct, path: CallPath): Proc<void> {
  s.inRelease = true
  try {
    yield* (s.ops.release as NonNullable<NotifierOps['release']>)(w, s, mm, path)
  } finally {
    s.inRelease = false
  }
}

/** mmu_notifier_unregister_no_release (2014–2019): unhash and mmdrop, no release, no sync. */
export function mmuNotifierUnregisterNoRelease(w: Kernel, sub: ClassicSub, mm: MmStruct, path: CallPath): void {
  const p = [...path, 'mmu_notifier_unregister_no_release']
  if (sub.hashed) unhash(w, sub, p)
  mmdrop(w, mm, p)
}

/**
 * mmu_interval_notifier_insert: __mmu_notifier_register(NULL, mm) the first time (sets has_itree,
 * which stays set), mmgrab, then __mmu_interval_notifier_insert: with no invalidation active the
 * interval goes into the tree with seq = mm seq − 1 (odd, "never collided"); while one is active
 * and the tree is invalidating (seq odd) the insert is deferred to mn_itree_inv_end; while one is
 * active but the tree is not invalidating (seq even) the seq is made odd and the interval goes into
 * the tree at once. Either way an active invalidation counts as a collision for the new interval.
 */
export function mmuIntervalNotifierInsert(
  w: Kernel,
  mm: MmStruct,
  start: number,
  end: number,
  ops: IntervalOps,
  memId: number,
  path: CallPath,
): IntervalSub | number {
  const p = [...path, 'mmu_interval_notifier_insert']
  w.ledger.access(mm.ledgerId, p, 'mmu_interval_notifier_insert')
  // "Must call with a mmget() held" (WARN_ON in __mmu_interval_notifier_insert)
  if (mm.mm_users <= 0) {
    w.violation('SUBSCRIPTION_PINS_MM', `interval registration on ${mm.label} with mm_users = ${mm.mm_users}`, p)
    return EINVAL
  }
  const subs = ensureSubs(w, mm, p)
  subs.has_itree = true
  const sub = new IntervalSub(w.id(), ops, mm, start, end, memId)
  mmgrab(w, mm, p)
  if (subs.active_invalidate_ranges > 0) {
    if (mnItreeIsInvalidating(subs)) subs.deferred.push({ op: 'insert', sub })
    else {
      subs.invalidate_seq |= 1
      sub.inTree = true
      subs.itree.push(sub)
    }
    sub.invalidate_seq = subs.invalidate_seq
  } else {
    sub.invalidate_seq = subs.invalidate_seq - 1
    sub.inTree = true
    subs.itree.push(sub)
  }
  w.count('mmu_interval_notifier_insert')
  return sub
}

function mnItreeIsInvalidating(subs: Subscriptions): boolean {
  return (subs.invalidate_seq & 1) === 1
}

/**
 * mmu_interval_notifier_remove: while the tree is invalidating (seq odd) the removal is deferred
 * to mn_itree_inv_end and the caller sleeps until the seq moves on (an interval whose own insert is
 * still deferred is just dropped from the deferred list); otherwise — no invalidation, or one that
 * hit no interval (seq even) — the interval leaves the tree at once. Then mmdrop.
 */
export function* mmuIntervalNotifierRemove(w: Kernel, sub: IntervalSub, path: CallPath): Proc<void> {
  const p = [...path, 'mmu_interval_notifier_remove']
  const subs = sub.mm.subs
  if (sub.removed) return
  sub.removed = true
  if (subs) {
    let seq = 0
    if (mnItreeIsInvalidating(subs)) {
      if (!sub.inTree) {
        const i = subs.deferred.findIndex((d) => d.op === 'insert' && d.sub === sub)
        if (i >= 0) subs.deferred.splice(i, 1)
      } else {
        subs.deferred.push({ op: 'remove', sub })
        seq = subs.invalidate_seq
      }
    } else {
      const i = subs.itree.indexOf(sub)
      if (i >= 0) subs.itree.splice(i, 1)
      sub.inTree = false
    }
    if (seq) {
      w.count('mmu_interval_notifier_remove_wait')
      while (subs.invalidate_seq === seq) yield waitOn(subs.wq)
    }
  }
  mmdrop(w, sub.mm, p)
}

/** mmu_interval_read_begin: sleeps while this interval is being invalidated; returns the seq. */
export function* mmuIntervalReadBegin(w: Kernel, sub: IntervalSub): Proc<number> {
  const subs = sub.mm.subs
  for (;;) {
    const seq = sub.invalidate_seq
    if (!subs || seq !== subs.invalidate_seq || (seq & 1) === 0) return seq
    w.count('mmu_interval_read_begin_wait')
    yield waitOn(subs.wq)
  }
}

/** mmu_interval_read_retry: true if an invalidation hit this interval since read_begin. */
export function mmuIntervalReadRetry(sub: IntervalSub, seq: number): boolean {
  return sub.invalidate_seq !== seq
}

/** mmu_interval_set_seq (called by the driver's invalidate under its lock). */
export function mmuIntervalSetSeq(sub: IntervalSub, cur: number): void {
  sub.invalidate_seq = cur
}

function overlaps(s: IntervalSub, r: NotifierRange): boolean {
  return s.start < r.end && r.start < s.end
}

export interface InvalidateResult {
  /** 0 or -EAGAIN (non-blockable range and a subscriber would block). */
  ret: number
  /** Device-side time the callbacks took (ns); already spent (simulated) when this returns. */
  cost: number
}

/**
 * mn_itree_inv_start_range + the mn_itree_inv_next walk (mn_itree_invalidate / mn_itree_release):
 * counts the range as active, makes the seq odd if an interval overlaps, and calls each
 * overlapping interval's ->invalidate with the odd seq, spending its cost as simulated time.
 * `stopOnFail` (mn_itree_invalidate on a non-blockable range): the first interval that answers
 * false ends the walk and the caller returns -EAGAIN; on a blockable range a false answer is a
 * WARN and the walk goes on.
 */
function* mnItreeInvalidate(w: Kernel, subs: Subscriptions, r: NotifierRange, p: CallPath): Proc<InvalidateResult> {
  let cost = 0
  subs.active_invalidate_ranges++
  let hit = false
  for (const s of subs.itree) if (s.inTree && overlaps(s, r)) hit = true
  if (!hit) return { ret: 0, cost }
  subs.invalidate_seq |= 1
  const cur = subs.invalidate_seq
  for (const s of [...subs.itree]) {
    if (!s.inTree || !overlaps(s, r)) continue
    w.ledger.access(s.memId, p, 'interval invalidate')
    const text = moduleText.get(w)
    if (text !== undefined) {
      // the driver's module is gone but its interval is still in the tree
      w.ledger.access(text, p, 'interval_sub->ops->invalidate')
      continue
    }
    if (w.hooks.has('interval_invalidate'))
      w.hooks.emit('interval_invalidate', { t: w.engine.now, mm: r.mm, sub: s.memId, event: r.event, start: r.start, end: r.end, owner: r.owner })
    const c = s.ops.invalidate(w, s, r, cur, p)
    if (c < 0) {
      if (r.blockable) {
        w.finding({ kind: 'warn', message: `WARN: interval invalidate returned false on a blockable ${r.event} range`, accessPath: p })
        continue
      }
      w.count('invalidate_nonblock_eagain')
      return { ret: EAGAIN, cost }
    }
    if (c > 0) {
      cost += c
      yield sleep(c)
    }
  }
  return { ret: 0, cost }
}

/**
 * mn_itree_inv_end: the last active range makes an odd seq even, runs the deferred inserts and
 * removes, and wakes read_begin / remove sleepers.
 */
function mnItreeInvEnd(w: Kernel, subs: Subscriptions, mm: MmStruct, p: CallPath): void {
  subs.active_invalidate_ranges--
  if (subs.active_invalidate_ranges < 0) {
    w.finding({ kind: 'warn', message: `active_invalidate_ranges underflow on ${mm.label}`, accessPath: p })
    subs.active_invalidate_ranges = 0
  }
  if (subs.active_invalidate_ranges > 0 || !mnItreeIsInvalidating(subs)) return
  subs.invalidate_seq++
  for (const d of subs.deferred.splice(0)) {
    if (d.op === 'insert') {
      d.sub.inTree = true
      subs.itree.push(d.sub)
    } else {
      const i = subs.itree.indexOf(d.sub)
      if (i >= 0) subs.itree.splice(i, 1)
      d.sub.inTree = false
    }
  }
  w.engine.wakeUpAll(subs.wq)
  if (mnItreeIsInvalidating(subs)) w.violation('SEQ_EVEN_WHEN_IDLE', `invalidate_seq odd with no active invalidation on ${mm.label}`, p)
}

/**
 * The interval-tree side of a range in flight: the kernel re-reads has_itree at _end, which
 * mm_take_all_locks in __mmu_notifier_register keeps stable between a start and its end; the
 * model takes no such lock, so each range remembers whether its start entered the tree.
 */
const itreeEntered = new WeakSet<NotifierRange>()

/**
 * mn_hlist_invalidate_range_start (classic subscriptions, under srcu_read_lock): every callback
 * runs even after one fails; on a failure (non-blockable only) every subscription with an
 * invalidate_range_end gets it at once, since the caller will not call _end.
 */
function* mnHlistInvalidateRangeStart(w: Kernel, subs: Subscriptions, r: NotifierRange, p: CallPath): Proc<InvalidateResult> {
  let cost = 0
  let ret = 0
  const idx = w.srcu.readLock()
  for (const s of [...subs.list]) {
    if (!s.hashed || !s.ops.invalidateRangeStart) continue
    w.ledger.access(s.memId, p, `${s.ops.name}.invalidate_range_start`)
    const res = s.ops.invalidateRangeStart(w, s, r, p)
    if (!res.ok) {
      if (r.blockable) w.finding({ kind: 'warn', message: `WARN: ${s.ops.name}.invalidate_range_start failed on a blockable ${r.event} range`, accessPath: p })
      ret = EAGAIN
    }
    if (res.cost > 0) {
      cost += res.cost
      yield sleep(res.cost)
      // the list walk goes on from this subscription's hlist node
      w.ledger.access(s.memId, p, 'hlist_for_each_entry_srcu: subscription->hlist.next')
    }
  }
  if (ret) cost += yield* mnHlistInvalidateEnd(w, subs, r, p)
  w.srcu.readUnlock(idx)
  return { ret, cost }
}

/**
 * One walk of the classic list under the caller's srcu_read_lock (hlist_for_each_entry_srcu):
 * `call` runs the subscription's op and returns its cost, or null when it has none; the cost is
 * slept, then the walk reads the subscription's next hlist node. Returns the summed cost.
 */
function* mnHlistWalk(w: Kernel, subs: Subscriptions, p: CallPath, call: (s: ClassicSub) => number | null): Proc<number> {
  let cost = 0
  for (const s of [...subs.list]) {
    if (!s.hashed) continue
    const c = call(s)
    if (c === null || c <= 0) continue
    cost += c
    yield sleep(c)
    w.ledger.access(s.memId, p, 'hlist_for_each_entry_srcu: subscription->hlist.next')
  }
  return cost
}

/**
 * mn_hlist_invalidate_end: ->invalidate_range_end of every classic subscription that has one;
 * also what mn_hlist_invalidate_range_start runs at once when a start failed.
 */
function mnHlistInvalidateEnd(w: Kernel, subs: Subscriptions, r: NotifierRange, p: CallPath): Proc<number> {
  return mnHlistWalk(w, subs, p, (s) => (s.ops.invalidateRangeEnd ? s.ops.invalidateRangeEnd(w, s, r, p) : null))
}

/**
 * __mmu_notifier_invalidate_range_start: with has_itree, mn_itree_invalidate first (interval
 * callbacks, inside the active_invalidate_ranges window, outside SRCU); if an interval callback
 * refuses a non-blockable range it returns -EAGAIN before any classic callback runs. Then
 * mn_hlist_invalidate_range_start (classic, under srcu_read_lock); if that fails on a
 * non-blockable range the interval side is ended here. On -EAGAIN the caller must not call
 * invalidateRangeEnd. Each callback's device/IOMMU cost is simulated time spent inside those
 * sections, so a grace period started meanwhile (synchronize_srcu, call_srcu → free_notifier)
 * ends only after a classic callback returned.
 */
export function* invalidateRangeStart(w: Kernel, r: NotifierRange, path: CallPath): Proc<InvalidateResult> {
  const subs = r.mm.subs
  w.count(`invalidate.${r.event}`)
  if (r.event === 'PROTECTION_PAGE') w.protectionPageInvalidations++
  if (!subs) return { ret: 0, cost: 0 }
  if (w.hooks.has('notifier_range'))
    w.hooks.emit('notifier_range', { t: w.engine.now, mm: r.mm, event: r.event, start: r.start, end: r.end, owner: r.owner, blockable: r.blockable })
  const p = [...path, 'mmu_notifier_invalidate_range_start']
  const has_itree = subs.has_itree
  let cost = 0
  let ret = 0
  if (has_itree) {
    itreeEntered.add(r)
    const it = yield* mnItreeInvalidate(w, subs, r, [...p, 'mn_itree_invalidate'])
    cost += it.cost
    if (it.ret) {
      // out_would_block: the non-blocking caller is not allowed to call invalidate_range_end
      itreeEntered.delete(r)
      mnItreeInvEnd(w, subs, r.mm, p)
      return { ret: it.ret, cost }
    }
  }
  if (subs.list.length > 0) {
    const h = yield* mnHlistInvalidateRangeStart(w, subs, r, p)
    cost += h.cost
    ret = h.ret
  }
  if (ret && has_itree && !r.blockable) {
    itreeEntered.delete(r)
    mnItreeInvEnd(w, subs, r.mm, p)
  }
  return { ret, cost }
}

/**
 * __mmu_notifier_invalidate_range_end: mn_itree_inv_end first (the seq turns even, deferred tree
 * updates run, read_begin and remove sleepers wake), then mn_hlist_invalidate_end (classic
 * invalidate_range_end under srcu_read_lock). Returns the callbacks' cost (ns), already spent.
 */
export function* invalidateRangeEnd(w: Kernel, r: NotifierRange, path: CallPath): Proc<number> {
  const subs = r.mm.subs
  if (!subs) return 0
  const p = [...path, 'mmu_notifier_invalidate_range_end']
  if (subs.has_itree && itreeEntered.delete(r)) mnItreeInvEnd(w, subs, r.mm, p)
  let cost = 0
  if (subs.list.length > 0) {
    const idx = w.srcu.readLock()
    cost = yield* mnHlistInvalidateEnd(w, subs, r, p)
    w.srcu.readUnlock(idx)
  }
  return cost
}

/**
 * arch_invalidate_secondary_tlbs: called from the CPU TLB flush for devices sharing the CPU page
 * table (__mmu_notifier_arch_invalidate_secondary_tlbs, under srcu_read_lock). Returns the cost
 * (ns), already spent.
 */
export function* archInvalidateSecondaryTlbs(w: Kernel, mm: MmStruct, start: number, end: number, path: CallPath): Proc<number> {
  const subs = mm.subs
  if (!subs || subs.list.length === 0) return 0
  const p = [...path, 'mmu_notifier_arch_invalidate_secondary_tlbs']
  const idx = w.srcu.readLock()
  const cost = yield* mnHlistWalk(w, subs, p, (s) => (s.ops.archInvalidateSecondaryTlbs ? s.ops.archInvalidateSecondaryTlbs(w, s, mm, start, end, p) : null))
  w.srcu.readUnlock(idx)
  return cost
}

/**
 * Runs one invalidation around `body`: start (callbacks take their time), body (returns its own
 * CPU-side cost, slept), end. Returns the start's ret.
 */
export function* withInvalidation(w: Kernel, r: NotifierRange, path: CallPath, body: () => number): Proc<number> {
  const s = yield* invalidateRangeStart(w, r, path)
  // a refused non-blockable range: the core already ended what it started, no _end
  if (s.ret < 0 && !r.blockable) return s.ret
  const c = body()
  if (c > 0) yield sleep(c)
  yield* invalidateRangeEnd(w, r, path)
  return s.ret
}

/**
 * __mmu_notifier_release (first step of exit_mmap): with has_itree, mn_itree_release — RELEASE
 * [0, ULONG_MAX) to the interval subscriptions only, blockable, bracketed by
 * mn_itree_inv_start_range / mn_itree_inv_end — then mn_hlist_release: ->release of every classic
 * subscription under SRCU, unhash them all, synchronize_srcu. Classic subscriptions get no
 * invalidate_range_start / _end for the RELEASE.
 */
export function* mmuNotifierRelease(w: Kernel, mm: MmStruct, path: CallPath): Proc<void> {
  const p = [...path, '__mmu_notifier_release']
  const subs = mm.subs
  if (subs) {
    // the oracle's `rel` probe: __mmu_notifier_release raises RELEASE over the whole mm
    if (w.hooks.has('notifier_range'))
      w.hooks.emit('notifier_range', { t: w.engine.now, mm, event: 'RELEASE', start: 0, end: ALL_PAGES, owner: -1, blockable: true })
    if (subs.has_itree) {
      w.count('invalidate.RELEASE')
      const r: NotifierRange = { mm, start: 0, end: ALL_PAGES, event: 'RELEASE', blockable: true, owner: -1 }
      const rp = [...p, 'mn_itree_release']
      yield* mnItreeInvalidate(w, subs, r, rp)
      mnItreeInvEnd(w, subs, mm, rp)
    }
    if (subs.list.length > 0) {
      const list = [...subs.list]
      const hp = [...p, 'mn_hlist_release']
      const idx = w.srcu.readLock()
      for (const s of list) {
        if (!s.hashed) continue
        w.ledger.access(s.memId, hp, `${s.ops.name}.release via subscription`)
        if (s.ops.release) yield* callRelease(w, s, mm, [...hp, `${s.ops.name}.release`])
      }
      w.srcu.readUnlock(idx)
      for (const s of [...subs.list]) unhash(w, s, hp)
      yield* w.synchronizeSrcu()
    }
  }
  mm.releasedAt = w.engine.now
  w.mark('notifier_release', mm.label)
}
