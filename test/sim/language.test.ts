/**
 * The scenario language's process and fd vocabulary (threads, vfork, execve, dup, SCM_RIGHTS,
 * MADV_DONTFORK / WIPEONFORK) and `expect.order`: each behaviour checked on the result of a small
 * scenario, so that a model without it fails.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, ScenarioError } from '../../src/sim/index'

const head = ['name: t', 'seed: 1', 'machine:', '  devices:', '    - { name: gpu0, kind: dmirror }', 'steps:']

function run(steps: string[], design: 'D1' | 'D2' | 'D4' | 'D5' = 'D5') {
  const sc = parseScenario([...head, ...steps.map((s) => `  ${s}`), ''].join('\n'), 't.yaml')
  return runScenario(sc, { design })
}

function failed(r: ReturnType<typeof run>): string[] {
  return r.expects.rows
    .filter((e) => !e.passed)
    .map(
      (e) =>
        `line ${e.line}: ${e.checks
          .filter((c) => !c.passed)
          .map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`)
          .join('; ')}`,
    )
}

function err(steps: string[]): ScenarioError {
  try {
    parseScenario([...head, ...steps.map((s) => `  ${s}`), ''].join('\n'), 'bad.yaml')
  } catch (e) {
    if (e instanceof ScenarioError) return e
    throw e
  }
  throw new Error('expected a ScenarioError')
}

describe('threads share one mm (copy_mm with CLONE_VM: mmget)', () => {
  it('mm_users rises without a second mm; a thread exit drops it; the last exit runs exit_mmap', () => {
    const r = run([
      '- spawn: { task: A }',
      '- mmap: { task: A, region: buf, size: 64K }',
      '- touch: { task: A, region: buf, write: true }',
      '- thread: { task: A, child: T1 }',
      '- thread: { task: T1, child: T2 }',
      '- expect: { mm: { task: T2, mm_users: 3 }, live: { type: mm_struct, count: 1 } }',
      '- write_data: { task: T2, region: buf, pattern: index }',
      '- expect: { memory: { task: A, region: buf, pattern: index } }',
      '- exit: { task: A }',
      '- exit: { task: T1 }',
      '- expect: { mm: { task: T2, mm_users: 1, phase: live } }',
      '- exit: { task: T2 }',
      '- expect: { mm: { task: A, phase: freed } }',
    ])
    expect(failed(r)).toEqual([])
    expect(r.markers.rows.filter((m) => m.kind === '__mmput').length).toBe(1)
    // __mmput ran after the third exit, not before
    const exits = r.markers.rows.filter((m) => m.kind === 'exit')
    const mmput = r.markers.rows.find((m) => m.kind === '__mmput')
    expect(exits).toHaveLength(3)
    expect(r.markers.rows.indexOf(mmput as (typeof r.markers.rows)[number])).toBeGreaterThan(
      r.markers.rows.indexOf(exits[2] as (typeof r.markers.rows)[number]),
    )
  })

  it('threads share the fd table: a thread exit closes nothing, the last one closes everything', () => {
    const r = run([
      '- spawn: { task: A }',
      '- thread: { task: A, child: T }',
      '- open: { task: T, device: gpu0, fd: f }',
      '- exit: { task: T }',
      '- expect: { live: { type: file, count: 1 } }',
      '- dup: { task: A, fd: f, as: g }',
      '- expect: { ret: 0 }',
      '- exit: { task: A }',
      '- sleep: 1ms',
      '- expect: { live: { type: file, count: 0 } }',
    ])
    expect(failed(r)).toEqual([])
    expect(r.markers.rows.filter((m) => m.kind === 'release')).toHaveLength(1)
  })

  it('execve by a thread makes the other threads exit (de_thread)', () => {
    const r = run([
      '- spawn: { task: A }',
      '- thread: { task: A, child: T }',
      '- execve: { task: T, old_mm: old }',
      '- expect: { mm: { task: old, phase: freed } }',
      '- expect: { mm: { task: T, mm_users: 1, phase: live } }',
      '- open: { task: A, device: gpu0, fd: f }',
      '- expect: { ret: -ESRCH }',
    ])
    expect(failed(r)).toEqual([])
    expect(r.markers.rows.filter((m) => m.kind === 'exit').map((m) => m.label)).toEqual(['A (pid 100)'])
  })
})

describe('vfork (wait_for_vfork_done)', () => {
  it("the parent's next step waits until the child execs", () => {
    const r = run([
      '- spawn: { task: A }',
      '- vfork: { task: A, child: C }',
      '- background: { steps: [ { sleep: 3ms }, { execve: { task: C } } ] }',
      '- spawn: { task: X }',
      '- open: { task: A, device: gpu0, fd: f }',
    ])
    const open = r.steps.rows.find((s) => s.op === 'open')
    const exec = r.markers.rows.find((m) => m.kind === 'exec')
    expect(exec).toBeDefined()
    // a step on another task does not wait; A's does
    expect((r.steps.rows.find((s) => s.op === 'spawn' && s.line === 10) as { t1: number }).t1).toBeLessThan(3_000_000)
    expect(open?.t1 ?? 0).toBeGreaterThanOrEqual(exec?.t ?? Infinity)
    expect(r.findings.rows).toEqual([])
  })

  it('a child that never execs or exits leaves the parent blocked: the run says so', () => {
    const r = run(['- spawn: { task: A }', '- vfork: { task: A, child: C }', '- open: { task: A, device: gpu0, fd: f }'])
    const message = 'the scenario blocked (nothing more can happen): task A stays in open (line 9), waiting on vfork_done of C'
    expect(r.findings.rows.map((f) => f.message)).toContain(message)
    // the main sequence did not reach its last step: the run stopped, it did not pass
    expect(r.outcome).toMatchObject({ status: 'stopped', stop: { reason: 'blocked', message }, stepsDone: 2, stepsTotal: 3 })
  })
})

describe('execve', () => {
  it('closes O_CLOEXEC fds, keeps the others, and mmputs the old mm', () => {
    const r = run([
      '- spawn: { task: A }',
      '- open: { task: A, device: gpu0, fd: keep }',
      '- open: { task: A, device: gpu0, fd: gone, cloexec: true }',
      '- open_tmpfile: { task: A, fd: tmp, size: 8K, cloexec: true }',
      '- dup: { task: A, fd: keep, as: keep2, cloexec: true }',
      '- execve: { task: A, old_mm: old }',
      '- expect: { mm: { task: old, phase: released, mm_users: 0 } }',
      '- expect: { live: { type: file, count: 1 } }',
      '- close: { task: A, fd: gone }',
      '- expect: { ret: -EBADF }',
      '- close: { task: A, fd: keep2 }',
      '- expect: { ret: -EBADF }',
      '- close: { task: A, fd: keep }',
      '- expect: { ret: 0 }',
    ])
    expect(failed(r)).toEqual([])
    // do_close_on_exec closed the three O_CLOEXEC fds during the exec
    expect(r.markers.rows.filter((m) => m.kind === 'close' && m.label.includes('close-on-exec'))).toHaveLength(3)
  })
})

describe('dup and SCM_RIGHTS', () => {
  it('dup2 onto an open fd closes it first; dup(fd, fd) does nothing', () => {
    const r = run([
      '- spawn: { task: A }',
      '- open: { task: A, device: gpu0, fd: a }',
      '- open: { task: A, device: gpu0, fd: b }',
      '- dup: { task: A, fd: a, as: b }',
      '- expect: { ret: 0, live: { type: file, count: 1 } }',
      '- dup: { task: A, fd: a, as: a }',
      '- expect: { ret: 0, live: { type: file, count: 1 } }',
      '- close: { task: A, fd: a }',
      '- dup: { task: A, fd: a, as: c }',
      '- expect: { ret: -EBADF, live: { type: file, count: 1 } }',
      '- close: { task: A, fd: b }',
      '- expect: { ret: 0, live: { type: file, count: 0 } }',
    ])
    expect(failed(r)).toEqual([])
    expect(r.markers.rows.filter((m) => m.kind === 'release')).toHaveLength(2)
  })

  it('a file in flight is held by the socket until it is received or the socket closes', () => {
    const r = run([
      '- spawn: { task: A }',
      '- spawn: { task: B }',
      '- open: { task: A, device: gpu0, fd: f }',
      '- send_fd: { task: A, fd: f, socket: s }',
      '- exit: { task: A }',
      '- sleep: 1ms',
      '- expect: { live: { type: file, count: 1 } }',
      '- recv_fd: { task: B, socket: s, fd: g }',
      '- expect: { ret: 0 }',
      '- close: { task: B, fd: g }',
      '- expect: { live: { type: file, count: 0 } }',
      '- recv_fd: { task: B, socket: s, fd: h }',
      '- expect: { ret: -EAGAIN }',
      '- close_socket: { task: B, socket: s }',
      '- send_fd: { task: B, fd: g, socket: s }',
      '- expect: { ret: -EBADF }',
    ])
    expect(failed(r)).toEqual([])
  })

  it('parse: a socket nobody sends on is an error with its line', () => {
    const e = err(['- spawn: { task: A }', '- recv_fd: { task: A, socket: nope, fd: g }'])
    expect(e.line).toBe(8)
    expect(e.message).toContain('steps[1].recv_fd.socket')
    expect(e.message).toContain('unknown socket (a send_fd names it) "nope"')
  })
})

describe('MADV_DONTFORK / MADV_WIPEONFORK', () => {
  const base = ['- spawn: { task: A }', '- mmap: { task: A, region: buf, size: 64K }', '- write_data: { task: A, region: buf, pattern: index }']
  it('DONTFORK: no VMA in the child and no PROTECTION_PAGE on the parent', () => {
    const r = run([
      ...base,
      '- madvise: { task: A, region: buf, advice: dontfork }',
      '- fork: { task: A, child: B }',
      '- expect: { counter: { name: invalidate.PROTECTION_PAGE, value: 0 } }',
      '- touch: { task: B, region: buf }',
      '- expect: { ret: -EFAULT }',
    ])
    expect(failed(r)).toEqual([])
  })
  it('WIPEONFORK: the child reads zeros; the parent keeps its data and sees no PROTECTION_PAGE', () => {
    const r = run([
      ...base,
      '- madvise: { task: A, region: buf, advice: wipeonfork }',
      '- fork: { task: A, child: B }',
      '- expect: { counter: { name: invalidate.PROTECTION_PAGE, value: 0 } }',
      '- touch: { task: B, region: buf, write: true }',
      '- expect: { ret: 0, memory: { task: B, region: buf, pattern: zero } }',
      '- expect: { memory: { task: A, region: buf, pattern: index } }',
    ])
    expect(failed(r)).toEqual([])
  })
  it('the flags split a VMA and DOFORK merges it back', () => {
    const r = run([
      ...base,
      '- madvise: { task: A, region: buf, size: 16K, advice: dontfork }',
      '- madvise: { task: A, region: buf, size: 16K, advice: dofork }',
      '- fork: { task: A, child: B }',
      '- expect: { counter: { name: invalidate.PROTECTION_PAGE, value: 1 } }',
      '- expect: { memory: { task: B, region: buf, pattern: index } }',
    ])
    expect(failed(r)).toEqual([])
  })
})

describe('expect.order', () => {
  it('passes when the first markers of each kind happened in order, and says why not otherwise', () => {
    const r = run([
      '- spawn: { task: A }',
      '- open: { task: A, device: gpu0, fd: f }',
      '- mirror: { task: A, fd: f }',
      '- exit: { task: A }',
      '- sleep: 1ms',
      '- expect: { order: [notifier_release, release] }',
      '- expect: { order: [release, notifier_release] }',
      '- expect: { order: [exec, release] }',
      '- expect: { order: [{ marker: release, match: "gpu0 file" }, { marker: release, match: "gpu0" }] }',
    ])
    const [ok, wrong, missing, same] = r.expects.rows
    expect(ok?.passed).toBe(true)
    expect(wrong?.passed).toBe(false)
    expect(wrong?.checks.map((c) => c.what).join()).toMatch(/order: notifier_release \(mm of A at [\d.]+ ms\) came before release \(gpu0 file/)
    expect(missing?.passed).toBe(false)
    expect(missing?.checks.map((c) => c.what).join()).toContain('order: no exec marker so far')
    expect(same?.passed).toBe(false)
    expect(same?.checks.map((c) => c.what).join()).toContain('are the same marker')
  })

  it('parse: an unknown marker kind is an error naming the line and the field', () => {
    const e = err(['- spawn: { task: A }', '- expect:', '    order: [release, relaese]'])
    expect(e.line).toBe(9)
    expect(e.message).toContain('steps[1].expect.order[1]')
  })

  it('parse: order needs two items', () => {
    const e = err(['- expect: { order: [release] }'])
    expect(e.message).toContain('steps[0].expect.order')
    expect(e.message).toContain('at least 2')
  })
})

describe('the JSON Schema and the editor document the new steps', () => {
  it('every new step has a description and described fields; expect.order is documented', async () => {
    const { scenarioJsonSchema } = await import('../../src/sim/index')
    const { stepCatalogue } = await import('../../src/renderer/lib/step-docs')
    const schema = scenarioJsonSchema()
    const cat = stepCatalogue(schema)
    for (const name of ['thread', 'vfork', 'execve', 'dup', 'send_fd', 'recv_fd', 'close_socket']) {
      const d = cat.find((s) => s.name === name)
      expect(d, name).toBeDefined()
      expect(d?.description.length ?? 0, name).toBeGreaterThan(20)
      expect(d?.fields.find((f) => f.name === 'task')?.required, name).toBe(true)
    }
    expect(cat.find((s) => s.name === 'execve')?.fields.find((f) => f.name === 'old_mm')?.description).toContain('expect mm')
    expect(JSON.stringify(schema)).toContain('must all exist and have happened in this order')
    expect(JSON.stringify(schema)).toContain('"wipeonfork"')
  })
})

describe('execve.old_mm names', () => {
  it('must not reuse a task name', () => {
    const e = err(['- spawn: { task: A }', '- spawn: { task: B }', '- execve: { task: A, old_mm: B }'])
    expect(e.line).toBe(9)
    expect(e.message).toContain('steps[2].execve.old_mm: "B" already names a task or an old mm')
    const e2 = err(['- spawn: { task: A }', '- execve: { task: A, old_mm: X }', '- spawn: { task: X }'])
    expect(e2.message).toContain('steps[2].spawn.task: "X" already names the old mm of an execve')
  })
})
