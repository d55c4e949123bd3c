/**
 * Tasks: spawn (a new process with a fresh mm), fork (copy_process: dup_fd, dup_mm/dup_mmap with
 * copy_page_range COW and a PROTECTION_PAGE invalidation of the parent per COW VMA, flush_tlb_mm),
 * do_exit in the kernel's order (exit_mm → mmput, exit_files → fput, exit_task_work → __fput →
 * f_op->release), close(2).
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { cpuTlbFlushCost, ptTablesCost } from '../cost/model'
import { EBADF } from './errno'
import { SIZEOF, Task, Vma, type File } from './objects'
import { mmAlloc, mmput } from './mm'
import { fput, fputTmpfile, getFile, taskWorkRun } from './files'
import { ALL_PAGES, archInvalidateSecondaryTlbs, invalidateRangeEnd, invalidateRangeStart } from './notifier'
import { PTE_COW, PTE_DEVPRIV, PTE_EXCL, PTE_WRITE, PTE_ZERO } from './pagetable'

/** A new process with its own mm (execve of a fresh program). */
export function spawnTask(w: Kernel, name: string, path: CallPath): Task {
  const owner = w.ledger.addOwner(`task ${name}`)
  const t = new Task(w.pid(), name, owner, null)
  t.mm = mmAlloc(w, `mm of ${name}`, owner, null, [...path, 'bprm_mm_init'])
  w.tasks.set(name, t)
  w.mark('spawn', `${name} (pid ${t.pid})`)
  return t
}

/** fork(2). */
export function* doFork(w: Kernel, parent: Task, childName: string, path: CallPath): Proc<Task> {
  const p = [...path, 'kernel_clone', 'copy_process']
  const owner = w.ledger.addOwner(`task ${childName}`)
  const child = new Task(w.pid(), childName, owner, parent)
  w.tasks.set(childName, child)
  // copy_files → dup_fd: the same struct file, f_count++
  for (const [fd, f] of parent.fds) {
    getFile(w, f, [...p, 'copy_files', 'dup_fd'])
    child.fds.set(fd, f)
  }
  for (const [fd, f] of parent.tmpfiles) {
    w.ledger.access(f.ledgerId, [...p, 'copy_files', 'dup_fd', 'get_file'], 'get_file')
    f.f_count++
    child.tmpfiles.set(fd, f)
  }
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
      const id = w.ledger.alloc('vma', SIZEOF.vm_area_struct, owner, `vma of ${mm.label}`, [...dp, 'dup_mmap', 'vm_area_dup'])
      const nv = new Vma(v.start, v.end, v.prot, v.shared, v.file, v.huge, id, v.shmem, v.pgoff)
      nv.hugetlb = v.hugetlb
      nv.mixedmap = v.mixedmap
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
        (pfn) => fr.get(pfn),
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
    if (seen !== cowVmas) w.violation('FORK_NO_SUBSCRIPTIONS', `parent saw ${seen} PROTECTION_PAGE invalidations for ${cowVmas} COW VMAs that needed a copy`, dp)
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
    t.mm = null
    yield* mmput(w, mm, [...p, 'exit_mm'])
  }
  // exit_files
  const files: File[] = [...t.fds.values()]
  const soleHolder = new Set(files.filter((f) => f.f_count === 1))
  for (const [fd, f] of [...t.fds]) {
    t.fds.delete(fd)
    fput(w, f, t, [...p, 'exit_files', 'put_files_struct', 'close_files'])
  }
  for (const [fd, f] of [...t.tmpfiles]) {
    t.tmpfiles.delete(fd)
    fputTmpfile(w, f, [...p, 'exit_files', 'put_files_struct', 'close_files'])
  }
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
    w.mark('close', `${t.name} closes ${fd}`)
    fputTmpfile(w, tf, [...path, 'close_fd'])
    return 0
  }
  const f = t.fds.get(fd)
  if (!f) return EBADF
  t.fds.delete(fd)
  w.mark('close', `${t.name} closes ${fd}`)
  fput(w, f, t, [...path, 'close_fd'])
  yield* taskWorkRun(w, t, [...path, 'syscall_exit_to_user_mode'])
  return 0
}
