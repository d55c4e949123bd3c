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

/** Zeros that pad a 24-bit piece to six hex digits, by the piece's own length. */
const HEX_PAD = ['', '00000', '0000', '000', '00', '0', '']

/**
 * A byte address as `%#lx` prints it (`0x7f0000000000`): the same text as `0x${n.toString(16)}` for
 * an integer 0 ≤ n < 2^53, built from 24-bit pieces. An address past 2^30 is not a small integer
 * to V8, and `toString(16)` of such a number takes a slow general path (about 3× the time); the
 * timeline formats one or two per slice it keeps.
 */
export function hexAddress(n: number): string {
  if (n < 0x1000000) return `0x${n.toString(16)}`
  const lo = n % 0x1000000
  const l = lo.toString(16)
  return `${hexAddress((n - lo) / 0x1000000)}${HEX_PAD[l.length] as string}${l}`
}
