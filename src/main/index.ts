/**
 * The Electron entry: one sandboxed window over the built renderer, served through IPC by the
 * same route table as the browser host. Only this file, `electron/` and the preload import
 * `electron` at run time.
 */
import { app, BrowserWindow, dialog } from 'electron'
import { join } from 'node:path'
import { createApi } from './api'
import { RENDERER_URL } from './electron/policy'
import { registerAppScheme, serveAppScheme } from './electron/protocol'
import { hardenSession, hardenWebContents, createMainWindow } from './electron/window'
import { serveIpc } from './electron/ipc'
import { utilityRunProcess } from './electron/utility-process'
import { htmlToPdf } from './electron/pdf'
import { appRoot, rendererDir } from './paths'
import { exitWithParent } from './services/parent-death'
import { checkWorkspace, defaultWorkspace } from './services/store/workspace'

// Started by `npm start` (HMMLAB_PARENT_PID): quit if that process dies, even by SIGKILL. Not
// passed on: a run process watches its own parent, this process.
const startedBy = Number(process.env.HMMLAB_PARENT_PID)
delete process.env.HMMLAB_PARENT_PID
if (startedBy > 1) exitWithParent({ parentPid: startedBy, onParentGone: () => app.exit(0) })

app.enableSandbox()
// Checklist 18: the app is served over hmmlab://, never file:// (registered before ready).
registerAppScheme()
const rendererUrl = RENDERER_URL
const preloadPath = join(appRoot(), 'out', 'preload', 'index.cjs')
hardenWebContents(rendererUrl)

void app.whenReady().then(() => {
  // $HMMLAB_WORKSPACE (or the data folder) that runs cannot be saved in: said once, before any
  // window, rather than by every request failing later (exit 2, as `hmmlab serve` does)
  let workspace: string
  try {
    workspace = checkWorkspace(defaultWorkspace())
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`HMM Lab: ${message}\n`)
    dialog.showErrorBox('HMM Lab cannot start', `${message}\n\nSet HMMLAB_WORKSPACE to a folder this user can write in.`)
    app.exit(2)
    return
  }
  hardenSession()
  serveAppScheme(rendererDir())
  // Run processes as utility processes: the packaged app has no ELECTRON_RUN_AS_NODE (fuse off).
  const api = createApi({ host: 'electron', printToPdf: htmlToPdf, workspace }, { spawnRunProcess: utilityRunProcess })
  const win = createMainWindow(rendererUrl, preloadPath, join(appRoot(), 'resources', 'icon.png'))
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
