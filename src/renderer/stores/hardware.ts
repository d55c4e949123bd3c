/** The probe report shown in the Hardware view: this machine, or a captured sysroot on the host. */
import { defineStore } from 'pinia'
import { shallowRef, ref } from 'vue'
import type { RouteOutput } from '../../shared/contracts'
import type { ProbeReport } from '../../shared/probe'
import { useBridge } from '../bridge'

export const useHardwareStore = defineStore('hardware', () => {
  const report = shallowRef<ProbeReport>()
  const loading = ref(false)
  const error = ref<string>()
  /** The sysroot of the report shown: undefined for this machine. */
  const sysroot = ref<string>()

  /** Probes this machine (no sysroot) or a folder / .tar.gz capture on the host. */
  async function probe(path?: string): Promise<void> {
    loading.value = true
    error.value = undefined
    try {
      const answer = await useBridge().invoke('probe.run', path ? { sysroot: path } : {})
      report.value = answer.report
      sysroot.value = path
      simulated.value = undefined
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    } finally {
      loading.value = false
    }
  }

  /** The derived machine; with `forScenario`, what that scenario would run on (probe vs scenario parts) or why it cannot. */
  const simulated = shallowRef<{ yaml: string; notes: string[]; forScenario?: RouteOutput<'probe.machine'>['forScenario'] }>()
  const started = ref<string>()

  /** "Simulate this machine": the scenario `machine:` section derived from the report shown, and what `scenarioId` would run on. */
  async function simulate(scenarioId?: string): Promise<void> {
    error.value = undefined
    started.value = undefined
    try {
      const answer = await useBridge().invoke('probe.machine', { ...(sysroot.value ? { sysroot: sysroot.value } : {}), ...(scenarioId ? { scenarioId } : {}) })
      simulated.value = { yaml: answer.yaml, notes: answer.notes, ...(answer.forScenario ? { forScenario: answer.forScenario } : {}) }
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  /** Starts a built-in scenario with this machine's IOMMU and GPUs in place of its own. */
  async function runOnThisMachine(scenarioId: string): Promise<void> {
    error.value = undefined
    try {
      const answer = await useBridge().invoke('experiments.start', { scenarioId, probedMachine: sysroot.value ? { sysroot: sysroot.value } : {} })
      started.value = answer.experimentId
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  return { report, loading, error, sysroot, probe, simulated, started, simulate, runOnThisMachine }
})
