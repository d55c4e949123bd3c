import { describe, expect, it } from 'vitest'
import { ROUTE_NAMES, routes } from '../../src/shared/contracts'
import { createHandlers } from '../../src/main/api/handlers'
import { ApiError, createRouter } from '../../src/main/api/router'
import { EventHub } from '../../src/main/api/event-hub'
import { createLabServices } from '../../src/main/services'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

const services = createLabServices({ workspace: mkdtempSync(join(tmpdir(), 'hmmlab-router-')) })
afterAll(() => services.close())

describe('route table', () => {
  it('has exactly one handler per contract route', () => {
    expect(Object.keys(createHandlers(services)).sort()).toEqual([...ROUTE_NAMES].sort())
    expect(Object.keys(routes).sort()).toEqual([...ROUTE_NAMES].sort())
  })

  it('answers app.info with the host kind it was built for', async () => {
    for (const host of ['electron', 'browser'] as const) {
      const router = createRouter(createHandlers(services), { host })
      await expect(router.invoke('app.info', {})).resolves.toMatchObject({ host, name: 'HMM Lab', platform: process.platform })
    }
  })

  it('answers designs.list with the catalogue of the simulator itself (the renderer keeps no copy)', async () => {
    const { DESIGNS } = await import('../../src/sim')
    const router = createRouter(createHandlers(services), { host: 'browser' })
    const r = (await router.invoke('designs.list', {})) as { designs: { id: string; title: string; correct: boolean }[] }
    expect(r.designs.map((d) => d.id)).toEqual(['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'B1', 'B2'])
    expect(r.designs.map((d) => d.title)).toEqual(DESIGNS.map((d) => d.title))
    expect(r.designs.filter((d) => !d.correct).map((d) => d.id)).toEqual(['B1', 'B2'])
  })

  it('rejects unknown routes and invalid input with ApiError codes', async () => {
    const router = createRouter(createHandlers(services), { host: 'browser' })
    await expect(router.invoke('__proto__', {})).rejects.toMatchObject({ code: 'unknown_route' })
    await expect(router.invoke(42, {})).rejects.toBeInstanceOf(ApiError)
    await expect(router.invoke('app.info', { extra: true })).rejects.toMatchObject({ code: 'bad_request', route: 'app.info' })
  })

  it('turns a handler that breaks its output contract into an internal error', async () => {
    const handlers = { ...createHandlers(services), 'app.info': () => ({ name: 'not us' }) as never }
    const router = createRouter(handlers, { host: 'browser' })
    await expect(router.invoke('app.info', {})).rejects.toMatchObject({ code: 'internal' })
  })

  it('turns a throwing handler into an internal error naming the route', async () => {
    const handlers = {
      ...createHandlers(services),
      'app.info': () => {
        throw new Error('boom')
      },
    }
    await expect(createRouter(handlers, { host: 'browser' }).invoke('app.info', {})).rejects.toMatchObject({
      code: 'internal',
      message: 'app.info failed: boom',
    })
  })
})

describe('event hub', () => {
  it('validates payloads and isolates a failing subscriber', () => {
    const hub = new EventHub()
    const got: unknown[] = []
    hub.subscribe(() => {
      throw new Error('broken socket')
    })
    hub.subscribe((name, payload) => got.push([name, payload]))
    hub.emit('app.heartbeat', { seq: 1, uptimeMs: 10 })
    expect(got).toEqual([['app.heartbeat', { seq: 1, uptimeMs: 10 }]])
    expect(() => hub.emit('app.heartbeat', { seq: -1, uptimeMs: 0 })).toThrow()
  })
})
