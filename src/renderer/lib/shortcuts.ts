/**
 * Keyboard shortcuts: views and components register theirs while they are mounted; one keydown
 * listener dispatches them and `?` lists them (ShortcutsDialog). Keys typed into a text field or
 * the editor are never taken, so typing a `?` in a scenario stays a `?`.
 */
import { onBeforeUnmount, onMounted, shallowRef } from 'vue'

export interface Shortcut {
  /** Key as in KeyboardEvent.key ("?", "+", "ArrowLeft", "n"); modifiers are not used. */
  key: string
  /** Shown in the list, e.g. "zoom in the time window". */
  description: string
  /** Group heading in the list ("Everywhere", "Results"). */
  scope: string
  run: () => void
}

/** Every shortcut registered now, in registration order. */
export const shortcuts = shallowRef<Shortcut[]>([])

/** Registers shortcuts until `unregister` is called. */
export function registerShortcuts(list: Shortcut[]): () => void {
  shortcuts.value = [...shortcuts.value, ...list]
  return () => {
    shortcuts.value = shortcuts.value.filter((s) => !list.includes(s))
  }
}

/** Registers shortcuts for the lifetime of the calling component. */
export function useShortcuts(list: Shortcut[]): void {
  let off: (() => void) | undefined
  onMounted(() => (off = registerShortcuts(list)))
  onBeforeUnmount(() => off?.())
}

/** True when the key goes to something the user is typing into. */
export function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).closest !== 'function') return false
  const el = target as HTMLElement
  if (el.isContentEditable || el.closest('.cm-editor')) return true
  const tag = el.tagName
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  if (tag === 'INPUT') return !['checkbox', 'radio', 'button', 'submit', 'range'].includes((el as HTMLInputElement).type)
  return false
}

/** The shortcut a key event triggers (the latest registered wins), or undefined. */
export function shortcutFor(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>, list: readonly Shortcut[]): Shortcut | undefined {
  if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return undefined
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.key === e.key) return list[i]
  return undefined
}

let installed = false
/** Installs the one keydown listener (idempotent). */
export function installShortcutListener(): void {
  if (installed || typeof window === 'undefined') return
  installed = true
  window.addEventListener('keydown', (e) => {
    const s = shortcutFor(e, shortcuts.value)
    if (!s) return
    e.preventDefault()
    s.run()
  })
}
