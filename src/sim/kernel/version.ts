/**
 * The kernel version the model follows (`machine.kernel`, default mainline), and the one table of
 * every behaviour the model knows to have changed between 6.12 and mainline. A rule of the model
 * that depends on the version asks `kernelHas(w, behaviour)`; nothing else compares versions.
 *
 * Each row names the behaviour, the release that first has it (`since`), the change that brought
 * it (commit subject, author, year), and the kernel function that decides it. 6.12 was read in
 * Debian's linux-source-6.12 (6.12.118); the newer rows were read in the patches as posted and
 * merged (the mainline tree could not be fetched whole here): see docs/fidelity.md, "Kernel
 * versions".
 */
import { KERNEL_VERSIONS, type KernelVersionT } from '../../shared/scenario'

export { KERNEL_VERSIONS, type KernelVersionT }

export interface KernelBehaviourRow {
  /** The first release that has it (x.y). */
  since: string
  /** The change that brought it: commit subject (author, year), or the series. */
  change: string
  /** The kernel function(s) that decide it. */
  decidedBy: string
  /** What the kernel does with it, and without it. */
  what: string
}

export const KERNEL_BEHAVIOURS = {
  pt_reclaim: {
    since: '6.14',
    change: '"mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)" (Qi Zheng, 2024; CONFIG_PT_RECLAIM, on by default on x86-64)',
    decidedBy: 'madvise_dontneed_single_vma → zap_page_range_single (details.reclaim_pt) → try_to_free_pte',
    what: 'MADV_DONTNEED frees the PTE tables it emptied whole (the PMD table stays); before it, no page table is freed there',
  },
  anon_vma_merge_unfaulted_target: {
    since: '6.16',
    change: '"mm/vma: fix incorrectly disallowed anonymous VMA merges" (Lorenzo Stoakes, 2025)',
    decidedBy:
      'is_mergeable_anon_vma (vma_merge_existing_range, vma_merge_new_range); before it, the neighbour passed in must have a singular anon_vma_chain, which one without an anon_vma (an empty chain) has not',
    what: 'a VMA with an anon_vma merges into an adjacent compatible VMA that has none (e.g. a written page made read-only next to a read-faulted one); before it, the two stay separate VMAs',
  },
  dmirror_32_page_arrays: {
    since: '6.17',
    change: '"lib/test_hmm: reduce stack usage" (Arnd Bergmann, 2025)',
    decidedBy: 'lib/test_hmm.c dmirror_fault (pfns[32]), dmirror_snapshot (pfns[32]), dmirror_migrate_to_device / _to_system (src_pfns[32])',
    what: 'test_hmm faults, snapshots and migrates 32 pages per hmm_range_fault / migrate_vma_setup instead of 64',
  },
  device_private_thp: {
    since: '6.19',
    change:
      'the zone device private THP series (Balbir Singh, 2025): "mm/migrate_device: implement THP migration of zone device pages", "mm/memory/fault: add THP fault handling for zone device private pages", "lib/test_hmm: add zone device private THP test infrastructure"',
    decidedBy:
      'migrate_vma_collect_pmd → migrate_vma_collect_huge_pmd (MIGRATE_VMA_SELECT_COMPOUND), migrate_vma_insert_huge_pmd_page, dmirror_devmem_fault (order of the faulting folio); before it, migrate_vma_collect_pmd splits a PMD-mapped THP (split_folio, or split_huge_pmd for the huge zero page) before collecting',
    what: 'a PMD-mapped THP (or an empty THP-eligible 2 MiB hole) migrates to device memory as one folio behind a device-private PMD entry, and a CPU fault brings it back whole; before it, the THP is split (CLEAR of the 2 MiB block twice: __split_huge_pmd, then try_to_migrate_one) and its 4 KiB pages migrate one by one',
  },
  migrate_split_pte_mapped_folio: {
    since: '6.19',
    change: '"mm/migrate_device: add THP splitting during migration" (Balbir Singh, 2025)',
    decidedBy:
      'migrate_vma_collect_pmd → migrate_vma_split_folio; before it, migrate_vma_collect_pmd skips the page ("!page->mapping || PageTransCompound(page)": mpfn = 0, "FIXME support THP")',
    what: 'a page of a large folio mapped by PTEs (a THP whose PMD mapping mremap, munmap, mprotect or a VMA split cut) is split off and migrated; before it, it is not collected and stays in system memory',
  },
  dmirror_migrate_ptrs_per_pte: {
    since: '6.19',
    change: '"lib/test_hmm: add zone device private THP test infrastructure" (Balbir Singh, 2025)',
    decidedBy: 'lib/test_hmm.c dmirror_migrate_to_device / dmirror_migrate_to_system (src_pfns of PTRS_PER_PTE entries)',
    what: 'MIGRATE_TO_DEV and MIGRATE_TO_SYS call migrate_vma_setup once per PTRS_PER_PTE (512) pages, so 4 KiB pages migrate under one MIGRATE per 2 MiB',
  },
  dmirror_flags_ioctl: {
    since: '6.19',
    change: 'the zone device private THP series (Balbir Singh, 2025), which adds HMM_DMIRROR_FLAGS to lib/test_hmm_uapi.h',
    decidedBy: 'lib/test_hmm.c dmirror_fops_unlocked_ioctl (case HMM_DMIRROR_FLAGS); before it, an unknown command returns -EINVAL',
    what: "HMM_DMIRROR_FLAGS sets the mirror's flags (HMM_DMIRROR_FLAG_FAIL_ALLOC); before it, the ioctl returns -EINVAL",
  },
} as const satisfies Record<string, KernelBehaviourRow>

export type KernelBehaviour = keyof typeof KERNEL_BEHAVIOURS

/** The default: the model follows mainline. */
export const DEFAULT_KERNEL: KernelVersionT = 'mainline'

/** [major, minor] of "x.y", or null. */
function parseXY(v: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(v)
  return m ? [Number(m[1]), Number(m[2])] : null
}

function atLeast(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1])
}

/** Whether kernel version `v` has behaviour `b` (mainline has every row). */
export function versionHas(v: KernelVersionT, b: KernelBehaviour): boolean {
  if (v === 'mainline') return true
  const have = parseXY(v)
  const since = parseXY(KERNEL_BEHAVIOURS[b].since)
  if (!have || !since) throw new Error(`bad kernel version ${v} or row ${b}`)
  return atLeast(have, since)
}

/** Per version, the behaviours it has (computed once: `kernelHas` is called on hot paths). */
const HAS = new Map<KernelVersionT, ReadonlySet<KernelBehaviour>>(
  KERNEL_VERSIONS.map((v) => [v, new Set((Object.keys(KERNEL_BEHAVIOURS) as KernelBehaviour[]).filter((b) => versionHas(v, b)))]),
)

/** Whether the kernel this run follows (`w.kernel`, from `machine.kernel`) has behaviour `b`. */
export function kernelHas(w: { readonly kernel: KernelVersionT }, b: KernelBehaviour): boolean {
  return (HAS.get(w.kernel) as ReadonlySet<KernelBehaviour>).has(b)
}

/** The rules a version follows: every row, with whether it has it. */
export function kernelRules(v: KernelVersionT): Array<{ behaviour: KernelBehaviour; has: boolean } & KernelBehaviourRow> {
  return (Object.keys(KERNEL_BEHAVIOURS) as KernelBehaviour[]).map((b) => ({ behaviour: b, has: versionHas(v, b), ...KERNEL_BEHAVIOURS[b] }))
}

/**
 * The version whose rules a kernel release follows (`uname -r`: "6.12.118", "6.15.0-rc3+", a
 * user's patched tree reports its own): its x.y when the table knows it; a release newer than the
 * newest row → mainline; older than 6.12 → 6.12, said in `note`; an unreadable one → mainline,
 * said in `note`.
 */
export function kernelVersionOfRelease(release: string): { version: KernelVersionT; note: string | null } {
  const xy = parseXY(release.trim())
  if (!xy) return { version: DEFAULT_KERNEL, note: `kernel release "${release}" has no x.y version: simulated under mainline rules` }
  const named = KERNEL_VERSIONS.filter((v): v is Exclude<KernelVersionT, 'mainline'> => v !== 'mainline')
  const exact = named.find((v) => v === `${xy[0]}.${xy[1]}`)
  if (exact) return { version: exact, note: null }
  const oldest = parseXY(named[0] as string) as [number, number]
  if (!atLeast(xy, oldest))
    return {
      version: named[0] as KernelVersionT,
      note: `kernel release ${release} is older than ${named[0]}, the oldest version the model knows: simulated under ${named[0]} rules`,
    }
  return { version: 'mainline', note: null }
}
