/**
 * The Electron window module under a mocked `electron`: the options it really passes to
 * BrowserWindow, and the handlers it installs for navigation, new windows, webviews and
 * permissions (checklist items 2-5, 8, 11-15).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'

const captured: { windowOptions?: Record<string, unknown>; loadedUrl?: string; appHandlers: Record<string, (...a: unknown[]) => void> } = { appHandlers: {} }
const session = {
  permissionRequest: undefined as undefined | ((wc: unknown, p: string, cb: (ok: boolean) => void) => void),
  permissionCheck: undefined as undefined | ((wc: unknown, p: string) => boolean),
  headers: undefined as undefined | ((d: { responseHeaders: Record<string, string[]> }, cb: (r: unknown) => void) => void),
}
const openExternal = vi.fn()

vi.mock('electron', () => ({
  BrowserWindow: class {
    webContents = {}
    constructor(opts: Record<string, unknown>) {
      captured.windowOptions = opts
    }
    once() {}
    loadURL(url: string) {
      captured.loadedUrl = url
      return Promise.resolve()
    }
  },
  app: { on: (name: string, fn: (...a: unknown[]) => void) => (captured.appHandlers[name] = fn) },
  shell: { openExternal },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (fn: typeof session.permissionRequest) => (session.permissionRequest = fn),
      setPermissionCheckHandler: (fn: typeof session.permissionCheck) => (session.permissionCheck = fn),
      webRequest: { onHeadersReceived: (fn: typeof session.headers) => (session.headers = fn) },
    },
  },
}))

const { createMainWindow, hardenSession, hardenWebContents } = await import('../../src/main/electron/window')
const rendererUrl = 'hmmlab://app/index.html'

function fakeContents() {
  const handlers: Record<string, (event: { preventDefault: () => void }, url?: string) => void> = {}
  let openHandler: ((d: { url: string }) => { action: string }) | undefined
  return {
    on: (name: string, fn: (event: { preventDefault: () => void }, url?: string) => void) => (handlers[name] = fn),
    setWindowOpenHandler: (fn: typeof openHandler) => (openHandler = fn),
    handlers,
    open: (url: string) => openHandler!({ url }),
  }
}

beforeEach(() => openExternal.mockClear())

describe('Electron window', () => {
  it('creates the window sandboxed, isolated, without Node, with the preload', () => {
    createMainWindow(rendererUrl, '/opt/hmm-lab/out/preload/index.cjs')
    // checklist 18: the app scheme, never file://
    expect(captured.loadedUrl).toBe('hmmlab://app/index.html')
    expect(captured.windowOptions?.webPreferences).toMatchObject({
      preload: '/opt/hmm-lab/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      disableBlinkFeatures: 'Auxclick',
    })
  })

  it('denies navigation away, new windows, and webviews; opens only allow-listed links outside', () => {
    hardenWebContents(rendererUrl)
    const contents = fakeContents()
    captured.appHandlers['web-contents-created']!({}, contents)
    const prevented = (name: string, url?: string) => {
      let blocked = false
      contents.handlers[name]!({ preventDefault: () => (blocked = true) }, url)
      return blocked
    }
    expect(prevented('will-navigate', 'https://evil.example/')).toBe(true)
    expect(prevented('will-navigate', `${rendererUrl}#/results`)).toBe(false)
    expect(prevented('will-redirect', 'file:///etc/passwd')).toBe(true)
    expect(prevented('will-attach-webview')).toBe(true)
    expect(contents.open('https://evil.example/')).toEqual({ action: 'deny' })
    expect(openExternal).not.toHaveBeenCalled()
    expect(contents.open('https://docs.kernel.org/mm/hmm.html')).toEqual({ action: 'deny' })
    expect(openExternal).toHaveBeenCalledWith('https://docs.kernel.org/mm/hmm.html')
  })

  it('denies every permission and adds the CSP header to every response', () => {
    hardenSession()
    let granted: boolean | undefined
    session.permissionRequest!({}, 'media', (ok) => (granted = ok))
    expect(granted).toBe(false)
    expect(session.permissionCheck!({}, 'notifications')).toBe(false)
    let headers: Record<string, string[]> = {}
    session.headers!({ responseHeaders: { 'X-Test': ['1'] } }, (r) => (headers = (r as { responseHeaders: Record<string, string[]> }).responseHeaders))
    expect(headers['Content-Security-Policy']?.[0]).toContain("script-src 'self'")
    expect(headers['X-Test']).toEqual(['1'])
  })
})

describe('Save as PDF', () => {
  it('prints the report in a hidden sandboxed window over hmmlab://report/ and forgets it after', async () => {
    const calls: string[] = []
    let loaded = ''
    const protocolModule: { answerAppRequest?: typeof import('../../src/main/electron/protocol').answerAppRequest } = {}
    vi.doMock('electron', () => ({
      protocol: { handle: () => undefined, registerSchemesAsPrivileged: () => undefined },
      BrowserWindow: class {
        constructor(opts: { show: boolean; webPreferences: Record<string, unknown> }) {
          calls.push(
            `new show=${opts.show} sandbox=${String(opts.webPreferences.sandbox)} isolation=${String(opts.webPreferences.contextIsolation)} preload=${String(opts.webPreferences.preload)}`,
          )
        }
        async loadURL(url: string) {
          loaded = url
          const served = await protocolModule.answerAppRequest!('GET', url, '/nonexistent')
          calls.push(`load ${url.startsWith('hmmlab://report/')} ${served.status}`)
        }
        webContents = {
          executeJavaScript: async () => true,
          printToPDF: async (o: { printBackground: boolean }) => {
            calls.push(`print background=${o.printBackground}`)
            return Buffer.from('%PDF-1.7 fake')
          },
        }
        destroy() {
          calls.push('destroy')
        }
      },
    }))
    vi.resetModules()
    protocolModule.answerAppRequest = (await import('../../src/main/electron/protocol')).answerAppRequest
    const { htmlToPdf } = await import('../../src/main/electron/pdf')
    const pdf = await htmlToPdf('<!doctype html><title>r</title>')
    expect(Buffer.from(pdf).toString()).toBe('%PDF-1.7 fake')
    expect(calls).toEqual(['new show=false sandbox=true isolation=true preload=undefined', 'load true 200', 'print background=true', 'destroy'])
    expect((await protocolModule.answerAppRequest!('GET', loaded, '/nonexistent')).status).toBe(404)
    vi.doUnmock('electron')
  })
})
