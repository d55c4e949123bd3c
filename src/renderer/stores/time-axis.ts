/**
 * The time axis a person picked (issue 17): linear, logarithmic or events only. One state for every
 * chart on time of a run's Results (memory, memory held for gone owners, refcount tracks,
 * invalidations over time, the event timeline, the lifetimes timeline) and for Compare's overlay;
 * kept across runs and views until they pick again. Until they pick, each run (or comparison)
 * opens on the axis its event times call for (`chooseAxis` in lib/timeline.ts).
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AxisMode } from '../lib/timeline'

export const useTimeAxisStore = defineStore('timeAxis', () => {
  const picked = ref<AxisMode>()
  function pick(mode: AxisMode): void {
    picked.value = mode
  }
  return { picked, pick }
})
