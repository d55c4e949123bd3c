import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHandlers } from '../../src/main/api/handlers'
import { ApiError, createRouter } from '../../src/main/api/router'
import { createLabServices } from '../../src/main/services'
import { IMPORT_TEXT_MAX } from '../../src/shared/contracts'
import { parseScenario } from '../../src/sim/index'

const services = createLabServices({ workspace: mkdtempSync(join(tmpdir(), 'hmmlab-import-')), threads: 1 })
const router = createRouter(createHandlers(services), { host: 'browser' })
afterAll(() => services.close())

describe('scenarios.import', () => {
  it('turns an uploaded strace log into scenario YAML with the not-mapped list', async () => {
    const text = readFileSync('scenarios/workloads/gcc-build.strace.log', 'utf8')
    const r = (await router.invoke('scenarios.import', {
      kind: 'strace',
      text,
      fileName: 'gcc-build.strace.log',
      device: 'dmirror',
      iommu: 'intel',
      mirror: 'all',
      forkExit: true,
    })) as {
      ok: boolean
      text: string
      fileName: string
      summary: string
      notMapped: string[]
    }
    expect(r.ok).toBe(true)
    expect(r.fileName).toBe('gcc-build.strace.yaml')
    expect(r.summary).toMatch(/tasks gcc-14843, cc1-14845/)
    expect(r.notMapped.some((l) => /^vfork ×4: .*lines? /.test(l))).toBe(true)
    expect(parseScenario(r.text, r.fileName).machine?.devices?.[0]).toMatchObject({ kind: 'dmirror', iommu: 'iommu0' })
  })
  it('turns an uploaded smaps into a scenario', async () => {
    const r = (await router.invoke('scenarios.import', {
      kind: 'proc',
      text: readFileSync('test/import/fixtures/bash.smaps', 'utf8'),
      fileName: 'bash.smaps',
    })) as { ok: boolean; text: string }
    expect(r.ok).toBe(true)
    expect(parseScenario(r.text, 'x.yaml').steps.some((s) => 'touch' in s)).toBe(true)
  })
  it('answers a malformed input with issues naming the lines', async () => {
    const r = (await router.invoke('scenarios.import', {
      kind: 'strace',
      text: '1 1.0 brk(NULL) = 0x1000\n1 1.1 mmap(NULL, "x) = 3\n1 1.2 nonsense\n',
      fileName: 'bad.log',
    })) as {
      ok: boolean
      issues: Array<{ line: number; message: string }>
    }
    expect(r.ok).toBe(false)
    expect(r.issues.map((i) => i.line)).toEqual([2, 3])
    expect(r.issues[0]?.message).toMatch(/closing quote/)
    const p = (await router.invoke('scenarios.import', { kind: 'proc', text: 'not a maps file', fileName: 'x' })) as {
      ok: boolean
      issues: Array<{ line: number }>
    }
    expect(p).toMatchObject({ ok: false, issues: [{ line: 1 }] })
  })
  it('refuses an input over the size bound and options that need a device', async () => {
    await expect(router.invoke('scenarios.import', { kind: 'strace', text: 'x'.repeat(IMPORT_TEXT_MAX + 1), fileName: 'big.log' })).rejects.toBeInstanceOf(
      ApiError,
    )
    const r = (await router.invoke('scenarios.import', { kind: 'strace', text: '1 brk(NULL) = 0x1000\n', fileName: 'a.log', forkExit: true })) as {
      ok: boolean
      issues: Array<{ path: string }>
    }
    expect(r).toMatchObject({ ok: false, issues: [{ path: 'device' }] })
  })
})

describe('machineRef fast path', () => {
  it('finds references in every spelling and skips the parse only for plain mappings', async () => {
    const { machineRef } = await import('../../src/main/services/machine-ref')
    const cases: Array<[string, string | undefined]> = [
      ['name: x\nmachine: probed\nsteps: []\n', 'probed'],
      ['name: x\nmachine: "./m.json"\nsteps: []\n', './m.json'],
      ['name: x\nmachine:\n  probed\nsteps: []\n', 'probed'],
      ['name: x\nmachine:\n  iommus: []\nsteps: []\n', undefined],
      ['name: x\nmachine: { cpus: 4 }\nsteps: []\n', undefined],
      ['name: x\nmachine: # c\n  cpus: 4\nsteps: []\n', undefined],
      ['{"name": "x", "machine": "probed", "steps": []}', 'probed'],
      ['name: x\nsteps: []\n', undefined],
    ]
    for (const [text, want] of cases) expect(machineRef(text), text).toBe(want)
  })
})
