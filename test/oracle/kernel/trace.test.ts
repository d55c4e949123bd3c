/**
 * From the guest's records and ftrace text to the kernel's OracleSide: step tagging by the
 * trace_marker, mm pointers to tasks (the whole-mm interval insert of dmirror_fops_open), ranges
 * to (region, first page, pages) with the task's regions around the step, owner pointers to the
 * scenario's device names, the trailing exits.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../../src/sim/index'
import { compileProgram } from '../../../src/main/services/oracle/kernel/program'
import {
  buildSide,
  describeKhugepaged,
  parseCalibration,
  parseKhugepaged,
  parseRecords,
  parseTrace,
  sliceRange,
} from '../../../src/main/services/oracle/kernel/trace'
import { OracleSideSchema } from '../../../src/shared/oracle'

const SC = `name: tiny
machine:
  devices:
    - { name: dev, kind: dmirror }
steps:
  - spawn: { task: p }
  - open: { task: p, device: dev, fd: f }
  - mmap: { task: p, region: buf, size: 16K }
  - write_data: { task: p, region: buf, pattern: index }
  - migrate_to_device: { task: p, fd: f, region: buf }
  - expect: { ret: 0, cpages: 4 }
  - munmap: { task: p, region: buf, offset: 4K, size: 8K }
`
const MM = '0xffff888004d2b000'
const OWNER = '0xffff888003a40000'
const ev = (pid: number, ts: string, name: string, rest: string): string => `        executor-${pid}      [001] .....     ${ts}: ${name}: ${rest}`
const irs = (pid: number, ts: string, start: string, end: string, event: number, owner = '0x0'): string =>
  ev(pid, ts, 'irs', `(__mmu_notifier_invalidate_range_start+0x0/0x90) mm=${MM} start=${start} end=${end} flags=1 event=${event} owner=${owner}`)
const ii = (pid: number, ts: string, start: string, end: string, event: number, owner = '0x0'): string =>
  ev(pid, ts, 'ii', `(dmirror_interval_invalidate+0x0/0x80) sub=0xffff888004e00018 mm=${MM} start=${start} end=${end} flags=1 event=${event} owner=${owner}`)
const mark = (pid: number, ts: string, text: string): string => ev(pid, ts, 'tracing_mark_write', text)

const TRACE = [
  '# tracer: nop',
  '#',
  irs(60, '1.000000', '0x7ffff7000000', '0x7ffff7001000', 1), // left over before the program
  mark(70, '2.000000', 'hmmlab program p0'),
  mark(70, '2.000001', 'hmmlab step 0'),
  mark(71, '2.100000', 'hmmlab step 1'),
  ev(71, '2.100010', 'ins', `(mmu_interval_notifier_insert+0x0/0x60) sub=0xffff888004e00018 mm=${MM} start=0x0 len=0xfffffffffffff000`),
  mark(71, '2.200000', 'hmmlab step 2'),
  mark(71, '2.300000', 'hmmlab step 3'),
  mark(71, '2.400000', 'hmmlab step 4'),
  irs(71, '2.400100', '0x100000000', '0x100004000', 6, OWNER),
  ii(71, '2.400101', '0x100000000', '0x100004000', 6, OWNER),
  mark(70, '2.500000', 'hmmlab step 5'),
  mark(71, '2.600000', 'hmmlab step 6'),
  irs(71, '2.600100', '0x100001000', '0x100003000', 0),
  ii(71, '2.600101', '0x100001000', '0x100003000', 0),
  irs(71, '2.600200', '0xfffff000', '0x100002000', 1), // partly outside the region
  mark(70, '2.700000', 'hmmlab trailing'),
  ev(71, '2.700100', 'rel', `(__mmu_notifier_release+0x0/0x1a0) mm=${MM}`),
  ii(71, '2.700101', '0x0', '0xffffffffffffffff', 5),
  irs(71, '2.700200', '0x0', '0xffffffffffffffff', 0),
  ev(71, '2.700300', 'rm', '(mmu_interval_notifier_remove+0x0/0x150) sub=0xffff888004e00018'),
  mark(70, '2.800000', 'hmmlab end p0'),
].join('\n')

const RECORDS = [
  'T 0 p 71',
  'R 0 0 - -',
  'V 0 p 8 80',
  'R 1 0 - -',
  'R 2 0 - -',
  'L 2 p 1',
  'G 2 p buf 100000000 4 1',
  'M 2 p buf 4 0 0 0 0 0',
  'R 3 0 - -',
  'L 3 p 1',
  'G 3 p buf 100000000 4 1',
  'M 3 p buf 4 4 0 4 0 0',
  'V 3 p 12 96',
  'R 4 0 4 0',
  'L 4 p 1',
  'G 4 p buf 100000000 4 1',
  'M 4 p buf 4 0 4 0 0 -',
  'R 6 0 - -',
  'L 6 p 1',
  'G 6 p buf 100000000 4 1',
  'M 6 p buf 4 0 2 0 0 0',
  'X 6 something to say',
].join('\n')

describe('trace parser', () => {
  it('reads markers and kprobe events with 64-bit fields', () => {
    const { events, skipped } = parseTrace(TRACE)
    expect(skipped).toBe(0)
    const first = events[0]
    expect(first?.kind).toBe('irs')
    if (first?.kind === 'irs') {
      expect(first.pid).toBe(60)
      expect(first.f.start).toBe(0x7ffff7000000n)
      expect(first.f.mm).toBe(0xffff888004d2b000n)
    }
    expect(events.filter((e) => e.kind === 'marker').length).toBe(10)
    expect(parseTrace('garbage line\n').skipped).toBe(1)
  })

  it('slices a range over regions, once per page, and counts the rest', () => {
    const regions = [
      { name: 'a', start: 0x100000000n, pages: 4, seq: 1 },
      { name: 'b', start: 0x100008000n, pages: 2, seq: 2 },
    ]
    expect(sliceRange(0xfffff000n, 0x100009000n, regions)).toEqual({
      slices: [
        { region: 'a', first: 0, pages: 4 },
        { region: 'b', first: 0, pages: 1 },
      ],
      outside: 5,
    })
    expect(sliceRange(0x100001000n, 0x100001800n, regions)).toEqual({ slices: [{ region: 'a', first: 1, pages: 1 }], outside: 0 })
    // the same pages under two names count once, for the region placed last
    expect(sliceRange(0x100000000n, 0x100001000n, [...regions, { name: 'a2', start: 0x100000000n, pages: 1, seq: 3 }]).slices).toEqual([
      { region: 'a2', first: 0, pages: 1 },
    ])
  })

  it('gives pages two regions cover to the newer one (a mapping placed in a partly unmapped region)', () => {
    // buf: 16 pages, its pages 4..7 unmapped and `moved` (4 pages) placed there
    const regions = [
      { name: 'buf', start: 0x40000000n, pages: 16, seq: 1 },
      { name: 'moved', start: 0x40004000n, pages: 4, seq: 2 },
    ]
    expect(sliceRange(0x40000000n, 0x40010000n, regions)).toEqual({
      slices: [
        { region: 'buf', first: 0, pages: 4 },
        { region: 'moved', first: 0, pages: 4 },
        { region: 'buf', first: 8, pages: 8 },
      ],
      outside: 0,
    })
    expect(sliceRange(0x40004000n, 0x40008000n, regions).slices).toEqual([{ region: 'moved', first: 0, pages: 4 }])
  })

  it('rejects a malformed region record', () => {
    expect(() => parseRecords('G 2 p buf 100000000 4')).toThrow(/malformed region record "G 2 p buf 100000000 4"/)
  })

  it('drops a region from attribution once the task lists it no more (munmap of all of it)', () => {
    const sc = parseScenario(
      `name: gone
steps:
  - spawn: { task: p }
  - mmap: { task: p, region: a, size: 16K }
  - munmap: { task: p, region: a }
  - mmap: { task: p, region: b, size: 4K }
`,
      'gone.yaml',
    )
    const program = compileProgram(sc, 'D5', 'p0')
    const mm = '0xffff888004d2b000'
    const side = buildSide({
      program,
      scenario: { name: 'gone', file: 'gone.yaml', hash: 'h' },
      design: 'D5',
      version: {},
      records: [
        'T 0 p 71',
        'R 0 0 - -',
        'L 0 p 0',
        'R 1 0 - -',
        'L 1 p 1',
        'G 1 p a 100000000 4 1',
        'R 2 0 - -',
        'L 2 p 0',
        'R 3 0 - -',
        'L 3 p 1',
        'G 3 p b 100000000 1 2',
      ].join('\n'),
      trace: [
        mark(70, '1.0', 'hmmlab program p0'),
        mark(71, '1.1', 'hmmlab step 0'),
        ev(71, '1.11', 'ins', `(mmu_interval_notifier_insert+0x0/0x60) sub=0xffff888004e00018 mm=${mm} start=0x0 len=0xfffffffffffff000`),
        mark(71, '1.2', 'hmmlab step 1'),
        mark(71, '1.3', 'hmmlab step 2'),
        irs(71, '1.31', '0x100000000', '0x100004000', 0),
        mark(71, '1.4', 'hmmlab step 3'),
        irs(71, '1.41', '0x100000000', '0x100004000', 1),
      ].join('\n'),
      owners: new Map(),
    })
    // during the munmap `a` is still attributed (the table as the step began)
    expect(side.steps[2]?.invalidations.map((i) => [i.slices, i.outside_pages])).toEqual([[[{ region: 'a', first: 0, pages: 4 }], 0]])
    // afterwards its old addresses belong to `b` only
    expect(side.steps[3]?.invalidations.map((i) => [i.slices, i.outside_pages])).toEqual([[[{ region: 'b', first: 0, pages: 1 }], 3]])
  })

  it('learns device owners from the calibration MIGRATE of each device', () => {
    const cal = [
      mark(5, '0.5', 'hmmlab calibrate hmm_dmirror1'),
      irs(5, '0.6', '0x1000', '0x2000', 6, OWNER),
      mark(5, '0.7', 'hmmlab calibrated hmm_dmirror1 0'),
    ].join('\n')
    expect(parseCalibration(cal)).toEqual(new Map([[0xffff888003a40000n, 'hmm_dmirror1']]))
  })

  it('builds a valid OracleSide: steps tagged, tasks, regions, owners, trailing', () => {
    const sc = parseScenario(SC, 'tiny.yaml')
    const program = compileProgram(sc, 'D5', 'p0')
    const side = buildSide({
      program,
      scenario: { name: 'tiny', file: 'tiny.yaml', hash: 'h' },
      design: 'D5',
      version: { release: '6.12.118', config: 'c', accel: 'tcg' },
      records: RECORDS,
      trace: TRACE,
      owners: new Map([[0xffff888003a40000n, 'hmm_dmirror0']]),
    })
    expect(() => OracleSideSchema.parse(side)).not.toThrow()
    expect(side.steps.map((s) => s.op)).toEqual(['spawn', 'open', 'mmap', 'write_data', 'migrate_to_device', 'expect', 'munmap'])
    const mig = side.steps[4]
    expect(mig).toMatchObject({ ret: 0, cpages: 4, faults: 0 })
    expect(mig?.pagemap).toEqual([{ region: 'buf', pages: 4, present: 0, swapped: 4, exclusive: 0, soft_dirty: 0, zero_page: null }])
    expect(mig?.invalidations).toEqual([
      { via: 'range_start', event: 'MIGRATE', task: 'p', whole: false, slices: [{ region: 'buf', first: 0, pages: 4 }], outside_pages: 0, owner: 'dev' },
      { via: 'interval', event: 'MIGRATE', task: 'p', whole: false, slices: [{ region: 'buf', first: 0, pages: 4 }], outside_pages: 0, owner: 'dev' },
    ])
    const un = side.steps[6]
    expect(un?.invalidations.map((i) => [i.via, i.event, i.slices, i.outside_pages])).toEqual([
      ['range_start', 'UNMAP', [{ region: 'buf', first: 1, pages: 2 }], 0],
      ['interval', 'UNMAP', [{ region: 'buf', first: 1, pages: 2 }], 0],
      ['range_start', 'CLEAR', [{ region: 'buf', first: 0, pages: 2 }], 1],
    ])
    expect(side.steps[5]?.ret).toBeNull()
    expect(side.steps[0]).toMatchObject({ vm_pte_kb: 8, rss_anon_kb: 80 })
    expect(side.trailing.map((i) => [i.via, i.event, i.whole])).toEqual([
      ['range_start', 'RELEASE', true],
      ['interval', 'RELEASE', true],
      ['range_start', 'UNMAP', true],
    ])
    expect(side.notes).toContain('step 6: something to say')
    expect(side.notes.some((n) => /1 trace events before the program/.test(n))).toBe(true)
  })

  it('reads data checks, snapshots and notes from the records', () => {
    const r = parseRecords(['N 7 0102ff', 'D 8 1 - memory p buf', 'D 8 0 3 buffer mirror', 'X -1 p did not exit within 60 s', 'R 9 -14 0 0'].join('\n'))
    expect(r.snapshot.get(7)).toEqual([1, 2, 255])
    expect(r.data.get(8)).toEqual([
      { what: 'memory p buf', ok: true, first_bad_page: null },
      { what: 'buffer mirror', ok: false, first_bad_page: 3 },
    ])
    expect(r.ret.get(9)).toEqual({ ret: -14, cpages: 0, faults: 0 })
  })
})

describe("khugepaged's background scan in the guest", () => {
  const parked = 'parked keeper=57 scan_sleep_millisecs=4294967295 full_scans=1 pages_collapsed=0\n'
  it('says it was off when the scan was parked and nothing was collapsed during the boot', () => {
    const s = parseKhugepaged(parked + 'state scan_sleep_millisecs=4294967295 full_scans=1 pages_collapsed=0\n')
    expect(s).toEqual({ parked: true, why: null, collapsedBefore: 0, collapsedAfter: 0 })
    expect(describeKhugepaged(s)).toEqual({ version: 'off (background scan parked; no collapse during the boot)', note: null })
  })
  it('notes collapses that happened although the scan was parked', () => {
    const d = describeKhugepaged(parseKhugepaged(parked + 'state scan_sleep_millisecs=4294967295 full_scans=2 pages_collapsed=3\n'))
    expect(d.version).toBe('parked, but pages_collapsed grew by 3 during the boot')
    expect(d.note).toMatch(/grew by 3/)
  })
  it('says why it ran when the guest could not park it, or is an image from before', () => {
    const d = describeKhugepaged(
      parseKhugepaged('not-parked scan_sleep_millisecs: Permission denied\nstate scan_sleep_millisecs=10000 full_scans=4 pages_collapsed=2\n'),
    )
    expect(d.version).toBe('on (scan_sleep_millisecs: Permission denied)')
    expect(d.note).toMatch(/background scan ran during this boot/)
    expect(describeKhugepaged(parseKhugepaged(null)).version).toMatch(/^on \(the guest image does not stop it/)
  })
})
