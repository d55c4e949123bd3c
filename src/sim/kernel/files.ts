/**
 * struct file lifetime (fs/file_table.c, fs/file.c): open, get_file, fput with the last reference
 * deferred to task_work (user task) or the delayed_fput workqueue (kernel context), __fput calling
 * f_op->release (the teardown design's release).
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { World } from '../world'
import type { Device } from '../devices/device'
import { File, SIZEOF, type Task } from './objects'

/** open(2) of a device file: a new struct file with f_count = 1. */
export function allocFile(w: World, task: Task, dev: Device, fdName: string, path: CallPath): File {
  const label = `${dev.name} file (opened by ${task.name} as ${fdName})`
  const id = w.ledger.alloc('file', SIZEOF.file, task.owner, label, [...path, 'alloc_file'])
  return new File(w.id(), label, dev, id, task)
}

/** get_file. */
export function getFile(w: World, f: File, path: CallPath): void {
  w.ledger.access(f.ledgerId, [...path, 'get_file'], 'get_file')
  f.f_count++
}

/** fput from a user task: at zero, ____fput is queued with task_work_add. */
export function fput(w: World, f: File, task: Task, path: CallPath): void {
  const p = [...path, 'fput']
  if (!w.ledger.access(f.ledgerId, p, 'fput')) return
  if (f.f_count <= 0) {
    w.ledger.underflow(f.ledgerId, 'f_count', p)
    return
  }
  f.f_count--
  if (f.f_count === 0) task.taskWork.push(f)
}

/** fput from kernel context (e.g. remove_vma in exit_mmap): at zero, delayed_fput work. */
export function fputNoTask(w: World, f: File, path: CallPath): void {
  const p = [...path, 'fput']
  if (!w.ledger.access(f.ledgerId, p, 'fput')) return
  if (f.f_count <= 0) {
    w.ledger.underflow(f.ledgerId, 'f_count', p)
    return
  }
  f.f_count--
  if (f.f_count === 0) w.queueWork(`delayed_fput ${f.label}`, 0, () => __fput(w, f, ['delayed_fput', '__fput']))
}

/** __fput: f_op->release (the design's), then the struct file is freed. */
export function* __fput(w: World, f: File, path: CallPath): Proc<void> {
  if (f.released) {
    w.ledger.access(f.ledgerId, path, '__fput on a released file')
    return
  }
  f.released = true
  w.mark('release', f.label)
  yield* w.design.release(w, f, [...path, `${w.design.id}.release`])
  w.ledger.free(f.ledgerId, [...path, 'file_free'])
}

/** task_work_run: runs the deferred ____fput of this task. */
export function* taskWorkRun(w: World, task: Task, path: CallPath): Proc<void> {
  while (task.taskWork.length > 0) {
    const f = task.taskWork.shift() as File
    yield* __fput(w, f, [...path, 'task_work_run', '____fput', '__fput'])
  }
}
