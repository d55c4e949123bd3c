import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RunPool, type Isolation } from '../../../src/main/services/experiments/pool'

const task = (scenarioText: string, seed = 1) => ({
  runId: `r${seed}`,
  scenarioText,
  fileName: 'fake.yaml',
  design: 'D4',
  seed,
  parameters: { 'machine.devices': 2 },
})

it('uses run processes when runs go side by side, a thread for one run at a time', async () => {
  const two = new RunPool({ workerFile: join(__dirname, 'fake-run-worker.ts'), threads: 2 })
  const one = new RunPool({ workerFile: join(__dirname, 'fake-run-worker.ts'), threads: 1 })
  expect([two.isolation, one.isolation]).toEqual(['process', 'thread'])
  await Promise.all([two.close(), one.close()])
})

describe.each<Isolation>(['thread', 'process'])('run pool (%s isolation)', (isolation) => {
  const pool = new RunPool({
    workerFile: join(__dirname, 'fake-run-worker.ts'),
    execArgv: ['--import', 'tsx'],
    threads: 2,
    maxHeapMb: 64,
    cancelGraceMs: 200,
    isolation,
  })
  afterAll(() => pool.close())

  it('runs a task, reports progress and brings typed arrays back as plain arrays', async () => {
    const progress: number[] = []
    const outcome = await pool.submit(task('steps:5', 3), { onProgress: (p) => progress.push(p.stepsDone) }).done
    expect(outcome.status).toBe('record')
    if (outcome.status !== 'record') return
    const record = outcome.record as { meta: { design: { id: string }; parameters: unknown }; series: { memory: { pages: number[] } } }
    expect([record.meta.design.id, record.meta.parameters]).toEqual(['D4', { 'machine.devices': 2 }])
    const memory = record.series.memory.pages
    expect(Array.isArray(memory)).toBe(true)
    expect(memory).toHaveLength(1000)
    expect(memory[999]).toBe(999 * 3)
    expect(progress.length).toBeGreaterThan(0)
  })

  it('cancels a cooperative run at its next step', async () => {
    // No time bound: with a grace period far longer than the test, the only way the run can end
    // is the worker seeing the flag and answering its record (a stop for the user, at its step).
    const patient = new RunPool({
      workerFile: join(__dirname, 'fake-run-worker.ts'),
      execArgv: ['--import', 'tsx'],
      threads: 1,
      maxHeapMb: 64,
      cancelGraceMs: 600_000,
      isolation,
    })
    try {
      let started!: () => void
      const running = new Promise<void>((r) => (started = r))
      const handle = patient.submit(task('steps:100000'), { onProgress: () => started() })
      await running
      handle.cancel()
      const outcome = await handle.done
      expect(outcome.status).toBe('record')
      expect(outcome).toMatchObject({ record: { outcome: { status: 'stopped', stop: { reason: 'user' }, stepsDone: expect.any(Number) } } })
    } finally {
      await patient.close()
    }
  }, 300_000)

  it('terminates a run that ignores the cancel flag', async () => {
    const handle = pool.submit(task('hang'))
    await new Promise((r) => setTimeout(r, 200))
    handle.cancel()
    expect((await handle.done).status).toBe('cancelled')
  })

  it('counts the time limit from the start of a run, not from when it was queued', async () => {
    // Two long runs hold both slots; two short runs with a 5 s limit stay queued for longer than
    // that limit (a timer never fires early), then the long ones are cancelled. Counted from the
    // queue, the short runs would be past their limit before they start; counted from their start,
    // five 10 ms steps are far inside it, however busy the machine. The holders stop through the
    // flag (a grace period longer than the test), so their threads and processes stay warm and no
    // start-up time counts against the short runs.
    const patient = new RunPool({
      workerFile: join(__dirname, 'fake-run-worker.ts'),
      execArgv: ['--import', 'tsx'],
      threads: 2,
      maxHeapMb: 64,
      cancelGraceMs: 600_000,
      isolation,
    })
    try {
      const holders = [patient.submit(task('steps:1000000', 1)), patient.submit(task('steps:1000000', 2))]
      const short = [3, 4].map((seed) => patient.submit(task('steps:5', seed), { timeoutMs: 5000 }))
      await new Promise((r) => setTimeout(r, 5500))
      expect(patient.queued).toBe(2)
      for (const h of holders) h.cancel()
      const outcomes = await Promise.all([...holders, ...short].map((h) => h.done))
      // the holders answer records stopped for the user; the short runs finish
      expect(outcomes.map((o) => (o.status === 'record' ? (o as { record: { outcome: { status: string } } }).record.outcome.status : o.status))).toEqual([
        'stopped',
        'stopped',
        'passed',
        'passed',
      ])
    } finally {
      await patient.close()
    }
  }, 300_000)

  it('times out a hanging run with a clear error', async () => {
    const outcome = await pool.submit(task('hang'), { timeoutMs: 300 }).done
    expect(outcome).toMatchObject({ status: 'timeout' })
    if (outcome.status === 'timeout') expect(outcome.error).toContain('300 ms')
  })

  it('isolates a throwing run, an exiting worker and an out-of-memory run; the others finish', async () => {
    const handles = [
      pool.submit(task('throw', 1)),
      pool.submit(task('steps:3', 2)),
      pool.submit(task('exit', 3)),
      pool.submit(task('oom', 4)),
      pool.submit(task('steps:3', 5)),
    ]
    const outcomes = await Promise.all(handles.map((h) => h.done))
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'record', 'failed', 'failed', 'record'])
    const errors = outcomes.map((o) => ('error' in o ? o.error : ''))
    expect(errors[0]).toContain('scenario step 3 (mmap): simulated failure')
    expect(errors[2]).toMatch(/died|exited/)
    expect(errors[3]).toContain('out of memory')
    // The pool still serves new runs afterwards.
    expect((await pool.submit(task('steps:2', 6)).done).status).toBe('record')
  }, 90_000)

  it.runIf(isolation === 'process')(
    'a run process killed from outside, or ended by a fatal V8 out-of-memory, fails its run alone',
    async () => {
      const long = pool.submit(task('steps:300', 1))
      const other = pool.submit(task('steps:30', 2))
      await new Promise((r) => setTimeout(r, 300))
      const victims = pool.runProcesses
      expect(victims).toHaveLength(2)
      // Kill the first of the two from outside, as `kill -9` would.
      process.kill(victims[0]!.pid!, 'SIGKILL')
      const outcomes = await Promise.all([long.done, other.done])
      const statuses = outcomes.map((o) => o.status).sort()
      expect(statuses).toEqual(['failed', 'record'])
      expect(outcomes.find((o) => o.status === 'failed')).toMatchObject({ error: expect.stringMatching(/process died \(killed by SIGKILL\)/) })
      // One allocation twice the heap limit aborts V8 for the whole process: here only the run process.
      const [huge, fine] = await Promise.all([pool.submit(task('huge', 3)).done, pool.submit(task('steps:3', 4)).done])
      expect(huge.status).toBe('failed')
      if (huge.status === 'failed') expect(huge.error).toMatch(/out of memory|process died/)
      expect(fine.status).toBe('record')
      expect((await pool.submit(task('steps:2', 5)).done).status).toBe('record')
    },
    90_000,
  )
})
