/** The probe report shown in the Hardware view: this machine, or a captured sysroot on the host. */
import { defineStore } from 'pinia'
import { shallowRef, ref } from 'vue'
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
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    } finally {
      loading.value = false
    }
  }

  return { report, loading, error, sysroot, probe }
})
