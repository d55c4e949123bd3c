/**
 * "Simulate this machine": turns a probed machine (src/shared/probe-machine.ts) into the
 * `machine:` section of a scenario (src/shared/scenario.ts), so a scenario runs with this
 * machine's IOMMU invalidation policy (PSI, MAMV, queued invalidation), device TLBs (ATS) and
 * GPUs. Pure and shared: the Hardware view shows the result, the services apply it.
 */
import type { z } from 'zod'
import type { ProbeMachine } from './probe-machine'
import type { MachineSchema } from './scenario'

export type ScenarioMachine = z.infer<typeof MachineSchema>

export interface SimulatedMachine {
  machine: ScenarioMachine
  /** What could not be carried over, in words (passthrough, no GPU, unknown ATS…). */
  notes: string[]
}

const VENDOR: Record<ProbeMachine['iommu']['vendor'], 'intel' | 'amd' | 'arm' | undefined> = {
  'intel-vt-d': 'intel',
  'amd-vi': 'amd',
  'arm-smmu': 'arm',
  'virtio-iommu': 'intel',
  other: 'intel',
  none: undefined,
}

/** The scenario `machine:` for a probed machine; device names are the probe's ids (`gpu0`, …). */
export function simulateMachine(pm: ProbeMachine): SimulatedMachine {
  const notes = [...pm.notes]
  const io = pm.iommu
  const translated = io.mode === 'translated-strict' || io.mode === 'translated-lazy'
  const vendor = VENDOR[io.vendor]
  const iommus: NonNullable<ScenarioMachine['iommus']> = []
  if (translated && vendor) {
    iommus.push({
      name: 'iommu0',
      vendor,
      psi: io.invalidation.pageSelective,
      ...(io.invalidation.maxAddressMask !== null ? { mamv: Math.min(63, io.invalidation.maxAddressMask) } : {}),
      ...(io.invalidation.queued ? {} : { qi_batch: 1 }),
    })
    if (io.mode === 'translated-lazy') notes.push('IOMMU in lazy (flush-queue) mode: DMA unmaps are batched; mirror invalidations are modelled as strict')
  } else if (io.mode === 'passthrough') {
    notes.push('IOMMU in passthrough: devices are modelled without an IOMMU (no IOTLB to invalidate)')
  } else if (io.mode === 'none') {
    notes.push('no IOMMU: devices are modelled without one')
  }
  const mirroring = pm.devices.filter((d) => d.kind === 'gpu' || d.kind === 'apu' || d.kind === 'accelerator')
  const devices: NonNullable<ScenarioMachine['devices']> = mirroring.map((d) => {
    const ats = iommus.length > 0 && d.ats === 'yes'
    if (d.ats === 'unknown' && iommus.length > 0)
      notes.push(`${d.id} (${d.pciAddress ?? d.name}): ATS unknown (config space needs root); modelled without a device TLB`)
    return {
      name: d.id,
      kind: 'gpu',
      ...(iommus.length ? { iommu: 'iommu0' } : {}),
      ats,
      ...(d.vramBytes ? { vram: d.vramBytes } : {}),
    }
  })
  if (devices.length === 0) notes.push('no GPU or accelerator found: the scenario keeps its own devices')
  return { machine: { ...(iommus.length ? { iommus } : {}), ...(devices.length ? { devices } : {}) }, notes }
}
