/** Held by: the chain of references the ledger recorded, from a leaked object back to what holds it. */
import { describe, expect, it } from 'vitest'
import { Ledger } from '../../src/sim/ledger/ledger'
import { parseScenario, runScenario } from '../../src/sim/index'
import { read } from './helpers'

describe('ledger holds', () => {
  it('follows the references alive when the owner went away, holder first, and ignores the owner’s own', () => {
    let now = 0
    const led = new Ledger(
      () => now,
      () => undefined,
    )
    const a = led.addOwner('task A')
    const b = led.addOwner('task B')
    const mm = led.alloc('mm_struct', 1024, a, 'mm of A', ['mm_alloc'])
    const file = led.alloc('file', 256, a, 'struct file', ['alloc_file'])
    led.charge('pages', a, 4096)
    led.hold('fd:A:3', file, null, "A's fd 3")
    led.hold('fd:B:3', file, null, "B's fd 3")
    led.hold('pin', mm, file, 'mm_users reference')
    now = 10
    led.unhold('fd:A:3')
    led.reown(file, b)
    led.ownerDied(a)
    expect(led.heldBy(a, 10)).toEqual(["B's fd 3", 'struct file', 'mm_users reference', 'mm of A'])
    now = 20
    led.unhold('fd:B:3')
    led.unhold('pin')
    led.free(mm, ['__mmdrop'])
    led.charge('pages', a, -4096)
    // at 10 the chain was alive; at 20 nothing holds A's memory any more
    expect(led.heldBy(a, 20)).toEqual([])
    const pages = led.leakTable().find((r) => r.type === 'pages')!
    expect(pages.heldBy).toEqual(["B's fd 3", 'struct file', 'mm_users reference', 'mm of A', 'its pages'])
  })
})

describe('the 2014 fork scenario', () => {
  it('D1: B’s inherited fd holds the file, whose mirror context holds A’s mm_users, which holds A’s pages', () => {
    const file = 'scenarios/thread-2014/a-fork-after-mirror.yaml'
    const r = runScenario(parseScenario(read(file), file), { design: 'D1' })
    const pages = r.leaks.rows.find((l) => l.objectType === 'pages' && l.owner === 'task A')!
    expect(pages.peakBytes).toBeGreaterThanOrEqual(64 << 20)
    expect(pages.heldBy).toEqual(["B's fd dev", 'gpu0 file (opened by A as dev)', "D1's mm_users reference", 'mm of A', 'its pages'])
  })

  it('D1: a dup passed over SCM_RIGHTS: the receiver’s fd is the live reference, not the closed ones', () => {
    const yaml = [
      'name: fd passed',
      'seed: 1',
      'designs: [D1]',
      'machine:',
      '  devices:',
      '    - { name: gpu0, kind: dmirror }',
      'steps:',
      '  - spawn: { task: A }',
      '  - spawn: { task: B }',
      '  - open: { task: A, device: gpu0, fd: dev }',
      '  - mmap: { task: A, region: buf, size: 1M }',
      '  - write_data: { task: A, region: buf, pattern: index }',
      '  - mirror: { task: A, fd: dev }',
      '  - dup: { task: A, fd: dev, as: dev2 }',
      '  - close: { task: A, fd: dev }',
      '  - send_fd: { task: A, fd: dev2, socket: sock }',
      '  - close: { task: A, fd: dev2 }',
      '  - recv_fd: { task: B, socket: sock, fd: got }',
      '  - exit: { task: A }',
      '  - sleep: 10ms',
    ].join('\n')
    const r = runScenario(parseScenario(yaml, 'passed.yaml'), { design: 'D1' })
    const pages = r.leaks.rows.find((l) => l.objectType === 'pages' && l.owner === 'task A')!
    expect(pages).toBeDefined()
    // A had closed both fds, so its exit hands the file to nobody: A's own file, held by B's fd
    expect(pages.heldBy).toEqual(["B's fd got", 'gpu0 file (opened by A as dev)', 'its pages'])
  })
})
