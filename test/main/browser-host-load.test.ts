/**
 * The browser host under load and misbehaving clients, on loopback only: a slow client that never
 * finishes its headers is cut off, a bounded flood of unauthenticated requests is refused, and the
 * real page is still served afterwards.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
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
  host = await startBrowserHost({
    router: api.router,
    hub: api.hub,
    staticDir,
    token: 't'.repeat(48),
    heartbeatMs: 0,
    headersTimeoutMs: 500,
    requestTimeoutMs: 1000,
    idleTimeoutMs: 500,
    maxConnectionsPerClient: 20,
  })
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
    // Over the per-client cap a connection is closed at once (status 0 here); the others get 401.
    const statuses = await Promise.all(
      Array.from({ length: 300 }, () =>
        rawRequest(host.port, { method: 'POST', path: '/api/invoke/app.info', body: '{}' }).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    )
    expect(statuses.filter((s) => s !== 0 && s !== 401)).toEqual([])
    expect(statuses).toContain(401)
    const page = await rawRequest(host.port, { path: '/' })
    expect(page.status).toBe(200)
    expect(page.body).toContain('HMM Lab')
    const info = await rawRequest(host.port, { method: 'POST', path: '/api/invoke/app.info', headers: { 'x-hmmlab-token': 't'.repeat(48) }, body: '{}' })
    expect(info.status).toBe(200)
  })

  it('closes connections that stay silent, and those kept alive after an answer (issue 18 #6)', async () => {
    // Event order, not speed: each socket ends because the server closed it (no client timeout).
    const silent = await new Promise<string>((resolve) => {
      const socket = connect(host.port, '127.0.0.1')
      socket.on('error', () => undefined)
      socket.on('close', () => resolve('closed by the server'))
    })
    expect(silent).toBe('closed by the server')
    const keptAlive = await new Promise<string>((resolve) => {
      const socket = connect(host.port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\n\r\n`))
      let answered = false
      socket.on('data', () => (answered = true))
      socket.on('error', () => undefined)
      socket.on('close', () => resolve(answered ? 'answered, then closed' : 'closed unanswered'))
    })
    expect(keptAlive).toBe('answered, then closed')
  })

  it('caps the connections of one client: over the cap a socket is closed at once; a valid call still gets in (issue 18 #6)', async () => {
    const sockets: Socket[] = []
    const closedEarly: number[] = []
    const opened = Array.from(
      { length: 30 },
      (_, i) =>
        new Promise<void>((resolve) => {
          const s = connect(host.port, '127.0.0.1', () => resolve())
          s.on('error', () => resolve())
          s.on('close', () => closedEarly.push(i))
          sockets.push(s)
        }),
    )
    await Promise.all(opened)
    // The server drops what is over its cap of 20 before it reads a byte: wait until 10 are gone.
    while (closedEarly.length < 10) await new Promise((r) => setTimeout(r, 20))
    for (const s of sockets) s.destroy()
    await new Promise((r) => setTimeout(r, 50))
    const info = await rawRequest(host.port, { method: 'POST', path: '/api/invoke/app.info', headers: { 'x-hmmlab-token': 't'.repeat(48) }, body: '{}' })
    expect(info.status).toBe(200)
  })

  it('answers a malformed request line or URL with 400, before any token check (issue 18 #9)', async () => {
    for (const target of ['//[', '/%zz/../[', 'no-slash', '*']) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(host.port, '127.0.0.1', () =>
          socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nConnection: close\r\n\r\n`),
        )
        let data = ''
        socket.setEncoding('utf8').on('data', (d: string) => (data += d))
        socket.on('error', () => resolve(data))
        socket.on('close', () => resolve(data))
      })
      expect(answer.split('\r\n')[0], target).toMatch(/^HTTP\/1\.1 (400|404)/)
    }
    const garbage = await new Promise<string>((resolve) => {
      const socket = connect(host.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'))
      let data = ''
      socket.setEncoding('utf8').on('data', (d: string) => (data += d))
      socket.on('error', () => resolve(data))
      socket.on('close', () => resolve(data))
    })
    expect(garbage).toMatch(/^HTTP\/1\.1 400/)
  })
})

describe('browser host and a client that never reads', () => {
  let slowHost: BrowserHost
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'hmmlab-noread-'))
    mkdirSync(join(root, 'renderer'))
    writeFileSync(join(root, 'renderer', 'index.html'), '<!doctype html><title>HMM Lab</title>')
    // the idle timeout far beyond the test's: only the headers timeout's 408 can end the socket
    slowHost = await startBrowserHost({
      router: api.router,
      hub: api.hub,
      staticDir: join(root, 'renderer'),
      token: 't'.repeat(48),
      heartbeatMs: 0,
      headersTimeoutMs: 500,
      idleTimeoutMs: 600_000,
    })
  })
  afterAll(() => slowHost.close())

  it('closes its side after a 408 although the client never reads it (issue 18 #6)', async () => {
    // A paused client never sees the server's end, so it never closes its side; the server must
    // release the socket anyway. Once it has, the client's next write meets a reset. Before the fix
    // the server kept the half-closed socket (and its descriptor) for good: a CI run hung 600 s on
    // such sockets in server-survives.test.ts.
    const closed = await new Promise<string>((resolve) => {
      const socket = connect(slowHost.port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${slowHost.port}\r\n`))
      socket.pause()
      const poke = setInterval(() => socket.writable && socket.write('X-Still: here\r\n'), 200)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        clearInterval(poke)
        resolve('released by the server')
      })
    })
    expect(closed).toBe('released by the server')
  }, 60_000)
})
