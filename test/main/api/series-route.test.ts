/** `runs.series` (binary series block) and `runs.get` without series, through the router of each host. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHandlers } from '../../../src/main/api/handlers'
import { createRouter } from '../../../src/main/api/router'
import { createLabServices } from '../../../src/main/services'
import { SeriesBlock, readSeriesBlock, routes } from '../../../src/shared/contracts'
import type { RunManifest } from '../../../src/shared/runs'

const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-series-route-'))
const services = createLabServices({ workspace, threads: 1 })
afterAll(() => services.close())

function manifest(id: string): RunManifest {
  const at = '2026-11-25T18:00:00.000Z'
  return {
    schema: 'hmmlab.run/2',
    id,
    scenario: { name: 'fork leak', fileName: 'fork-leak.yaml', hash: 'ab'.repeat(32), text: 'name: fork leak\n' },
    design: 'D4',
    seed: 1,
    parameters: {},
    versions: { hmmlab: '0.1.0', node: process.versions.node },
    timings: { queuedAt: at, startedAt: at, finishedAt: at, wallMs: 1 },
    status: 'passed',
    tags: [],
    metrics: {},
    expects: { passed: 0, failed: 0 },
    findings: 0,
  }
}

const series = {
  'memory.pages': { t: [0, 1.5e9, 1.2e10], v: [0, 67108864, 0.5] },
  'memory.mm_struct': { t: [0, 1e9], v: [1024, 2048] },
  'leaked.pages': { t: [], v: [] },
  'memory.broken': { t: [0, 1], v: [0] },
  'memory.strings': { t: ['0'], v: [1] },
}

describe('runs.series', () => {
  it('answers the series as float64 bytes: base64 for the browser host, a Uint8Array over Electron IPC', async () => {
    await services.store.saveRun({ manifest: manifest('r1'), result: { any: 1 }, series })
    const web = (await createRouter(createHandlers(services), { host: 'browser' }).invoke('runs.series', { runId: 'r1' })) as SeriesBlock
    const ipc = (await createRouter(createHandlers(services), { host: 'electron' }).invoke('runs.series', { runId: 'r1' })) as SeriesBlock
    expect(typeof web.data).toBe('string')
    expect(ipc.data).toBeInstanceOf(Uint8Array)
    // The JSON transport really carries it: a round trip through JSON changes nothing.
    expect(routes['runs.series'].output.safeParse(JSON.parse(JSON.stringify(web))).success).toBe(true)
    for (const [block, bytes] of [
      [web, new Uint8Array(Buffer.from(web.data as string, 'base64'))],
      [ipc, ipc.data as Uint8Array],
    ] as const) {
      expect(block.series.map((s) => s.name)).toEqual(['leaked.pages', 'memory.mm_struct', 'memory.pages'])
      expect(block.bad.sort()).toEqual(['memory.broken', 'memory.strings'])
      expect(block.byteLength).toBe(5 * 16)
      const decoded = readSeriesBlock(block.series, bytes)
      expect(Array.from(decoded['memory.pages']!.t)).toEqual(series['memory.pages'].t)
      expect(Array.from(decoded['memory.pages']!.v)).toEqual(series['memory.pages'].v)
      expect(Array.from(decoded['memory.mm_struct']!.v)).toEqual([1024, 2048])
      expect(decoded['leaked.pages']!.t.length).toBe(0)
    }
  })

  it('refuses an unknown run and a bad id as bad requests', async () => {
    const router = createRouter(createHandlers(services), { host: 'browser' })
    await expect(router.invoke('runs.series', { runId: 'nope' })).rejects.toMatchObject({ code: 'bad_request' })
    await expect(router.invoke('runs.series', { runId: '../x' })).rejects.toMatchObject({ code: 'bad_request' })
    await expect(router.invoke('runs.series', { runId: 'r1', extra: 1 })).rejects.toMatchObject({ code: 'bad_request' })
  })

  it('runs.get leaves the series out when asked, and keeps them by default', async () => {
    await services.store.saveRun({ manifest: manifest('r2'), result: { any: 2 }, series: { 'memory.pages': { t: [0], v: [1] } } })
    const router = createRouter(createHandlers(services), { host: 'browser' })
    const without = (await router.invoke('runs.get', { runId: 'r2', series: false })) as { series: object; result: unknown }
    expect(without.series).toEqual({})
    expect(without.result).toEqual({ any: 2 })
    const whole = (await router.invoke('runs.get', { runId: 'r2' })) as { series: object }
    expect(whole.series).toEqual({ 'memory.pages': { t: [0], v: [1] } })
  })

  it('a damaged series.json is a bad request naming the file, not a crash', async () => {
    await services.store.saveRun({ manifest: manifest('r3'), result: {}, series: {} })
    writeFileSync(join(workspace, 'runs', 'r3', 'series.json'), '{ not json')
    const router = createRouter(createHandlers(services), { host: 'browser' })
    await expect(router.invoke('runs.series', { runId: 'r3' })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('series.json') })
  })

  it('the contract refuses a byte length that does not match the listed series', () => {
    const ok = { encoding: 'f64le', series: [{ name: 'a', length: 2 }], byteLength: 32, data: '', bad: [] }
    expect(SeriesBlock.safeParse(ok).success).toBe(true)
    expect(SeriesBlock.safeParse({ ...ok, byteLength: 31 }).success).toBe(false)
    expect(SeriesBlock.safeParse({ ...ok, encoding: 'f32le' }).success).toBe(false)
    expect(SeriesBlock.safeParse({ ...ok, data: 42 }).success).toBe(false)
  })
})
