/**
 * Tasks: spawn (a new process with a fresh mm), fork (copy_process: dup_fd, dup_mm/dup_mmap with
 * copy_page_range COW and a PROTECTION_PAGE invalidation of the parent per COW VMA, flush_tlb_mm),
 * do_exit in the kernel's order (exit_mm → mmput, exit_files → fput, exit_task_work → __fput →
 * f_op->release), close(2).
 */
import { sleep, WaitQueue, waitOn, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost, ptTablesCost } from '../cost/model'
import { EBADF, EINVAL } from './errno'
import { SIZEOF, Task, Vma, copyForkFlags, type File, type MmStruct } from './objects'
import { mmAlloc, mmput } from './mm'
import { mmget } from './mm-ref'
import { fdKey, fput, fputTmpfile, getFile, taskWorkRun } from './files'
import { ALL_PAGES, archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { PTE_COW, PTE_DEVPRIV, PTE_EXCL, PTE_SWAP, PTE_WRITE, PTE_ZERO } from './pagetable'
import { swapDuplicate } from './swap'

/** A new process with its own mm (execve of a fresh program). */
export function spawnTask(w: Kernel, name: string, path: CallPath): Task {
  const owner = w.ledger.addOwner(`task ${name}`)
  const t = new Task(w.pid(), name, owner, null)
  t.mm = mmAlloc(w, `mm of ${name}`, owner, null, [...path, 'bprm_mm_init'])
  w.tasks.set(name, t)
  w.mark('spawn', `${name} (pid ${t.pid})`)
  return t
}

/** copy_process's new task: a pid, a ledger owner, a place in the task list. */
function copyProcess(w: Kernel, parent: Task, childName: string): Task {
  const child = new Task(w.pid(), childName, w.ledger.addOwner(`task ${childName}`), parent)
  w.tasks.set(childName, child)
  return child
}

/** copy_files → dup_fd: the child's table holds the same struct files (f_count++) and close_on_exec bits. */
function dupFd(w: Kernel, parent: Task, child: Task, p: CallPath): void {
  for (const [fd, f] of parent.fds) {
    getFile(w, f, [...p, 'copy_files', 'dup_fd'])
    child.fds.set(fd, f)
    w.ledger.hold(fdKey(child, fd), f.ledgerId, null, `${child.name}'s fd ${fd}`)
  }
  for (const [fd, f] of parent.tmpfiles) {
    w.ledger.access(f.ledgerId, [...p, 'copy_files', 'dup_fd', 'get_file'], 'get_file')
    w.ledger.getRef(f.ledgerId, f, 'f_count', 'get_file')
    child.tmpfiles.set(fd, f)
  }
  for (const fd of parent.cloexec) child.cloexec.add(fd)
}

/** fork(2). */
export function* doFork(w: Kernel, parent: Task, childName: string, path: CallPath): Proc<Task> {
  const p = [...path, 'kernel_clone', 'copy_process']
  const child = copyProcess(w, parent, childName)
  const owner = child.owner
  dupFd(w, parent, child, p)
  const old = parent.mm
  yield sleep(w.costs.fork_base)
  if (old) {
    const dp = [...p, 'copy_mm', 'dup_mm']
    const mm = mmAlloc(w, `mm of ${childName}`, owner, old.family, dp)
    child.mm = mm
    for (const [k, r] of old.regions) mm.regions.set(k, { ...r })
    mm.mmapBase = old.mmapBase
    let cowVmas = 0
    // dup_mmap: per VMA (vm_area_dup, anon_vma_fork), then copy_page_range per entry of a COW VMA
    let vmaCost = 0
    const before = w.protectionPageInvalidations
    for (const v of old.vmas) {
      // dup_mmap: a VM_DONTCOPY VMA (MADV_DONTFORK) is left out of the child altogether
      if (v.dontcopy) continue
      const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, owner, `vma of ${mm.label}`, [...dp, 'dup_mmap', 'vm_area_dup'])
      const nv = new Vma(v.start, v.end, v.prot, v.shared, v.file, v.huge, id, v.shmem, v.pgoff)
      nv.hugetlb = v.hugetlb
      nv.mixedmap = v.mixedmap
      copyForkFlags(nv, v)
      if (v.wipeonfork) {
        // VM_WIPEONFORK "gets a clean slate in the child": no anon_vma until its first fault, and
        // dup_mmap skips copy_page_range, so the parent sees no invalidation for it either
        mm.vmas.push(nv)
        vmaCost += w.costs.fork_vma
        continue
      }
      if (v.anon_vma !== 0) {
        // anon_vma_fork: the child's VMA gets its own anon_vma, chained to the parent's
        nv.anon_vma = w.id()
        nv.anonForked = true
      }
      if (v.file) getFile(w, v.file, [...dp, 'dup_mmap'])
      if (v.shmem) v.shmem.refs++
      mm.vmas.push(nv)
      vmaCost += w.costs.fork_vma
      // copy_page_range: vma_needs_copy (an anon_vma, or VM_PFNMAP / VM_MIXEDMAP; uffd-wp is not
      // modelled) decides whether the page table is copied at all; a VMA without one is left to
      // fault in the child, with no invalidation on the parent (a read-faulted private VMA keeps
      // its mirror)
      if (v.anon_vma === 0 && !v.mixedmap) continue
      // is_cow_mapping: private (VM_MAYWRITE without VM_SHARED); a shared VMA is copied as it is
      const cow = !v.shared
      const cp = [...dp, 'dup_mmap', 'copy_page_range']
      // copy_hugetlb_page_range brackets a private hugetlb copy with CLEAR, copy_page_range with
      // PROTECTION_PAGE
      const r = { mm: old, start: v.start, end: v.end, event: v.hugetlb ? ('CLEAR' as const) : ('PROTECTION_PAGE' as const), blockable: true, owner: -1 }
      if (cow) {
        if (!v.hugetlb) cowVmas++
        yield* invalidateRangeStart(w, r, [...cp, ...(v.hugetlb ? ['copy_hugetlb_page_range'] : [])])
        old.write_protect_seq++
      }
      const fr = w.frames
      const tables0 = mm.pt.tables
      const n = old.pt.copyTo(
        mm.pt,
        v.start,
        v.end,
        (f) => {
          if (!cow) return f
          if (f & PTE_ZERO) return f
          if (f & PTE_DEVPRIV) return f & ~PTE_WRITE
          return (f & ~(PTE_WRITE | PTE_EXCL)) | PTE_COW
        },
        // copy_nonpresent_pte: a swap entry takes a swap_map reference (swap_duplicate) and loses
        // its exclusive marker (PTE_WRITE, cleared above) in parent and child
        (pfn, f) => (f & PTE_SWAP ? swapDuplicate(w, pfn) : fr.get(pfn)),
      )
      if (cow) {
        old.write_protect_seq++
        yield* invalidateRangeEnd(w, r, cp)
        if (w.hooks.has('range_end')) w.hooks.emit('range_end', { range: r, path: cp })
      }
      // copy_present_pte per entry, and the child's page-table pages (__pte_alloc)
      yield sleep(n * w.costs.fork_pte + ptTablesCost(w.costs, Math.max(0, mm.pt.tables - tables0)))
    }
    // flush_tlb_mm(oldmm)
    yield* archInvalidateSecondaryTlbs(w, old, 0, ALL_PAGES, [...dp, 'dup_mmap', 'flush_tlb_mm'])
    const tlb = cpuTlbFlushCost(w.costs, Number.MAX_SAFE_INTEGER)
    yield sleep(vmaCost + tlb)
    // invariant 7
    if (mm.subs !== null) w.violation('FORK_NO_SUBSCRIPTIONS', `child ${mm.label} has subscriptions after fork`, dp)
    const seen = w.protectionPageInvalidations - before
    if (seen !== cowVmas)
      w.violation('FORK_NO_SUBSCRIPTIONS', `parent saw ${seen} PROTECTION_PAGE invalidations for ${cowVmas} COW VMAs that needed a copy`, dp)
  }
  w.count('fork')
  w.mark('fork', `${parent.name} → ${childName} (pid ${child.pid})`)
  return child
}

/** do_exit. */
export function* doExit(w: Kernel, t: Task, path: CallPath): Proc<void> {
  const p = [...path, 'do_exit']
  if (t.state !== 'running') return
  t.state = 'exiting'
  w.mark('exit', `${t.name} (pid ${t.pid})`)
  yield sleep(w.costs.exit_base)
  const mm = t.mm
  const soleUser = mm !== null && mm.mm_users === 1
  if (mm) {
    // exit_mm → exit_mm_release → mm_release: a vfork parent waiting on this child wakes up
    mmRelease(w, t, [...p, 'exit_mm', 'exit_mm_release'])
    t.mm = null
    yield* mmput(w, mm, [...p, 'exit_mm'])
  }
  // exit_files
  const files: File[] = [...t.fds.values()]
  const soleHolder = new Set(files.filter((f) => f.f_count === 1))
  if (t.files.count > 1) {
    // put_files_struct: another thread still uses the table (CLONE_FILES); nothing is closed
    t.files.count--
    t.fds = new Map()
    t.tmpfiles = new Map()
    t.cloexec = new Set()
    t.files = { count: 1 }
  }
  for (const [fd, f] of [...t.fds]) {
    t.fds.delete(fd)
    w.ledger.unhold(fdKey(t, fd))
    fput(w, f, t, [...p, 'exit_files', 'put_files_struct', 'close_files'])
  }
  for (const [fd, f] of [...t.tmpfiles]) {
    t.tmpfiles.delete(fd)
    fputTmpfile(w, f, [...p, 'exit_files', 'put_files_struct', 'close_files'])
  }
  t.cloexec.clear()
  // exit_task_work
  for (const f of t.taskWork) {
    if (mm && soleUser && soleHolder.has(f) && mm.releasedAt === null) {
      w.violation('RELEASE_BEFORE_FILES', `${f.label} released before the notifier release of ${mm.label}`, p)
    }
  }
  yield* taskWorkRun(w, t, [...p, 'exit_task_work'])
  t.state = 'dead'
  // a struct file still open elsewhere (inherited by a child) is now held on the child's behalf
  for (const f of files) {
    if (f.released) continue
    for (const o of w.tasks.values()) {
      if (o !== t && o.state === 'running' && [...o.fds.values()].includes(f)) {
        w.ledger.reown(f.ledgerId, o.owner)
        break
      }
    }
  }
  w.count('exit')
  w.ledger.ownerDied(t.owner)
}

/** close(2): fput, and the deferred release runs on return to user space. */
export function* doClose(w: Kernel, t: Task, fd: string, path: CallPath): Proc<number> {
  const tf = t.tmpfiles.get(fd)
  if (tf) {
    t.tmpfiles.delete(fd)
    t.cloexec.delete(fd)
    w.mark('close', `${t.name} closes ${fd}`)
    fputTmpfile(w, tf, [...path, 'close_fd'])
    return 0
  }
  const f = t.fds.get(fd)
  if (!f) return EBADF
  t.fds.delete(fd)
  t.cloexec.delete(fd)
  w.ledger.unhold(fdKey(t, fd))
  w.mark('close', `${t.name} closes ${fd}`)
  fput(w, f, t, [...path, 'close_fd'])
  yield* taskWorkRun(w, t, [...path, 'syscall_exit_to_user_mode'])
  return 0
}

/**
 * clone(2) with CLONE_VM (kernel_clone → copy_process → copy_mm): the child shares the parent's mm,
 * `mmget(oldmm)` instead of dup_mm, so mm_users rises with no second mm. `thread`:
 * CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD (pthread_create) — copy_files
 * with CLONE_FILES takes another reference on the same files_struct, the child joins the parent's
 * thread group. `vfork`: CLONE_VM | CLONE_VFORK — the fd table is copied as fork's (dup_fd) and the
 * parent waits in wait_for_vfork_done until the child's mm_release (execve or exit).
 */
export function* doClone(w: Kernel, parent: Task, childName: string, kind: 'thread' | 'vfork', path: CallPath): Proc<Task> {
  const p = [...path, 'kernel_clone', 'copy_process']
  const child = copyProcess(w, parent, childName)
  if (kind === 'thread') {
    child.fds = parent.fds
    child.tmpfiles = parent.tmpfiles
    child.cloexec = parent.cloexec
    child.files = parent.files
    parent.files.count++
    child.leader = parent.leader ?? parent
  } else dupFd(w, parent, child, p)
  yield sleep(w.costs.fork_base)
  if (parent.mm) {
    mmget(w, parent.mm, [...p, 'copy_mm'])
    child.mm = parent.mm
  }
  w.count(kind === 'thread' ? 'clone.thread' : 'vfork')
  w.mark(
    'fork',
    `${parent.name} → ${childName} (pid ${child.pid}, ${kind === 'thread' ? 'thread: CLONE_VM | CLONE_FILES | CLONE_THREAD' : 'vfork: CLONE_VM | CLONE_VFORK'})`,
  )
  if (kind === 'vfork') {
    child.vforkParent = parent
    parent.vforkWait = new WaitQueue(`vfork_done of ${childName}`)
  }
  return child
}

/** wait_for_vfork_done: a task that vforked runs again once its child exec'd or exited. */
export function* waitForVforkDone(w: Kernel, t: Task): Proc<void> {
  void w
  while (t.vforkWait) yield waitOn(t.vforkWait)
}

/** mm_release → complete_vfork_done: wakes the parent blocked in vfork (exec_mm_release, exit_mm_release). */
function mmRelease(w: Kernel, t: Task, path: CallPath): void {
  const parent = t.vforkParent
  if (!parent) return
  t.vforkParent = null
  const q = parent.vforkWait
  parent.vforkWait = null
  w.log('vfork_done', t.name, path.join(' → '))
  w.mark('vfork_done', `${t.name} releases ${parent.name} from vfork`)
  if (q) w.engine.wakeUpAll(q)
}

/**
 * execve(2) (fs/exec.c): bprm_mm_init allocates the new mm; begin_new_exec kills the other threads
 * of the group (de_thread), closes the close-on-exec fds (do_close_on_exec, which 6.12 runs before
 * exec_mmap), then exec_mmap wakes a vfork parent (exec_mm_release), installs the new mm and
 * mmput()s the old one. Every other fd survives, still pointing at files set up for the
 * old mm. Returns the new mm.
 */
export function* doExecve(w: Kernel, t: Task, path: CallPath): Proc<MmStruct> {
  const p = [...path, 'do_execveat_common', 'bprm_execve']
  const n = w.mms.filter((m) => m.owner === t.owner && m.label.startsWith(`mm of ${t.name} (execve `)).length + 1
  const mm = mmAlloc(w, `mm of ${t.name} (execve ${n})`, t.owner, null, [...p, 'bprm_mm_init'])
  const bp = [...p, 'exec_binprm', 'load_elf_binary', 'begin_new_exec']
  // de_thread: zap_other_threads, then wait for them to exit
  const leader = t.leader ?? t
  for (const o of [...w.tasks.values()]) {
    if (o !== t && o.state === 'running' && (o === leader || o.leader === leader)) yield* doExit(w, o, [...bp, 'de_thread', 'zap_other_threads'])
  }
  t.leader = null
  // do_close_on_exec
  for (const fd of [...t.cloexec]) {
    const f = t.fds.get(fd)
    const tf = t.tmpfiles.get(fd)
    t.cloexec.delete(fd)
    if (f) {
      t.fds.delete(fd)
      w.ledger.unhold(fdKey(t, fd))
      w.mark('close', `${t.name} closes ${fd} (close-on-exec)`)
      fput(w, f, t, [...bp, 'do_close_on_exec', 'filp_close'])
    } else if (tf) {
      t.tmpfiles.delete(fd)
      w.mark('close', `${t.name} closes ${fd} (close-on-exec)`)
      fputTmpfile(w, tf, [...bp, 'do_close_on_exec', 'filp_close'])
    }
  }
  // exec_mmap
  const old = t.mm
  const ep = [...bp, 'exec_mmap']
  if (old) mmRelease(w, t, [...ep, 'exec_mm_release'])
  t.mm = mm
  w.mark('exec', `${t.name} (pid ${t.pid}): ${old ? old.label : 'no mm'} → ${mm.label}`)
  if (old) yield* mmput(w, old, ep)
  w.count('execve')
  // the close-on-exec fputs run on return to user space
  yield* taskWorkRun(w, t, [...path, 'syscall_exit_to_user_mode'])
  return mm
}

/**
 * dup2(2) / dup3(2) (fs/file.c do_dup2): `newfd` names the same struct file (get_file, f_count + 1);
 * a file open as `newfd` is closed first; dup2(fd, fd) does nothing. FD_CLOEXEC is not inherited
 * (dup3 with O_CLOEXEC sets it on the new fd).
 */
export function* doDup(w: Kernel, t: Task, fd: string, newfd: string, cloexec: boolean, path: CallPath): Proc<number> {
  const f = t.fds.get(fd)
  const tf = t.tmpfiles.get(fd)
  if (!f && !tf) return EBADF
  if (fd === newfd) return 0
  const p = [...path, 'do_dup2']
  if (f) getFile(w, f, p)
  else if (tf) {
    w.ledger.access(tf.ledgerId, [...p, 'get_file'], 'get_file')
    w.ledger.getRef(tf.ledgerId, tf, 'f_count', 'get_file')
  }
  if (t.fds.has(newfd) || t.tmpfiles.has(newfd)) {
    const r = yield* doClose(w, t, newfd, p)
    if (r < 0) return EINVAL
  }
  if (f) {
    t.fds.set(newfd, f)
    w.ledger.hold(fdKey(t, newfd), f.ledgerId, null, `${t.name}'s fd ${newfd}`)
  } else if (tf) t.tmpfiles.set(newfd, tf)
  if (cloexec) t.cloexec.add(newfd)
  else t.cloexec.delete(newfd)
  w.mark('dup', `${t.name}: ${newfd} = dup(${fd})`)
  return 0
}
