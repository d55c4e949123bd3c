/** "Simulate this machine": probe reports → simulator machines. */
import { describe, expect, it } from 'vitest'
import { machineFromProbe, ProbeMachine } from '../../src/shared/probe-machine'
import { probeSysroot } from '../../src/main/services/probe'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'
import { fixture } from './helpers'

const machine = (name: string) => ProbeMachine.parse(machineFromProbe(probeSysroot(new DirectoryFs(fixture(name)), { now: () => new Date(0) }).report))

describe('machineFromProbe', () => {
  it('Kaby Lake-R: the iGPU sits behind the graphics unit: no PSI, lazy flushing, 4-level tables', () => {
    const m = machine('intel-kbl-r')
    expect(m.iommu).toMatchObject({
      vendor: 'intel-vt-d',
      mode: 'translated-lazy',
      units: 2,
      invalidation: { pageSelective: false, maxAddressMask: null, queued: true, deviceTlb: true, flushOnMap: false },
      pageTable: { levels: 4, addressWidth: 48, superpageSizes: [2 ** 21, 2 ** 30] },
      sva: false,
    })
    expect(m.devices).toHaveLength(1)
    expect(m.devices[0]).toMatchObject({ kind: 'gpu', pciAddress: '0000:00:02.0', driver: 'i915', iommuGroup: 0, ats: 'unknown', mirror: 'none' })
    expect(m.kernel).toMatchObject({ hmmMirror: true, devicePrivate: true })
  })
  it('Alder Lake with iommu.strict=1 would be strict, but the group says DMA-FQ: the group wins', () => {
    expect(machine('intel-adl').iommu.mode).toBe('translated-lazy')
  })
  it('AMD with iommu=pt: passthrough', () => {
    const m = machine('amd-epyc-6.6')
    expect(m.iommu).toMatchObject({ vendor: 'amd-vi', mode: 'passthrough', pasid: { supported: true, bits: 16 } })
  })
  it('8× MI210: eight KFD-SVM GPUs with their hives, no IOMMU', () => {
    const m = machine('kfd-mi210-xgmi')
    expect(m.devices).toHaveLength(8)
    expect(m.devices.every((d) => d.mirror === 'kfd-svm' && d.computeUnits === 104 && d.gfxTarget === 'gfx90a')).toBe(true)
    expect(new Set(m.devices.map((d) => d.xgmiHive)).size).toBe(2)
    expect(m.iommu.mode).toBe('none')
  })
  it('Vega10 without SVMAPI: plain KFD mirror', () => {
    expect(machine('kfd-dgpu-vega10').devices[0]).toMatchObject({ mirror: 'kfd', vramBytes: 17163091968 })
  })
  it('V100 with nvidia_uvm HMM', () => {
    const m = machine('intel-hsw-ep')
    expect(m.devices[0]).toMatchObject({ name: 'Tesla V100-PCIE-16GB', mirror: 'nvidia-uvm-hmm', iommuGroup: 17 })
    expect(m.iommu.invalidation.maxAddressMask).toBeGreaterThan(0)
  })
  it('deterministic, and an empty tree is a machine without devices', () => {
    expect(machine('intel-spr')).toEqual(machine('intel-spr'))
    const e = machine('empty')
    expect(e.devices).toEqual([])
    expect(e.iommu.vendor).toBe('none')
    expect(e.notes.join(' ')).toContain('no GPU')
  })
})

describe('loading a machine for a scenario', () => {
  it('from a capture, a saved report, or a saved machine; bad files name themselves', async () => {
    const { loadMachine } = await import('../../src/main/services/probe/machine')
    const fsm = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const dir = fsm.mkdtempSync(path.join(os.tmpdir(), 'hmmlab-machine-'))
    try {
      const fromCapture = await loadMachine(fixture('this-machine.tar.gz'))
      expect(fromCapture.iommu.vendor).toBe('none')
      const report = probeSysroot(new DirectoryFs(fixture('kfd-mi210-xgmi'))).report
      fsm.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(report))
      const fromReport = await loadMachine(path.join(dir, 'r.json'))
      expect(fromReport.devices).toHaveLength(8)
      fsm.writeFileSync(path.join(dir, 'm.json'), JSON.stringify(fromReport))
      expect(await loadMachine(path.join(dir, 'm.json'))).toEqual(fromReport)
      fsm.writeFileSync(path.join(dir, 'bad.json'), '{"schema":"hmmlab.machine"}')
      await expect(loadMachine(path.join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: not a valid machine/)
      fsm.writeFileSync(path.join(dir, 'x.json'), '{}')
      await expect(loadMachine(path.join(dir, 'x.json'))).rejects.toThrow(/x\.json: neither/)
    } finally {
      fsm.rmSync(dir, { recursive: true, force: true })
    }
  })
})
