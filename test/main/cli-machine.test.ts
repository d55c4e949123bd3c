/**
 * `hmmlab run` on a scenario whose machine is a probed one (issue 17): the summary says where the
 * machine's parts came from, read from the run record's `meta.machine` / `meta.machineParts`, in
 * the words the app and the HTML report use; in this process and through the experiment service.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { machineOverrides, runCommand } from '../../src/main/cli/commands/run'
import { runExperiments } from '../../src/main/cli/commands/run-experiment'
import { machineLines } from '../../src/main/cli/record-text'
import { MACHINE_PART_FROM, RunRecord } from '../../src/shared/record'

const root = join(import.meta.dirname, '..', '..')

let out = ''
let err = ''
beforeEach(() => {
  out = ''
  err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation(((s: string | Uint8Array, cb?: unknown) => {
    out += String(s)
    if (typeof cb === 'function') cb()
    return true
  }) as typeof process.stdout.write)
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
})
afterEach(() => vi.restoreAllMocks())

/** The 2014 fork scenario with `machine: kfd-dgpu-vega10` (a probe fixture: a Vega 10 GPU, no IOMMU) beside it. */
function probedFork(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cli-machine-'))
  cpSync(join(root, 'test/fixtures/sysroots/kfd-dgpu-vega10'), join(dir, 'kfd-dgpu-vega10'), { recursive: true })
  const fork = readFileSync(join(root, 'scenarios/thread-2014/a-fork-after-mirror.yaml'), 'utf8')
  const text = fork.replace(/^machine:\n(?: {2}.*\n)+/m, 'machine: kfd-dgpu-vega10\n')
  expect(text).not.toBe(fork)
  const file = join(dir, 'fork-on-vega10.yaml')
  writeFileSync(file, text)
  return file
}

describe('hmmlab run on a probed machine', () => {
  it('prints where each part of the machine came from, from the record', async () => {
    const file = probedFork()
    const machines = await machineOverrides([file])
    expect(runCommand([file], { design: 'D1', json: true }, machines)).toBe(0)
    const record = RunRecord.parse(JSON.parse(out))
    expect(record.meta.machine).toMatch(/^probed 5\.4\.0-100-generic at /)
    expect(record.meta.machineParts!.map((p) => `${p.part}:${p.from}`)).toEqual(['iommus:probe', 'devices.gpu0:probe'])
    // no IOMMU on this machine: nothing flushes an IOTLB
    expect(record.aggregates.iommus).toEqual([])

    out = ''
    expect(runCommand([file], { design: 'D1' }, machines)).toBe(0)
    const lines = machineLines(record.meta)
    expect(lines).toEqual([
      `    machine: ${record.meta.machine}, not the scenario's: part by part`,
      `        iommus (${MACHINE_PART_FROM.probe}): none: this machine has no IOMMU`,
      expect.stringMatching(/^ {8}devices\.gpu0 \(this machine \(probe\)\): this machine’s gfx900 .*: gpu, no IOMMU, no device TLB, 16368 MiB VRAM$/),
    ])
    expect(out).toContain(lines.join('\n'))
    // a scenario with its own machine says nothing about machines
    out = ''
    expect(runCommand([join(root, 'scenarios/thread-2014/a-fork-after-mirror.yaml')], { design: 'D1' })).toBe(0)
    expect(out).not.toContain('machine:')
  })

  it('says the same through the experiment service (read from the stored record)', async () => {
    const file = probedFork()
    const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-cli-machine-ws-'))
    expect(await runExperiments([file], { design: 'D1', workspace, workers: '1' })).toBe(0)
    expect(out).toMatch(
      /\n {2}machine: probed 5\.4\.0-100-generic at .*, not the scenario's: part by part\n {6}iommus \(this machine \(probe\)\): none: this machine has no IOMMU\n {6}devices\.gpu0 \(this machine \(probe\)\): this machine’s gfx900/,
    )
  })

  it('a machine file that cannot be loaded: exit 2 naming the scenario and the reference', async () => {
    const file = probedFork()
    writeFileSync(file, readFileSync(file, 'utf8').replace('machine: kfd-dgpu-vega10', 'machine: no-such-machine'))
    expect(runCommand([file], { design: 'D1' }, await machineOverrides([file]))).toBe(2)
    expect(err).toContain(`${file}: machine: cannot load "no-such-machine": no such file`)
  })
})
