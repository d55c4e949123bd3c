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
import { invokeOffThread } from '../lib/worker-client'
import { applyExperimentProgress, applyRunFinished, applyRunProgress, listedRuns, startedExperiment, type LiveExperiment, type LiveRun } from '../lib/progress'

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
  // Stored lists are replaced whole on refresh, never mutated: shallow (hundreds of manifests).
  const runs = shallowRef<RunManifest[]>([])
  const experiments = shallowRef<ExperimentManifest[]>([])
  const problems = shallowRef<StoreProblem[]>([])
  const listError = ref<string>()
  let subscribed = false
  let refreshTimer: ReturnType<typeof setTimeout> | undefined

  /** Subscribes to the progress events (once) and loads the stored lists. */
  function init(): void {
    if (subscribed) return
    subscribed = true
    bridge.on('experiment.progress', (p) => {
      const known = liveExperiments.value.has(p.experimentId)
      liveExperiments.value.set(p.experimentId, applyExperimentProgress(liveExperiments.value.get(p.experimentId), p))
      scheduleRender()
      // one started elsewhere: its name and runs are in the stored list
      if (p.finished || !known) scheduleRefresh()
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
   * and the views re-render in one animation frame, at most every RENDER_MS, so a busy sweep never
   * floods the main thread (and a hidden page, which gets no frames, does not render at all).
   */
  const RENDER_MS = 100
  let renderFrame = 0
  let renderTimer: ReturnType<typeof setTimeout> | undefined
  let lastRender = 0
  function scheduleRender(): void {
    if (renderFrame || renderTimer) return
    const wait = RENDER_MS - (performance.now() - lastRender)
    const inFrame = (): void => {
      renderTimer = undefined
      renderFrame = requestAnimationFrame(() => {
        renderFrame = 0
        lastRender = performance.now()
        performance.mark('hmmlab:live-render')
        triggerRef(liveRuns)
        triggerRef(liveExperiments)
        // Vue renders in a microtask after this; the measure ends once it has.
        void Promise.resolve().then(() => performance.measure('hmmlab:live progress render', 'hmmlab:live-render'))
      })
    }
    if (wait > 0) renderTimer = setTimeout(inFrame, wait)
    else inFrame()
  }

  /**
   * Refreshes the stored lists soon, coalescing bursts of finished runs into one request: within
   * 150 ms when things are quiet, at most every 5 s while an experiment is still running (a sweep
   * of hundreds of runs would otherwise re-list the store for every one of them).
   */
  let lastRefresh = 0
  function scheduleRefresh(): void {
    if (refreshTimer) return
    const busy = [...liveExperiments.value.values()].some((e) => !e.finished)
    const wait = busy ? Math.max(150, 5000 - (Date.now() - lastRefresh)) : 150
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined
      lastRefresh = Date.now()
      void refresh()
    }, wait)
  }

  /** Reloads the stored runs and experiments. */
  async function refresh(): Promise<void> {
    try {
      // Hundreds of manifests: parsed and checked off the main thread where the host allows it.
      const [r, e] = await Promise.all([invokeOffThread(bridge, 'runs.list', {}), invokeOffThread(bridge, 'experiments.list', {})])
      // Receiving hundreds of manifests is one task; rendering them is the next one.
      await new Promise((resolve) => setTimeout(resolve, 0))
      performance.mark('hmmlab:list-apply')
      runs.value = r.runs
      problems.value = [...r.problems, ...e.problems]
      experiments.value = e.experiments
      // An experiment started elsewhere (the API, another page) takes its name and runs from its
      // manifest; runs this page has no event for show as queued or as stored.
      const manifests = new Map(e.experiments.map((x) => [x.id, x]))
      const stored = new Map(r.runs.map((x) => [x.id, x]))
      for (const a of e.active) {
        const exp = applyExperimentProgress(liveExperiments.value.get(a.experimentId), a, manifests.get(a.experimentId))
        liveExperiments.value.set(a.experimentId, exp)
        for (const run of listedRuns(exp, liveRuns.value, stored)) liveRuns.value.set(run.runId, run)
      }
      triggerRef(liveExperiments)
      triggerRef(liveRuns)
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
  /** Live runs per experiment; an experiment whose runs did not change keeps its array (its card is not re-rendered). */
  let previousByExperiment = new Map<string, LiveRun[]>()
  const runsByExperiment = computed(() => {
    const out = new Map<string, LiveRun[]>()
    for (const r of liveRuns.value.values()) {
      let list = out.get(r.experimentId)
      if (!list) out.set(r.experimentId, (list = []))
      list.push(r)
    }
    for (const [id, list] of out) {
      const prev = previousByExperiment.get(id)
      if (prev && prev.length === list.length && prev.every((r, i) => r === list[i])) out.set(id, prev)
    }
    previousByExperiment = out
    return out
  })

  return {
    liveRuns,
    liveExperiments,
    runs,
    experiments,
    problems,
    listError,
    init,
    refresh,
    start,
    cancelRun,
    cancelExperiment,
    deleteRun,
    experimentList,
    runsByExperiment,
  }
})
