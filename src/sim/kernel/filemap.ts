/**
 * The folio lock (PG_locked): folio_trylock and folio_test_locked (include/linux/pagemap.h),
 * folio_unlock and folio_wait_locked (mm/filemap.c). The model keeps it only where a holder sleeps
 * while others may run and look at the page: make_device_exclusive_range hands its pages back
 * locked, and the driver unlocks them once its device maps them; a CPU fault on such a page waits
 * (remove_device_exclusive_entry → folio_lock_or_retry). A frame is locked while
 * `Kernel.folioLocks` holds a wait queue for it.
 */
import { WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { Kernel } from './context'

/** folio_trylock: takes the lock of frame `pfn` unless someone holds it. */
export function folioTrylock(k: Kernel, pfn: number): boolean {
  if (k.folioLocks.has(pfn)) return false
  k.folioLocks.set(pfn, new WaitQueue(`folio lock of pfn ${pfn}`))
  return true
}

/** folio_test_locked. */
export function folioTestLocked(k: Kernel, pfn: number): boolean {
  return k.folioLocks.has(pfn)
}

/** folio_unlock: releases the lock and wakes its waiters. Unlocking an unlocked folio is a model bug. */
export function folioUnlock(k: Kernel, pfn: number): void {
  const q = k.folioLocks.get(pfn)
  if (!q) throw new Error(`folio_unlock of pfn ${pfn}, which is not locked`)
  k.folioLocks.delete(pfn)
  k.engine.wakeUpAll(q)
}

/** folio_wait_locked: sleeps until the folio is unlocked (without taking the lock). */
export function* folioWaitLocked(k: Kernel, pfn: number): Proc<void> {
  for (let q = k.folioLocks.get(pfn); q; q = k.folioLocks.get(pfn)) yield waitOn(q)
}
