/**
 * The colour scheme: the system's preference, or light or dark chosen by the user (kept in
 * localStorage). The choice is applied as `data-theme` on the root element, which styles.css reads;
 * `themeVersion` changes whenever the effective scheme may have changed, so charts recolour.
 */
import { ref } from 'vue'

export type ThemeChoice = 'system' | 'light' | 'dark'
export const THEME_CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark']
const KEY = 'hmmlab.theme'

function stored(): ThemeChoice {
  try {
    const v = globalThis.localStorage?.getItem(KEY)
    return v === 'light' || v === 'dark' ? v : 'system'
  } catch {
    return 'system'
  }
}

export const themeChoice = ref<ThemeChoice>(stored())
/** Bumped when the effective scheme may have changed. */
export const themeVersion = ref(0)

/** The scheme in effect: the user's choice, else the system's. */
export function effectiveScheme(choice: ThemeChoice = themeChoice.value): 'light' | 'dark' {
  if (choice !== 'system') return choice
  return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

function apply(choice: ThemeChoice): void {
  const root = globalThis.document?.documentElement
  if (!root) return
  if (choice === 'system') delete root.dataset.theme
  else root.dataset.theme = choice
}

/** Chooses a scheme, remembers it and applies it. */
export function setTheme(choice: ThemeChoice): void {
  themeChoice.value = choice
  try {
    if (choice === 'system') globalThis.localStorage?.removeItem(KEY)
    else globalThis.localStorage?.setItem(KEY, choice)
  } catch {
    // storage refused (private window): the choice holds for this page
  }
  apply(choice)
  themeVersion.value++
}

/** The next choice of the toggle: system → light → dark → system. */
export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return THEME_CHOICES[(THEME_CHOICES.indexOf(choice) + 1) % THEME_CHOICES.length] as ThemeChoice
}

/** Applies the stored choice and follows the system's changes while it is "system". */
export function initTheme(): void {
  apply(themeChoice.value)
  globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', () => {
    if (themeChoice.value === 'system') themeVersion.value++
  })
}

/**
 * Recolours a built chart after the scheme changed: every option equal to one of the old theme
 * colours (text, muted text, grid) takes the new one. Dataset colours are the lab's palette and
 * stay. Returns how many options changed.
 */
export function recolour(options: unknown, from: { fg: string; muted: string; line: string }, to: { fg: string; muted: string; line: string }): number {
  const map = new Map<string, string>([
    [from.fg, to.fg],
    [from.muted, to.muted],
    [from.line, to.line],
  ])
  let changed = 0
  const seen = new Set<object>()
  const walk = (o: unknown, depth: number): void => {
    if (o === null || typeof o !== 'object' || depth > 8 || seen.has(o)) return
    seen.add(o)
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      if (k === 'data' || k === 'datasets') continue
      if (typeof v === 'string' && map.has(v) && map.get(v) !== v) {
        ;(o as Record<string, unknown>)[k] = map.get(v)
        changed++
      } else if (typeof v === 'object') walk(v, depth + 1)
    }
  }
  walk(options, 0)
  return changed
}
