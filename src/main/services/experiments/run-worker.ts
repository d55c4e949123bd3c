/**
 * The run worker (one piscina task = one run): parses the scenario with its swept parameters,
 * runs it under one design and seed, reports progress on its port at most every 100 ms, stops at
 * the next step when the shared cancel flag is set, and answers the stored shape with its big
 * arrays transferred rather than copied.
 */
import { Piscina } from 'piscina'
import { runScenario, type DesignId } from '../../../sim'
import { loadWithParameters } from '../sim-binding'
import { movable, packArrays, type RunTask, type RunTaskResult } from './protocol'
import { toStored } from './to-stored'

const PROGRESS_INTERVAL_MS = 100

export default function runTask(task: RunTask): RunTaskResult {
  const flag = new Int32Array(task.cancelFlag)
  const scenario = loadWithParameters(task.scenarioText, task.fileName, task.parameters, task.machine)
  let lastProgress = 0
  const sim = runScenario(scenario, {
    design: task.design as DesignId,
    seed: task.seed,
    ...(task.costs ? { costs: task.costs } : {}),
    shouldStop: () => Atomics.load(flag, 0) === 1,
    onProgress: (p) => {
      const now = Date.now()
      if (now - lastProgress < PROGRESS_INTERVAL_MS && p.done < p.total) return
      lastProgress = now
      task.progressPort.postMessage({ simTimeNs: p.simulatedNs, stepsDone: p.done, stepsTotal: p.total })
    },
  })
  const stored = toStored(sim)
  const value: RunTaskResult = {
    status: sim.status === 'stopped' ? 'cancelled' : sim.status === 'failed' ? 'expect_failed' : 'ok',
    scenarioName: sim.scenario.name,
    metrics: stored.metrics,
    expects: stored.expects,
    findings: stored.findings,
    result: stored.result,
    series: stored.series,
  }
  const packed = packArrays(value)
  return movable(packed.packed, packed.buffers, Piscina)
}
