/**
 * mm->mmap_lock (include/linux/mmap_lock.h, kernel/locking/rwsem.c): a reader-writer semaphore in
 * the engine's terms. A process that cannot take it waits on the lock's queue and retries when it
 * is released. Writers are not starved: a reader also waits while a writer is queued (rwsem's
 * handoff), so a fault arriving behind munmap runs after it and finds the VMA gone.
 *
 * Who takes it (kernel 6.12): munmap and mremap for write (`__vm_munmap`, mremap(2)); munmap
 * downgrades to read once the VMAs are detached (`vms_complete_munmap_vmas`); page faults
 * (`lock_mm_and_find_vma`), `hmm_range_fault` callers (`dmirror_range_fault`), GUP and
 * `make_device_exclusive` callers for read; `exit_mmap` for read around `unmap_vmas` and for write
 * around `free_pgtables` / `remove_vma`; the OOM reaper with `mmap_read_trylock` only
 * (`oom_reap_task_mm`).
 */
import { waitOn, type Proc } from '../engine/engine'
import type { Kernel } from './context'
import type { MmapLock, MmStruct } from './objects'

function lockOf(mm: MmStruct): MmapLock {
  return mm.mmap_lock
}

/** mmap_read_lock: waits while a writer holds the lock or is queued for it. */
export function* mmapReadLock(_w: Kernel, mm: MmStruct): Proc<void> {
  const l = lockOf(mm)
  while (l.writer || l.writersWaiting > 0) yield waitOn(l.q)
  l.readers++
}

/** mmap_read_trylock: takes the lock only if no writer holds or waits for it. */
export function mmapReadTrylock(mm: MmStruct): boolean {
  const l = lockOf(mm)
  if (l.writer || l.writersWaiting > 0) return false
  l.readers++
  return true
}

export function mmapReadUnlock(w: Kernel, mm: MmStruct): void {
  const l = lockOf(mm)
  if (l.readers <= 0) throw new Error(`mmap_read_unlock of ${mm.label} without the lock`)
  l.readers--
  if (l.readers === 0) w.engine.wakeUpAll(l.q)
}

/** mmap_write_lock: waits until no reader or writer holds the lock. */
export function* mmapWriteLock(_w: Kernel, mm: MmStruct): Proc<void> {
  const l = lockOf(mm)
  if (l.writer || l.readers > 0) {
    l.writersWaiting++
    while (l.writer || l.readers > 0) yield waitOn(l.q)
    l.writersWaiting--
  }
  l.writer = true
}

export function mmapWriteUnlock(w: Kernel, mm: MmStruct): void {
  const l = lockOf(mm)
  if (!l.writer) throw new Error(`mmap_write_unlock of ${mm.label} without the lock`)
  l.writer = false
  w.engine.wakeUpAll(l.q)
}

/** mmap_write_downgrade: the writer becomes a reader; waiting readers may enter. */
export function mmapWriteDowngrade(w: Kernel, mm: MmStruct): void {
  const l = lockOf(mm)
  if (!l.writer) throw new Error(`mmap_write_downgrade of ${mm.label} without the lock`)
  l.writer = false
  l.readers++
  w.engine.wakeUpAll(l.q)
}

/** Runs `body` under mmap_read_lock (the lock is released however body returns). */
export function* withMmapReadLock<T>(w: Kernel, mm: MmStruct, body: Proc<T>): Proc<T> {
  yield* mmapReadLock(w, mm)
  try {
    return yield* body
  } finally {
    mmapReadUnlock(w, mm)
  }
}

/** Runs `body` under mmap_write_lock. */
export function* withMmapWriteLock<T>(w: Kernel, mm: MmStruct, body: Proc<T>): Proc<T> {
  yield* mmapWriteLock(w, mm)
  try {
    return yield* body
  } finally {
    mmapWriteUnlock(w, mm)
  }
}
