/**
 * The lab's chart colours, shared by the app (src/renderer/lib/charts.ts) and the HTML report
 * (src/main/services/reports), so a memory band has the same colour on screen, in an exported
 * PNG and in a report. An object type always gets the same colour (by its place in the ledger's
 * list of types), whichever types a run happens to have.
 */
import { MEM_TYPE_NAMES } from './scenario'

export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#8c8c8c',
  '#17becf',
  '#bcbd22',
] as const

/** Colour `i` of the palette, optionally with an alpha (as rgba). */
export function paletteColour(i: number, alpha = 1): string {
  const hex = PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!
  if (alpha >= 1) return hex
  const n = parseInt(hex.slice(1), 16)
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`
}

/** The colour of an object type's band; types outside the ledger's list follow it, by `fallback` (their index). */
export function typeColour(type: string, fallback: number, alpha = 1): string {
  const k = (MEM_TYPE_NAMES as readonly string[]).indexOf(type)
  return paletteColour(k >= 0 ? k : MEM_TYPE_NAMES.length + fallback, alpha)
}

/** How opaque the bands of a stacked memory chart are filled (the line above each stays opaque). */
export const BAND_ALPHA = 0.45
