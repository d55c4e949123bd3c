/**
 * D6 — IOMMU SVA (drivers/iommu/iommu-sva.c, intel/svm.c): bind allocates mm->iommu_mm with a
 * PASID on first use and an SVA domain per mm that registers a notifier (mm_count); the IOMMU walks
 * the CPU page table, so invalidation is IOTLB + ATS only, via arch_invalidate_secondary_tlbs.
 * ->release tears the PASID entries down (device faults afterwards); unbind at fd release frees the
 * domain when its last handle goes; the PASID itself is freed at __mmdrop.
 */
import { sleep, type Proc } from '../engine/engine'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, MmStruct, Task } from '../kernel/objects'
import { SIZEOF, type NotifierOps } from '../kernel/objects'
import { mmput } from '../kernel/mm'
import { mmget } from '../kernel/mm-ref'
import { ALL_PAGES, mmuNotifierRegister, mmuNotifierUnregister } from '../kernel/notifier'
import { allocDriverObj, embedSub, freeDriverObj, type DriverObj } from '../drivers/driver'
import { apiKey, designState, type TeardownDesign, type Target } from './design'
import { EINVAL, ENODEV } from '../kernel/errno'
import type { CallPath } from '../ledger/ledger'

/** The devices an SVA domain was bound on, by index (iommu_sva handles point at their device). */
const boundOn = new WeakMap<DriverObj, Map<number, Device>>()

function boundDevices(_w: Kernel, obj: DriverObj): Device[] {
  const out: Device[] = []
  const devs = boundOn.get(obj)
  for (const [d, n] of obj.fdRefs) if (n > 0) out.push(devs?.get(d) as Device)
  return out
}

const ops: NotifierOps = {
  name: 'iommu_sva_mmu_notifier_ops',
  *release(w, sub, mm) {
    const obj = sub.priv as DriverObj
    const pasid = mm.iommu_mm?.pasid ?? 0
    let cost = 0
    for (const dev of boundDevices(w, obj)) {
      dev.iommu?.pasidTable.delete(pasid)
      cost += dev.iommu ? dev.iommu.invalidate(w, dev, pasid, 0, ALL_PAGES, 'RELEASE', mm.label) : 0
    }
    obj.mmDead = true
    if (cost > 0) yield sleep(cost)
  },
  archInvalidateSecondaryTlbs(w, sub, mm, start, end) {
    const obj = sub.priv as DriverObj
    const pasid = mm.iommu_mm?.pasid ?? 0
    let cost = 0
    for (const dev of boundDevices(w, obj))
      if (dev.iommu) cost += dev.iommu.invalidate(w, dev, pasid, start, Math.min(end, ALL_PAGES), 'SECONDARY_TLB', mm.label)
    return cost
  },
}

interface FilePriv {
  mm: MmStruct | null
  bound: boolean
}

function* bind(w: Kernel, mm: MmStruct, dev: Device, path: CallPath): Proc<number> {
  const p = [...path, 'iommu_sva_bind_device']
  const io = dev.iommu
  if (!io) return ENODEV
  mmget(w, mm, p)
  if (!mm.iommu_mm) {
    const pasid = io.allocPasid()
    mm.iommu_mm = {
      pasid,
      pasidTables: new Set(),
      ledgerId: w.ledger.alloc('pasid', SIZEOF.iommu_mm_data + SIZEOF.pasid, mm.owner, `PASID ${pasid} (iommu_mm of ${mm.label})`, [
        ...p,
        'iommu_alloc_mm_data',
      ]),
    }
  }
  const st = designState(w)
  let obj = st.byMm.get(mm.id)
  if (!obj) {
    obj = allocDriverObj(w, 'SVA domain', SIZEOF.sva_domain, mm, [...p, 'domain_alloc_sva'])
    const r = mmuNotifierRegister(w, embedSub(w, ops, obj), mm, p)
    if (r < 0) return r
    st.byMm.set(mm.id, obj)
  }
  obj.fdRefs.set(dev.idx, (obj.fdRefs.get(dev.idx) ?? 0) + 1)
  let devs = boundOn.get(obj)
  if (!devs) boundOn.set(obj, (devs = new Map()))
  devs.set(dev.idx, dev)
  io.pasidTable.set(mm.iommu_mm.pasid, mm.label)
  mm.iommu_mm.pasidTables.add(io.pasidTable)
  w.mark('mirror', `${dev.name} SVA-bound to ${mm.label} (PASID ${mm.iommu_mm.pasid})`)
  yield* mmput(w, mm, p)
  return 0
}

export const D6: TeardownDesign = {
  id: 'D6',
  title: 'IOMMU SVA (PASID freed at __mmdrop)',
  summary:
    'The IOMMU walks the CPU page table under a PASID; ->release tears the PASID entry down; unbind frees the domain; the PASID lives until mm_count reaches 0.',
  correct: true,
  open(_w, task, file) {
    file.priv = { mm: task.mm, bound: false } satisfies FilePriv
    return 0
  },
  *mirror(w, task, dev, file, path) {
    const mm = task.mm
    if (!mm) return EINVAL
    if (file) {
      const fp = file.priv as FilePriv
      if (fp.bound) return 0
      if (fp.mm !== mm) return EINVAL
      const r = yield* bind(w, mm, dev, path)
      if (r === 0) fp.bound = true
      return r
    }
    const st = designState(w)
    if (st.api.has(apiKey(mm, dev))) return 0
    const r = yield* bind(w, mm, dev, path)
    if (r === 0) {
      const obj = st.byMm.get(mm.id)
      if (obj) st.api.set(apiKey(mm, dev), obj)
    }
    return r
  },
  resolve(w, task: Task, dev: Device, file: File | null): Target | number {
    let mm: MmStruct | null
    if (file) {
      const fp = file.priv as FilePriv
      if (!fp.bound) return EINVAL
      mm = fp.mm
    } else mm = task.mm
    if (!mm || mm.phase === 'freed') return EINVAL
    const obj = designState(w).byMm.get(mm.id)
    if (!obj || !mm.iommu_mm) return EINVAL
    return { kind: 'sva', dev, mm, pasid: mm.iommu_mm.pasid, obj }
  },
  *release(w, file, path) {
    const fp = file.priv as FilePriv
    if (!fp.bound || !fp.mm) return
    const mm = fp.mm
    const p = [...path, 'iommu_sva_unbind_device']
    const st = designState(w)
    const obj = st.byMm.get(mm.id)
    if (!obj) return
    const n = (obj.fdRefs.get(file.dev.idx) ?? 1) - 1
    obj.fdRefs.set(file.dev.idx, n)
    if (n <= 0 && mm.iommu_mm) file.dev.iommu?.pasidTable.delete(mm.iommu_mm.pasid)
    if (boundDevices(w, obj).length === 0) {
      st.byMm.delete(mm.id)
      if (obj.sub) yield* mmuNotifierUnregister(w, obj.sub, mm, [...p, 'iommu_domain_free'])
      freeDriverObj(w, obj, [...p, 'iommu_domain_free'])
    }
  },
}
