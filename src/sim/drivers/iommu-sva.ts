/**
 * A device's access to a process's memory through IOMMU SVA (drivers/iommu/iommu-sva.c): the
 * IOMMU walks the CPU page table through the PASID, a miss costs an IOMMU walk unless the device
 * TLB (ATS) or the IOTLB has the page, and a page not usable yet raises one I/O page-fault round
 * (PRI → iommu_sva_handle_iopf → handle_mm_fault). It is not test_hmm's, so it lives beside it.
 */
import { sleep, type Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT, PTE_WRITE } from '../kernel/pagetable'
import type { MmStruct } from '../kernel/objects'
import { faultIn } from '../kernel/memory'
import { withMmapReadLock } from '../kernel/mmap_lock'
import { EFAULT, EINVAL } from '../kernel/errno'
import { mmput } from '../kernel/mm'
import { mmgetNotZero } from '../kernel/mm-ref'
import { HPAGE_PMD_NR } from '../kernel/page'
import type { DataIo, DeviceOpResult } from './dmirror'

/**
 * SVA access (IOMMU walks the CPU page table through the PASID): IOTLB / ATS lookups, walks on
 * misses, and one I/O page-fault round (PRI → iommu_sva_handle_iopf → handle_mm_fault) for the
 * pages not usable yet. `cpages` = pages accessed, `faults` = IOPF rounds.
 */
export function* svaAccess(
  w: Kernel,
  dev: Device,
  mm: MmStruct,
  pasid: number,
  start: number,
  end: number,
  write: boolean,
  path: CallPath,
  io?: DataIo,
): Proc<DeviceOpResult> {
  const p = [...path, 'iommu_sva_access']
  const iommu = dev.iommu
  if (!iommu) return { ret: EINVAL, cpages: 0, faults: 0 }
  if (mm.releasedAt !== null) {
    // PASID entry torn down in ->release: the device gets a translation fault
    return { ret: EFAULT, cpages: 0, faults: 0 }
  }
  let faults = 0
  let first = -1
  for (let pg = start; pg < end; pg++) {
    const f = mm.pt.get(pg)
    if (!(f & PTE_PRESENT) || f & (PTE_DEVPRIV | PTE_EXCL) || (write && !(f & PTE_WRITE))) {
      first = pg
      break
    }
  }
  if (first >= 0) {
    const fp = [...p, 'iommu_sva_handle_iopf']
    if (!mmgetNotZero(w, mm, fp)) return { ret: EFAULT, cpages: 0, faults }
    const r = yield* withMmapReadLock(w, mm, faultIn(w, mm, first, end, write, -1, fp))
    yield* mmput(w, mm, fp)
    faults++
    yield sleep(w.costs.iopf)
    if (r < 0) return { ret: r, cpages: first - start, faults }
  }
  let cost = 0
  for (let pg = start; pg < end; pg++) {
    const hit = dev.devtlb ? dev.devtlb.lookup(pasid, pg) : false
    if (!hit && !iommu.iotlb.lookup(pasid, pg)) cost += w.costs.iommu_walk
    cost += w.costs.device_access_page
    if (io) {
      const pfn = mm.pt.pfn(pg)
      if (io.out) io.out[pg - io.base] = w.frames.read(pfn, pg & (HPAGE_PMD_NR - 1))
      if (io.src) w.frames.write(pfn, pg & (HPAGE_PMD_NR - 1), io.src(pg))
    }
  }
  yield sleep(cost)
  return { ret: 0, cpages: end - start, faults }
}
