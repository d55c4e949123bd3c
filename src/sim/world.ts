/**
 * The composition root of one run: the kernel context plus what only the run and the scenario
 * interpreter see: the machine as the scenario built it (devices, IOMMUs) and the chosen teardown
 * design. Kernel, driver and design code receive the Kernel context (kernel/context.ts), never this.
 */
import { Kernel } from './kernel/context'
import type { Device } from './devices/device'
import type { Iommu } from './devices/iommu'
import type { TeardownDesign } from './teardown/design'

export class World extends Kernel {
  readonly devices: Device[] = []
  readonly iommus: Iommu[] = []
  design!: TeardownDesign
}

export type {
  CounterEvent,
  Finding,
  FindingKind,
  HookChannels,
  IntervalInvalidateCall,
  InvalidationRecord,
  Marker,
  MarkerKind,
  Mechanism,
  NotifierRangeCall,
  StepBegin,
} from './kernel/types'
