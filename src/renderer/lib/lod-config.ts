/** Level-of-detail buckets of a band's first draw, and the most for any width (each keeps ≤ 4 points). */
export const LOD_BUCKETS = 400
