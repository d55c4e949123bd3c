/**
 * The invariants the model checks while it runs, by name, each with the number findings carry
 * (`invariant 2: …`, Finding.invariant) and the kernel code that makes it a rule. A check that
 * fails reports through `Kernel.violation(name, …)`; it never throws. docs/domain.md lists them
 * with their sources.
 */
export const INVARIANTS = {
  /**
   * No device access to an mm after its ->release (or its RELEASE invalidation) returned:
   * __mmu_notifier_release (mm/mmu_notifier.c) is the last call before exit_mmap's unmap_vmas frees
   * the pages, so a mirror that still walks or reads them touches freed memory.
   */
  NO_ACCESS_AFTER_RELEASE: { n: 1, rule: 'no device access to an mm after its release returned' },
  /**
   * A subscription exists ⇒ mm_count ≥ 1, and registration needs mm_users ≥ 1:
   * __mmu_notifier_register BUG_ONs on mm_users <= 0 and takes mmgrab(mm); the subscriptions go
   * with the mm in __mmdrop (mmu_notifier_subscriptions_destroy, kernel/fork.c).
   */
  SUBSCRIPTION_PINS_MM: { n: 2, rule: 'a subscription holds mm_count; registration needs mm_users' },
  /**
   * invalidate_seq is even whenever no invalidation is active: mn_itree_inv_end
   * (mm/mmu_notifier.c) makes it even again when active_invalidate_ranges drops to 0.
   */
  SEQ_EVEN_WHEN_IDLE: { n: 3, rule: 'invalidate_seq is even when active_invalidate_ranges is 0' },
  /**
   * A device PTE installed under sequence S does not survive an overlapping invalidation: the
   * mmu_interval_read_begin / mmu_interval_set_seq / mmu_interval_read_retry protocol
   * (include/linux/mmu_notifier.h) makes the driver retry instead of installing a stale entry.
   */
  NO_STALE_DEVICE_PTE: { n: 4, rule: 'no device PTE survives an overlapping invalidation' },
  /**
   * On a single-process exit the notifier release runs before the fd release: do_exit
   * (kernel/exit.c) calls exit_mm (→ mmput → exit_mmap → __mmu_notifier_release) before
   * exit_files (→ fput → __fput → f_op->release).
   */
  RELEASE_BEFORE_FILES: { n: 5, rule: 'exit_mm (notifier release) before exit_files (fd release)' },
  /**
   * free_notifier runs after an SRCU grace period that followed the last mmu_notifier_put, and
   * before the mmdrop of the subscription's mm reference: mmu_notifier_put queues
   * mmu_notifier_free_rcu with call_srcu, which calls ops->free_notifier and then mmdrop(mm).
   */
  FREE_NOTIFIER_AFTER_GP: { n: 6, rule: 'free_notifier after an SRCU grace period, before its mmdrop' },
  /**
   * After fork the child has no subscriptions and the parent saw one PROTECTION_PAGE invalidation
   * per VMA whose page table fork copied as a COW mapping: mm_init → mmu_notifier_subscriptions_init
   * clears the child's; copy_page_range (mm/memory.c) returns early unless vma_needs_copy (the VMA
   * has an anon_vma, or is VM_PFNMAP / VM_MIXEDMAP) and brackets the copy with PROTECTION_PAGE on
   * the parent only when is_cow_mapping (private hugetlb VMAs raise CLEAR instead, in
   * copy_hugetlb_page_range). A VMA that was only read (zero page, no anon_vma) raises nothing.
   */
  FORK_NO_SUBSCRIPTIONS: { n: 7, rule: 'a forked child has no subscriptions; the parent saw PROTECTION_PAGE per copied COW VMA (vma_needs_copy)' },
} as const

export type InvariantName = keyof typeof INVARIANTS
