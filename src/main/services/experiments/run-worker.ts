/**
 * The run worker (one piscina task = one run): parses the scenario with its swept parameters,
 * runs it under one design and seed, reports progress on its port at most every 100 ms, stops at
 * the next step when the shared cancel flag is set, and answers the run record as the simulator
 * built it (adding the Node version to its meta), its big arrays transferred rather than copied.
 */
import { Piscina } from 'piscina'
import { runScenario, type DesignId } from '../../../sim'
import { loadOnMachine } from '../sim-binding'
import { movable, packArrays, type RunTask, type RunTaskResult } from './protocol'

const PROGRESS_INTERVAL_MS = 100

export default function runTask(task: RunTask): RunTaskResult {
  const flag = new Int32Array(task.cancelFlag)
  const { scenario, machineParts } = loadOnMachine(task.scenarioText, task.fileName, task.parameters, task.machine)
  let lastProgress = 0
  const record = runScenario(scenario, {
    design: task.design as DesignId,
    seed: task.seed,
    meta: {
      parameters: task.parameters,
      text: task.scenarioText,
      ...(task.machineOrigin ? { machine: task.machineOrigin } : {}),
      ...(task.costsUsed ? { costs: task.costsUsed } : {}),
    },
    ...(task.costs ? { costs: task.costs } : {}),
    shouldStop: () => Atomics.load(flag, 0) === 1,
    onProgress: (p) => {
      const now = Date.now()
      if (now - lastProgress < PROGRESS_INTERVAL_MS && p.done < p.total) return
      lastProgress = now
      task.progressPort.postMessage({ simTimeNs: p.simulatedNs, stepsDone: p.done, stepsTotal: p.total })
    },
  })
  record.meta.versions.node = process.versions.node
  // which parts of the machine came from the probe and which from the scenario
  if (machineParts) record.meta.machineParts = machineParts
  const packed = packArrays({ status: 'record' as const, record })
  return movable(packed.packed, packed.buffers, Piscina)
}
