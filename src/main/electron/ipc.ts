/**
 * The IPC adapter: one channel for invoke, one for events, both checked against the contracts.
 * Answers travel as `{ ok, result }` / `{ ok: false, error }` so the renderer sees the same error
 * bodies as over HTTP.
 */
import { ipcMain, type BrowserWindow } from 'electron'
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/contracts'
import type { Api } from '../api'
import { toErrorBody } from '../api/router'
import { isTrustedSenderUrl } from './policy'

/** Serves the router over IPC to our window only, and forwards hub events to it. */
export function serveIpc(api: Api, win: BrowserWindow, rendererUrl: string): () => void {
  ipcMain.handle(IPC_INVOKE_CHANNEL, async (event, name: unknown, input: unknown) => {
    if (!isTrustedSenderUrl(event.senderFrame?.url, rendererUrl) || event.senderFrame?.parent !== null) {
      return { ok: false, ...toErrorBody(new Error('IPC from an untrusted frame')) }
    }
    try {
      return { ok: true, result: await api.router.invoke(name, input) }
    } catch (err) {
      return { ok: false, ...toErrorBody(err) }
    }
  })
  const unsubscribe = api.hub.subscribe((name, payload) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, name, payload)
  })
  return () => {
    unsubscribe()
    ipcMain.removeHandler(IPC_INVOKE_CHANNEL)
  }
}
