/**
 * The Electron security rules as pure data and predicates, so that each is unit-tested without
 * Electron. `window.ts` applies them. Each rule cites the item of Electron's security checklist
 * (https://www.electronjs.org/docs/latest/tutorial/security) that it enforces.
 */

/** Checklist 7 (CSP): the renderer may load only its own files; no eval, no remote content. */
export const RENDERER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Checklist 17 (IPC sender): an IPC message is trusted only when it comes from the top frame
 * showing our own renderer file. `rendererUrl` is the file:// URL of out/renderer/index.html.
 */
export function isTrustedSenderUrl(senderUrl: string | undefined, rendererUrl: string): boolean {
  if (!senderUrl) return false
  try {
    const sender = new URL(senderUrl)
    const ours = new URL(rendererUrl)
    return sender.protocol === 'file:' && sender.pathname === ours.pathname
  } catch {
    return false
  }
}

/** Checklist 13 (navigation): the window never leaves the renderer page (hash routes are fine). */
export function navigationAllowed(targetUrl: string, rendererUrl: string): boolean {
  return isTrustedSenderUrl(targetUrl, rendererUrl)
}

/** Checklist 15 (`shell.openExternal`): only https links to these documentation hosts. */
export const EXTERNAL_URL_ALLOWLIST: readonly string[] = [
  'www.kernel.org',
  'docs.kernel.org',
  'lore.kernel.org',
  'github.com',
  'www.electronjs.org',
]

/** True if a link may be opened in the user's browser. */
export function isAllowedExternalUrl(url: string): boolean {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' && EXTERNAL_URL_ALLOWLIST.includes(parsed.hostname) && parsed.username === '' && parsed.password === ''
  } catch {
    return false
  }
}

/** Checklist 5 (permissions): every permission request is denied; the lab needs none. */
export function permissionGranted(_permission: string): boolean {
  return false
}
