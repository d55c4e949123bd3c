import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RunPool, type Isolation } from '../../../src/main/services/experiments/pool'
import { ExperimentService, type ExperimentProgress } from '../../../src/main/services/experiments/service'
import { RunStore, StoreError } from '../../../src/main/services/store/run-store'

describe.each<Isolation>(['thread', 'process'])('%s isolation', (isolation) => {
  const pool = new RunPool({
    workerFile: join(__dirname, 'fake-run-worker.ts'),
    execArgv: ['--import', 'tsx'],
    threads: 2,
    maxHeapMb: 64,
    cancelGraceMs: 200,
    isolation,
  })
  afterAll(() => pool.close())

  function service() {
    const store = new RunStore(mkdtempSync(join(tmpdir(), 'hmmlab-exp-')))
    const progress: ExperimentProgress[] = []
    const finished: string[] = []
    const svc = new ExperimentService({
      pool,
      store,
      // The fake worker reads its behaviour from the text; the plan names two designs.
      plan: (text) => {
        if (text === 'invalid') throw new Error('s.yaml:1: steps: expected a list')
        return { name: 'fake scenario', designs: ['D1', 'D4'], seed: 1 }
      },
      events: { experimentProgress: (p) => progress.push(p), runFinished: (p) => finished.push(`${p.runId}:${p.status}`) },
      progressIntervalMs: 0,
    })
    return { svc, store, progress, finished }
  }

  describe('experiment service', () => {
    it('runs the sweep product under the scenario designs and saves every run', async () => {
      const { svc, store, progress } = service()
      const started = await svc.start({ scenarioText: 'steps:2', fileName: 's.yaml', sweep: { axes: { seed: [1, 2], 'machine.devices.count': [1, 4] } } })
      expect(started.runIds).toHaveLength(8)
      const summary = await started.done
      expect(summary.runs.map((r) => r.status)).toEqual(Array(8).fill('passed'))
      const listed = (await store.listRuns()).items
      expect(listed).toHaveLength(8)
      expect(new Set(listed.map((m) => `${m.design}/${m.seed}/${m.parameters['machine.devices.count']}`)).size).toBe(8)
      const experiment = await store.getExperiment(started.experimentId)
      expect(experiment.sweep).toEqual({ design: ['D1', 'D4'], seed: [1, 2], 'machine.devices.count': [1, 4] })
      const last = progress.at(-1)!
      expect(last).toMatchObject({ total: 8, done: 8, failed: 0, finished: true, etaMs: 0 })
    })

    it("run.finished carries the record's simulated time and steps (a run may end before any progress event)", async () => {
      const ends: unknown[] = []
      const svc = new ExperimentService({
        pool,
        store: new RunStore(mkdtempSync(join(tmpdir(), 'hmmlab-exp-'))),
        plan: () => ({ name: 'fake', designs: ['D1'], seed: 1 }),
        events: { runFinished: (p) => void ends.push(p) },
      })
      await (
        await svc.start({ scenarioText: 'steps:1', fileName: 's.yaml' })
      ).done
      expect(ends).toEqual([expect.objectContaining({ status: 'passed', simTimeNs: 1000, stepsDone: 1, stepsTotal: 1 })])
    })

    it('a sweep that sets design overrides the scenario designs', async () => {
      const { svc } = service()
      const started = await svc.start({ scenarioText: 'steps:1', fileName: 's.yaml', sweep: { axes: { design: ['D6'] } } })
      expect((await started.done).runs.map((r) => r.design)).toEqual(['D6'])
    })

    it('refuses an invalid scenario before anything runs', async () => {
      const { svc, store } = service()
      await expect(svc.start({ scenarioText: 'invalid', fileName: 's.yaml' })).rejects.toThrow('s.yaml:1: steps')
      expect((await store.listRuns()).items).toEqual([])
    })

    it('a crashing run fails alone; the other runs keep their results', async () => {
      const { svc, store } = service()
      const crash = await svc.start({ scenarioText: 'throw', fileName: 'crash.yaml', designs: ['D1'] })
      const good = await svc.start({ scenarioText: 'steps:3', fileName: 'good.yaml' })
      const [c, g] = await Promise.all([crash.done, good.done])
      expect(c.runs.map((r) => r.status)).toEqual(['crashed'])
      expect(c.runs[0]!.error).toContain('simulated failure')
      expect(g.runs.map((r) => r.status)).toEqual(['passed', 'passed'])
      const stored = await store.getRun(g.runs[0]!.id)
      expect((stored.series['memory.pages'] as { v: number[] }).v.length).toBe(1000)
    })

    it('cancels a whole experiment: every run, queued or running', async () => {
      const { svc, finished } = service()
      const started = await svc.start({ scenarioText: 'steps:100000', fileName: 'long.yaml', sweep: { axes: { seed: [1, 2, 3] } } })
      await new Promise((r) => setTimeout(r, 300))
      expect(svc.cancelExperiment(started.experimentId)).toBe(6)
      // 100,000 steps of 10 ms would take 17 minutes: ending at all is the cancel working.
      const summary = await started.done
      expect(summary.runs.every((r) => r.status === 'cancelled')).toBe(true)
      expect(finished).toHaveLength(6)
    })

    it('cancels one run and lets the others finish', async () => {
      const { svc } = service()
      const started = await svc.start({ scenarioText: 'steps:30', fileName: 's.yaml', designs: ['D1'], sweep: { axes: { seed: [1, 2] } } })
      await new Promise((r) => setTimeout(r, 50))
      expect(svc.cancelRun(started.runIds[0]!)).toBe(true)
      const summary = await started.done
      expect(summary.runs.map((r) => r.status)).toEqual(['cancelled', 'passed'])
    })
  })

  describe('experiment service under faults', () => {
    it('a worker killed from outside fails its run alone; the other run keeps its result', async () => {
      const { svc, store } = service()
      const started = await svc.start({ scenarioText: 'steps:200', fileName: 's.yaml', designs: ['D1'], sweep: { axes: { seed: [1, 2] } } })
      await new Promise((r) => setTimeout(r, 300))
      if (isolation === 'thread') {
        const threads = pool.workerThreads
        expect(threads.length).toBeGreaterThan(0)
        await threads[0]!.terminate()
      } else {
        const procs = pool.runProcesses
        expect(procs.length).toBeGreaterThan(0)
        process.kill(procs[0]!.pid!, 'SIGKILL')
      }
      const summary = await started.done
      const statuses = summary.runs.map((r) => r.status).sort()
      expect(statuses).toEqual(['crashed', 'passed'])
      expect(summary.runs.find((r) => r.status === 'crashed')!.error).toMatch(/worker|stopped|terminated|process died/i)
      const ok = summary.runs.find((r) => r.status === 'passed')!
      expect(((await store.getRun(ok.id)).series['memory.pages'] as { v: number[] }).v.length).toBe(1000)
    })

    it('a run that cannot be saved (disk full) says so in its event and in the summary; the service goes on', async () => {
      class FullDiskStore extends RunStore {
        override async saveRun(): Promise<void> {
          throw new StoreError(`cannot save run in ${this.runsDir}: the disk is full (ENOSPC)`, 'io')
        }
      }
      const notSaved: string[] = []
      const svc = new ExperimentService({
        pool,
        store: new FullDiskStore(mkdtempSync(join(tmpdir(), 'hmmlab-full-'))),
        plan: () => ({ name: 'fake', designs: ['D1'], seed: 1 }),
        events: { runFinished: (p) => void (p.notSaved && notSaved.push(p.notSaved)) },
      })
      const summary = await (await svc.start({ scenarioText: 'steps:1', fileName: 's.yaml', sweep: { axes: { seed: [1, 2] } } })).done
      expect(summary.runs.map((r) => r.status)).toEqual(['passed', 'passed'])
      expect(summary.unsaved.map((u) => u.error)).toEqual([expect.stringContaining('disk is full'), expect.stringContaining('disk is full')])
      expect(notSaved).toHaveLength(2)
      // The same service keeps working for a store that can save.
      const { svc: healthy, store } = service()
      await (
        await healthy.start({ scenarioText: 'steps:1', fileName: 's.yaml', designs: ['D4'] })
      ).done
      expect((await store.listRuns()).items).toHaveLength(1)
    })
  })
})
