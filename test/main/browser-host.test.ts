import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi, type Api } from '../../src/main/api'
import { startBrowserHost, type BrowserHost } from '../../src/main/server/browser-host'
import { rawRequest, tryWebSocket } from './http-helpers'

const TOKEN = 'a'.repeat(48)
let host: BrowserHost
let api: Api
let staticDir: string

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'hmmlab-host-'))
  staticDir = join(root, 'renderer')
  mkdirSync(join(staticDir, 'assets'), { recursive: true })
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>HMM Lab</title>')
  writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(root, 'secret.txt'), 'do not serve me')
  api = createApi({ host: 'browser', workspace: join(root, 'workspace') })
  host = await startBrowserHost({ router: api.router, hub: api.hub, staticDir, token: TOKEN, heartbeatMs: 0, maxBodyBytes: 4096 })
})
afterAll(async () => {
  await host.close()
  await api.close()
})

const invoke = (headers: Record<string, string>, body = '{}', route = 'app.info') =>
  rawRequest(host.port, { method: 'POST', path: `/api/invoke/${route}`, headers: { 'content-type': 'application/json', ...headers }, body })

describe('browser host: the legitimate path', () => {
  it('binds 127.0.0.1 and prints a URL that carries the token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${TOKEN}`)
    expect(host.server.address()).toMatchObject({ address: '127.0.0.1' })
  })

  it('answers app.info with the token, its own Host and Origin', async () => {
    const res = await invoke({ 'x-hmmlab-token': TOKEN, origin: host.origin })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).result).toMatchObject({ name: 'HMM Lab', host: 'browser' })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('accepts the token as a bearer token and from non-browser clients without Origin', async () => {
    const res = await invoke({ authorization: `Bearer ${TOKEN}` })
    expect(res.status).toBe(200)
  })

  it('serves the renderer with a strict CSP and no token needed', async () => {
    const res = await rawRequest(host.port, { path: '/' })
    expect(res.status).toBe(200)
    expect(res.body).toContain('HMM Lab')
    expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'")
    expect(res.headers['referrer-policy']).toBe('no-referrer')
  })

  it('delivers events over an authenticated WebSocket', async () => {
    const opened = await tryWebSocket(host.port, { protocols: ['hmmlab-v1', `hmmlab-token.${TOKEN}`], headers: { origin: host.origin } })
    expect(opened.outcome).toBe('open')
    if (opened.outcome !== 'open') return
    const message = new Promise<string>((resolve) => opened.ws.once('message', (d) => resolve(String(d))))
    api.hub.emit('log.line', { level: 'info', message: 'hello' })
    expect(JSON.parse(await message)).toEqual({ event: 'log.line', payload: { level: 'info', message: 'hello' } })
    opened.ws.close()
  })
})

describe('browser host: attacks are rejected', () => {
  it('rejects a request without the token', async () => {
    const res = await invoke({ origin: host.origin })
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body).error.code).toBe('unauthorized')
  })

  it('rejects a wrong token, including one of the right length', async () => {
    expect((await invoke({ 'x-hmmlab-token': 'b'.repeat(48) })).status).toBe(401)
    expect((await invoke({ 'x-hmmlab-token': 'short' })).status).toBe(401)
  })

  it('does not take the token from the query string of an API call', async () => {
    const res = await rawRequest(host.port, { method: 'POST', path: `/api/invoke/app.info?token=${TOKEN}`, body: '{}' })
    expect(res.status).toBe(401)
  })

  it('rejects a DNS-rebinding Host on the API and on static files', async () => {
    const api = await invoke({ 'x-hmmlab-token': TOKEN, host: `evil.example:${host.port}` })
    expect(api.status).toBe(403)
    const page = await rawRequest(host.port, { path: '/', headers: { host: `evil.example:${host.port}` } })
    expect(page.status).toBe(403)
    const otherPort = await rawRequest(host.port, { path: '/', headers: { host: `127.0.0.1:${host.port + 1}` } })
    expect(otherPort.status).toBe(403)
  })

  it('rejects a foreign Origin, a null Origin and a look-alike Origin even with the token', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${host.port}.evil.example`, `https://127.0.0.1:${host.port}`]) {
      const res = await invoke({ 'x-hmmlab-token': TOKEN, origin })
      expect(res.status, origin).toBe(403)
    }
  })

  it('refuses a WebSocket from a foreign Origin, without a token, or with a wrong one', async () => {
    const foreign = await tryWebSocket(host.port, { protocols: ['hmmlab-v1', `hmmlab-token.${TOKEN}`], headers: { origin: 'http://evil.example' } })
    expect(foreign).toEqual({ outcome: 'refused', status: 403 })
    const noToken = await tryWebSocket(host.port, { protocols: ['hmmlab-v1'], headers: { origin: host.origin } })
    expect(noToken).toEqual({ outcome: 'refused', status: 401 })
    const wrong = await tryWebSocket(host.port, { protocols: ['hmmlab-v1', 'hmmlab-token.nope'], headers: { origin: host.origin } })
    expect(wrong).toEqual({ outcome: 'refused', status: 401 })
    const rebinding = await tryWebSocket(host.port, { protocols: ['hmmlab-v1', `hmmlab-token.${TOKEN}`], headers: { host: `evil.example:${host.port}` } })
    expect(rebinding).toEqual({ outcome: 'refused', status: 403 })
  })

  it('refuses path traversal out of the renderer folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%00index.html']) {
      const res = await rawRequest(host.port, { path })
      expect(res.status, path).toBe(404)
      expect(res.body).not.toContain('do not serve me')
    }
  })

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const res = await invoke({ 'x-hmmlab-token': TOKEN }, JSON.stringify({ pad: 'x'.repeat(10_000) }))
    expect(res.status).toBe(413)
    expect((await invoke({ 'x-hmmlab-token': TOKEN })).status).toBe(200)
  })

  it('answers bad JSON, unknown routes and bad input with clear errors', async () => {
    const badJson = await invoke({ 'x-hmmlab-token': TOKEN }, '{nope')
    expect(badJson.status).toBe(400)
    const unknown = await invoke({ 'x-hmmlab-token': TOKEN }, '{}', 'no.such.route')
    expect(unknown.status).toBe(404)
    const badInput = await invoke({ 'x-hmmlab-token': TOKEN }, '{"unexpected":1}')
    expect(badInput.status).toBe(400)
    expect(JSON.parse(badInput.body).error.message).toContain('app.info')
  })
})
