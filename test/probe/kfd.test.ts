/**
 * KFD topology: real captures from ROCm/k8s-device-plugin testdata (Vega10 dGPU, 8×MI210 in two
 * XGMI hives) and a Renoir APU rebuilt from a published rocminfo. Independent checks: the MI210
 * has 104 CUs and the Vega10 (MI25-class, 16 GiB) 64 CUs per AMD's spec sheets; `gfx90a`/`gfx900`
 * are the LLVM AMDGPU processor names of those chips; capability bits per kfd_sysfs.h.
 */
import { describe, expect, it } from 'vitest'
import { probeSysroot } from '../../src/main/services/probe'
import { gfxTargetName, kfdCapabilityFlags, parseKfdProperties } from '../../src/main/services/probe/kfd'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'
import { fixture } from './helpers'

const probe = (name: string) => probeSysroot(new DirectoryFs(fixture(name))).report

describe('gfx_target_version → ISA name', () => {
  it.each([
    [90010, 'gfx90a'],
    [90402, 'gfx942'],
    [110000, 'gfx1100'],
    [100300, 'gfx1030'],
    [90012, 'gfx90c'],
    [110003, 'gfx1103'],
    [120001, 'gfx1201'],
  ])('%i → %s', (v, name) => expect(gfxTargetName(v)).toBe(name))
  it('rejects 0 and out-of-range parts', () => {
    expect(gfxTargetName(0)).toBeNull()
    expect(gfxTargetName(91600)).toBeNull()
  })
})

describe('properties parsing', () => {
  it('keeps u64 values above 2^53 exactly, as decimal strings', () => {
    const { props, bad } = parseKfdProperties('hive_id 12609507387757274807\nsimd_count 416\n')
    expect(props['hive_id']).toBe('12609507387757274807')
    expect(props['simd_count']).toBe(416)
    expect(bad).toEqual([])
  })
  it('accepts sibling_map lists and reports other non-numbers', () => {
    const { props, bad } = parseKfdProperties('sibling_map 1,0,1\nsimd_count lots\njunk\n')
    expect(props['sibling_map']).toBe('1,0,1')
    expect(bad).toEqual(['simd_count lots', 'junk'])
  })
  it('capability flags by kfd_sysfs.h names', () => {
    expect(kfdCapabilityFlags(0x2)).toEqual(['ATS_PRESENT'])
    expect(kfdCapabilityFlags(0x8000000)).toEqual(['SVMAPI_SUPPORTED'])
    expect(kfdCapabilityFlags(0x2280)).toEqual(['WATCH_POINTS_SUPPORTED', 'WATCH_POINTS_TOTALBITS=2', 'DOORBELL_TYPE=2'])
  })
})

describe('dGPU: Vega10 (older kernel: no gfx_target_version, real local_mem_size)', () => {
  const r = probe('kfd-dgpu-vega10')
  it('reads generation, system properties and both nodes', () => {
    expect(r.kfd.topologyPresent).toBe(true)
    expect(r.kfd.generationId).toBe(2)
    expect(r.kfd.systemProperties['platform_oem']).toBe('4777524452235890003')
    expect(r.kfd.nodes.map((n) => n.derived.kind)).toEqual(['cpu', 'gpu'])
  })
  it('derives the GPU node', () => {
    const g = r.kfd.nodes[1]
    expect(g?.gpuId).toBe(13261)
    expect(g?.derived).toMatchObject({
      gfxTarget: 'gfx900', // from device_id 0x6860 like the thunk's table
      computeUnits: 64,
      pciAddress: '0000:19:00.0',
      renderNode: '/dev/dri/renderD128',
      vramBytes: 17163091968,
      svmApiSupported: false,
      hiveId: null,
    })
    expect(g?.memBanks[0]?.heapType).toBe('fb public')
    expect(g?.ioLinks[0]).toMatchObject({ typeName: 'PCIe', nodeFrom: 1, nodeTo: 0, weight: 20 })
  })
  it('says SVM is unavailable on this GPU', () => {
    expect(r.findings.some((f) => f.code === 'kfd.no-svm' && f.file?.endsWith('nodes/1/properties'))).toBe(true)
  })
})

describe('multi-GPU: 8× MI210 in two XGMI hives', () => {
  const r = probe('kfd-mi210-xgmi')
  const gpus = r.kfd.nodes.filter((n) => n.derived.kind === 'gpu')
  it('8 gfx90a GPUs with 104 CUs each', () => {
    expect(gpus).toHaveLength(8)
    for (const g of gpus) expect(g.derived).toMatchObject({ gfxTarget: 'gfx90a', computeUnits: 104, svmApiSupported: true })
  })
  it('two hives of four, XGMI links inside a hive only', () => {
    const hives = new Set(gpus.map((g) => g.derived.hiveId))
    expect(hives).toEqual(new Set(['12609507387757274807', '18091350218769748594']))
    const n2 = r.kfd.nodes.find((n) => n.id === 2)
    const xgmiPeers = n2?.ioLinks.filter((l) => l.typeName === 'XGMI').map((l) => l.nodeTo)
    expect(xgmiPeers).toEqual([3, 4, 5])
    expect(n2?.ioLinks.find((l) => l.typeName === 'XGMI')?.weight).toBe(15)
    expect(r.findings.filter((f) => f.code === 'kfd.xgmi-hive')).toHaveLength(2)
  })
  it('one SVM finding for the eight identical GPUs', () => {
    expect(r.findings.filter((f) => f.code === 'kfd.svm')).toHaveLength(1)
  })
  it('generation_id missing from the capture is reported as unknown, not fatal', () => {
    expect(r.kfd.generationId).toBeNull()
  })
})

describe('APU: Renoir', () => {
  const r = probe('kfd-apu-renoir')
  it('recognises the APU and its carve-out', () => {
    const g = r.kfd.nodes[1]
    expect(g?.derived).toMatchObject({ kind: 'apu', gfxTarget: 'gfx90c', pciAddress: '0000:03:00.0', vramBytes: 512 * 1024 * 1024 })
    expect(g?.caches).toHaveLength(2)
  })
  it('reports /dev/kfd not accessible (mode 0660, user not in render group)', () => {
    expect(r.kfd.dev).toMatchObject({ present: true, mode: '0660', accessible: false })
    expect(r.findings.some((f) => f.code === 'kfd.dev-denied')).toBe(true)
  })
})
