/** systeminformation runs in a worker thread and its missing `lspci` is said, not hidden. */
import { describe, expect, it } from 'vitest'
import { SystemSection } from '../../src/shared/probe'
import { collectSystemInformation, onPath, toSystemSection } from '../../src/main/services/probe/sysinfo'

describe('systeminformation section', () => {
  it('maps the raw answer and says when lspci is missing', () => {
    const s = toSystemSection(
      {
        cpu: { manufacturer: 'AMD', brand: 'EPYC', cores: 2, physicalCores: 1 },
        mem: { total: 1024 },
        os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6.18', arch: 'x64' },
        graphics: { controllers: [] },
      },
      false,
    )
    expect(SystemSection.parse(s)).toEqual(s)
    expect(s.status).toBe('partial')
    expect(s.note).toMatch(/lspci not found/)
    expect(s.gpus).toEqual([])
  })
  it('reports failures per call', () => {
    const s = toSystemSection(
      { cpuError: 'boom', graphics: { controllers: [{ vendor: 'NVIDIA', model: 'X', bus: 'PCIe', busAddress: '03:00.0', vram: 16384 }] } },
      true,
    )
    expect(s.status).toBe('partial')
    expect(s.note).toContain('cpu: boom')
    expect(s.gpus[0]).toEqual({ vendor: 'NVIDIA', model: 'X', bus: 'PCIe', busAddress: '03:00.0', vramMiB: 16384 })
  })
  it('onPath finds executables on PATH only', () => {
    expect(onPath('node', process.env['PATH'])).toBe(true)
    expect(onPath('definitely-not-a-command-hmmlab')).toBe(false)
  })
  it('collects this machine off the main thread and never rejects', async () => {
    const s = await collectSystemInformation(25_000)
    expect(SystemSection.parse(s)).toEqual(s)
    if (s.status !== 'unavailable') {
      expect(s.cpu?.cores).toBeGreaterThan(0)
      expect(s.memory?.totalBytes).toBeGreaterThan(0)
    }
    if (!onPath('lspci')) expect(s.note ?? '').toMatch(/lspci not found/)
  }, 30_000)
})
