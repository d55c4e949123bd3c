/**
 * The Electron security rules as pure data and predicates, so that each is unit-tested without
 * Electron. `window.ts` applies them. Each rule cites the item of Electron's security checklist
 * (https://www.electronjs.org/docs/latest/tutorial/security) that it enforces.
 */

/** Checklist 18: the app's own scheme (protocol.ts); nothing is loaded over `file://`. */
export const APP_SCHEME = 'hmmlab'
/** The page of the main window. */
export const RENDERER_URL = `${APP_SCHEME}://app/index.html`

/**
 * The header CSP of a report printed to PDF: its inline script and style (allowed by hash in the
 * report's own meta CSP, which applies too), data: images and fonts, nothing remote.
 */
export const REPORT_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Checklist 7 (CSP): the renderer may load only its own files; no eval, no remote content. */
export const RENDERER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Checklist 17 (IPC sender): an IPC message is trusted only when it comes from the top frame
 * showing our own renderer page, `hmmlab://app/index.html` (RENDERER_URL).
 */
export function isTrustedSenderUrl(senderUrl: string | undefined, rendererUrl: string): boolean {
  if (!senderUrl) return false
  try {
    const sender = new URL(senderUrl)
    const ours = new URL(rendererUrl)
    return (
      sender.protocol === `${APP_SCHEME}:` &&
      sender.protocol === ours.protocol &&
      sender.host === ours.host &&
      sender.pathname === ours.pathname &&
      sender.username === '' &&
      sender.password === ''
    )
  } catch {
    return false
  }
}

/** Checklist 13 (navigation): the window never leaves the renderer page (hash routes are fine). */
export function navigationAllowed(targetUrl: string, rendererUrl: string): boolean {
  return isTrustedSenderUrl(targetUrl, rendererUrl)
}

/** Checklist 15 (`shell.openExternal`): only https links to these documentation hosts. */
export const EXTERNAL_URL_ALLOWLIST: readonly string[] = ['www.kernel.org', 'docs.kernel.org', 'lore.kernel.org', 'github.com', 'www.electronjs.org']

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
