/**
 * The browser host under load and misbehaving clients, on loopback only: a slow client that never
 * finishes its headers is cut off, a bounded flood of unauthenticated requests is refused, and the
 * real page is still served afterwards.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi, type Api } from '../../src/main/api'
import { startBrowserHost, type BrowserHost } from '../../src/main/server/browser-host'
import { rawRequest } from './http-helpers'

let host: BrowserHost
let api: Api
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'hmmlab-load-'))
  const staticDir = join(root, 'renderer')
  mkdirSync(staticDir)
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>HMM Lab</title>')
  api = createApi({ host: 'browser', workspace: join(root, 'ws') })
  host = await startBrowserHost({ router: api.router, hub: api.hub, staticDir, token: 't'.repeat(48), heartbeatMs: 0, headersTimeoutMs: 500, requestTimeoutMs: 1000 })
})
afterAll(async () => {
  await host.close()
  await api.close()
})

describe('browser host under load', () => {
  it('cuts off a client that sends its headers too slowly', async () => {
    const closedAfter = await new Promise<number>((resolve) => {
      const started = Date.now()
      const socket = connect(host.port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\n`))
      socket.on('data', () => undefined)
      socket.on('close', () => resolve(Date.now() - started))
      socket.on('error', () => undefined)
    })
    expect(closedAfter).toBeGreaterThanOrEqual(400)
  })

  it('refuses a bounded flood of unauthenticated calls and still serves the page', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 300 }, () => rawRequest(host.port, { method: 'POST', path: '/api/invoke/app.info', body: '{}' }).then((r) => r.status)),
    )
    expect(new Set(statuses)).toEqual(new Set([401]))
    const page = await rawRequest(host.port, { path: '/' })
    expect(page.status).toBe(200)
    expect(page.body).toContain('HMM Lab')
    const info = await rawRequest(host.port, { method: 'POST', path: '/api/invoke/app.info', headers: { 'x-hmmlab-token': 't'.repeat(48) }, body: '{}' })
    expect(info.status).toBe(200)
  })
})
