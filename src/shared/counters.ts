/**
 * The registry of the simulator's counters: every name `expect: { counter: { name } }` may use,
 * with what it counts. The parser refuses a name that is not here (with the nearest known names),
 * the editor completes them, and test/sim/counters.test.ts fails when the simulator counts a name
 * that is missing here. Shared: no Node, no DOM.
 */
import { MMU_NOTIFY_EVENTS } from './oracle'

export const COUNTERS: Readonly<Record<string, string>> = {
  fork: 'fork() calls',
  exit: 'task exits',
  cow_break: 'copy-on-write breaks',
  thp_fault: 'transparent huge page faults',
  thp_split: 'THP splits',
  thp_collapse: 'THP collapses (khugepaged)',
  vma_merge: 'VMAs merged into a neighbour (vma_merge_existing_range, vma_merge_new_range)',
  hugetlb_fault: 'hugetlbfs faults',
  'hugetlb.mmap_enomem': 'hugetlbfs mmaps refused for lack of huge pages',
  'mmap.fixed_replaced': 'MAP_FIXED mmaps (`mmap.at`) that unmapped existing mappings in their range first (mmap_region: one UNMAP invalidation each)',
  'hugetlb.fault_oom': 'hugetlbfs faults without a free huge page',
  synchronize_srcu: 'synchronize_srcu calls',
  'srcu.gp_wait_ns': 'ns spent waiting for SRCU grace periods',
  'srcu.gp_waited_for_callbacks': 'grace periods that waited for callbacks',
  mmu_notifier_register: 'mmu_notifier_register calls',
  mmu_interval_notifier_insert: 'mmu_interval_notifier_insert calls',
  mmu_interval_read_retry: 'mmu_interval_read_retry returning true',
  mmu_interval_read_begin_wait: 'mmu_interval_read_begin waits for an invalidation in progress',
  mirror_read_begin_wait: 'mirror read_begin waits',
  invalidate_nonblock_eagain: 'non-blockable invalidations refused with -EAGAIN',
  'mmput_async.deferred': 'mmput_async calls deferred to a work item',
  hmm_range_fault: 'hmm_range_fault calls',
  'hmm_range_fault.ebusy': 'hmm_range_fault returning -EBUSY',
  'hmm_range_fault.timeout': 'hmm_range_fault giving up after its timeout',
  device_pte_installs: 'device page-table entries installed',
  device_invalidations: 'device page-table invalidations',
  'iommu.invalidations': 'IOMMU invalidations',
  migrate_to_ram: 'device-private pages migrated back to system memory',
  'migrate_to_device.pages': 'pages migrated to device memory',
  'migrate_to_device.thp': 'huge pages migrated to device memory whole',
  'migrate_to_device.thp_fallback': 'huge pages split on migration to the device',
  'gup.fast_pages': 'pages pinned by the GUP fast path',
  'gup.slow_pages': 'pages pinned by the GUP slow path',
  'gup.longterm_migrated': 'pages migrated before a long-term pin',
  'pagecache.pwrite_pages': 'page-cache pages written by pwrite',
  'oom_reaper.pages_reaped': 'pages the OOM reaper freed',
  'oom_reaper.vma_skipped': 'VMAs the OOM reaper skipped',
  'oom_reaper.trylock_failed': 'victims the OOM reaper left after MAX_OOM_REAP_RETRIES failed mmap_read_trylock attempts',
  'kfd.userptr_bos': 'KFD userptr buffer objects',
  'kfd.evictions': 'KFD process evictions',
  'kfd.restores': 'KFD restore work runs',
  'kfd.restore_retries': 'KFD restores retried',
  'kfd.restore_failed_ranges': 'KFD userptr ranges that failed to restore',
  'kfd.range_invalidations': 'KFD userptr range invalidations',
  'kfd.quiesced_ns': 'ns KFD queues spent quiesced',
  'kfd.queues_destroyed_at_release': 'KFD queues destroyed in ->release',
  'kfd.device_work_stalled': 'device work stalled by an eviction',
  'b2.deferred_jobs': 'deferred jobs of the broken design B2',
  'oom_reaper.retries': 'OOM reaper attempts after the first (HZ/10 apart, MAX_OOM_REAP_RETRIES)',
  'oom_reaper.unable_to_reap': 'victims the OOM reaper gave up on ("unable to reap"), MMF_OOM_SKIP set',
  'oom_reaper.victim_exited': 'victims whose exit_mmap ran before the reaper looked (MMF_OOM_SKIP)',
  pswpout: 'pages swapped out (vmstat pswpout)',
  pswpin: 'pages swapped in (vmstat pswpin)',
  pgmajfault: 'major faults: a page read back from swap (do_swap_page)',
  pglazyfreed: 'clean MADV_FREE pages discarded by reclaim',
  'lazyfree.redirtied': 'MADV_FREE pages written again before reclaim, kept and made swap-backed',
  pgactivate: 'pages reclaim kept and moved to the active list (referenced, pinned, shared)',
  thp_swpout: 'THPs swapped out whole',
  thp_swpout_fallback: 'THPs split because 512 swap slots were not free',
  thp_split_zero_remap: 'all-zero subpages of a split THP mapped to the shared zero page',
  'kfd.queues_destroyed_at_wq_release': 'KFD queues destroyed in kfd_process_wq_release (after the mm is gone)',
  'kfd.svm_unmap_after_release_skipped': 'UNMAPs svm_range_unmap_from_cpu skipped because ->release took the process out of the table',
  'amdgpu_hmm_range_get_pages.eagain': 'amdgpu_hmm_range_get_pages calls that returned -EAGAIN (hmm_range_fault said -EBUSY; not retried)',
  'kfd.userptr_alloc_eagain': 'KFD userptr allocations that failed with -EAGAIN (init_user_pages)',
  'kfd.restore_confirm_invalid': 'KFD userptr ranges confirm_valid_user_pages_locked found invalidated',
  svm_range_restore_pages: 'KFD GPU retry faults handled by svm_range_restore_pages',
  'svm_range_restore_pages.replay': 'KFD GPU faults dropped after a racing invalidation (-EAGAIN) and replayed',
  'svm_range_validate_and_map.eagain': 'svm_range_validate_and_map pieces invalidated before svm_range_map_to_gpus',
  'dmirror_snapshot.timeout': 'dmirror SNAPSHOTs that gave up with -EBUSY after HMM_RANGE_DEFAULT_TIMEOUT',
  mmu_interval_notifier_remove_wait: 'mmu_interval_notifier_remove calls that waited for an invalidation to end',
  mmu_notifier_synchronize: 'mmu_notifier_synchronize calls (module unload)',
  execve: 'execve calls',
  'scm_rights.sent': 'files sent over a unix socket (SCM_RIGHTS)',
  'scm_rights.received': 'files received from a unix socket (SCM_RIGHTS)',
  ...Object.fromEntries(MMU_NOTIFY_EVENTS.map((e) => [`invalidate.${e}`, `mmu_notifier invalidations with event MMU_NOTIFY_${e}`])),
}

export const COUNTER_NAMES: readonly string[] = Object.keys(COUNTERS).sort()

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const cur = [i]
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[t.length]!
}

/** The known names nearest to `name` (at most `n`, closest first). */
export function nearestNames(name: string, known: readonly string[], n = 3): string[] {
  return [...known]
    .map((k) => ({ k, d: distance(name, k) - (k.toLowerCase().includes(name.toLowerCase()) ? 2 : 0) }))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, n)
    .map((x) => x.k)
}
