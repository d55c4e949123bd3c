/**
 * The driver object a teardown design hangs device state on (struct hmm, kvm-like context,
 * kfd_process, struct dmirror, SVA domain...): its ledger identity, per-device mirrors, buffer
 * objects in VRAM, an optional PASID, and the notifier it embeds.
 */
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import { ClassicSub, type IntervalSub, type MmStruct, type NotifierOps, type NotifierRange } from '../kernel/objects'
import { Mirror } from './mirror'
import { kfdTeardown, type KfdEviction } from './kfd-evict'

export class DriverObj {
  readonly mirrors = new Map<number, Mirror>()
  /** Ledger ids of per-device data objects (kfd_process_device, hmm_mirror...). */
  readonly perDevice = new Map<number, number>()
  kref = 1
  readonly bos: number[] = []
  /** User-mode queues (MQD + ring), ledger ids. */
  readonly queues: number[] = []
  pasidId: number | null = null
  sub: ClassicSub | null = null
  interval: IntervalSub | null = null
  /** p->mm == NULL after the notifier release. */
  mmDead = false
  freed = false
  /** Open files per device (D3). */
  readonly fdRefs = new Map<number, number>()
  /** KFD userptr BOs / SVM ranges and the queue eviction state (null until the first one). */
  kfd: KfdEviction | null = null
  constructor(
    readonly ledgerId: number,
    readonly mm: MmStruct,
    readonly label: string,
  ) {}
}

/** Allocates a driver object charged to the mm's owner. */
export function allocDriverObj(w: Kernel, what: string, bytes: number, mm: MmStruct, path: CallPath): DriverObj {
  const label = `${what} for ${mm.label}`
  const id = w.ledger.alloc('driver_object', bytes, mm.owner, label, path)
  return new DriverObj(id, mm, label)
}

/** Creates the mirror of `dev` in the object (per-device data + empty device page table). */
export function addMirror(w: Kernel, obj: DriverObj, dev: Device, perDeviceBytes: number, path: CallPath): Mirror {
  const have = obj.mirrors.get(dev.idx)
  if (have) return have
  const m = new Mirror(w, w.id(), dev, obj.mm)
  obj.mirrors.set(dev.idx, m)
  if (perDeviceBytes > 0)
    obj.perDevice.set(dev.idx, w.ledger.alloc('driver_object', perDeviceBytes, obj.mm.owner, `${dev.name} per-device data of ${obj.label}`, path))
  w.mark('mirror', `${dev.name} mirrors ${obj.mm.label}`)
  return m
}

/** Removes one device's mirror and per-device data. */
export function removeMirror(w: Kernel, obj: DriverObj, devIdx: number, path: CallPath): void {
  const m = obj.mirrors.get(devIdx)
  if (m) {
    m.destroy()
    obj.mirrors.delete(devIdx)
  }
  const pd = obj.perDevice.get(devIdx)
  if (pd !== undefined) {
    w.ledger.free(pd, path)
    obj.perDevice.delete(devIdx)
  }
}

/**
 * Zaps every mirror (the device stops using the address space). The zap is recorded as a RELEASE
 * invalidation per device; returns its cost in ns. With `keepTables` the device page tables stay
 * allocated (a GPU VM lives until the driver object is freed, as KFD's wq_release does);
 * otherwise the mirrors are destroyed.
 */
export function zapMirrors(obj: DriverObj, keepTables = false): number {
  let cost = 0
  for (const m of obj.mirrors.values()) {
    if (m.alive) cost += m.invalidate({ mm: obj.mm, start: 0, end: 0x100000000, event: 'RELEASE', blockable: true, owner: -1 })
    if (!keepTables) m.destroy()
  }
  return cost
}

/** Frees the object: mirrors, per-device data, BOs, PASID, then the object itself. */
export function freeDriverObj(w: Kernel, obj: DriverObj, path: CallPath): void {
  w.ledger.access(obj.ledgerId, path, `free of ${obj.label}`)
  for (const d of [...obj.mirrors.keys()]) removeMirror(w, obj, d, path)
  for (const [d, pd] of [...obj.perDevice]) {
    w.ledger.free(pd, path)
    obj.perDevice.delete(d)
  }
  for (const b of obj.bos.splice(0)) w.ledger.free(b, path)
  kfdTeardown(w, obj, path)
  destroyQueues(w, obj, path)
  if (obj.pasidId !== null) {
    w.ledger.free(obj.pasidId, path)
    w.mark('pasid_free', obj.label)
    obj.pasidId = null
  }
  obj.freed = true
  w.ledger.free(obj.ledgerId, path)
  w.mark('driver_free', obj.label)
}

/** Creates a user-mode queue (MQD + ring buffer) on the object. */
export function createQueue(w: Kernel, obj: DriverObj, ringBytes: number, path: CallPath): void {
  obj.queues.push(w.ledger.alloc('driver_object', 4096 + ringBytes, obj.mm.owner, `queue of ${obj.label}`, path))
}

/** Dequeues and frees every queue (pqm_uninit); returns how many. */
export function destroyQueues(w: Kernel, obj: DriverObj, path: CallPath): number {
  const n = obj.queues.length
  for (const q of obj.queues.splice(0)) w.ledger.free(q, [...path, 'pqm_uninit'])
  return n
}

/** Allocates a buffer object in VRAM on behalf of the object. */
export function allocBo(w: Kernel, obj: DriverObj, bytes: number, path: CallPath): void {
  obj.bos.push(w.ledger.alloc('vram', bytes, obj.mm.owner, `BO of ${obj.label}`, path))
}

/**
 * Classic notifier ops that fan invalidations out to the object's mirrors. A non-blockable range
 * (OOM reaper) over live device mappings is refused with -EAGAIN when `nonblockEagain` (the
 * default: the device would have to wait for fences or a queue eviction); with it false the
 * mirror is zapped anyway, as KVM does (kvm_mmu_notifier_invalidate_range_start passes may_block
 * down and always returns 0).
 */
export function mirrorNotifierOps(name: string, extra: Partial<NotifierOps>, opts: { nonblockEagain?: boolean } = {}): NotifierOps {
  const nonblockEagain = opts.nonblockEagain ?? true
  return {
    name,
    invalidateRangeStart(w: Kernel, sub: ClassicSub, r: NotifierRange) {
      const obj = sub.priv as DriverObj
      let cost = 0
      let ok = true
      for (const m of obj.mirrors.values()) {
        if (r.event === 'MIGRATE' && r.owner === m.dev.idx) continue
        m.beginInvalidate()
        if (nonblockEagain && !r.blockable && m.pt.countPresent(r.start, Math.min(r.end, 0x100000000)) > 0) {
          ok = false
          w.count('invalidate_nonblock_eagain')
          continue
        }
        cost += m.invalidate(r)
      }
      return { ok, cost }
    },
    invalidateRangeEnd(_w: Kernel, sub: ClassicSub, r: NotifierRange) {
      const obj = sub.priv as DriverObj
      for (const m of obj.mirrors.values()) {
        if (r.event === 'MIGRATE' && r.owner === m.dev.idx) continue
        m.endInvalidate()
      }
      return 0
    },
    ...extra,
  }
}

/** A classic subscription embedded in the object (its memory is the object's). */
export function embedSub(w: Kernel, ops: NotifierOps, obj: DriverObj): ClassicSub {
  const s = new ClassicSub(w.id(), ops, obj.mm, obj.ledgerId)
  s.priv = obj
  obj.sub = s
  return s
}
