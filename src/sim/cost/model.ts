/**
 * The cost model: every primitive the simulator charges time for, with a default and the source of
 * that default (docs/domain.md §5; confidence tags [V] verified in source, [S] secondary, [M] measured
 * on a named machine, [U] unverified parameter, [I] inference). The CPU-side kernel paths can be
 * measured on the user's machine (`hmmlab calibrate`, docs/calibration.md): `calibrate` names the
 * benchmark that measures a parameter. A calibration reaches a run as a base cost table
 * (`RunOptions.costs`); the scenario's `costs:` override both.
 */

export interface CostParam {
  /** Default value in the unit given. */
  readonly value: number
  readonly unit: 'ns' | 'count' | 'pages' | 'bytes'
  readonly source: string
  readonly conf: 'V' | 'S' | 'M' | 'U' | 'I'
  /** The calibration benchmark(s) that measure it on this machine (absent: device side or not measurable). */
  readonly calibrate?: string
}

/** The survey of issue 14: the lab's build VM (Linux 6.18, 2 vCPUs AMD EPYC), real CPU time of each pattern. */
const SURVEY = 'issue 14 survey on the lab VM (Linux 6.18, 2 vCPU AMD EPYC, THP madvise)'

export const COST_DEFAULTS = {
  cpu_invlpg: {
    value: 100,
    unit: 'ns',
    source: 'arch/x86/mm/tlb.c comment beside tlb_single_page_flush_ceiling (a kernel estimate, not a measurement)',
    conf: 'S',
  },
  cpu_flush_ceiling: { value: 33, unit: 'pages', source: 'arch/x86/mm/tlb.c tlb_single_page_flush_ceiling', conf: 'V' },
  cpu_full_flush: { value: 3300, unit: 'ns', source: '33 × INVLPG equivalent (x86 heuristic), refill paid later', conf: 'I' },
  ipi_base: { value: 1000, unit: 'ns', source: 'IPI shootdown base ≈ 1 µs (informal blog model)', conf: 'S', calibrate: 'shootdown' },
  ipi_per_cpu: { value: 200, unit: 'ns', source: 'IPI shootdown ≈ 200 ns per receiving core (informal blog model)', conf: 'S', calibrate: 'shootdown' },
  cpu_fault: {
    value: 1000,
    unit: 'ns',
    source: 'anonymous write fault (do_anonymous_page: allocate + zero 4 KiB), order of 1 µs',
    conf: 'U',
    calibrate: 'fault_anon',
  },
  cpu_zero_fault: {
    value: 500,
    unit: 'ns',
    source: 'anonymous read fault mapping the shared zero page (do_anonymous_page without FAULT_FLAG_WRITE: no allocation); assumed half a write fault',
    conf: 'U',
    calibrate: 'fault_zero',
  },
  cpu_thp_fault: {
    value: 189_000,
    unit: 'ns',
    source: `THP write fault: do_huge_pmd_anonymous_page allocates and clears 2 MiB (folio_zero_user); ${SURVEY}`,
    conf: 'M',
    calibrate: 'fault_thp',
  },
  cpu_cow_copy: { value: 1500, unit: 'ns', source: 'COW break (wp_page_copy): copy 4 KiB + fault', conf: 'U', calibrate: 'cow' },
  pte_op: {
    value: 2,
    unit: 'ns',
    source:
      'per-entry page-table work on paths without their own parameter (pread/pwrite through the page cache, clear_refs and writeback write-protect, THP split and collapse)',
    conf: 'U',
  },
  fork_pte: {
    value: 95,
    unit: 'ns',
    source: `fork: copy_present_pte per present PTE (rmap + refcount + write-protect); fork of 1 GiB written = 25 ms, ${SURVEY}`,
    conf: 'M',
    calibrate: 'fork_pte',
  },
  fork_vma: {
    value: 1000,
    unit: 'ns',
    source: 'fork: dup_mmap per VMA (vm_area_dup, anon_vma_fork, copy_page_range setup) (parameter)',
    conf: 'U',
    calibrate: 'fork_vma',
  },
  zap_pte: {
    value: 220,
    unit: 'ns',
    source: `MADV_DONTNEED: zap_pte_range per present PTE, the folio freed by tlb_finish_mmu; DONTNEED ran at 0.009× of 2 ns per PTE in the ${SURVEY}`,
    conf: 'I',
    calibrate: 'dontneed',
  },
  munmap_pte: {
    value: 290,
    unit: 'ns',
    source: `munmap: unmap_vmas per present PTE incl. the folio free; munmap of 1 GiB written = 76 ms, ${SURVEY}`,
    conf: 'M',
    calibrate: 'munmap',
  },
  exit_pte: {
    value: 290,
    unit: 'ns',
    source: 'exit_mmap: unmap_vmas per present PTE with a full-mm gather, incl. the folio free; assumed as munmap_pte',
    conf: 'I',
    calibrate: 'exit',
  },
  mprotect_pte: {
    value: 170,
    unit: 'ns',
    source: `mprotect: change_pte_range per present PTE; mprotect ran at 0.012× of 2 ns per PTE in the ${SURVEY}`,
    conf: 'I',
    calibrate: 'mprotect',
  },
  mremap_pte: {
    value: 100,
    unit: 'ns',
    source: 'mremap: move_ptes per PTE when source and destination are not 2 MiB-aligned alike (parameter)',
    conf: 'U',
    calibrate: 'mremap',
  },
  pt_alloc: {
    value: 1000,
    unit: 'ns',
    source: '__pte_alloc: one PTE table page allocated and zeroed (parameter)',
    conf: 'U',
    calibrate: 'fault_sparse − fault_anon',
  },
  pt_free: { value: 500, unit: 'ns', source: 'free_pgtables: one PTE table page freed (parameter)', conf: 'U', calibrate: 'munmap_sparse − munmap' },
  munmap_base: {
    value: 2000,
    unit: 'ns',
    source: 'munmap fixed part beyond syscall and flush: do_vmi_align_munmap detaches the VMAs (parameter)',
    conf: 'U',
    calibrate: 'munmap',
  },
  dontneed_base: {
    value: 1000,
    unit: 'ns',
    source: 'madvise(MADV_DONTNEED) fixed part beyond syscall and flush (parameter)',
    conf: 'U',
    calibrate: 'dontneed',
  },
  mprotect_base: {
    value: 1000,
    unit: 'ns',
    source: 'mprotect fixed part beyond syscall and flush: mprotect_fixup (parameter)',
    conf: 'U',
    calibrate: 'mprotect',
  },
  mremap_base: {
    value: 2000,
    unit: 'ns',
    source: 'mremap fixed part beyond syscall and flush: copy_vma and the unmap of the old range (parameter)',
    conf: 'U',
    calibrate: 'mremap',
  },
  iotlb_psi: { value: 1500, unit: 'ns', source: 'IOTLB page-selective invalidate submit+wait (parameter, 1–2 µs)', conf: 'U' },
  iotlb_dsi: { value: 3000, unit: 'ns', source: 'IOTLB domain-selective invalidate (≥ PSI) + refill', conf: 'U' },
  iotlb_qi_wait: { value: 500, unit: 'ns', source: 'one wait descriptor per queued-invalidation batch', conf: 'U' },
  qi_batch: { value: 16, unit: 'count', source: 'drivers/iommu/intel/iommu.h QI_MAX_BATCHED_DESC_COUNT', conf: 'V' },
  smmu_max_tlbi_ops: { value: 512, unit: 'count', source: 'arm-smmu-v3-sva.c CMDQ_MAX_TLBI_OPS = 2^(PAGE_SHIFT-3)', conf: 'V' },
  smmu_tlbi_va: { value: 150, unit: 'ns', source: 'SMMU TLBI-by-VA command (parameter)', conf: 'U' },
  ats_inv: { value: 2000, unit: 'ns', source: 'ATS device-TLB invalidation round trip (parameter, µs range)', conf: 'U' },
  gpu_tlb_flush_page: { value: 200, unit: 'ns', source: 'GPU TLB page flush (no published figure)', conf: 'U' },
  gpu_tlb_flush_all: { value: 5000, unit: 'ns', source: 'GPU TLB full flush (no published figure)', conf: 'U' },
  gpu_tlb_flush_ceiling: { value: 64, unit: 'pages', source: 'above this a GPU flushes its whole TLB (parameter)', conf: 'U' },
  gpu_ptw: {
    value: 68,
    unit: 'ns',
    source: 'GPU page-table walk 100 cycles @ 1481 MHz (UVMSmart 4 KiB config, the clock of device_fault); MacSim uses 200 cycles',
    conf: 'V',
  },
  iommu_walk: {
    value: 500,
    unit: 'ns',
    source: 'IOMMU walk of CPU tables on IOTLB miss: ~10× a CPU miss (Vesely ISPASS 2016, [S]) × an assumed ~50 ns CPU walk',
    conf: 'I',
  },
  device_fault: { value: 45000, unit: 'ns', source: 'GPU far fault 66,645 cycles @1481 MHz (UVMSmart)', conf: 'V' },
  iopf: { value: 20000, unit: 'ns', source: 'IOMMU I/O page fault (PRI) service (parameter)', conf: 'U' },
  hmm_range_fault_page: { value: 50, unit: 'ns', source: 'hmm_range_fault walk per page (no published figure)', conf: 'U' },
  hmm_range_fault_call: { value: 500, unit: 'ns', source: 'hmm_range_fault per call overhead (no published figure)', conf: 'U' },
  hmm_timeout: { value: 1_000_000_000, unit: 'ns', source: 'include/linux/hmm.h HMM_RANGE_DEFAULT_TIMEOUT = 1000 ms', conf: 'V' },
  dev_pte_write: { value: 5, unit: 'ns', source: 'device page-table entry write (parameter)', conf: 'U' },
  migrate_page: {
    value: 2000,
    unit: 'ns',
    source: 'one 4 KiB page: 256 ns on the wire at ~16 GB/s (UVMSmart PCIe model, [V]) + ~1.7 µs assumed migrate_vma per-page setup and DMA latency',
    conf: 'I',
  },
  swap_out_page: {
    value: 20_000,
    unit: 'ns',
    source:
      'reclaim of one 4 KiB anonymous page to swap: add_to_swap, try_to_unmap_one and swap_writepage to an NVMe SSD, ~20 µs per page at the device (no published per-page figure; order of magnitude)',
    conf: 'U',
  },
  swap_in_page: {
    value: 80_000,
    unit: 'ns',
    source: 'a major fault reading one 4 KiB page back from an NVMe SSD (do_swap_page → swap_read_folio, ~80 µs random-read latency; order of magnitude)',
    conf: 'U',
  },
  device_access_page: { value: 10, unit: 'ns', source: 'device read/write of one page through a warm TLB (parameter)', conf: 'U' },
  kfd_quiesce: {
    value: 100_000,
    unit: 'ns',
    source: 'kgd2kfd_quiesce_mm → evict_process_queues: HWS preemption of the user queues, waited for inside the notifier (no published figure)',
    conf: 'U',
  },
  kfd_resume: { value: 50_000, unit: 'ns', source: 'kgd2kfd_resume_mm → restore_process_queues: map the queues again (no published figure)', conf: 'U' },
  kfd_restore_delay: {
    value: 1_000_000,
    unit: 'ns',
    source:
      'AMDGPU_USERPTR_RESTORE_DELAY_MS (amdgpu_amdkfd_gpuvm.c) = AMDGPU_SVM_RANGE_RESTORE_DELAY_MS (kfd_svm.c) = 1 ms, queued as msecs_to_jiffies(1 ms) = 1 jiffy: the worker runs on the next tick (machine.hz; up to 4 ms at HZ=250)',
    conf: 'V',
  },
  srcu_gp: { value: 2_000_000, unit: 'ns', source: 'SRCU grace period (ms range; not measured)', conf: 'U' },
  workqueue_delay: { value: 50_000, unit: 'ns', source: 'queue_work to execution latency (parameter)', conf: 'U' },
  syscall: { value: 300, unit: 'ns', source: 'syscall entry/exit (parameter)', conf: 'U', calibrate: 'syscall' },
  fork_base: { value: 50_000, unit: 'ns', source: 'copy_process fixed part (parameter)', conf: 'U', calibrate: 'fork_pte' },
  exit_base: { value: 20_000, unit: 'ns', source: 'do_exit fixed part (parameter)', conf: 'U', calibrate: 'exit' },
  cpus: { value: 8, unit: 'count', source: 'CPUs receiving shootdown IPIs (scenario machine)', conf: 'I' },
} as const satisfies Record<string, CostParam>

export type CostName = keyof typeof COST_DEFAULTS
export const COST_NAMES = Object.keys(COST_DEFAULTS) as CostName[]

/** Effective costs of one run: defaults with the scenario's overrides. */
export type Costs = Record<CostName, number>

/** Builds the effective cost table. Unknown names were rejected by the schema already. */
export function makeCosts(overrides: Partial<Record<string, number>> | undefined): Costs {
  const c = {} as Costs
  for (const n of COST_NAMES) {
    const o = overrides?.[n]
    c[n] = typeof o === 'number' ? o : COST_DEFAULTS[n].value
  }
  return c
}

/**
 * Page-table pages allocated (`delta` > 0: __pte_alloc, pmd_alloc) or freed (`delta` < 0:
 * free_pgtables) by one operation, from the change in the mm's table count.
 */
export function ptTablesCost(c: Costs, delta: number): number {
  return delta > 0 ? delta * c.pt_alloc : -delta * c.pt_free
}

/** CPU TLB shootdown cost for a range of `pages` 4 KiB pages on an mm running on `cpus` CPUs. */
export function cpuTlbFlushCost(c: Costs, pages: number): number {
  const local = pages > c.cpu_flush_ceiling ? c.cpu_full_flush : pages * c.cpu_invlpg
  const remote = c.cpus > 1 ? c.ipi_base + c.ipi_per_cpu * (c.cpus - 1) : 0
  return local + remote
}
