/**
 * The calibration shown in the Hardware view: the costs runs use now (each with its provenance),
 * a calibration run with its progress, import from a file and export to one.
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { EventPayload, RouteOutput } from '../../shared/contracts'
import { useBridge } from '../bridge'

export type CalibrationState = RouteOutput<'calibration.get'>

export const useCalibrationStore = defineStore('calibration', () => {
  const state = shallowRef<CalibrationState>()
  const error = ref<string>()
  const progress = ref<EventPayload<'calibration.progress'>>()
  let subscribed = false

  function subscribe(): void {
    if (subscribed) return
    subscribed = true
    useBridge().on('calibration.progress', (p) => {
      progress.value = p
      if (p.state === 'failed') error.value = `calibration failed: ${p.error ?? 'unknown error'}`
      if (p.state !== 'running') void load()
    })
  }

  async function load(): Promise<void> {
    subscribe()
    try {
      state.value = await useBridge().invoke('calibration.get', {})
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  async function run(quick: boolean): Promise<void> {
    subscribe()
    error.value = undefined
    progress.value = { done: 0, total: 0, bench: 'compile', state: 'running' }
    try {
      await useBridge().invoke('calibration.run', { quick })
      if (state.value) state.value = { ...state.value, running: true }
    } catch (err) {
      progress.value = undefined
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  async function importText(text: string): Promise<void> {
    error.value = undefined
    try {
      state.value = await useBridge().invoke('calibration.import', { text })
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  /** The calibration file as a download (a Blob URL the caller revokes). */
  async function exportFile(): Promise<{ url: string; fileName: string } | undefined> {
    error.value = undefined
    try {
      const f = await useBridge().invoke('calibration.export', {})
      return { url: URL.createObjectURL(new Blob([f.content], { type: 'application/json' })), fileName: f.fileName }
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
      return undefined
    }
  }

  async function remove(): Promise<void> {
    error.value = undefined
    try {
      state.value = await useBridge().invoke('calibration.delete', {})
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  return { state, error, progress, load, run, importText, exportFile, remove }
})
