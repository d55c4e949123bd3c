/**
 * An expect without a label is named after its checks (`counter invalidate.CLEAR = 512`,
 * `no leaks`), never "expect at line N": the record's `what` is what the CLI, the app, the HTML
 * report and the CSV print.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario } from '../../src/sim/index'
import { EXPECT_CHECKS, expectName } from '../../src/sim/scenario/expect'
import { ExpectSchema } from '../../src/shared/scenario'

describe('expectName', () => {
  it('names each kind of check as a kernel engineer reads it', () => {
    expect(expectName({ counter: { name: 'invalidate.CLEAR', value: 512 } })).toBe('counter invalidate.CLEAR = 512')
    expect(expectName({ leaked_bytes: 0 })).toBe('no leaks')
    expect(expectName({ leaked_bytes: { gt: 0 } })).toBe('leaked > 0')
    expect(expectName({ leaked_bytes: 0, findings: { count: 0 } })).toBe('no leaks, no findings')
    expect(expectName({ ret: '-EBADF', cpages: 16 })).toBe('ret = -EBADF, cpages = 16')
    expect(expectName({ ret: { lt: 0 } })).toBe('ret < 0')
    expect(expectName({ leaked: { owner: 'A', type: 'pages', bytes: { ge: 67108864 } } })).toBe('leaked pages of A ≥ 64 MiB')
    expect(expectName({ leaked: { owner: 'A', type: 'pages', bytes: 0 } })).toBe('no leaked pages of A')
    expect(expectName({ live: { type: 'file', count: 1 } })).toBe('live file objects = 1')
    expect(expectName({ live: { owner: 'B' } })).toBe('live memory of B > 0')
    expect(expectName({ findings: { kind: 'livelock' } })).toBe('a livelock finding')
    expect(expectName({ findings: { kind: 'invariant', count: 0 } })).toBe('no invariant findings')
    expect(expectName({ device_pages: { device: 'gpu0', task: 'A', region: 'buf', size: '8K', count: 0 } })).toBe(
      'gpu0 page-table entries for A in buf [+0, +8K) = 0',
    )
    expect(expectName({ mm: { task: 'A', phase: 'released', mm_count: 1 } })).toBe('mm of A released, mm_count = 1')
    expect(expectName({ memory: { task: 'B', region: 'buf', pattern: { index_plus: 1 } } })).toBe('memory of B buf holds index + 1')
    expect(expectName({ pagemap: { task: 'A', region: 'buf', present: false, swap: true } })).toBe('pagemap of A buf: not present, swap')
    expect(expectName({ order: ['release', { marker: 'notifier_release', match: 'A' }] })).toBe('order release → notifier_release "A"')
    expect(expectName({ if_ret: 0, buffer: { name: 'got', pattern: 'index' } })).toBe('buffer got holds index (if ret = 0)')
    expect(expectName({})).toBe('expect with no checks')
  })

  it('is the what of an unlabelled expect in the record; a label still wins', () => {
    const text = [
      'name: t',
      'seed: 1',
      'steps:',
      '  - spawn: { task: A }',
      '  - mmap: { task: A, region: buf, size: 64K }',
      '  - touch: { task: A, region: buf, write: true }',
      '  - madvise: { task: A, region: buf, advice: dontneed }',
      '  - expect: { ret: 0, live: { type: pages, owner: A, bytes: 0 } }',
      '  - expect: { label: "the mm is still there", mm: { task: A, phase: live } }',
      '  - exit: { task: A }',
      '  - expect: { leaked_bytes: 0 }',
      '',
    ].join('\n')
    const r = runScenario(parseScenario(text, 't.yaml'), { design: 'D5' })
    expect(r.expects.rows.map((e) => [e.line, e.what, e.passed])).toEqual([
      [8, 'ret = 0, no live pages of A', true],
      [9, 'the mm is still there', true],
      [11, 'no leaks', true],
    ])
  })

  it('has one check per expect field, written in the schema order', () => {
    const fields = Object.keys(ExpectSchema.shape).filter((k) => !['label', 'design', 'if_ret'].includes(k))
    expect(Object.keys(EXPECT_CHECKS)).toEqual(fields)
  })
})
