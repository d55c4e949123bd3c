/**
 * Page sizes of the model (x86-64, 4-level paging): base pages of 4 KiB and PMD-mapped huge pages
 * of 2 MiB (arch/x86/include/asm/page_types.h, include/linux/huge_mm.h). Addresses in the model are
 * page numbers; these turn them into bytes and huge-page blocks.
 */
export const PAGE_SHIFT = 12
export const PAGE_SIZE = 1 << PAGE_SHIFT
/** Order of a PMD-mapped THP or hugetlb page (HPAGE_PMD_ORDER). */
export const HPAGE_PMD_ORDER = 9
/** Base pages in a PMD-mapped huge page (HPAGE_PMD_NR): 512. */
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER
/** Entries in one page-table page at every level (PTRS_PER_PTE = PTRS_PER_PMD = 512). */
export const PTRS_PER_PTE = 512
