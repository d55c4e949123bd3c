/**
 * The IPC adapter under a mocked `electron` (checklist 17): calls from a frame that is not our top
 * frame get an error envelope and never reach the router; ours are answered; hub events reach
 * the window on the event channel.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'

const handlers = new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>()
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => Promise<unknown>) => handlers.set(channel, fn),
    removeHandler: (channel: string) => handlers.delete(channel),
  },
}))

const { serveIpc } = await import('../../src/main/electron/ipc')
const { createApi } = await import('../../src/main/api')
const { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } = await import('../../src/shared/contracts')

const rendererUrl = 'hmmlab://app/index.html'
const api = createApi({ host: 'electron', workspace: mkdtempSync(join(tmpdir(), 'hmmlab-ipc-')) })
afterAll(() => api.close())
const sent: unknown[][] = []
const win = { isDestroyed: () => false, webContents: { send: (...args: unknown[]) => sent.push(args) } }
const stop = serveIpc(api, win as never, rendererUrl)

const top = { url: `${rendererUrl}#/results`, parent: null }
const call = (frame: unknown, name: unknown, input: unknown) => handlers.get(IPC_INVOKE_CHANNEL)!({ senderFrame: frame }, name, input)

describe('IPC adapter', () => {
  it('answers our top frame', async () => {
    await expect(call(top, 'app.info', {})).resolves.toMatchObject({ ok: true, result: { host: 'electron' } })
  })

  it('refuses another page, a subframe of ours, and a missing frame', async () => {
    for (const frame of [{ url: 'https://evil.example/', parent: null }, { url: rendererUrl, parent: top }, undefined]) {
      await expect(call(frame, 'app.info', {})).resolves.toMatchObject({ ok: false, error: { message: 'IPC from an untrusted frame' } })
    }
  })

  it('turns a bad route or input into an error envelope', async () => {
    await expect(call(top, 'no.such', {})).resolves.toMatchObject({ ok: false, error: { code: 'unknown_route' } })
    await expect(call(top, 'runs.get', { runId: '../x' })).resolves.toMatchObject({ ok: false, error: { code: 'bad_request' } })
  })

  it('forwards hub events to the window, and stops on close', () => {
    api.hub.emit('log.line', { level: 'info', message: 'hi' })
    expect(sent).toContainEqual([IPC_EVENT_CHANNEL, 'log.line', { level: 'info', message: 'hi' }])
    stop()
    expect(handlers.has(IPC_INVOKE_CHANNEL)).toBe(false)
  })
})
