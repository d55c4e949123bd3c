/**
 * "Simulate this machine": turns a probed machine (src/shared/probe-machine.ts) into the
 * `machine:` section of a scenario (src/shared/scenario.ts), so a scenario runs with this
 * machine's IOMMU invalidation policy (PSI, MAMV, queued invalidation), device TLBs (ATS) and
 * GPUs. Pure and shared: the Hardware view shows the result, the services apply it.
 */
import type { z } from 'zod'
import type { ProbeMachine } from './probe-machine'
import type { MachinePart } from './record'
import type { DeviceSpecSchema, MachineSchema } from './scenario'

export type ScenarioMachine = z.infer<typeof MachineSchema>
type DeviceSpec = z.infer<typeof DeviceSpecSchema>

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
    return {
      name: d.id,
      kind: 'gpu',
      ...(iommus.length ? { iommu: 'iommu0' } : {}),
      ats,
      ...(d.vramBytes ? { vram: d.vramBytes } : {}),
    }
  })
  return { machine: { ...(iommus.length ? { iommus } : {}), ...(devices.length ? { devices } : {}) }, notes: [...new Set(notes)] }
}

/** A device of the scenario that this machine does not have, and why. */
export interface LackingDevice {
  name: string
  why: string
}

/** The scenario's `machine:` replaced by a probed machine, part by part. */
export interface MachineForScenario {
  /** The whole `machine:` section the runs use. */
  machine: ScenarioMachine
  /** Where each part came from, in words (the run record's `meta.machineParts`). */
  parts: MachinePart[]
  /** Devices of the scenario this machine lacks: left out; a step that names one refuses the run. */
  lacking: LackingDevice[]
  notes: string[]
}

/** The device the simulator gives a scenario without `machine.devices` (src/shared/scenario.ts). */
const DEFAULT_DEVICES: DeviceSpec[] = [{ name: 'dmirror0', kind: 'dmirror' }]

/**
 * "Simulate this machine" for one scenario: the probed machine replaces the scenario's.
 *
 * - IOMMUs are this machine's, always: none (or passthrough) removes the scenario's.
 * - The scenario's devices, in order, become this machine's: a `dmirror` device stays a test_hmm
 *   device when this kernel sets CONFIG_TEST_HMM (lib/test_hmm.c, `dmirror_device_init`, registers
 *   a character device and maps no DMA, so it sits behind no IOMMU); any other device takes the
 *   next GPU or accelerator of this machine (its kind, IOMMU, ATS and VRAM) under the scenario's
 *   name, so the steps still find it. A device left without one is lacking: removed, and a step
 *   that names it refuses the run (src/main/services/sim-binding.ts says which step).
 * - `cpus`, `patches` and `swap` stay the scenario's: the probe does not describe them.
 *
 * `scenario` is the scenario's own `machine:` mapping (undefined: it has none, the default
 * device), or `null` when the scenario names its machine by reference (`machine: probed`): then
 * the devices keep this machine's names (`gpu0`, …).
 */
export function machineForScenario(pm: ProbeMachine, scenario: ScenarioMachine | undefined | null): MachineForScenario {
  const derived = simulateMachine(pm)
  const parts: MachinePart[] = []
  const lacking: LackingDevice[] = []
  const iommus = derived.machine.iommus ?? []
  const hostDevices = derived.machine.devices ?? []
  const iommuWords =
    pm.iommu.mode === 'passthrough' ? 'this machine’s IOMMU is in passthrough' : pm.iommu.mode === 'none' ? 'this machine has no IOMMU' : undefined
  const theirs = (scenario?.iommus ?? []).map((u) => u.name)
  if (iommus.length) {
    const u = iommus[0]!
    parts.push({
      part: 'iommus',
      from: 'probe',
      detail: `${u.name}: ${u.vendor}, ${u.psi ? `page-selective invalidation${u.mamv !== undefined ? ` up to MAMV ${u.mamv}` : ''}` : 'no page-selective invalidation'}${u.qi_batch === 1 ? ', register-based invalidation' : ''}${theirs.length ? ` (replaces the scenario’s ${theirs.join(', ')})` : ''}`,
    })
  } else {
    parts.push({
      part: 'iommus',
      from: 'probe',
      detail: `none: ${iommuWords ?? 'no translating IOMMU'}${theirs.length ? `; the scenario’s ${theirs.join(', ')} removed, so no IOTLB or device TLB to invalidate` : ''}`,
    })
  }
  const probeName = (name: string): string => {
    const d = pm.devices.find((x) => x.id === name)
    return d ? `${d.name}${d.pciAddress ? ` at ${d.pciAddress}` : ''}` : name
  }
  const hostWords = (d: DeviceSpec): string =>
    `${d.kind ?? 'gpu'}${d.iommu ? ` behind ${d.iommu}` : ', no IOMMU'}${d.ats ? ', ATS device TLB' : ', no device TLB'}${d.vram !== undefined ? `, ${typeof d.vram === 'number' ? `${Math.round(d.vram / 2 ** 20)} MiB` : d.vram} VRAM` : ''}`
  const devices: DeviceSpec[] = []
  let next = 0
  if (scenario === null) {
    for (const d of hostDevices) {
      devices.push(d)
      parts.push({ part: `devices.${d.name}`, from: 'probe', detail: `this machine’s ${probeName(d.name)}: ${hostWords(d)}` })
    }
    next = hostDevices.length
  } else {
    const testHmm = pm.kernel.testHmm
    for (const d of scenario?.devices ?? DEFAULT_DEVICES) {
      const kind = d.kind ?? 'dmirror'
      if (kind === 'dmirror' && testHmm === true) {
        const { iommu: _iommu, ats: _ats, ...rest } = d
        devices.push({ ...rest, kind: 'dmirror' })
        parts.push({
          part: `devices.${d.name}`,
          from: 'scenario',
          detail: `a test_hmm device (this kernel sets CONFIG_TEST_HMM); test_hmm maps no DMA, so no IOMMU and no device TLB`,
        })
        continue
      }
      const host = hostDevices[next]
      if (host) {
        next++
        devices.push({ ...host, name: d.name })
        parts.push({
          part: `devices.${d.name}`,
          from: 'probe',
          detail: `this machine’s ${probeName(host.name)}: ${hostWords(host)} (the scenario had a ${kind}${d.iommu ? ` behind ${d.iommu}` : ''}${d.ats ? ' with ATS' : ''})`,
        })
        continue
      }
      const why = [
        kind === 'dmirror'
          ? testHmm === false
            ? 'it is a test_hmm device and this kernel does not set CONFIG_TEST_HMM'
            : 'it is a test_hmm device and the probe could not read whether this kernel sets CONFIG_TEST_HMM'
          : `it is a ${kind}`,
        hostDevices.length
          ? `this machine’s ${hostDevices.length} GPU${hostDevices.length > 1 ? 's and accelerators are' : ' or accelerator is'} taken by the scenario’s earlier devices`
          : 'this machine has no GPU or accelerator',
      ].join(', and ')
      lacking.push({ name: d.name, why })
      parts.push({ part: `devices.${d.name}`, from: 'removed', detail: `this machine lacks it: ${why}` })
    }
  }
  const unused = hostDevices.slice(next)
  if (unused.length)
    parts.push({
      part: 'devices (unused)',
      from: 'probe',
      detail: `${unused.map((d) => probeName(d.name)).join(', ')}: no device of the scenario maps to ${unused.length > 1 ? 'them' : 'it'}`,
    })
  const kept: ScenarioMachine = {}
  for (const key of ['cpus', 'patches', 'swap'] as const) {
    if (scenario?.[key] === undefined) continue
    ;(kept as Record<string, unknown>)[key] = scenario[key]
    parts.push({ part: key, from: 'scenario', detail: `${JSON.stringify(scenario[key])}: the probe does not describe it` })
  }
  return { machine: { ...kept, iommus, devices }, parts, lacking, notes: derived.notes }
}
