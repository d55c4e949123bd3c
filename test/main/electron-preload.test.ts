/**
 * The preload bridge under a mocked `electron`: what it puts on `window.hmmlab` (checklist: the
 * renderer gets no handle on Electron or Node), that it forwards only contract routes and events
 * over our two channels, and that a listener gets the payload, never Electron's event object.
 * Only a real Electron (the e2e `electron` project) shows the bridge inside a sandboxed page.
 */
import { describe, expect, it, vi } from 'vitest'
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../src/shared/contracts/names'
import type { HostBridgeApi } from '../../src/shared/contracts/bridge'

const exposed: Array<[string, unknown]> = []
const listeners = new Map<string, Set<(...a: unknown[]) => void>>()
const invoke = vi.fn((..._a: unknown[]) => Promise.resolve({ ok: true }))

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.push([name, api]) },
  ipcRenderer: {
    invoke,
    on: (channel: string, fn: (...a: unknown[]) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set())
      listeners.get(channel)!.add(fn)
    },
    removeListener: (channel: string, fn: (...a: unknown[]) => void) => listeners.get(channel)?.delete(fn),
  },
}))

await import('../../src/preload/index')
const api = exposed[0]![1] as HostBridgeApi
const emit = (eventName: unknown, payload: unknown): void => {
  for (const fn of listeners.get(IPC_EVENT_CHANNEL) ?? []) fn({ sender: 'the IpcRendererEvent' }, eventName, payload)
}

describe('Electron preload bridge', () => {
  it('exposes one object, window.hmmlab, with host, invoke and on only', () => {
    expect(exposed.map(([name]) => name)).toEqual(['hmmlab'])
    expect(Object.keys(api).sort()).toEqual(['host', 'invoke', 'on'])
    expect(api.host).toBe('electron')
    expect(typeof api.invoke).toBe('function')
    expect(typeof api.on).toBe('function')
  })

  it('forwards a contract route over the invoke channel, and refuses any other name without calling Electron', async () => {
    await expect(api.invoke('app.info', {})).resolves.toEqual({ ok: true })
    expect(invoke).toHaveBeenLastCalledWith(IPC_INVOKE_CHANNEL, 'app.info', {})
    invoke.mockClear()
    for (const name of ['__proto__', 'constructor', 'app.quit', 'runs.list ', 42, null]) {
      await expect(api.invoke(name as never, {} as never)).rejects.toThrow(/^unknown route/)
    }
    expect(invoke).not.toHaveBeenCalled()
  })

  it('subscribes to contract events only; a listener gets its own event payload, never the Electron event; unsubscribing removes it', () => {
    const got: unknown[] = []
    const off = api.on('run.progress', (p) => got.push(p))
    expect(listeners.get(IPC_EVENT_CHANNEL)?.size).toBe(1)
    emit('log.line', { line: 'not ours' })
    emit('run.progress', { runId: 'r1', done: 1 })
    expect(got).toEqual([{ runId: 'r1', done: 1 }])
    off()
    expect(listeners.get(IPC_EVENT_CHANNEL)?.size).toBe(0)
    emit('run.progress', { runId: 'r1', done: 2 })
    expect(got).toHaveLength(1)
    for (const name of ['__proto__', 'ipc.raw', 7]) expect(() => api.on(name as never, () => {})).toThrow(/^unknown event/)
    expect(listeners.get(IPC_EVENT_CHANNEL)?.size).toBe(0)
  })
})
