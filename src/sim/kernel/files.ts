/**
 * struct file lifetime (fs/file_table.c, fs/file.c): open, get_file, fput with the last reference
 * deferred to task_work (user task) or the delayed_fput workqueue (kernel context), __fput calling
 * f_op->release (the teardown design's release).
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import type { Device } from '../devices/device'
import type { FileOperations } from './types'
import { File, ShmemObj, SIZEOF, TmpFile, type Task } from './objects'
import { PAGE_SIZE } from './page'

/** open(2) of a device file: a new struct file with f_count = 1. */
export function allocFile(w: Kernel, task: Task, dev: Device, fdName: string, fops: FileOperations, path: CallPath): File {
  const label = `${dev.name} file (opened by ${task.name} as ${fdName})`
  const id = w.ledger.alloc('file', SIZEOF.file, task.owner, label, [...path, 'alloc_file'])
  // fd_install: the task's fd table holds the struct file (Held by)
  w.ledger.hold(fdKey(task, fdName), id, null, `${task.name}'s fd ${fdName}`)
  w.ledger.setRef(id, 'f_count', 1, 'alloc_file')
  return new File(w.id(), label, dev, id, task, fops)
}

/** The ledger's key of a task's fd table entry (Held by). */
export function fdKey(task: Task, fd: string): string {
  return `fd:${task.pid}:${fd}`
}

/** get_file. */
export function getFile(w: Kernel, f: File, path: CallPath): void {
  w.ledger.access(f.ledgerId, [...path, 'get_file'], 'get_file')
  w.ledger.getRef(f.ledgerId, f, 'f_count', 'get_file')
}

/** fput from a user task: at zero, ____fput is queued with task_work_add. */
export function fput(w: Kernel, f: File, task: Task, path: CallPath): void {
  if (w.ledger.dropRef(f.ledgerId, f, 'f_count', [...path, 'fput'], 'fput')) task.taskWork.push(f)
}

/** fput from kernel context (e.g. remove_vma in exit_mmap): at zero, delayed_fput work. */
export function fputNoTask(w: Kernel, f: File, path: CallPath): void {
  if (w.ledger.dropRef(f.ledgerId, f, 'f_count', [...path, 'fput'], 'fput'))
    w.queueWork(`delayed_fput ${f.label}`, 0, () => __fput(w, f, ['delayed_fput', '__fput']))
}

/** __fput: f_op->release (set at open), then the struct file is freed. */
export function* __fput(w: Kernel, f: File, path: CallPath): Proc<void> {
  if (f.released) {
    w.ledger.access(f.ledgerId, path, '__fput on a released file')
    return
  }
  f.released = true
  w.mark('release', f.label)
  yield* f.fops.release(w, f, [...path, `${f.fops.name}.release`])
  w.ledger.free(f.ledgerId, [...path, 'file_free'])
}

/** task_work_run: runs the deferred ____fput of this task. */
export function* taskWorkRun(w: Kernel, task: Task, path: CallPath): Proc<void> {
  while (task.taskWork.length > 0) {
    const f = task.taskWork.shift() as File
    yield* __fput(w, f, [...path, 'task_work_run', '____fput', '__fput'])
  }
}

/** open(/tmp, O_TMPFILE | O_RDWR) + ftruncate(size): an unnamed tmpfs file with an empty page cache. */
export function openTmpfile(w: Kernel, task: Task, fdName: string, pages: number, path: CallPath): TmpFile {
  const label = `tmpfile (opened by ${task.name} as ${fdName})`
  const id = w.ledger.alloc('file', SIZEOF.file, task.owner, label, [...path, 'do_filp_open', 'shmem_tmpfile', 'alloc_file'])
  w.ledger.setRef(id, 'f_count', 1, 'alloc_file')
  return new TmpFile(w.id(), label, id, new ShmemObj(w.id(), task.owner), pages)
}

/**
 * fput of a tmpfile: at the last reference the struct file is freed and its inode reference on the
 * page cache dropped; the pages go when no VMA maps the file either (shmem_evict_inode).
 */
export function fputTmpfile(w: Kernel, f: TmpFile, path: CallPath): void {
  if (!w.ledger.dropRef(f.ledgerId, f, 'f_count', [...path, 'fput'], 'fput')) return
  const p = [...path, 'fput']
  f.released = true
  const c = f.cache
  c.refs--
  if (c.refs === 0) {
    for (const pfn of c.pages.values()) w.frames.put(pfn)
    c.pages.clear()
  }
  w.ledger.free(f.ledgerId, [...p, '__fput', 'file_free'])
}

/** The page-cache frame of file page `index`, allocated (zero-filled) if absent (shmem_get_folio). */
export function pagecacheGet(w: Kernel, c: ShmemObj, index: number): number {
  let pfn = c.pages.get(index)
  if (pfn === undefined) {
    pfn = w.frames.alloc(0, c.owner)
    c.pages.set(index, pfn)
  }
  return pfn
}

/** pwrite(2): page `i` of [off, off + pages) of the file receives `value(i)`; returns bytes written. */
export function pwriteTmpfile(w: Kernel, f: TmpFile, off: number, pages: number, value: (page: number) => number): number {
  for (let i = off; i < off + pages; i++) w.frames.write(pagecacheGet(w, f.cache, i), 0, value(i))
  if (off + pages > f.size) f.size = off + pages
  w.count('pagecache.pwrite_pages', pages)
  return pages * PAGE_SIZE
}

/** pread(2): the tokens of [off, off + pages) up to i_size (holes read 0); returns bytes read. */
export function preadTmpfile(w: Kernel, f: TmpFile, off: number, pages: number, out: Int32Array): number {
  const n = Math.max(0, Math.min(pages, f.size - off))
  for (let i = 0; i < n; i++) {
    const pfn = f.cache.pages.get(off + i)
    out[i] = pfn === undefined ? 0 : w.frames.read(pfn, 0)
  }
  return n * PAGE_SIZE
}
