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
import { machineForScenario, simulateMachine, type ScenarioMachine } from '../../src/shared/simulate-machine'
import { loadMachine } from '../../src/main/services/probe/machine'
import { exportReport } from '../../src/main/services/reports'

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

  it('an empty machine has no IOMMU and no device, and says so once', () => {
    const { machine, notes } = simulateMachine(probed('empty'))
    expect(machine).toEqual({})
    expect(notes.filter((n) => n.includes('no GPU'))).toHaveLength(1)
  })
})

/** The fork scenario's machine: an Intel IOMMU and a dmirror device with ATS behind it. */
const FORK_MACHINE: ScenarioMachine = {
  iommus: [{ name: 'iommu0', vendor: 'intel' }],
  devices: [{ name: 'gpu0', kind: 'dmirror', iommu: 'iommu0', ats: true }],
}

describe('machineForScenario: the probed machine replaces the scenario’s', () => {
  it('this machine (no IOMMU, no GPU, no CONFIG_TEST_HMM): the IOMMU and the device are removed, and said', async () => {
    const pm = await loadMachine(fixture('this-machine.tar.gz'))
    const m = machineForScenario(pm, FORK_MACHINE)
    expect(m.machine).toEqual({ iommus: [], devices: [] })
    expect(m.lacking).toEqual([{ name: 'gpu0', why: expect.stringContaining('this kernel does not set CONFIG_TEST_HMM') }])
    expect(m.parts).toEqual([
      { part: 'iommus', from: 'probe', detail: expect.stringMatching(/^none: this machine has no IOMMU; the scenario’s iommu0 removed/) },
      { part: 'devices.gpu0', from: 'removed', detail: expect.stringContaining('this machine has no GPU or accelerator') },
    ])
    // with test_hmm in the kernel the dmirror device is this machine's, behind no IOMMU (test_hmm maps no DMA)
    const withTestHmm = machineForScenario({ ...pm, kernel: { ...pm.kernel, testHmm: true } }, FORK_MACHINE)
    expect(withTestHmm.machine.devices).toEqual([{ name: 'gpu0', kind: 'dmirror' }])
    expect(withTestHmm.parts[1]).toMatchObject({ part: 'devices.gpu0', from: 'scenario' })
    expect(withTestHmm.lacking).toEqual([])
  })

  it('Kaby Lake-R: its IOMMU and iGPU take the scenario’s places under the scenario’s names; a second device is lacking', () => {
    const m = machineForScenario(probed('intel-kbl-r'), {
      ...FORK_MACHINE,
      devices: [...FORK_MACHINE.devices!, { name: 'gpu1', kind: 'gpu' }],
      cpus: 8,
      patches: ['kfd_dequeue_user_queues_when_mm_released'],
    })
    expect(m.machine).toEqual({
      cpus: 8,
      patches: ['kfd_dequeue_user_queues_when_mm_released'],
      iommus: [{ name: 'iommu0', vendor: 'intel', psi: false }],
      devices: [{ name: 'gpu0', kind: 'gpu', iommu: 'iommu0', ats: false }],
    })
    expect(m.parts.map((p) => [p.part, p.from])).toEqual([
      ['iommus', 'probe'],
      ['devices.gpu0', 'probe'],
      ['devices.gpu1', 'removed'],
      ['cpus', 'scenario'],
      ['patches', 'scenario'],
    ])
    expect(m.parts[1]!.detail).toMatch(/0000:00:02\.0: gpu behind iommu0, no device TLB \(the scenario had a dmirror behind iommu0 with ATS\)/)
  })

  it('8× MI210 without an IOMMU: the scenario’s IOMMU goes, one GPU takes the device, seven are unused', () => {
    const m = machineForScenario(probed('kfd-mi210-xgmi'), FORK_MACHINE)
    expect(m.machine.iommus).toEqual([])
    expect(m.machine.devices).toHaveLength(1)
    expect(m.machine.devices![0]).toMatchObject({ name: 'gpu0', kind: 'gpu', ats: false })
    expect(m.machine.devices![0]!.iommu).toBeUndefined()
    expect(m.parts.find((p) => p.part === 'devices (unused)')!.detail).toMatch(/kfd node 3.*no device of the scenario maps to them/)
  })

  it('a scenario without devices has the default dmirror0; a reference (`machine: probed`) keeps this machine’s names', () => {
    expect(machineForScenario(probed('intel-kbl-r'), undefined).machine.devices).toEqual([{ name: 'dmirror0', kind: 'gpu', iommu: 'iommu0', ats: false }])
    expect(machineForScenario(probed('kfd-mi210-xgmi'), null).machine.devices!.map((d) => d.name)).toEqual([
      'gpu0',
      'gpu1',
      'gpu2',
      'gpu3',
      'gpu4',
      'gpu5',
      'gpu6',
      'gpu7',
    ])
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

  const FORK = 'builtin:thread-2014/a-fork-after-mirror.yaml'
  const fork = readFileSync(join(__dirname, '../../scenarios/thread-2014/a-fork-after-mirror.yaml'), 'utf8')
  /** The line of the scenario's open step (the first that needs the device), counted from 1. */
  const openLine = fork.split('\n').findIndex((l) => /^\s*- open:/.test(l)) + 1
  async function stored(runId: string) {
    for (let i = 0; i < 400; i++) {
      const got = await services.store.getRun(runId).catch(() => undefined)
      if (got) return got
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`run ${runId} was not stored`)
  }

  it('with a scenario, probe.machine says which parts come from where, or which step cannot run and why', async () => {
    type Answer = { forScenario: { parts: { part: string; from: string }[]; yaml: string; refused?: string } }
    const kbl = (await router.invoke('probe.machine', { sysroot: fixture('intel-kbl-r'), scenarioId: FORK })) as Answer
    expect(kbl.forScenario.parts.map((p) => `${p.part}:${p.from}`)).toEqual(['iommus:probe', 'devices.gpu0:probe'])
    expect(kbl.forScenario.refused).toBeUndefined()
    expect(kbl.forScenario.yaml).toContain('kind: gpu')
    const here = (await router.invoke('probe.machine', { sysroot: fixture('this-machine.tar.gz'), scenarioId: FORK })) as Answer
    expect(here.forScenario.parts.map((p) => `${p.part}:${p.from}`)).toEqual(['iommus:probe', 'devices.gpu0:removed'])
    expect(here.forScenario.refused).toMatch(
      new RegExp(`:${openLine}: steps\\[1\\]\\.open\\.device: the open step needs device "gpu0", which this machine lacks \\(.*CONFIG_TEST_HMM`),
    )
  })

  it('a host without IOMMU or GPU refuses the fork scenario before anything runs, naming the step (issue 17)', async () => {
    await expect(
      router.invoke('experiments.start', { scenario: { text: fork, fileName: 'a.yaml' }, probedMachine: { sysroot: fixture('this-machine.tar.gz') } }),
    ).rejects.toThrow(
      new RegExp(
        `a\\.yaml \\(with the probed machine\\):${openLine}: steps\\[1\\]\\.open\\.device: the open step needs device "gpu0", which this machine lacks`,
      ),
    )
  })

  it('a host without an IOMMU runs without the scenario’s Intel IOMMU and ATS, and the record says which parts came from where', async () => {
    const { runIds } = (await router.invoke('experiments.start', {
      scenario: { text: fork, fileName: 'a.yaml' },
      designs: ['D1'],
      probedMachine: { sysroot: fixture('kfd-mi210-xgmi') },
    })) as { runIds: string[] }
    const run = await stored(runIds[0]!)
    const onProbe = StoredRecord.parse(run.result)
    expect(onProbe.meta.machine).toMatch(/^probed 5\.15\.0-91-generic/)
    expect(onProbe.meta.machineParts!.map((p) => `${p.part}:${p.from}`)).toEqual(['iommus:probe', 'devices.gpu0:probe', 'devices (unused):probe'])
    expect(onProbe.aggregates.iommus).toEqual([])
    expect(onProbe.invalidations.rows.dict.mechanism.filter((m) => /iotlb|ats/.test(m))).toEqual([])
    // the HTML report lists the parts beside the machine's origin
    const html = await exportReport(services.store, { kind: 'run', runId: runIds[0]! }, 'html', { probe: 'none' })
    expect(html.content).toContain('<li><code>iommus</code> (this machine (probe)): none: this machine has no IOMMU; the scenario’s iommu0 removed')
    expect(html.content).toContain('<li><code>devices.gpu0</code> (this machine (probe)): this machine’s gfx90a')
    // the scenario on its own machine flushes the IOTLB and the ATS device TLB
    const own = (await router.invoke('experiments.start', { scenario: { text: fork, fileName: 'a.yaml' }, designs: ['D1'] })) as { runIds: string[] }
    const onOwn = StoredRecord.parse((await stored(own.runIds[0]!)).result)
    expect(onOwn.meta.machineParts).toBeUndefined()
    expect(onOwn.aggregates.iommus.map((u) => u.name)).toEqual(['iommu0'])
    expect(onOwn.invalidations.rows.dict.mechanism.some((m) => /iotlb|ats/.test(m))).toBe(true)
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

  it('machine: probed uses this host: a step naming a device the host has not got is refused, naming the step and line', async () => {
    // machine: probed names devices as the probe does (gpu0, …); dmirror0 is none of this host's
    await expect(router.invoke('experiments.start', { scenario: { text: scenario('probed', 'dmirror0'), fileName: 'probed.yaml' } })).rejects.toThrow(
      /probed\.yaml \(with the probed machine\):6: steps\[1\]\.open\.device: the open step needs device "dmirror0", which this machine lacks \(it has /,
    )
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
