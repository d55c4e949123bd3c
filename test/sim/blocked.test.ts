/**
 * How a run ends when nothing more can happen while a task is still inside a step (review 8 #9):
 * the main sequence blocked is a run that did not reach its end (`stopped`, reason `blocked`, the
 * task, step and wait queue named, exit 1); a background step that never returns leaves a run
 * that reached its end (its main sequence did its last step), with the waiting step in
 * `outcome.waiting` and said by every view. docs/scenarios.md "How a run ends".
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'
import { backgroundWaitingWords, statusOfOutcome, statusWords } from '../../src/shared/record'
import { runConclusion } from '../../src/shared/conclusion'
import { recordSummary } from '../../src/main/cli/record-text'
import { runCommand } from '../../src/main/cli/commands/run'

const head = 'name: t\nseed: 1\ndesigns: [D1]\nmachine:\n  devices:\n    - { name: gpu0, kind: dmirror }\nsteps:\n'

/** A vfork child that never execs or exits: its parent's next step waits in wait_for_vfork_done for good. */
const MAIN_BLOCKS = `${head}  - spawn: { task: A }
  - vfork: { task: A, child: C }
  - mmap: { task: A, region: buf, size: 8K }
  - exit: { task: C }
  - exit: { task: A }
`

/** The same wait in a background block; the main sequence goes on to its last step. */
const BACKGROUND_BLOCKS = `${head}  - spawn: { task: A }
  - vfork: { task: A, child: C }
  - background:
      steps:
        - mmap: { task: A, region: buf, size: 8K }
  - spawn: { task: X }
  - sleep: 1ms
  - exit: { task: X }
`

const run = (text: string) => runScenario(parseScenario(text, 't.yaml'), { design: 'D1' })

describe('a run whose main sequence blocks', () => {
  it('is stopped (blocked), naming the task, the step and what it waits on, not passed', () => {
    const r = run(MAIN_BLOCKS)
    const message = 'the scenario blocked (nothing more can happen): task A stays in mmap (line 10), waiting on vfork_done of C'
    expect(r.outcome).toMatchObject({ status: 'stopped', stop: { reason: 'blocked', message }, stepsDone: 2, stepsTotal: 5 })
    expect(r.outcome.waiting).toEqual([{ sequence: 'main', op: 'mmap', line: 10, task: 'A', on: 'vfork_done of C' }])
    expect(statusOfOutcome(r.outcome)).toBe('stopped')
    expect(statusWords(statusOfOutcome(r.outcome), r.outcome.stop)).toBe('stopped (blocked)')
    expect(r.findings.rows.map((f) => f.message)).toContain(message)
    expect(runConclusion('D1', r)[0]).toMatch(
      /^D1 did not run to its end: stopped \(blocked\) at t = .*, after 2 of 5 steps \(the scenario blocked .*vfork_done of C\)/,
    )
  })

  it('makes `hmmlab run` exit 1 and print the stop', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hmmlab-blocked-')), 'blocked.yaml')
    writeFileSync(file, MAIN_BLOCKS)
    let out = ''
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(runCommand([file], {})).toBe(1)
    } finally {
      o.mockRestore()
      e.mockRestore()
    }
    expect(out).toMatch(/^■ D1 t {2}seed 1 {2}stopped \(blocked\)/m)
    expect(out).toContain(
      'stopped after 2 of 5 steps: the scenario blocked (nothing more can happen): task A stays in mmap (line 10), waiting on vfork_done of C',
    )
  })
})

describe('a background step that never returns', () => {
  it('leaves a run that reached its end, with the waiting step recorded and said', () => {
    const r = run(BACKGROUND_BLOCKS)
    expect(r.outcome.status).toBe('passed')
    expect(r.outcome.stop).toBeUndefined()
    expect(r.outcome).toMatchObject({ stepsDone: 6, stepsTotal: 6 })
    expect(r.outcome.waiting).toEqual([{ sequence: 'background', background: 10, op: 'mmap', line: 12, task: 'A', on: 'vfork_done of C' }])
    const words = 'a background step never returned: task A stays in mmap (line 12), waiting on vfork_done of C'
    expect(backgroundWaitingWords(r.outcome)).toBe(words)
    expect(runConclusion('D1', r)).toContain(`D1: ${words}, at the end of the run.`)
    expect(recordSummary(r)).toContain(`    ! ${words}`)
  })

  it('a run where every step returned has no `waiting` (its record is as before)', () => {
    const r = run(`${head}  - spawn: { task: A }\n  - vfork: { task: A, child: C }\n  - exit: { task: C }\n  - mmap: { task: A, region: buf, size: 8K }\n`)
    expect(r.outcome.status).toBe('passed')
    expect('waiting' in r.outcome).toBe(false)
    expect(backgroundWaitingWords(r.outcome)).toBeUndefined()
  })
})
