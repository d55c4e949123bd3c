/**
 * The Bridge of the browser host: routes over `POST /api/invoke/<route>`, events over a WebSocket
 * on `/api/events` that reconnects with backoff (the host may restart while the page is open).
 * The launch token arrives once in the page URL; it is moved to sessionStorage and removed from
 * the address bar so it is not left in history or bookmarks.
 */
import type { EventName } from '../../shared/contracts'
import { postRoute } from './http'
import { type Bridge, type ConnectionState } from './types'
import { checkAnswer, checkEvent } from './validate'

const TOKEN_KEY = 'hmmlab.token'

/** Takes the token from `?token=` (then strips it) or from sessionStorage. */
export function takeToken(loc: Location = window.location, storage: Storage = window.sessionStorage): string | undefined {
  const url = new URL(loc.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl)
    url.searchParams.delete('token')
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash)
    return fromUrl
  }
  return storage.getItem(TOKEN_KEY) ?? undefined
}

export function createWebBridge(token: string | undefined, base: Location = window.location): Bridge {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>()
  const connectionListeners = new Set<(state: ConnectionState) => void>()
  let state: ConnectionState = 'connecting'
  let socket: WebSocket | undefined
  let retryMs = 250

  const setState = (next: ConnectionState): void => {
    state = next
    for (const l of connectionListeners) l(next)
  }

  const connect = (): void => {
    if (!token) return setState('closed')
    const wsUrl = `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}/api/events`
    const ws = new WebSocket(wsUrl, ['hmmlab-v1', `hmmlab-token.${token}`])
    socket = ws
    setState('connecting')
    ws.onopen = () => {
      retryMs = 250
      setState('open')
    }
    ws.onmessage = (msg: MessageEvent) => {
      let data: { event?: unknown; payload?: unknown }
      try {
        data = JSON.parse(String(msg.data)) as { event?: unknown; payload?: unknown }
      } catch {
        return
      }
      const set = listeners.get(data.event as EventName)
      if (!set) return
      const payload = checkEvent(data.event as EventName, data.payload)
      if (payload === undefined) return
      for (const cb of set) cb(payload)
    }
    ws.onclose = () => {
      if (socket !== ws) return
      setState('closed')
      setTimeout(connect, retryMs)
      retryMs = Math.min(retryMs * 2, 5000)
    }
  }
  connect()

  return {
    host: 'browser',
    async invoke(name, input) {
      return checkAnswer(name, await postRoute(token, name, input))
    },
    offThread: () => (token ? { kind: 'http' as const, token } : { kind: 'none' as const }),
    on(name, callback) {
      let set = listeners.get(name)
      if (!set) listeners.set(name, (set = new Set()))
      const cb = callback as (payload: unknown) => void
      set.add(cb)
      return () => set.delete(cb)
    },
    onConnection(callback) {
      connectionListeners.add(callback)
      callback(state)
      return () => connectionListeners.delete(callback)
    },
  }
}
