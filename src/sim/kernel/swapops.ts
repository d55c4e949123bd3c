/**
 * Special swap entries by their kernel names (include/linux/swapops.h). A model PTE keeps the
 * flags of the mapping an entry replaced, so an entry is the PTE with one more flag: the frame and
 * the write bit that restoring it needs stay where they were.
 */
import { PTE_EXCL } from './pagetable'

/**
 * make_writable_device_exclusive_entry / make_readable_device_exclusive_entry: the entry
 * page_make_device_exclusive_one writes over present PTE `f`, writable if `f` was.
 */
export function makeDeviceExclusiveEntry(f: number): number {
  return f | PTE_EXCL
}

/** is_device_exclusive_entry. */
export function isDeviceExclusiveEntry(f: number): boolean {
  return (f & PTE_EXCL) !== 0
}
