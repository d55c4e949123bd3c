/**
 * The kernel version the model follows (machine.kernel, src/sim/kernel/version.ts): each row of
 * the version table, under a version that has it and one that has not. Each case fails if the
 * rule is dropped (the two versions would then agree) or the version ignored.
 */
import { describe, expect, it } from 'vitest'
import { parseScenario, runScenario, ScenarioError, type RunRecord } from '../../src/sim/index'
import type { World } from '../../src/sim/world'
import { KERNEL_BEHAVIOURS, kernelRules, kernelVersionOfRelease, versionHas, type KernelVersionT } from '../../src/sim/kernel/version'

interface Run {
  r: RunRecord
  w: World
  /** `__mmu_notifier_invalidate_range_start` calls per step line: "EVENT start+len" (pages relative to `base`). */
  ranges: Map<number, string[]>
}

/** A 2 MiB-aligned buffer at 1 GiB (page 262144), one dmirror device. */
const BASE = 262144

function run(kernel: KernelVersionT, steps: string): Run {
  const y = `name: t
machine:
  kernel: "${kernel}"
  devices:
    - { name: hmm_dmirror0, kind: dmirror }
steps:
  - spawn: { task: self }
  - open: { task: self, device: hmm_dmirror0, fd: fd0 }
${steps
  .trim()
  .split('\n')
  .map((l) => '  ' + l.trim())
  .join('\n')}
`
  let w: World | null = null
  let line = 0
  const ranges = new Map<number, string[]>()
  const r = runScenario(parseScenario(y, 't.yaml'), {
    design: 'D5',
    hooks: {
      world: (x) => void (w = x),
      step: (s) => void (line = s.line),
      notifierRange: (c) => {
        const l = ranges.get(line) ?? []
        l.push(`${c.event} ${c.start - BASE}+${c.end - c.start}`)
        ranges.set(line, l)
      },
    },
  })
  return { r, w: w as unknown as World, ranges }
}

const stepAt = (r: RunRecord, line: number) => r.steps.rows.find((s) => s.line === line)!

/** Collapses runs of identical strings: ["A", "A", "B"] → ["2×A", "B"]. */
function runs(xs: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < xs.length;) {
    let j = i
    while (j < xs.length && xs[j] === xs[i]) j++
    out.push(j - i > 1 ? `${j - i}×${xs[i]}` : (xs[i] as string))
    i = j
  }
  return out
}

// line numbers below count from the scenario's first line ("name: t" = 1); the steps given start at line 9
const THP = `
  - mmap: { task: self, region: b, size: 2M, at: 1073741824 }
  - madvise: { task: self, region: b, advice: hugepage }
  - write_data: { task: self, region: b, pattern: { index_plus: 1 } }
  - migrate_to_device: { task: self, fd: fd0, region: b }
  - snapshot: { task: self, fd: fd0, region: b, size: 4K }
  - touch: { task: self, region: b }`

describe('device_private_thp (6.19): a PMD-mapped THP migrates as one folio', () => {
  it('mainline: one MIGRATE of 512 pages, a device-private PMD (SNAPSHOT 0x26), the CPU fault brings it back whole', () => {
    const { r, ranges } = run('mainline', THP)
    expect(stepAt(r, 12)).toMatchObject({ ret: 0, cpages: 512 })
    expect(ranges.get(12)).toEqual(['MIGRATE 0+512'])
    expect(stepAt(r, 13)).toMatchObject({ ret: 0, cpages: 1 })
    expect(r.steps.rows.find((s) => s.line === 13)).toBeDefined()
    expect(runs(ranges.get(14) ?? [])).toEqual(['MIGRATE 0+512'])
  })

  it('6.12: migrate_vma_collect_pmd splits the THP inside the first chunk (two CLEARs of 2 MiB), 4 KiB pages move in 64-page chunks and come back one by one', () => {
    const { r, ranges } = run('6.12', THP)
    expect(stepAt(r, 12)).toMatchObject({ ret: 0, cpages: 512 })
    expect(runs(ranges.get(12) ?? [])).toEqual([
      'MIGRATE 0+64',
      '2×CLEAR 0+512',
      'MIGRATE 64+64',
      'MIGRATE 128+64',
      'MIGRATE 192+64',
      'MIGRATE 256+64',
      'MIGRATE 320+64',
      'MIGRATE 384+64',
      'MIGRATE 448+64',
    ])
    // the CPU touch faults each device-private page back on its own
    expect(ranges.get(14)).toHaveLength(512)
    expect(new Set(ranges.get(14)!.map((x) => x.split(' ')[0]))).toEqual(new Set(['MIGRATE']))
  })

  it('SNAPSHOT byte of a migrated THP page: 0x26 with device THPs, 0x22 without', () => {
    const failed = (k: KernelVersionT, byte: number): string[] =>
      run(k, `${THP.split('\n').slice(0, 6).join('\n')}\n  - expect: { snapshot: { all: ${byte} } }`)
        .r.expects.rows.filter((e) => !e.passed)
        .map((e) => String(e.line))
    expect(failed('mainline', 0x26)).toEqual([])
    expect(failed('6.12', 0x22)).toEqual([])
    expect(failed('6.12', 0x26)).toEqual(['14'])
  })
})

describe('migrate_split_pte_mapped_folio (6.19): collect takes the pages of a PTE-mapped THP', () => {
  // mremap 512 KiB into a PMD: move_page_tables splits the PMD mapping, the folio stays large
  const REMAP = `
  - mmap: { task: self, region: b, size: 8M, at: 1073741824 }
  - madvise: { task: self, region: b, size: 2M, advice: hugepage }
  - write_data: { task: self, region: b, size: 2M, pattern: index }
  - mremap: { task: self, region: b, size: 2M, to_region: m, at: 1076363264 }
  - migrate_to_device: { task: self, fd: fd0, region: m }`
  it('mainline: the 512 pages migrate (ret 0, cpages 512)', () => {
    const { r } = run('mainline', REMAP)
    expect(stepAt(r, 13)).toMatchObject({ ret: 0, cpages: 512 })
  })
  it('6.12: PageTransCompound pages are not collected: -ENOENT, cpages 0, the pages stay in system memory', () => {
    const { r, w } = run('6.12', REMAP)
    expect(stepAt(r, 13)).toMatchObject({ ret: -2, cpages: 0 })
    const mm = w.tasks.get('self')!.mm!
    let present = 0
    mm.pt.forEach(0, 2 ** 36, (_pg, f) => void (f & 1 && present++))
    expect(present).toBe(512)
  })
})

describe('test_hmm chunk sizes', () => {
  const PAGES = `
  - mmap: { task: self, region: b, size: 4M, at: 1073741824 }
  - madvise: { task: self, region: b, advice: nohugepage }
  - write_data: { task: self, region: b, pattern: { index_plus: 1 } }
  - migrate_to_device: { task: self, fd: fd0, region: b }
  - migrate_to_system: { task: self, fd: fd0, region: b }
  - device_read: { task: self, fd: fd0, region: b }`
  const shape = (k: KernelVersionT) => {
    const { r, ranges } = run(k, PAGES)
    return { dev: runs(ranges.get(12) ?? []).length, sys: (ranges.get(13) ?? []).length, faults: r.aggregates.counters.hmm_range_fault }
  }
  it('dmirror_migrate_ptrs_per_pte (6.19): MIGRATE_TO_DEV / _SYS call migrate_vma_setup per 512 pages', () => {
    const m = run('mainline', PAGES).ranges
    expect(m.get(12)).toEqual(['MIGRATE 0+512', 'MIGRATE 512+512'])
    expect(m.get(13)).toEqual(['MIGRATE 0+512', 'MIGRATE 512+512'])
  })
  it('dmirror_32_page_arrays (6.17): 32-page chunks before 6.19 for migration, and for hmm_range_fault in every later version', () => {
    expect(shape('6.17')).toEqual({ dev: 32, sys: 32, faults: 32 })
    expect(shape('mainline').faults).toBe(32)
    expect(shape('6.12')).toEqual({ dev: 16, sys: 16, faults: 16 })
  })
})

describe('migrate_vma_pages fills holes under a second MIGRATE (6.12 and mainline)', () => {
  it('a migration of untouched pages raises MIGRATE from the first hole to the chunk end', () => {
    for (const k of ['6.12', 'mainline'] as const) {
      const { ranges } = run(
        k,
        `
  - mmap: { task: self, region: b, size: 16K, at: 1073741824 }
  - write_data: { task: self, region: b, size: 4K, pattern: { const: 5 } }
  - migrate_to_device: { task: self, fd: fd0, region: b }`,
      )
      expect(ranges.get(11)).toEqual(['MIGRATE 0+4', 'MIGRATE 1+3'])
    }
  })
})

describe('dmirror_flags_ioctl (6.19)', () => {
  it('HMM_DMIRROR_FLAGS sets FAIL_ALLOC on mainline and is an unknown ioctl (-EINVAL) on 6.12', () => {
    const step = `- dmirror_flags: { task: self, fd: fd0, fail_alloc: true }`
    expect(stepAt(run('mainline', step).r, 9)).toMatchObject({ ret: 0 })
    expect(stepAt(run('6.12', step).r, 9)).toMatchObject({ ret: -22 })
  })
})

describe('pt_reclaim (6.14): MADV_DONTNEED frees the PTE tables it empties', () => {
  const DONTNEED = `
  - mmap: { task: self, region: b, size: 4M, at: 1073741824 }
  - madvise: { task: self, region: b, advice: nohugepage }
  - write_data: { task: self, region: b, pattern: index }
  - madvise: { task: self, region: b, advice: dontneed }`
  const tables = (k: KernelVersionT): number => run(k, DONTNEED).w.tasks.get('self')!.mm!.pt.tables
  it('6.14 and later free both PTE tables; 6.12 keeps them', () => {
    expect(tables('6.12') - tables('6.14')).toBe(2)
    expect(tables('mainline')).toBe(tables('6.14'))
  })
})

describe('anon_vma_merge_unfaulted_target (6.16): a written VMA merges into a read-faulted neighbour', () => {
  // hmm2.migrate_mixed's layout: page 0 read (zero page, no anon_vma), page 1 written, both made read-only
  const MIXED = `
  - mmap: { task: self, region: b, size: 8K, prot: none, at: 1073741824 }
  - mprotect: { task: self, region: b, size: 4K, prot: r }
  - touch: { task: self, region: b, size: 4K }
  - mprotect: { task: self, region: b, offset: 4K, size: 4K, prot: rw }
  - write_data: { task: self, region: b, offset: 4K, size: 4K, pattern: { const: 3 } }
  - mprotect: { task: self, region: b, offset: 4K, size: 4K, prot: r }`
  const vmas = (k: KernelVersionT): number => run(k, MIXED).w.tasks.get('self')!.mm!.vmas.length
  it('6.16 and mainline: one VMA; 6.12 and 6.15: two (is_mergeable_anon_vma wants the empty chain singular)', () => {
    expect(vmas('mainline')).toBe(vmas('6.16'))
    expect(vmas('6.12')).toBe(vmas('6.16') + 1)
    expect(vmas('6.15')).toBe(vmas('6.12'))
  })
})

describe('the version table', () => {
  it('every row names a release, the change and the deciding kernel function; mainline has them all', () => {
    for (const [b, row] of Object.entries(KERNEL_BEHAVIOURS)) {
      expect(row.since, b).toMatch(/^6\.\d+$/)
      expect(row.change.length, b).toBeGreaterThan(10)
      expect(row.decidedBy, b).toMatch(/[a-z_]+/)
      expect(versionHas('mainline', b as keyof typeof KERNEL_BEHAVIOURS)).toBe(true)
      expect(versionHas('6.12', b as keyof typeof KERNEL_BEHAVIOURS)).toBe(false)
    }
    expect(
      kernelRules('6.17')
        .filter((x) => x.has)
        .map((x) => x.behaviour),
    ).toEqual(['pt_reclaim', 'anon_vma_merge_unfaulted_target', 'dmirror_32_page_arrays'])
  })

  it('maps a kernel release to the version whose rules it follows', () => {
    expect(kernelVersionOfRelease('6.12.118')).toEqual({ version: '6.12', note: null })
    expect(kernelVersionOfRelease('6.12.118-hmmlab+')).toEqual({ version: '6.12', note: null })
    expect(kernelVersionOfRelease('6.15.0-rc3+')).toEqual({ version: '6.15', note: null })
    expect(kernelVersionOfRelease('7.1.0')).toEqual({ version: 'mainline', note: null })
    expect(kernelVersionOfRelease('6.6.30').version).toBe('6.12')
    expect(kernelVersionOfRelease('6.6.30').note).toMatch(/older than 6\.12/)
    expect(kernelVersionOfRelease('weird').version).toBe('mainline')
    expect(kernelVersionOfRelease('weird').note).toMatch(/no x\.y version/)
  })

  it('a run can be told the version instead of the scenario (the oracle); a bad one is refused', () => {
    const sc = parseScenario('name: t\nsteps:\n  - spawn: { task: self }\n', 't.yaml')
    expect(() => runScenario(sc, { design: 'D5', kernel: '5.4' as KernelVersionT })).toThrow(ScenarioError)
    expect(() => runScenario(sc, { design: 'D5', kernel: '6.12' })).not.toThrow()
  })
})
