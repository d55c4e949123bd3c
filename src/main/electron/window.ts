/**
 * The Electron window and the rules that keep it safe: sandboxed preload-only renderer, denied
 * navigation, new windows, permissions and webviews, IPC accepted only from our page.
 */
import { BrowserWindow, app, session, shell, type WebContents } from 'electron'
import { RENDERER_CSP, isAllowedExternalUrl, navigationAllowed, permissionGranted } from './policy'

/** Applies the session-wide rules (checklist 5 and 7): permissions denied, CSP header on every response. */
export function hardenSession(): void {
  const ses = session.defaultSession
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permissionGranted(permission)))
  ses.setPermissionCheckHandler((_wc, permission) => permissionGranted(permission))
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } })
  })
}

/** Applies the per-contents rules (checklist 12-15) to every web contents the app creates. */
export function hardenWebContents(rendererUrl: string): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event, url) => {
      if (!navigationAllowed(url, rendererUrl)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!navigationAllowed(url, rendererUrl)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(({ url }) => {
      if (isAllowedExternalUrl(url)) void shell.openExternal(url)
      return { action: 'deny' }
    })
  })
}

/**
 * Creates the main window on the built renderer, served over the app scheme (protocol.ts). The options are written out here, literally, so
 * that both the unit test (which captures them) and electronegativity (which reads the bundle)
 * see exactly what Electron gets. Checklist 2-4: no Node, context isolation, sandbox; checklist 8:
 * no insecure content; checklist 11: no experimental or blink features (Auxclick disabled).
 */
export function createMainWindow(rendererUrl: string, preloadPath: string, iconPath?: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'HMM Lab',
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      disableBlinkFeatures: 'Auxclick',
    },
  })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(rendererUrl)
  return win
}
