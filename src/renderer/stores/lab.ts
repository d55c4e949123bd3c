/**
 * The lab's state as Pinia setup stores over the Bridge: the scenario library, live experiments
 * and runs (folded from `experiment.progress`, `run.progress`, `run.finished`), and the stored runs
 * and experiments that Results and Compare read. A finished run refreshes the stored list, so it
 * appears in Results without a reload.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, triggerRef } from 'vue'
import type { RouteInput, ScenarioEntry } from '../../shared/contracts'
import type { ExperimentManifest, RunManifest, StoreProblem } from '../../shared/runs'
import { BridgeError, useBridge } from '../bridge'
import { applyExperimentProgress, applyRunFinished, applyRunProgress, startedExperiment, type LiveExperiment, type LiveRun } from '../lib/progress'

/** Message of an error thrown by the Bridge (or anything else). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export const useScenarioStore = defineStore('scenarios', () => {
  const entries = ref<ScenarioEntry[]>([])
  const error = ref<string>()
  /** The Bridge's error code of the last failure (`unauthorized` is already announced by the shell). */
  const errorCode = ref<string>()
  const loading = ref(false)
  const schema = shallowRef<unknown>()
  const schemaError = ref<string>()

  /** Loads the library (built-in and workspace scenarios). */
  async function load(): Promise<void> {
    loading.value = true
    try {
      entries.value = (await useBridge().invoke('scenarios.list', {})).scenarios
      error.value = undefined
      errorCode.value = undefined
    } catch (err) {
      error.value = errorText(err)
      errorCode.value = err instanceof BridgeError ? err.code : undefined
    } finally {
      loading.value = false
    }
  }

  /** Loads the JSON Schema of scenario files once (for completion in the editor). */
  async function loadSchema(): Promise<unknown> {
    if (schema.value !== undefined) return schema.value
    try {
      schema.value = (await useBridge().invoke('scenarios.schema', {})).schema
      schemaError.value = undefined
    } catch (err) {
      schemaError.value = errorText(err)
    }
    return schema.value
  }

  return { entries, error, errorCode, loading, schema, schemaError, load, loadSchema }
})

export const useLabStore = defineStore('lab', () => {
  const bridge = useBridge()
  /** Live state, keyed by id; a Map in a shallowRef, triggered on change (events arrive often). */
  const liveRuns = shallowRef(new Map<string, LiveRun>())
  const liveExperiments = shallowRef(new Map<string, LiveExperiment>())
  const runs = ref<RunManifest[]>([])
  const experiments = ref<ExperimentManifest[]>([])
  const problems = ref<StoreProblem[]>([])
  const listError = ref<string>()
  let subscribed = false
  let refreshTimer: ReturnType<typeof setTimeout> | undefined

  /** Subscribes to the progress events (once) and loads the stored lists. */
  function init(): void {
    if (subscribed) return
    subscribed = true
    bridge.on('experiment.progress', (p) => {
      liveExperiments.value.set(p.experimentId, applyExperimentProgress(liveExperiments.value.get(p.experimentId), p))
      scheduleRender()
      if (p.finished) scheduleRefresh()
    })
    bridge.on('run.progress', (p) => {
      liveRuns.value.set(p.runId, applyRunProgress(liveRuns.value.get(p.runId), p, Date.now()))
      scheduleRender()
    })
    bridge.on('run.finished', (p) => {
      liveRuns.value.set(p.runId, applyRunFinished(liveRuns.value.get(p.runId), p, Date.now()))
      scheduleRender()
      scheduleRefresh()
    })
    void refresh()
    void loadActive()
  }

  /**
   * Events of a sweep arrive in bursts (many runs at once); they are folded into the maps at once
   * but the views re-render at most every 100 ms, so a busy sweep never floods the main thread.
   */
  let renderTimer: ReturnType<typeof setTimeout> | undefined
  function scheduleRender(): void {
    if (renderTimer) return
    renderTimer = setTimeout(() => {
      renderTimer = undefined
      performance.mark('hmmlab:live-render')
      triggerRef(liveRuns)
      triggerRef(liveExperiments)
      // Vue renders in a microtask after this; the measure ends once it has.
      void Promise.resolve().then(() => performance.measure('hmmlab:live progress render', 'hmmlab:live-render'))
    }, 100)
  }

  /**
   * Refreshes the stored lists soon, coalescing bursts of finished runs into one request: within
   * 150 ms when things are quiet, at most every 2 s while an experiment is still running (a sweep
   * of hundreds of runs would otherwise re-list the store for every one of them).
   */
  let lastRefresh = 0
  function scheduleRefresh(): void {
    if (refreshTimer) return
    const busy = [...liveExperiments.value.values()].some((e) => !e.finished)
    const wait = busy ? Math.max(150, 2000 - (Date.now() - lastRefresh)) : 150
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined
      lastRefresh = Date.now()
      void refresh()
    }, wait)
  }

  /** Reloads the stored runs and experiments. */
  async function refresh(): Promise<void> {
    try {
      const [r, e] = await Promise.all([bridge.invoke('runs.list', {}), bridge.invoke('experiments.list', {})])
      performance.mark('hmmlab:list-apply')
      runs.value = r.runs
      problems.value = [...r.problems, ...e.problems]
      experiments.value = e.experiments
      for (const a of e.active) liveExperiments.value.set(a.experimentId, applyExperimentProgress(liveExperiments.value.get(a.experimentId), a))
      triggerRef(liveExperiments)
      listError.value = undefined
      void Promise.resolve().then(() => performance.measure('hmmlab:stored list render', 'hmmlab:list-apply'))
    } catch (err) {
      listError.value = errorText(err)
    }
  }

  async function loadActive(): Promise<void> {
    // experiments.list (in refresh) reports the experiments running now; nothing else to load.
  }

  /** Starts an experiment and tracks its runs as queued until their events arrive. */
  async function start(input: RouteInput<'experiments.start'>, name: string): Promise<{ experimentId: string; runIds: string[] }> {
    const started = await bridge.invoke('experiments.start', input)
    const { experiment, runs: queued } = startedExperiment(started.experimentId, started.runIds, name)
    const prev = liveExperiments.value.get(started.experimentId)
    liveExperiments.value.set(started.experimentId, prev ? { ...prev, name, runIds: started.runIds } : experiment)
    for (const r of queued) if (!liveRuns.value.has(r.runId)) liveRuns.value.set(r.runId, r)
    triggerRef(liveExperiments)
    triggerRef(liveRuns)
    return started
  }

  /** Cancels one run. */
  async function cancelRun(runId: string): Promise<boolean> {
    return (await bridge.invoke('runs.cancel', { runId })).cancelled
  }

  /** Cancels every unfinished run of an experiment. */
  async function cancelExperiment(experimentId: string): Promise<number> {
    return (await bridge.invoke('experiments.cancel', { experimentId })).cancelled
  }

  /** Deletes a stored run and refreshes the list. */
  async function deleteRun(runId: string): Promise<void> {
    await bridge.invoke('runs.delete', { runId })
    await refresh()
  }

  const experimentList = computed(() => [...liveExperiments.value.values()].reverse())
  const runsByExperiment = computed(() => {
    const out = new Map<string, LiveRun[]>()
    for (const r of liveRuns.value.values()) {
      let list = out.get(r.experimentId)
      if (!list) out.set(r.experimentId, (list = []))
      list.push(r)
    }
    return out
  })

  return { liveRuns, liveExperiments, runs, experiments, problems, listError, init, refresh, start, cancelRun, cancelExperiment, deleteRun, experimentList, runsByExperiment }
})
