/**
 * Run processes under Electron go through `utilityProcess.fork` (issue 18 #10: the RunAsNode fuse
 * is off, so `child_process.fork` of the Electron binary would not run Node). The adapter runs
 * under a mocked `electron`; the run process entry runs for real through its `parentPort` path.
 */
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { ProcessRunner, forkRunProcess } from '../../src/main/services/experiments/process-runner'

const forks: { file: string; args: string[]; opts: Record<string, unknown>; child: FakeUtility }[] = []
class FakeUtility extends EventEmitter {
  pid: number | undefined = undefined
  stderr = null
  posted: unknown[] = []
  killed = false
  failPost = false
  postMessage(msg: unknown) {
    if (this.failPost) throw new Error('channel closed')
    this.posted.push(msg)
  }
  kill() {
    this.killed = true
    return true
  }
}
vi.mock('electron', () => ({
  utilityProcess: {
    fork: (file: string, args: string[], opts: Record<string, unknown>) => {
      const child = new FakeUtility()
      forks.push({ file, args, opts, child })
      return child
    },
  },
}))
const { utilityRunProcess } = await import('../../src/main/electron/utility-process')

describe('run processes as Electron utility processes', () => {
  it('forks with the entry, the config and the V8 flags, and adapts messages, exit and kill', () => {
    const errors: Error[] = []
    const got: unknown[] = []
    let exited = 0
    const child = utilityRunProcess('/app/out/main/run-process.js', ['{"maxHeapMb":64}'], ['--single-threaded-gc'])
    expect(forks.at(-1)).toMatchObject({
      file: '/app/out/main/run-process.js',
      args: ['{"maxHeapMb":64}'],
      opts: { execArgv: ['--single-threaded-gc'], serviceName: 'HMM Lab run' },
    })
    const fake = forks.at(-1)!.child
    child.onMessage((m) => got.push(m))
    child.onExit(() => exited++)
    child.send({ type: 'cancel', id: 1 }, (e) => errors.push(e))
    expect(fake.posted).toEqual([{ type: 'cancel', id: 1 }])
    fake.emit('message', { type: 'done', id: 1, outcome: { status: 'cancelled', error: 'cancelled' } })
    expect(got).toHaveLength(1)
    fake.failPost = true
    child.send({ type: 'cancel', id: 2 }, (e) => errors.push(e))
    expect(errors.map((e) => e.message)).toEqual(['channel closed'])
    child.kill()
    expect(fake.killed).toBe(true)
    fake.emit('exit', 9)
    expect([child.exited, child.exitCode, exited]).toEqual([true, 9, 1])
  })

  it('the run process entry works over parentPort, as in a utility process (real run, thread inside)', async () => {
    const runner = new ProcessRunner({
      hostFile: join(__dirname, 'experiments/parent-port-shim.ts'),
      processFlags: ['--import', 'tsx'],
      processes: 1,
      config: { workerFile: join(__dirname, 'experiments/fake-run-worker.ts'), execArgv: ['--import', 'tsx'], maxHeapMb: 64, graceMs: 200 },
      spawn: forkRunProcess,
    })
    try {
      const outcome = await runner.submit({ runId: 'r1', scenarioText: 'steps:3', fileName: 'f.yaml', design: 'D4', seed: 2, parameters: {} }).done
      expect(outcome.status).toBe('record')
    } finally {
      await runner.close()
    }
  })
})
