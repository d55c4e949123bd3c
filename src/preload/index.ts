/**
 * The preload: the only bridge between the sandboxed renderer and the main process. It exposes
 * `window.hmmlab` with `invoke(route, input)` and `on(event, cb)`, and refuses names that are not
 * in the contracts, so the renderer gets no other handle on Electron or Node.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL, isEventName, isRouteName } from '../shared/contracts/names'
import type { HostBridgeApi } from '../shared/contracts/bridge'

const api: HostBridgeApi = {
  host: 'electron',
  invoke(name, input) {
    if (!isRouteName(name)) return Promise.reject(new Error(`unknown route ${typeof name === 'string' ? name : typeof name}`))
    return ipcRenderer.invoke(IPC_INVOKE_CHANNEL, name, input)
  },
  on(name, callback) {
    if (!isEventName(name)) throw new Error(`unknown event ${typeof name === 'string' ? name : typeof name}`)
    const listener = (_event: IpcRendererEvent, eventName: unknown, payload: unknown): void => {
      if (eventName === name) callback(payload)
    }
    ipcRenderer.on(IPC_EVENT_CHANNEL, listener)
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, listener)
    }
  },
}

contextBridge.exposeInMainWorld('hmmlab', api)
