/**
 * The Electron entry: one sandboxed window over the built renderer, served through IPC by the
 * same route table as the browser host. Only this file, `electron/` and the preload import
 * `electron` at run time.
 */
import { app, BrowserWindow } from 'electron'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createApi } from './api'
import { hardenSession, hardenWebContents, createMainWindow } from './electron/window'
import { serveIpc } from './electron/ipc'
import { htmlToPdf } from './electron/pdf'
import { appRoot, rendererDir } from './paths'

app.enableSandbox()
const rendererIndex = join(rendererDir(), 'index.html')
const rendererUrl = pathToFileURL(rendererIndex).href
const preloadPath = join(appRoot(), 'out', 'preload', 'index.cjs')
hardenWebContents(rendererUrl)

void app.whenReady().then(() => {
  hardenSession()
  const api = createApi({ host: 'electron', printToPdf: htmlToPdf })
  const win = createMainWindow(rendererIndex, preloadPath, join(appRoot(), 'resources', 'icon.png'))
  const stop = serveIpc(api, win, rendererUrl)
  let seq = 0
  const started = Date.now()
  const heartbeat = setInterval(() => api.hub.emit('app.heartbeat', { seq: seq++, uptimeMs: Date.now() - started }), 5000)
  win.on('closed', () => {
    clearInterval(heartbeat)
    stop()
  })
})

app.on('window-all-closed', () => app.quit())
app.on('activate', () => {
  if (BrowserWindow.getAllWindows().length === 0) app.quit()
})
