/** Picks the Bridge for the host the page runs in: IPC when the preload is there, HTTP/WS otherwise. */
import type { HostBridgeApi } from '../../shared/contracts/bridge'
import { createIpcBridge } from './ipc-bridge'
import type { Bridge } from './types'
import { createWebBridge, takeToken } from './web-bridge'

export type { Bridge, ConnectionState, OffThreadAccess } from './types'
export { BridgeError } from './types'

declare global {
  interface Window {
    hmmlab?: HostBridgeApi
  }
}

let bridge: Bridge | undefined

/** The page's one Bridge, created on first use. */
export function useBridge(): Bridge {
  if (!bridge) bridge = window.hmmlab ? createIpcBridge(window.hmmlab) : createWebBridge(takeToken())
  return bridge
}
