/**
 * "Simulate this machine": a probed machine becomes a scenario's `machine:`; an experiment run on
 * it uses that IOMMU's invalidation policy (here a unit without PSI: domain-selective flushes).
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHandlers } from '../../src/main/api/handlers'
import { createRouter } from '../../src/main/api/router'
import { createLabServices } from '../../src/main/services'
import { probeSysroot } from '../../src/main/services/probe'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'
import { machineFromProbe } from '../../src/shared/probe-machine'
import { StoredRecord } from '../../src/shared/record'
import { simulateMachine } from '../../src/shared/simulate-machine'

const fixture = (name: string) => join(__dirname, '../fixtures/sysroots', name)
const probed = (name: string) => machineFromProbe(probeSysroot(new DirectoryFs(fixture(name)), { now: () => new Date(0) }).report)

describe('simulateMachine', () => {
  it('Kaby Lake-R: one Intel unit without PSI, the iGPU behind it; ATS unknown is modelled as absent, and said', () => {
    const { machine, notes } = simulateMachine(probed('intel-kbl-r'))
    expect(machine).toEqual({
      iommus: [{ name: 'iommu0', vendor: 'intel', psi: false }],
      devices: [{ name: 'gpu0', kind: 'gpu', iommu: 'iommu0', ats: false }],
    })
    expect(notes.join('\n')).toContain('ATS unknown')
  })

  it('8× MI210 without an IOMMU: eight GPUs, no IOMMU', () => {
    const { machine, notes } = simulateMachine(probed('kfd-mi210-xgmi'))
    expect(machine.iommus).toBeUndefined()
    expect(machine.devices).toHaveLength(8)
    expect(machine.devices!.every((d) => d.kind === 'gpu' && d.iommu === undefined)).toBe(true)
    expect(notes.join('\n')).toContain('no IOMMU')
  })

  it('a Vega10 dGPU carries its VRAM size over', () => {
    expect(simulateMachine(probed('kfd-dgpu-vega10')).machine.devices?.[0]).toMatchObject({ name: 'gpu0', kind: 'gpu', vram: 17163091968 })
  })

  it('an empty machine keeps the scenario devices', () => {
    const { machine, notes } = simulateMachine(probed('empty'))
    expect(machine).toEqual({})
    expect(notes.join('\n')).toContain('keeps its own devices')
  })
})

describe('experiments on a probed machine', () => {
  const services = createLabServices({ workspace: mkdtempSync(join(tmpdir(), 'hmmlab-simmachine-')), threads: 1 })
  afterAll(() => services.close())
  const router = createRouter(createHandlers(services), { host: 'browser' })

  it('probe.machine answers the machine, its scenario section as YAML, and notes', async () => {
    const answer = (await router.invoke('probe.machine', { sysroot: fixture('intel-kbl-r') })) as { yaml: string; notes: string[] }
    expect(answer.yaml).toContain('psi: false')
    expect(answer.yaml).toContain('name: gpu0')
  })

  it('runs the fork scenario on the Kaby Lake-R machine: IOTLB flushes are domain-selective', async () => {
    const text = readFileSync(join(__dirname, '../../scenarios/thread-2014/a-fork-after-mirror.yaml'), 'utf8')
    const { runIds } = (await router.invoke('experiments.start', {
      scenario: { text, fileName: 'a.yaml' },
      designs: ['D4'],
      probedMachine: { sysroot: fixture('intel-kbl-r') },
    })) as { runIds: string[] }
    let stored
    for (let i = 0; i < 200 && !stored; i++) {
      stored = await services.store.getRun(runIds[0]!).catch(() => undefined)
      if (!stored) await new Promise((r) => setTimeout(r, 50))
    }
    expect(stored!.manifest.machine).toMatch(/^probed/)
    const result = StoredRecord.parse(stored!.result)
    expect(result.invalidations.rows.dict.mechanism).toContain('iotlb_dsi')
    expect(result.invalidations.rows.dict.mechanism).not.toContain('iotlb_psi')
  })
})

describe('machine: probed / machine: <file> in a scenario', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-machineref-'))
  // A machine file must lie in the workspace or the built-in library: copy the capture there.
  cpSync(fixture('intel-kbl-r'), join(workspace, 'captures', 'intel-kbl-r'), { recursive: true, verbatimSymlinks: true })
  const services = createLabServices({ workspace, threads: 1 })
  afterAll(() => services.close())
  const router = createRouter(createHandlers(services), { host: 'browser' })
  const scenario = (machine: string, device: string) => `name: on a probed machine
designs: [D5]
machine: ${machine}
steps:
  - spawn: { task: A }
  - open: { task: A, device: ${device}, fd: dev }
  - mmap: { task: A, region: buf, size: 1M, prot: rw }
  - touch: { task: A, region: buf, write: true }
  - mirror: { task: A, fd: dev }
  - device_read: { task: A, fd: dev, region: buf }
  - munmap: { task: A, region: buf }
  - exit: { task: A }
`
  async function runToEnd(text: string) {
    const { runIds } = (await router.invoke('experiments.start', { scenario: { text, fileName: 'probed.yaml' } })) as { runIds: string[] }
    let stored
    for (let i = 0; i < 200 && !stored; i++) {
      stored = await services.store.getRun(runIds[0]!).catch(() => undefined)
      if (!stored) await new Promise((r) => setTimeout(r, 50))
    }
    return stored!
  }

  it('a capture named in the scenario supplies its IOMMU and GPU', async () => {
    const stored = await runToEnd(scenario(JSON.stringify(join(workspace, 'captures', 'intel-kbl-r')), 'gpu0'))
    expect(stored.manifest.machine).toMatch(/^probed/)
    expect(StoredRecord.parse(stored.result).invalidations.rows.dict.mechanism).toContain('iotlb_dsi')
  })

  it('machine: probed uses this host (no IOMMU, no GPU here: the default dmirror device stays)', async () => {
    const stored = await runToEnd(scenario('probed', 'dmirror0'))
    expect(stored.manifest.status).toBe('passed')
    expect(stored.manifest.machine).toMatch(/^probed/)
  })

  it('a machine file that does not exist is refused before anything runs, naming it', async () => {
    const missing = join(workspace, 'no-such-capture.tar.gz')
    await expect(router.invoke('experiments.start', { scenario: { text: scenario(missing, 'gpu0'), fileName: 'probed.yaml' } })).rejects.toThrow(
      `probed.yaml: machine: cannot load ${JSON.stringify(missing)}: no such file`,
    )
    const v = (await router.invoke('scenarios.validate', { text: scenario(missing, 'gpu0'), fileName: 'probed.yaml' })) as {
      ok: boolean
      issues: { path: string }[]
    }
    expect(v.ok).toBe(false)
    expect(v.issues[0]!.path).toBe('machine')
  })

  it('a machine file outside the workspace and the library, or not a regular file, is refused without quoting it (issue 18 #3)', async () => {
    const validate = async (ref: string) =>
      (await router.invoke('scenarios.validate', { text: scenario(JSON.stringify(ref), 'gpu0'), fileName: 'm.yaml' })) as {
        ok: boolean
        issues: { path: string; message: string }[]
      }
    for (const ref of ['/etc/passwd', '/dev/zero', '/proc/self/environ']) {
      const v = await validate(ref)
      expect(v.ok, ref).toBe(false)
      expect(v.issues[0]!.message, ref).toMatch(/not inside/)
    }
    // inside the workspace, but a FIFO, a link to /dev/zero, a link to /etc/passwd, and a file that is not JSON
    execFileSync('mkfifo', [join(workspace, 'pipe.json')])
    symlinkSync('/dev/zero', join(workspace, 'zero.json'))
    symlinkSync('/etc/passwd', join(workspace, 'passwd.json'))
    writeFileSync(join(workspace, 'secret.json'), 'TOP-SECRET-CONTENT not json')
    expect((await validate(join(workspace, 'pipe.json'))).issues[0]!.message).toMatch(/not a regular file/)
    expect((await validate(join(workspace, 'zero.json'))).issues[0]!.message).toMatch(/not inside/)
    expect((await validate(join(workspace, 'passwd.json'))).issues[0]!.message).toMatch(/not inside/)
    const secret = await validate(join(workspace, 'secret.json'))
    expect(secret.issues[0]!.message).toMatch(/not JSON/)
    expect(JSON.stringify(secret)).not.toContain('TOP-SECRET')
  })
})
