import { describe, expect, it } from 'vitest'
import type { OracleInvalidation, OracleSide, OracleStep } from '../../src/shared/oracle'
import { compareSides } from '../../src/main/services/oracle/compare'
import {
  DeclarationError,
  parseList,
  ToleranceSchema,
  KnownDifferenceSchema,
  type Declarations,
  type Tolerance,
  type KnownDifference,
} from '../../src/main/services/oracle/declarations'

const inv = (event: OracleInvalidation['event'], slices: Array<[string, number, number]>, o: Partial<OracleInvalidation> = {}): OracleInvalidation => ({
  via: 'range_start',
  event,
  task: 'self',
  whole: false,
  slices: slices.map(([region, first, pages]) => ({ region, first, pages })),
  outside_pages: 0,
  owner: null,
  ...o,
})

const step = (index: number, op: string, line: number, o: Partial<OracleStep> = {}): OracleStep => ({
  index,
  line,
  op,
  task: 'self',
  ret: 0,
  cpages: null,
  faults: null,
  snapshot: null,
  data: [],
  pagemap: [],
  vm_pte_kb: null,
  rss_anon_kb: null,
  invalidations: [],
  ...o,
})

function side(kind: 'kernel' | 'simulator', steps: OracleStep[], notes: string[] = []): OracleSide {
  return {
    format: 'hmmlab-oracle/1',
    side: kind,
    scenario: { name: 'crafted', file: 'scenarios/crafted.yaml', hash: 'x' },
    design: 'D5',
    version: {},
    steps,
    trailing: [],
    notes,
  }
}

const NONE: Declarations = { tolerances: [], known: [], files: { tolerances: 't', known: 'k' } }
const decl = (tolerances: Tolerance[] = [], known: KnownDifference[] = []): Declarations => ({ ...NONE, tolerances, known })

const base = (): OracleStep[] => [
  step(0, 'spawn', 3),
  step(1, 'mmap', 4),
  step(2, 'fork', 5, { invalidations: [inv('PROTECTION_PAGE', [['a', 0, 16]]), inv('PROTECTION_PAGE', [['a', 0, 16]], { via: 'interval' })] }),
  step(3, 'write_data', 6, { invalidations: [inv('CLEAR', [['a', 2, 1]]), inv('CLEAR', [['a', 3, 1]])] }),
  step(4, 'munmap', 7, { invalidations: [inv('UNMAP', [['a', 0, 16]])] }),
]

describe('compareSides', () => {
  it('agrees with itself', () => {
    const c = compareSides(side('kernel', base()), side('simulator', base()), NONE)
    expect(c.verdict).toBe('agree')
    expect(c.differences).toEqual([])
    expect(c.counts.steps).toBe(5)
    expect(c.counts.kernel.items).toBe(5)
  })

  it('puts the first difference first: step, line, kernel vs simulator', () => {
    const k = base()
    const s = base()
    s[3] = step(3, 'write_data', 6, { invalidations: [inv('CLEAR', [['a', 2, 2]])] }) // one CLEAR per range instead of per page
    s[4] = step(4, 'munmap', 7, { ret: -22, invalidations: [inv('UNMAP', [['a', 0, 16]])] })
    const c = compareSides(side('kernel', k), side('simulator', s), NONE)
    expect(c.verdict).toBe('differ')
    const d = c.differences[0]!
    expect(d).toMatchObject({ step: 3, line: 6, op: 'write_data', field: 'invalidations', subject: 'self/a', status: 'new', events: ['CLEAR'] })
    expect(d.kernel).toContain('item 1: CLEAR page 2')
    expect(d.simulator).toContain('item 1: CLEAR pages 2..3')
    expect(c.differences[1]).toMatchObject({ step: 4, line: 7, field: 'ret', kernel: '0', simulator: '-22' })
  })

  it('compares per region: the two sides may meet regions in different address orders or merged', () => {
    const k = [
      step(0, 'fork', 9, {
        invalidations: [
          inv('PROTECTION_PAGE', [
            ['b', 0, 4],
            ['a', 0, 8],
          ]),
        ],
      }),
    ]
    const s = [step(0, 'fork', 9, { invalidations: [inv('PROTECTION_PAGE', [['a', 0, 8]]), inv('PROTECTION_PAGE', [['b', 0, 4]])] })]
    expect(compareSides(side('kernel', k), side('simulator', s), NONE).verdict).toBe('agree')
    // but the order within one region matters
    const k2 = [step(0, 'x', 9, { invalidations: [inv('CLEAR', [['a', 0, 1]]), inv('UNMAP', [['a', 0, 1]])] })]
    const s2 = [step(0, 'x', 9, { invalidations: [inv('UNMAP', [['a', 0, 1]]), inv('CLEAR', [['a', 0, 1]])] })]
    expect(compareSides(side('kernel', k2), side('simulator', s2), NONE).verdict).toBe('differ')
  })

  it('counts parts outside the regions without comparing them', () => {
    const k = base()
    k[2]!.invalidations.push(inv('CLEAR', [], { outside_pages: 1 })) // the parent's stack page
    const c = compareSides(side('kernel', k), side('simulator', base()), NONE)
    expect(c.verdict).toBe('agree')
    expect(c.counts.kernel.outside).toBe(1)
    expect(c.counts.simulator.outside).toBe(0)
  })

  it("confines both sides to the regions live at the step (the guest reuses an unmapped region's addresses)", () => {
    // buf0 was unmapped at step 0; the guest's buf1 took its addresses and its table still has buf0
    const k = [
      step(0, 'munmap', 3, { invalidations: [inv('UNMAP', [['buf0', 0, 16]])] }),
      step(1, 'madvise', 5, {
        invalidations: [
          inv('CLEAR', [
            ['buf0', 4, 8],
            ['buf1', 0, 8],
          ]),
        ],
      }),
    ]
    const s = [
      step(0, 'munmap', 3, { invalidations: [inv('UNMAP', [['buf0', 0, 16]])] }),
      step(1, 'madvise', 5, { invalidations: [inv('CLEAR', [['buf1', 0, 8]])] }),
    ]
    const live = new Map([
      [0, new Map([['self', new Set(['buf0'])]])],
      [1, new Map([['self', new Set(['buf1'])]])],
    ])
    expect(compareSides(side('kernel', k), side('simulator', s), NONE).verdict).toBe('differ')
    const c = compareSides(side('kernel', k), side('simulator', s), NONE, { live })
    expect(c.verdict).toBe('agree')
    expect(c.skipped.map((x) => x.field)).toEqual(['invalidations.unmapped_region'])
  })

  it('compares whole-address-space events in the task list "*"', () => {
    const k = [step(0, 'exit', 3, { invalidations: [inv('RELEASE', [], { whole: true, via: 'interval' }), inv('UNMAP', [], { whole: true })] })]
    const s = [
      step(0, 'exit', 3, {
        invalidations: [inv('RELEASE', [], { whole: true }), inv('RELEASE', [], { whole: true, via: 'interval' }), inv('UNMAP', [], { whole: true })],
      }),
    ]
    const c = compareSides(side('kernel', k), side('simulator', s), NONE)
    expect(c.differences).toHaveLength(1)
    expect(c.differences[0]).toMatchObject({ subject: 'self/*', events: ['RELEASE', 'UNMAP'] })
    expect(c.differences[0]!.simulator).toContain('item 1: RELEASE whole address space (range_start)')
  })

  it('applies a tolerance and lists it', () => {
    const k = base()
    k[3] = step(3, 'write_data', 6, { invalidations: [inv('CLEAR', [['a', 2, 1]])] })
    const tol: Tolerance = {
      id: 'race',
      rule: 'count_may_differ',
      field: 'invalidations',
      match: { event: 'CLEAR' },
      kernel: 'wp_page_copy',
      evidence: 'e',
      applies: { scenarios: ['crafted'], ops: ['write_data'] },
    }
    const c = compareSides(side('kernel', k), side('simulator', base()), decl([tol]))
    expect(c.verdict).toBe('agree')
    expect(c.tolerated).toEqual([{ id: 'race', step: 3, line: 6, op: 'write_data', detail: 'CLEAR: kernel 1, simulator 2 region slices (count may differ)' }])
    // not for another scenario
    const other = compareSides(side('kernel', k), side('simulator', base()), decl([{ ...tol, applies: { scenarios: ['hmm.*'] } }]))
    expect(other.verdict).toBe('differ')
  })

  it('reports a declared known difference as known (exit 0), anything else as new', () => {
    const s = base()
    s[4] = step(4, 'munmap', 7, { invalidations: [inv('UNMAP', [['a', 0, 16]]), inv('UNMAP', [['a', 0, 16]])] })
    const known: KnownDifference = {
      id: 'second-unmap',
      field: 'invalidations',
      match: { event: 'UNMAP' },
      applies: { scenarios: ['crafted.yaml'], lines: [7] },
      kernel: 'unmap_region',
      evidence: 'traced',
      why: 'fix pending',
    }
    const c = compareSides(side('kernel', base()), side('simulator', s), decl([], [known]))
    expect(c.verdict).toBe('known')
    expect(c.differences[0]).toMatchObject({ status: 'known', known: 'second-unmap' })
    const c2 = compareSides(side('kernel', base()), side('simulator', s), decl([], [{ ...known, applies: { scenarios: ['crafted.yaml'], lines: [8] } }]))
    expect(c2.verdict).toBe('differ')
  })

  it('compares the change of VmPTE and RssAnon over a step, not the guest baseline', () => {
    const k = [
      step(0, 'mmap', 3, { vm_pte_kb: 60, rss_anon_kb: 200 }),
      step(1, 'touch', 4, { vm_pte_kb: 64, rss_anon_kb: 264 }),
      step(2, 'touch', 5, { vm_pte_kb: 76, rss_anon_kb: 268 }),
    ]
    const s = [
      step(0, 'mmap', 3, { vm_pte_kb: 0, rss_anon_kb: 0 }),
      step(1, 'touch', 4, { vm_pte_kb: 4, rss_anon_kb: 64 }),
      step(2, 'touch', 5, { vm_pte_kb: 8, rss_anon_kb: 64 }),
    ]
    const c = compareSides(side('kernel', k), side('simulator', s), NONE)
    expect(c.differences.map((d) => `${d.step} ${d.field} ${d.kernel} / ${d.simulator}`)).toEqual([
      '2 vm_pte_kb +12 KiB (64 → 76) / +4 KiB (4 → 8)',
      '2 rss_anon_kb +4 KiB (264 → 268) / +0 KiB (64 → 64)'.replace('+0', '0'),
    ])
    const within: Tolerance = { id: 'layout', rule: 'within', field: 'vm_pte_kb', kb: 8, kernel: '__pmd_alloc', evidence: 'e', applies: { scenarios: ['*'] } }
    const c2 = compareSides(side('kernel', k), side('simulator', s), decl([within]))
    expect(c2.differences.map((d) => d.field)).toEqual(['rss_anon_kb'])
    expect(c2.tolerated[0]!.id).toBe('layout')
  })

  it('skips fields a side does not observe, and says so', () => {
    const pm = (present: number, soft: number) => [{ region: 'a', pages: 16, present, swapped: 0, exclusive: 3, soft_dirty: soft, zero_page: null }]
    const k = [step(0, 'touch', 3, { pagemap: pm(16, 16) })]
    const s = [step(0, 'touch', 3, { pagemap: pm(16, 0) })]
    const c = compareSides(side('kernel', k), side('simulator', s, ['not observed: pagemap.soft_dirty: no soft-dirty bits']), NONE)
    expect(c.verdict).toBe('agree')
    expect(c.skipped.map((x) => x.field).sort()).toEqual(['pagemap.soft_dirty', 'pagemap.zero_page'])
    const s2 = [step(0, 'touch', 3, { pagemap: pm(8, 0) })]
    const c2 = compareSides(side('kernel', k), side('simulator', s2, ['not observed: pagemap.soft_dirty: x']), NONE)
    expect(c2.differences[0]).toMatchObject({ field: 'pagemap', subject: 'a', kernel: 'present 16', simulator: 'present 8' })
  })

  it('compares SNAPSHOT bytes and data checks', () => {
    const k = [
      step(0, 'snapshot', 3, { snapshot: [0x0a, 0x0a, 0x02] }),
      step(1, 'expect', 4, { ret: null, data: [{ what: 'memory self a', ok: true, first_bad_page: null }] }),
    ]
    const s = [
      step(0, 'snapshot', 3, { snapshot: [0x0a, 0x0b, 0x02] }),
      step(1, 'expect', 4, { ret: null, data: [{ what: 'memory self a', ok: false, first_bad_page: 5 }] }),
    ]
    const c = compareSides(side('kernel', k), side('simulator', s), NONE)
    expect(c.differences.map((d) => [d.field, d.subject, d.kernel, d.simulator])).toEqual([
      ['snapshot', 'byte 1', '0x0a (of 3 bytes)', '0x0b (of 3 bytes)'],
      ['data', 'memory self a', 'holds the pattern', 'page 5 differs from the pattern'],
    ])
  })

  it('stops at the first step where the two sides ran different steps', () => {
    const s = base()
    s[2] = step(2, 'exit', 5)
    const c = compareSides(side('kernel', base()), side('simulator', s), NONE)
    expect(c.differences).toHaveLength(1)
    expect(c.differences[0]).toMatchObject({ field: 'steps', step: 2, kernel: 'step 2: fork at line 5', simulator: 'step 2: exit at line 5' })
    const short = compareSides(side('kernel', base().slice(0, 3)), side('simulator', base()), NONE)
    expect(short.differences[0]).toMatchObject({ field: 'steps', subject: 'step count', step: 3 })
  })

  it('reads a step that never returned on one side as such, not as a return code', () => {
    // the kernel's READ failed at once; the simulator's stayed in the ioctl (a livelock finding)
    const k = [...base(), step(5, 'device_read', 9, { ret: -14, cpages: 0, faults: 0 })]
    const s = [...base(), step(5, 'device_read', 9, { ret: null, unfinished: 'livelock' })]
    const c = compareSides(side('kernel', k), side('simulator', s), NONE)
    expect(c.verdict).toBe('differ')
    expect(c.differences).toEqual([expect.objectContaining({ step: 5, line: 9, field: 'ret', kernel: '-14', simulator: 'did not return (livelock)' })])
    // cpages and faults are not compared, and the reason is not "did not report it"
    expect(c.skipped.filter((x) => x.field === 'cpages' || x.field === 'faults').map((x) => x.why)).toEqual([
      'simulator side: the step did not return (livelock)',
      'simulator side: the step did not return (livelock)',
    ])
    expect(c.skipped.some((x) => /did not report it/.test(x.why))).toBe(false)
    // the other way round, and both sides stuck alike agree
    const rev = compareSides(side('kernel', s), side('simulator', k), NONE)
    expect(rev.differences[0]).toMatchObject({ field: 'ret', kernel: 'did not return (livelock)', simulator: '-14' })
    expect(compareSides(side('kernel', s), side('simulator', s), NONE).verdict).toBe('agree')
  })
})

describe('declarations', () => {
  it('parses the shipped files', async () => {
    const { loadDeclarations } = await import('../../src/main/services/oracle/declarations')
    const d = loadDeclarations(process.cwd())
    expect(d.tolerances.length).toBeGreaterThan(0)
    for (const t of d.tolerances) expect(t.kernel.length).toBeGreaterThan(5)
  })
  it('names the file, line and field of a bad entry', () => {
    const text =
      'tolerances:\n  - id: ok-one\n    rule: skip\n    field: ret\n    kernel: k\n    evidence: e\n    applies: { scenarios: ["*"] }\n  - id: bad\n    rule: within\n    field: vm_pte_kb\n    kb: -1\n    kernel: k\n    evidence: e\n    applies: { scenarios: ["*"] }\n'
    expect(() => parseList(text, 'oracle/tolerances.yaml', 'tolerances', ToleranceSchema)).toThrow(/^oracle\/tolerances\.yaml:11: tolerances\.1\.kb: /)
    expect(() => parseList('known_differences: 3\n', 'k.yaml', 'known_differences', KnownDifferenceSchema)).toThrow(DeclarationError)
    expect(() => parseList('tolerances: [\n', 't.yaml', 'tolerances', ToleranceSchema)).toThrow(/^t\.yaml:\d+: /)
    const dup =
      'known_differences:\n  - { id: a, field: ret, applies: { scenarios: ["*"] }, kernel: k, evidence: e, why: w }\n  - { id: a, field: ret, applies: { scenarios: ["*"] }, kernel: k, evidence: e, why: w }\n'
    expect(() => parseList(dup, 'k.yaml', 'known_differences', KnownDifferenceSchema)).toThrow('k.yaml:3: known_differences.1.id: "a" is declared twice')
  })
})
