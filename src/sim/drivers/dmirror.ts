/**
 * Device access paths shared by the drivers, following lib/test_hmm.c (dmirror):
 * dmirror_fault (mmget_not_zero, 64-page hmm_range_fault chunks, read_begin / read_retry, the
 * HMM_RANGE_DEFAULT_TIMEOUT retry budget), the READ / WRITE ioctl loops with `cpages` and
 * `faults`, MIGRATE_TO_DEV / MIGRATE_TO_SYS, SNAPSHOT (temporary interval notifier, protection
 * bytes), EXCLUSIVE / CHECK_EXCLUSIVE and RELEASE. The SVA path is drivers/iommu-sva.ts.
 */
import { sleep, waitOn, WaitQueue, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { Mirror } from './mirror'
import {
  DPTE_ATOMIC,
  DPTE_PRESENT,
  DPTE_WRITE,
  PTE_DEVPRIV,
  PTE_EXCL,
  PTE_PRESENT,
  PTE_SWAP,
  PTE_WRITE,
  PTE_ZERO,
  RadixPt,
  type PteTable,
} from '../kernel/pagetable'
import { PROT_READ, PROT_WRITE, type MmStruct } from '../kernel/objects'
import { withMmapReadLock } from '../kernel/mmap_lock'
import { findVma } from '../kernel/vma'
import { splitLeaf } from '../kernel/huge_memory'
import { makeDeviceExclusiveRange } from '../kernel/rmap'
import { folioUnlock } from '../kernel/filemap'
import { collectSplitThp } from '../kernel/thp'
import { kernelHas } from '../kernel/version'
import { EBUSY, EFAULT, EINVAL, ENOENT, ENOMEM, EPERM } from '../kernel/errno'
import { mmput } from '../kernel/mm'
import { mmgetNotZero, heirOwner } from '../kernel/mm-ref'
import {
  ALL_PAGES,
  invalidateRangeEnd,
  invalidateRangeStart,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalSetSeq,
} from '../kernel/notifier'
import { cpuTlbFlushCost } from '../cost/model'
import { migrateDeviceToRam, noteDeviceAlloc } from '../kernel/migrate-device'
import { hmmRangeFault, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_DEVPRIV, HMM_PFN_HUGE, HMM_PFN_ERROR, HMM_PFN_ZERO } from '../kernel/hmm'
import { HPAGE_PMD_NR, PAGE_SIZE } from '../kernel/page'

/** Result of a device ioctl, with the hmm_dmirror_cmd out fields. */
export interface DeviceOpResult {
  ret: number
  cpages: number
  faults: number
  /** SNAPSHOT bytes (HMM_DMIRROR_PROT_*), only for snapshot. */
  snapshot?: number[]
}

/**
 * Pages per hmm_range_fault of dmirror_fault and per SNAPSHOT chunk: the length of test_hmm's pfns
 * arrays, 64, or 32 since "lib/test_hmm: reduce stack usage" (kernel/version.ts).
 */
export function dmirrorArrayPages(w: Kernel): number {
  return kernelHas(w, 'dmirror_32_page_arrays') ? 32 : 64
}

/**
 * Pages per migrate_vma_setup of MIGRATE_TO_DEV / MIGRATE_TO_SYS (src_pfns): PTRS_PER_PTE since the
 * device THP series, else the pfns array length.
 */
export function dmirrorMigratePages(w: Kernel): number {
  return kernelHas(w, 'dmirror_migrate_ptrs_per_pte') ? HPAGE_PMD_NR : dmirrorArrayPages(w)
}

/**
 * Rounds in a row of a driver fault handler that says "handled" while the access still finds no
 * usable entry, before the model declares a livelock (KFD's svm_range_restore_pages for a process
 * or mm that is gone; see dmirrorReadWrite).
 */
const LIVELOCK_ROUNDS = 64

/**
 * Replayed GPU faults in a row (a driver fault handler answering 1: dropped after a racing
 * invalidation, replay) before the model declares a livelock: each replay is a new fault with a new
 * notifier sequence, so only an invalidation storm denser than one fault's duration gets here.
 */
const REPLAY_ROUNDS = 4096

/** Installs hmm_range_fault output into the device page table (huge leaves for GPUs). */
export function installRange(w: Kernel, m: Mirror, start: number, end: number, out: Uint8Array, pfns: Int32Array): void {
  const huge = m.dev.spec.kind === 'gpu'
  const pt = m.pt
  for (let pg = start; pg < end;) {
    const i = pg - start
    const o = out[i] as number
    if (huge && o & HMM_PFN_HUGE && (pg & (HPAGE_PMD_NR - 1)) === 0 && pg + HPAGE_PMD_NR <= end) {
      pt.setHuge(pg, DPTE_PRESENT | (o & HMM_PFN_WRITE ? DPTE_WRITE : 0), pfns[i] as number)
      pg += HPAGE_PMD_NR
      continue
    }
    // the rest of this 2 MiB block with 4 KiB entries, written straight into its PTE table
    const stop = Math.min(end, pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR)
    let t: PteTable | undefined
    for (; pg < stop; pg++) {
      const oo = out[pg - start] as number
      if (!(oo & HMM_PFN_VALID)) continue
      if (!t) t = pt.ensurePteTable(pg)
      RadixPt.put(pt, t, pg, DPTE_PRESENT | (oo & HMM_PFN_WRITE ? DPTE_WRITE : 0), pfns[pg - start] as number)
    }
  }
  w.count('device_pte_installs', end - start)
}

/**
 * dmirror_fault: takes an mm_users reference first and fails with -EFAULT if the mm is already
 * dead (`if (!mmget_not_zero(mm)) return -EFAULT;`, lib/test_hmm.c in 6.12 and mainline), then
 * faults [start, end) in `faultChunkPages` pieces (dmirror_range_fault), stopping at the first
 * error.
 */
function* dmirrorFault(w: Kernel, m: Mirror, start: number, end: number, write: boolean, path: CallPath): Proc<number> {
  const p = [...path, 'dmirror_fault']
  const mm = m.mm
  if (!mmgetNotZero(w, mm, p)) return EFAULT
  const chunk = Math.max(1, m.dev.spec.faultChunkPages)
  const { out, pfns } = m.scratch(chunk)
  const owned = !m.busy
  m.busy = true
  let ret = 0
  const rp = [...p, 'dmirror_range_fault', 'hmm_range_fault']
  for (let addr = start; addr < end && ret === 0;) {
    const next = Math.min(end, addr + chunk)
    const deadline = w.engine.now + w.costs.hmm_timeout
    for (;;) {
      if (w.engine.now > deadline) {
        ret = EBUSY
        w.count('hmm_range_fault.timeout')
        break
      }
      const seq = yield* m.readBegin()
      // dmirror_range_fault: hmm_range_fault under mmap_read_lock
      const r = yield* withMmapReadLock(w, mm, hmmRangeFault(w, m, addr, next, write, true, seq, out, pfns, rp))
      if (r === EBUSY) continue
      if (r < 0) {
        ret = r
        break
      }
      if (m.readRetry(seq)) {
        w.count('mmu_interval_read_retry')
        continue
      }
      if (!m.alive) {
        // a mirror torn down while its fault ran cannot be faulted into. Not reachable in
        // test_hmm: struct dmirror lives until dmirror_fops_release, which the ioctl's file
        // reference holds off, and a teardown at the mm's release cannot run while this fault
        // holds mm_users. A model design that did it anyway ends the access here instead of
        // letting dmirror_read round for ever.
        ret = EFAULT
        break
      }
      installRange(w, m, addr, next, out, pfns)
      break
    }
    addr = next
  }
  if (owned) m.busy = false
  yield* mmput(w, mm, p)
  return ret
}

/** Data moved by READ (into `out`, indexed from the ioctl start) or WRITE (from `src`). */
export interface DataIo {
  base: number
  out?: Int32Array
  src?: (page: number) => number
}

/** dmirror_do_read / do_write: copies consecutive usable device entries from `start`. */
function doAccess(w: Kernel, m: Mirror, start: number, end: number, write: boolean, io?: DataIo): { n: number; cost: number } {
  const c = w.costs
  let n = 0
  let cost = 0
  if (m.mm.releasedAt !== null && m.pt.present > 0) w.violation('NO_ACCESS_AFTER_RELEASE', `${m.dev.name} reads a mapping of ${m.mm.label} after its release`)
  const fr = w.frames
  const tlb = m.dev.tlb
  outer: for (let pg = start; pg < end;) {
    const bs = m.pt.blockState(pg)
    if (bs === 0) break
    if (bs === 1) {
      const f = m.pt.get(pg)
      if (!(f & DPTE_PRESENT) || (write && !(f & DPTE_WRITE))) break
      const stop = Math.min(end, pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR)
      // one TLB entry per 2 MiB device mapping
      if (!tlb.lookup(m.id, pg - (pg & (HPAGE_PMD_NR - 1)))) cost += c.gpu_ptw
      if (io) {
        const pfn = m.pt.pfn(pg)
        for (let q = pg; q < stop; q++) {
          if (io.out) io.out[q - io.base] = fr.read(pfn, q & (HPAGE_PMD_NR - 1))
          if (io.src) fr.write(pfn, q & (HPAGE_PMD_NR - 1), io.src(q))
        }
      }
      n += stop - pg
      pg = stop
      continue
    }
    const t = m.pt.pteTable(pg) as PteTable
    const stop = Math.min(end, pg - (pg & (HPAGE_PMD_NR - 1)) + HPAGE_PMD_NR)
    const tf = t.flags
    for (; pg < stop; pg++) {
      const f = tf[pg & (HPAGE_PMD_NR - 1)] as number
      if (!(f & DPTE_PRESENT) || (write && !(f & DPTE_WRITE))) break outer
      if (!tlb.lookup(m.id, pg)) cost += c.gpu_ptw
      if (io) {
        const pfn = t.pfn[pg & (HPAGE_PMD_NR - 1)] as number
        if (io.out) io.out[pg - io.base] = fr.read(pfn, pg & (HPAGE_PMD_NR - 1))
        if (io.src) fr.write(pfn, pg & (HPAGE_PMD_NR - 1), io.src(pg))
      }
      n++
    }
  }
  cost += n * c.device_access_page
  return { n, cost }
}

/**
 * HMM_DMIRROR_READ / HMM_DMIRROR_WRITE: dmirror_read / dmirror_write loop {dmirror_do_read /
 * dmirror_do_write copies the consecutive usable device entries (-ENOENT at the first missing
 * one); dmirror_fault from there to the end; `if (ret) break;`; `cmd->faults++`} until the range
 * is copied. An error of dmirror_fault (-EFAULT once the mm is dead: mmget_not_zero fails;
 * hmm_range_fault's -EFAULT / -EPERM; dmirror_range_fault's -EBUSY after
 * HMM_RANGE_DEFAULT_TIMEOUT) ends the ioctl with that error, the pages copied so far in
 * `cmd->cpages` and the failed fault not counted in `cmd->faults`.
 */
export function* dmirrorReadWrite(w: Kernel, m: Mirror, start: number, end: number, write: boolean, path: CallPath, io?: DataIo): Proc<DeviceOpResult> {
  const p = [...path, write ? 'dmirror_write' : 'dmirror_read']
  let addr = start
  let cpages = 0
  let faults = 0
  let stuck = 0
  let replays = 0
  for (;;) {
    const a = doAccess(w, m, addr, end, write, io)
    if (a.cost > 0) yield sleep(a.cost)
    cpages += a.n
    addr += a.n
    if (addr >= end) return { ret: 0, cpages, faults }
    // the driver's own fault handler (KFD's svm_range_restore_pages for a D4 GPU), else test_hmm's
    const r = m.deviceFault ? yield* m.deviceFault(addr, write, p) : yield* dmirrorFault(w, m, addr, end, write, p)
    if (r < 0) return { ret: r, cpages, faults }
    faults++
    // a GPU pays a replayable far fault per round; the dmirror ioctl path does not
    if (m.dev.spec.kind === 'gpu') yield sleep(w.costs.device_fault)
    if (r === 1 && a.n === 0) {
      // the fault was dropped for a racing invalidation and the GPU replays the access
      if (++replays <= REPLAY_ROUNDS) continue
      w.finding({
        kind: 'livelock',
        message: `${write ? 'write' : 'read'} by ${m.label} makes no progress: ${REPLAY_ROUNDS} GPU faults in a row were dropped because an invalidation hit the range while it was being faulted; the model stopped following it and the access stays pending`,
        accessPath: p,
      })
      yield waitOn(new WaitQueue(`${m.label}: GPU fault replay livelock`))
    }
    replays = 0
    // test_hmm's own loop cannot livelock (6.12 and mainline): a successful dmirror_fault has
    // installed every page of [addr, end) (hmm_range_fault with HMM_PFN_REQ_FAULT maps each page
    // or fails; dmirror_do_fault stores each one), so the next dmirror_do_read copies at least
    // one page, unless an invalidation erased them in between (dmirror_interval_invalidate →
    // dmirror_do_update, between dmirror_do_fault's mutex_unlock and dmirror_do_read's
    // mutex_lock): then it faults again, for as long as such invalidations keep coming, as the
    // kernel does. Only a driver fault handler can answer "handled" without mapping anything:
    // KFD's svm_range_restore_pages returns 0 when kfd_lookup_process_by_pasid finds no process
    // or get_task_mm no mm, and the GPU replays the access into the same missing entry for ever.
    stuck = a.n === 0 && m.deviceFault ? stuck + 1 : 0
    if (stuck > LIVELOCK_ROUNDS) {
      w.finding({
        kind: 'livelock',
        message: `${write ? 'write' : 'read'} by ${m.label} never completes: the driver's fault handler (svm_range_restore_pages) reports the fault handled without mapping the page${m.mm.mm_users === 0 ? ' (the mm is dead)' : ''}; the model stopped following it after ${faults} faults and the access stays pending`,
        accessPath: p,
      })
      yield waitOn(new WaitQueue(`${m.label}: device fault livelock`))
    }
  }
}

/**
 * migrate_vma_pages (__migrate_device_pages) meeting the first entry with no source page (a hole or
 * the zero page, which migrate_vma_insert_page fills): one MIGRATE, owner the device, from that
 * page to the end of the chunk, before the insertions (6.12 and mainline).
 */
function* migrateVmaPagesInsert(w: Kernel, mm: MmStruct, start: number, end: number, dev: number, path: CallPath): Proc<void> {
  const r = { mm, start, end, event: 'MIGRATE' as const, blockable: true, owner: dev }
  yield* invalidateRangeStart(w, r, [...path, 'migrate_vma_pages', '__migrate_device_pages'])
  yield* invalidateRangeEnd(w, r, path)
}

/** HMM_DMIRROR_MIGRATE_TO_DEV. */
export function* dmirrorMigrateToDev(w: Kernel, m: Mirror, start: number, end: number, path: CallPath, io?: DataIo): Proc<DeviceOpResult> {
  const p = [...path, 'dmirror_migrate_to_device']
  const mm = m.mm
  if (!mmgetNotZero(w, mm, p)) return { ret: EINVAL, cpages: 0, faults: 0 }
  let ret = 0
  const dev = m.dev
  for (let addr = start; addr < end && ret === 0;) {
    const v = findVma(mm, addr)
    if (!v || (v.prot & PROT_READ) === 0) {
      ret = EINVAL
      break
    }
    if (v.hugetlb) {
      // migrate_vma_setup refuses hugetlb VMAs
      ret = EINVAL
      break
    }
    // a THP-eligible 2 MiB hole is collected as one compound entry too (migrate_vma_collect_hole
    // with MIGRATE_VMA_SELECT_COMPOUND)
    const hole = v.huge && !v.shmem && mm.pt.blockState(addr) === 0
    const deviceThp = kernelHas(w, 'device_private_thp')
    if (deviceThp && (addr & (HPAGE_PMD_NR - 1)) === 0 && addr + HPAGE_PMD_NR <= Math.min(end, v.end) && !v.shared && (mm.pt.isHuge(addr) || hole)) {
      // device-private THP (2025 series): a PMD-mapped anonymous THP migrates as one folio
      const f = hole ? 0 : mm.pt.get(addr)
      const old = hole ? -1 : mm.pt.pfn(addr)
      const whole = hole || (!(f & (PTE_DEVPRIV | PTE_EXCL)) && (f & PTE_ZERO || (w.frames.refcount[old] as number) === 1))
      // HMM_DMIRROR_FLAG_FAIL_ALLOC is consumed by the next allocation (dmirror_migrate_alloc_and_copy
      // clears it): the THP allocation fails and the folio falls back to 4 KiB device pages below
      if (whole && m.failAlloc) {
        m.failAlloc = false
        w.count('migrate_to_device.thp_fallback')
      } else if (whole && dmirrorThpFolio(dev) && dev.vramUsed + (2 << 20) <= dev.spec.vramBytes) {
        // (a coherent device without free folios takes the THP as 512 order-0 pages below)
        noteChunk(dev, true)
        const r = { mm, start: addr, end: addr + HPAGE_PMD_NR, event: 'MIGRATE' as const, blockable: true, owner: dev.idx }
        yield* invalidateRangeStart(w, r, [...p, 'migrate_vma_setup'])
        const writable = hole || f & PTE_ZERO ? (v.prot & PROT_WRITE) !== 0 : (f & PTE_WRITE) !== 0
        const np = w.frames.alloc(9, mm.owner, dev.idx + 1)
        noteDeviceAlloc(w, np)
        if (!hole && !(f & PTE_ZERO)) {
          w.frames.copy(np, old)
          w.frames.put(old, mm.owner, heirOwner(mm))
        }
        // DEVICE_PRIVATE: a device-private PMD entry; DEVICE_COHERENT: a present PMD the CPU uses
        mm.pt.setHuge(addr, (dev.spec.coherent ? PTE_PRESENT : PTE_DEVPRIV) | (writable ? PTE_WRITE : 0), np)
        const t = m.pt.ensurePteTable(addr)
        for (let pg = addr; pg < addr + HPAGE_PMD_NR; pg++) RadixPt.put(m.pt, t, pg, DPTE_PRESENT | (writable ? DPTE_WRITE : 0), np)
        yield* invalidateRangeEnd(w, r, [...p, 'migrate_vma_finalize'])
        // no source folio (a hole, the huge zero page): migrate_vma_pages inserts the new one
        if (hole || f & PTE_ZERO) yield* migrateVmaPagesInsert(w, mm, addr, addr + HPAGE_PMD_NR, dev.idx, p)
        yield sleep(HPAGE_PMD_NR * w.costs.migrate_page + cpuTlbFlushCost(w.costs, HPAGE_PMD_NR))
        w.count('migrate_to_device.thp')
        addr += HPAGE_PMD_NR
        continue
      }
    }
    const next = Math.min(end, v.end, addr + dmirrorMigratePages(w))
    // split THP leaves the chunk covers only partly (or that cannot move as one folio)
    if (deviceThp) for (let pg = addr; pg < next; pg++) if (mm.pt.isHuge(pg)) splitLeaf(w, mm, pg - (pg & (HPAGE_PMD_NR - 1)), true)
    const r = { mm, start: addr, end: next, event: 'MIGRATE' as const, blockable: true, owner: dev.idx }
    yield* invalidateRangeStart(w, r, [...p, 'migrate_vma_setup'])
    // without device-private THPs, migrate_vma_collect_pmd splits every PMD leaf the chunk touches
    // before collecting its pages, inside the MIGRATE
    if (!deviceThp && !v.shared)
      for (let hb = addr - (addr & (HPAGE_PMD_NR - 1)); hb < next; hb += HPAGE_PMD_NR) if (mm.pt.isHuge(hb)) yield* collectSplitThp(w, mm, hb, p)
    let moved = 0
    // the first page migrate_vma_pages inserts without a source page (a hole or the zero page)
    let firstInsert = -1
    if (!v.shared) {
      for (let pg = addr; pg < next; pg++) {
        const f = mm.pt.get(pg)
        // migrate_vma_collect_pmd: a swap entry is not collected (only device-private ones are)
        if (f & (PTE_DEVPRIV | PTE_EXCL | PTE_SWAP)) continue
        // migrate_vma_collect_hole: a hole of a file-backed VMA is not collected
        if (f === 0 && v.shmem) continue
        let writable = (v.prot & PROT_WRITE) !== 0
        if (f & PTE_PRESENT && !(f & PTE_ZERO)) {
          const old = mm.pt.pfn(pg)
          if ((w.frames.refcount[old] as number) > 1) continue
          // a page of a large folio mapped by PTEs: split off and migrated, or (before the device
          // THP series) not collected: PageTransCompound, "FIXME support THP"
          if ((w.frames.inLargeFolio[old] as number) !== 0 && !kernelHas(w, 'migrate_split_pte_mapped_folio')) continue
          // MIGRATE_VMA_SELECT_SYSTEM does not select device (coherent) pages
          if ((w.frames.dev[old] as number) !== 0) continue
          writable = (f & PTE_WRITE) !== 0
        }
        if (dev.vramUsed + PAGE_SIZE > dev.spec.vramBytes) break
        // a coherent chunk carved into folios has no order-0 page: the page is not migrated
        // (dmirror_migrate_alloc_and_copy: `if (!dpage) ... goto next`)
        if (!dmirrorPage(dev)) continue
        if (m.failAlloc) {
          // a failed order-0 allocation: dmirror_migrate_alloc_and_copy returns -ENOMEM
          m.failAlloc = false
          ret = ENOMEM
          break
        }
        const np = w.frames.alloc(0, mm.owner, dev.idx + 1)
        noteDeviceAlloc(w, np)
        noteChunk(dev, false)
        if (f & PTE_PRESENT && !(f & PTE_ZERO)) {
          const old = mm.pt.pfn(pg)
          w.frames.copy(np, old)
          w.frames.put(old, mm.owner, heirOwner(mm))
        }
        // DEVICE_PRIVATE: a device-private swap entry; DEVICE_COHERENT: a present PTE the CPU uses directly
        mm.pt.set(pg, (dev.spec.coherent ? PTE_PRESENT : PTE_DEVPRIV) | (writable ? PTE_WRITE : 0), np)
        m.pt.set(pg, DPTE_PRESENT | (writable ? DPTE_WRITE : 0), np)
        moved++
        if (firstInsert < 0 && (f === 0 || f & PTE_ZERO)) firstInsert = pg
      }
    }
    const tlb = cpuTlbFlushCost(w.costs, next - addr)
    yield* invalidateRangeEnd(w, r, [...p, 'migrate_vma_finalize'])
    if (firstInsert >= 0) yield* migrateVmaPagesInsert(w, mm, firstInsert, next, dev.idx, p)
    yield sleep(moved * w.costs.migrate_page + tlb)
    w.count('migrate_to_device.pages', moved)
    addr = next
  }
  yield* mmput(w, mm, p)
  if (ret < 0) return { ret, cpages: 0, faults: 0 }
  const a = doAccess(w, m, start, end, false, io)
  if (a.n < end - start) return { ret: ENOENT, cpages: a.n, faults: 0 }
  return { ret: 0, cpages: a.n, faults: 0 }
}

/**
 * How test_hmm (mainline, with the device THP series) has carved a device's memory into its two
 * free lists, `free_pages` (order 0) and `free_folios` (order 9). dmirror_allocate_chunk builds a
 * chunk for the allocation that needs it: whole folios when that one is a THP (`is_large`), else
 * single pages. A DEVICE_PRIVATE device adds a chunk whenever a list runs dry, so it always finds
 * both. A DEVICE_COHERENT device has one chunk only, its reserved SPM range: dmirror_device_init
 * builds it at load as single pages (`dmirror_allocate_chunk(mdevice, NULL, false)`), and a second
 * dmirror_allocate_chunk remaps the same range, which memremap_pages refuses (pagemap_range:
 * "Conflicting mapping in same section", -ENOMEM). So a coherent device hands out no THP folio
 * (dmirror_migrate_alloc_and_copy falls back to 512 order-0 pages) until HMM_DMIRROR_RELEASE
 * (dmirror_device_remove_chunks) drops the chunk: the next allocation rebuilds it, as folios if it
 * is a THP, and from then on no order-0 page is left.
 */
type CoherentChunk = 'pages' | 'folios' | 'none'
const coherentChunks = new WeakMap<Device, CoherentChunk>()

function coherentChunk(dev: Device): CoherentChunk {
  return coherentChunks.get(dev) ?? 'pages'
}

/**
 * dmirror_devmem_alloc_page(dmirror, true) can hand out an order-9 folio on `dev`: the one predicate
 * for device THP folios on the way to the device (a kernel-version rule can gate it: 6.12's
 * test_hmm has no THP folios at all).
 */
export function dmirrorThpFolio(dev: Device): boolean {
  return !dev.spec.coherent || coherentChunk(dev) !== 'pages'
}

/** dmirror_devmem_alloc_page(dmirror, false) can hand out an order-0 page on `dev`. */
function dmirrorPage(dev: Device): boolean {
  return !dev.spec.coherent || coherentChunk(dev) !== 'folios'
}

/** An allocation of `large` succeeded: a coherent chunk rebuilt after RELEASE takes its layout. */
function noteChunk(dev: Device, large: boolean): void {
  if (dev.spec.coherent && coherentChunk(dev) === 'none') coherentChunks.set(dev, large ? 'folios' : 'pages')
}

/** HMM_DMIRROR_MIGRATE_TO_SYS. */
export function* dmirrorMigrateToSys(w: Kernel, m: Mirror, start: number, end: number, path: CallPath): Proc<DeviceOpResult> {
  const p = [...path, 'dmirror_migrate_to_system']
  const mm = m.mm
  if (!mmgetNotZero(w, mm, p)) return { ret: EINVAL, cpages: 0, faults: 0 }
  // under mmap_read_lock, dmirrorMigratePages at a time (src_pfns), each chunk inside one VMA:
  // a hole or a VMA without VM_READ ends the ioctl with -EINVAL (vma_lookup, VM_READ)
  let ret = 0
  let n = 0
  yield* withMmapReadLock(
    w,
    mm,
    (function* (): Proc<number> {
      for (let addr = start; addr < end;) {
        const v = findVma(mm, addr)
        if (!v || addr < v.start || (v.prot & PROT_READ) === 0) {
          ret = EINVAL
          break
        }
        const next = Math.min(end, addr + dmirrorMigratePages(w), v.end)
        n += yield* migrateDeviceToRam(w, m.dev.idx, mm, addr, next, p, m)
        addr = next
        if (m.allocOom) {
          // dmirror_devmem_fault_alloc_and_copy failed (VM_FAULT_OOM): migrate_vma_finalize,
          // ret = -ENOMEM; the ioctl returns it and copies no cpages back
          m.allocOom = false
          ret = ENOMEM
          break
        }
      }
      return 0
    })(),
  )
  yield* mmput(w, mm, p)
  if (ret < 0) return { ret, cpages: 0, faults: 0 }
  return { ret: 0, cpages: n, faults: 0 }
}

/** HMM_DMIRROR_RELEASE: evicts all device memory of the device back to system memory. */
export function* dmirrorReleaseDevmem(w: Kernel, m: Mirror, path: CallPath): Proc<DeviceOpResult> {
  const n = yield* dmirrorEvictDevice(w, m.dev.idx, path)
  // dmirror_device_remove_chunks: memunmap_pages of every chunk, both free lists emptied
  if (m.dev.spec.coherent) coherentChunks.set(m.dev, 'none')
  return { ret: 0, cpages: n, faults: 0 }
}

/**
 * dmirror_device_evict_chunk over every chunk of device `dev` (index): each device page still
 * mapped anywhere goes back to system memory (migrate_device_range: one CLEAR per page or folio,
 * owner NULL). HMM_DMIRROR_RELEASE does it, and so does dmirror_fops_release on every close of a
 * dmirror file, after removing the file's interval notifier (since "lib: test_hmm: evict device
 * pages on file close", v6.1; 6.12 and mainline). Returns the pages evicted.
 */
export function* dmirrorEvictDevice(w: Kernel, dev: number, path: CallPath): Proc<number> {
  let n = 0
  for (const mm of w.mms) {
    if (mm.phase === 'freed' || mm.phase === 'released') continue
    n += yield* migrateDeviceToRam(w, dev, mm, 0, ALL_PAGES, [...path, 'dmirror_device_evict_chunk'], null, true)
  }
  return n
}

const PROT_BYTE = {
  ERROR: 0xff,
  NONE: 0x00,
  READ: 0x01,
  WRITE: 0x02,
  PMD: 0x04,
  PUD: 0x08,
  ZERO: 0x10,
  DEV_PRIVATE_LOCAL: 0x20,
  DEV_PRIVATE_REMOTE: 0x30,
  DEV_COHERENT_LOCAL: 0x40,
  DEV_COHERENT_REMOTE: 0x50,
} as const

/** HMM_DMIRROR_SNAPSHOT: protection byte per page, via a temporary interval notifier per chunk. */
export function* dmirrorSnapshot(w: Kernel, m: Mirror, start: number, end: number, path: CallPath): Proc<DeviceOpResult> {
  const p = [...path, 'dmirror_snapshot']
  const mm = m.mm
  if (!mmgetNotZero(w, mm, p)) return { ret: EINVAL, cpages: 0, faults: 0 }
  const bytes: number[] = []
  const chunk = dmirrorArrayPages(w)
  const out = new Uint8Array(chunk)
  const pfns = new Int32Array(chunk)
  let ret = 0
  for (let addr = start; addr < end;) {
    const next = Math.min(end, addr + chunk)
    const sub = mmuIntervalNotifierInsert(w, mm, addr, next, { invalidate: (_w, s, _r, cur) => (mmuIntervalSetSeq(s, cur), 0) }, m.mm.ledgerId, p)
    if (typeof sub === 'number') {
      ret = sub
      break
    }
    // dmirror_range_snapshot: mmu_interval_read_begin (sleeps while an invalidation of the
    // temporary interval is in progress), hmm_range_fault under mmap_read_lock, read_retry; a
    // retry past HMM_RANGE_DEFAULT_TIMEOUT (jiffies + 1000 ms) ends the ioctl with -EBUSY
    const deadline = w.engine.now + w.costs.hmm_timeout
    for (;;) {
      if (w.engine.now > deadline) {
        ret = EBUSY
        w.count('dmirror_snapshot.timeout')
        break
      }
      const seq = yield* mmuIntervalReadBegin(w, sub)
      const saved = m.interval
      m.interval = sub
      const r = yield* withMmapReadLock(w, mm, hmmRangeFault(w, m, addr, next, false, false, seq, out, pfns, p))
      m.interval = saved
      if (r === EBUSY) continue
      if (r < 0) ret = r
      break
    }
    yield* mmuIntervalNotifierRemove(w, sub, p)
    if (ret < 0) break
    for (let i = 0; i < next - addr; i++) {
      const o = out[i] as number
      let b: number
      if (o & HMM_PFN_ERROR) b = PROT_BYTE.ERROR
      else if (!(o & HMM_PFN_VALID)) b = PROT_BYTE.NONE
      else {
        b = 0
        const fdev = w.frames.dev[pfns[i] as number] as number
        if (o & HMM_PFN_DEVPRIV) b = PROT_BYTE.DEV_PRIVATE_LOCAL
        else if (fdev !== 0 && w.pgmaps[fdev - 1]?.type === 'coherent')
          b = fdev - 1 === m.dev.idx ? PROT_BYTE.DEV_COHERENT_LOCAL : PROT_BYTE.DEV_COHERENT_REMOTE
        else if (o & HMM_PFN_ZERO) b = PROT_BYTE.ZERO
        b |= o & HMM_PFN_WRITE ? PROT_BYTE.WRITE : PROT_BYTE.READ
        if (o & HMM_PFN_HUGE) b |= PROT_BYTE.PMD
      }
      bytes.push(b)
    }
    addr = next
  }
  yield* mmput(w, mm, p)
  if (ret < 0) return { ret, cpages: 0, faults: 0 }
  return { ret: 0, cpages: bytes.length, faults: 0, snapshot: bytes }
}

/**
 * dmirror_atomic_map: stores each page made exclusive into the device page table with the ATOMIC
 * tag. Returns the pages mapped.
 */
function dmirrorAtomicMap(m: Mirror, start: number, end: number, pages: Int32Array): number {
  let mapped = 0
  for (let pg = start; pg < end; pg++) {
    const pfn = pages[pg - start] as number
    if (pfn < 0) continue
    m.pt.set(pg, DPTE_PRESENT | DPTE_WRITE | DPTE_ATOMIC, pfn)
    mapped++
  }
  return mapped
}

/**
 * HMM_DMIRROR_EXCLUSIVE (dmirror_exclusive): under mmap_read_lock, 64 pages at a time,
 * make_device_exclusive_range (kernel/rmap.ts) and, only if every page of the chunk was made
 * exclusive, dmirror_atomic_map; then the pages are unlocked. A chunk not wholly mapped ends the
 * ioctl with -EBUSY; otherwise the range is read back through the device (dmirror_do_read).
 */
export function* dmirrorExclusive(w: Kernel, m: Mirror, start: number, end: number, path: CallPath, io?: DataIo): Proc<DeviceOpResult> {
  const p = [...path, 'dmirror_exclusive']
  const mm = m.mm
  if (!mmgetNotZero(w, mm, p)) return { ret: EINVAL, cpages: 0, faults: 0 }
  const pages = new Int32Array(64)
  const ret = yield* withMmapReadLock(
    w,
    mm,
    (function* (): Proc<number> {
      for (let addr = start; addr < end;) {
        const next = Math.min(end, addr + 64)
        const n = yield* makeDeviceExclusiveRange(w, mm, addr, next, pages, -1, p)
        if (n < 0) return EBUSY
        const mapped = n === next - addr ? dmirrorAtomicMap(m, addr, next, pages) : 0
        for (let i = 0; i < n; i++) if ((pages[i] as number) >= 0) folioUnlock(w, pages[i] as number)
        if (mapped < next - addr) return EBUSY
        addr = next
      }
      return 0
    })(),
  )
  yield* mmput(w, mm, p)
  if (ret < 0) return { ret, cpages: 0, faults: 0 }
  const a = doAccess(w, m, start, end, false, io)
  if (a.n < end - start) return { ret: ENOENT, cpages: a.n, faults: 0 }
  return { ret: 0, cpages: a.n, faults: 0 }
}

/** HMM_DMIRROR_CHECK_EXCLUSIVE: -EPERM if an ATOMIC entry remains. */
export function dmirrorCheckExclusive(m: Mirror, start: number, end: number): DeviceOpResult {
  return { ret: m.hasAtomic(start, end) ? EPERM : 0, cpages: 0, faults: 0 }
}
