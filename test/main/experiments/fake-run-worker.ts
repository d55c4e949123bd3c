/**
 * A run worker for pool tests. It follows the real worker's protocol; its "scenario text" names a
 * behaviour: finish, run for a while checking the cancel flag, throw, exit, hang without
 * checking, allocate without bound, or make one allocation far beyond the heap limit.
 */
import type { RunTask, RunTaskResult } from '../../../src/main/services/experiments/protocol'
import { movable, packArrays } from '../../../src/main/services/experiments/protocol'
import { Piscina } from 'piscina'
import { fakeRecord } from './fake-record'

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export default function run(task: RunTask): RunTaskResult | unknown {
  const flag = new Int32Array(task.cancelFlag)
  const [behaviour, arg] = task.scenarioText.split(':')
  switch (behaviour) {
    case 'steps': {
      const steps = Number(arg ?? 10)
      for (let i = 0; i < steps; i++) {
        if (Atomics.load(flag, 0) === 1) return { status: 'record', record: fakeRecord(task, i) }
        sleep(10)
        task.progressPort.postMessage({ simTimeNs: i * 1000, stepsDone: i + 1, stepsTotal: steps })
      }
      const packed = packArrays({ status: 'record' as const, record: fakeRecord(task) })
      return movable(packed.packed, packed.buffers, Piscina)
    }
    case 'throw':
      throw new Error('scenario step 3 (mmap): simulated failure')
    case 'exit':
      process.exit(3)
      break
    case 'hang':
      for (;;) {
        // ignores the cancel flag on purpose
      }
    case 'oom': {
      // Grows the heap in 8 MB steps until the thread's heap limit stops it. (One allocation far
      // beyond the limit is a process-wide fatal OOM in V8, which no worker limit can catch.)
      const hoard: number[][] = []
      for (;;) hoard.push(new Array(1_000_000).fill(hoard.length + 0.5))
    }
    case 'huge':
      // One allocation far beyond the heap limit (128 MB under 64 MB): a fatal V8 OOM that ends
      // the whole process, which only process isolation contains.
      return new Array(16_000_000).fill(0.5).length
  }
  throw new Error(`unknown behaviour ${behaviour}`)
}
