/**
 * The composition root of one run: the kernel context plus what only the run and the scenario
 * interpreter see: the machine as the scenario built it (devices, IOMMUs) and the chosen teardown
 * design. Kernel, driver and design code receive the Kernel context (kernel/context.ts), never this.
 */
import { Kernel } from './kernel/context'
import type { Device } from './devices/device'
import type { Iommu } from './devices/iommu'
import type { TeardownDesign } from './teardown/design'
import type { MmStruct } from './kernel/objects'
import type { StepBegin } from './kernel/types'

/** Read-only view of the step interpreter's state (the `view` of every `step` hook payload). */
export interface StepView {
  readonly w: World
  readonly ret: number | null
  readonly cpages: number | null
  readonly faults: number | null
  readonly snapshot: number[] | null
  /** Each task's mm by task name (kept after the task exits). */
  readonly mmOf: ReadonlyMap<string, MmStruct>
  /** Buffers filled by device_read/migrate/exclusive `into`, pread `into` and user_buffer. */
  readonly buffers: ReadonlyMap<string, { first: number; data: Int32Array }>
}

/** A `step` hook payload as the interpreter emits it. */
export type RunStepBegin = StepBegin & { view: StepView }

export class World extends Kernel {
  readonly devices: Device[] = []
  readonly iommus: Iommu[] = []
  design!: TeardownDesign
}

export type { Finding, IntervalInvalidateCall, InvalidationRecord, Marker, NotifierRangeCall, StepBegin } from './kernel/types'
