/**
 * One interface every teardown design implements (docs/domain.md §7.3). The interpreter calls these at
 * open(2), at the "mirror" request, for each device ioctl (resolve), at f_op->release, and — only
 * for D3 — from __mmput before exit_mmap.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import type { Device } from '../devices/device'
import type { File, MmStruct, Task } from '../kernel/objects'
import type { DriverObj } from '../drivers/driver'
import type { Mirror } from '../drivers/mirror'
import { EINVAL } from '../kernel/errno'
import { DESIGN_IDS } from '../../shared/scenario'

/** The design ids, in the scenario language's order (one list: src/shared/scenario.ts). */
export { DESIGN_IDS }
export type DesignId = (typeof DESIGN_IDS)[number]

/** What a device ioctl operates on. */
export type Target = { kind: 'mirror'; m: Mirror; obj: DriverObj } | { kind: 'sva'; dev: Device; mm: MmStruct; pasid: number; obj: DriverObj }

export interface TeardownDesign {
  readonly id: DesignId
  readonly title: string
  readonly summary: string
  /** False for the two broken variants the 2014 thread warns about. */
  readonly correct: boolean
  /** open(2) of `file` by `task`; returns 0 or an errno. */
  open(w: Kernel, task: Task, file: File, path: CallPath): number
  /** Mirror `task`'s address space on `dev` through `file`, or with no file (driver API user). */
  mirror(w: Kernel, task: Task, dev: Device, file: File | null, path: CallPath): Proc<number>
  /** The target of an ioctl by `task` through `file` (or through the API when null). */
  resolve(w: Kernel, task: Task, dev: Device, file: File | null, path: CallPath): Target | number
  /** f_op->release (last fput). */
  release(w: Kernel, file: File, path: CallPath): Proc<void>
  /** Called once when the run starts (D3 joins the mmput notifier chain here). */
  init?(w: Kernel): void
  /**
   * The driver's module __exit, before its text is freed (KFD: kfd_cleanup_processes, then
   * kfd_process_destroy_wq). `synchronize` says whether it calls mmu_notifier_synchronize.
   */
  moduleExit?(w: Kernel, synchronize: boolean, path: CallPath): Proc<void>
}

/** Per-world registries a design may keep (per-mm tables, API users without a file). */
export interface DesignState {
  byMm: Map<number, DriverObj>
  api: Map<string, DriverObj>
}

const states = new WeakMap<Kernel, DesignState>()

/** The design registry of a world (created on first use). */
export function designState(w: Kernel): DesignState {
  let s = states.get(w)
  if (!s) {
    s = { byMm: new Map(), api: new Map() }
    states.set(w, s)
  }
  return s
}

/** Key of an API (no-file) user: mm + device. */
export function apiKey(mm: MmStruct, dev: Device): string {
  return `${mm.id}:${dev.idx}`
}

/** file->private_data of the designs that hang one driver object on the file (null until mirrored). */
export interface ObjFilePriv {
  obj: DriverObj | null
}

/**
 * The driver object an ioctl reaches in the designs that keep it in file->private_data: the
 * file's, or with no file the API user's of this mm and device.
 */
export function fileOrApi(w: Kernel, task: Task, dev: Device, file: File | null): DriverObj | null | undefined {
  return file ? (file.priv as ObjFilePriv).obj : task.mm ? designState(w).api.get(apiKey(task.mm, dev)) : undefined
}

/** The ioctl's target: `obj`'s mirror on `dev`, or -EINVAL when it has none. */
export function mirrorTarget(obj: DriverObj, dev: Device): Target | number {
  const m = obj.mirrors.get(dev.idx)
  return m ? { kind: 'mirror', m, obj } : EINVAL
}

/** `resolve` of those designs: -EINVAL without a live object (fileOrApi) or its mirror on `dev`. */
export function resolveFileOrApi(w: Kernel, task: Task, dev: Device, file: File | null): Target | number {
  const obj = fileOrApi(w, task, dev, file)
  if (!obj || obj.freed) return EINVAL
  return mirrorTarget(obj, dev)
}
