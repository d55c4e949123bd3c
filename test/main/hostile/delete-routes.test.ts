/**
 * Issue 18 on the routes that delete or write a file of the user's data folder:
 * `calibration.delete`, `runs.delete` and `scenarios.save`. Whatever sits at the path (a folder,
 * a symbolic link out of the data folder, a FIFO, a file that is not theirs) is answered with a
 * clear 4xx error naming it, and nothing outside what the route owns is deleted or written.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHandlers } from '../../../src/main/api/handlers'
import { createRouter } from '../../../src/main/api/router'
import { createLabServices } from '../../../src/main/services'
import { buildCalibration, parseOutput } from '../../../src/main/services/calibration/fit'

const base = mkdtempSync(join(tmpdir(), 'hmmlab-delete-routes-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let n = 0

function calibrationText(): string {
  const lines = ['info hostname gpuhost', 'info kernel 6.12.0', 'info cpus_online 8', 'info reps 2']
  for (const rep of [0, 1]) for (const x of [1000, 2000, 4000]) lines.push(`m fault_anon ${x} ${rep} ${x * 1200}`)
  const cal = buildCalibration(parseOutput(lines.join('\n')), {
    date: new Date('2026-01-02T03:04:05Z'),
    durationMs: 10,
    defaults: { cpu_full_flush: 3300, cpu_invlpg: 100, ipi_per_cpu: 200 },
  })
  return JSON.stringify(cal, null, 1) + '\n'
}

/** A router over services whose workspace and calibration file live in a fresh folder. */
function setup() {
  const dir = join(base, `case-${n++}`)
  const workspace = join(dir, 'ws')
  const outside = join(dir, 'outside')
  mkdirSync(workspace, { recursive: true })
  mkdirSync(outside)
  const calibrationPath = join(workspace, 'calibration.json')
  const services = createLabServices({ workspace, calibrationPath })
  const router = createRouter(createHandlers(services), { host: 'browser' })
  return { dir, workspace, outside, calibrationPath, router, close: () => services.close() }
}

describe('calibration.delete (issue 18)', () => {
  it('a folder at the calibration path is a 400 naming it; the folder and its files stay', async () => {
    const s = setup()
    mkdirSync(s.calibrationPath)
    writeFileSync(join(s.calibrationPath, 'keep.txt'), 'mine\n')
    await expect(s.router.invoke('calibration.delete', {})).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(new RegExp(`calibration ${s.calibrationPath}: is a folder, not a calibration file; not deleted`)),
    })
    expect(readFileSync(join(s.calibrationPath, 'keep.txt'), 'utf8')).toBe('mine\n')
    await s.close()
  })

  it('a link (to a calibration outside, or to nothing), a FIFO or a file that is not a calibration is refused, nothing deleted', async () => {
    const s = setup()
    const target = join(s.outside, 'calibration.json')
    writeFileSync(target, calibrationText())
    symlinkSync(target, s.calibrationPath)
    await expect(s.router.invoke('calibration.delete', {})).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/is a symbolic link \(to .*outside\/calibration\.json\); not deleted/),
    })
    expect(lstatSync(s.calibrationPath).isSymbolicLink()).toBe(true)
    expect(existsSync(target)).toBe(true)

    rmSync(s.calibrationPath)
    symlinkSync(join(s.outside, 'nothing'), s.calibrationPath)
    await expect(s.router.invoke('calibration.delete', {})).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/is a symbolic link \(to .*outside\/nothing\); not deleted/),
    })
    expect(lstatSync(s.calibrationPath).isSymbolicLink()).toBe(true)

    rmSync(s.calibrationPath)
    execFileSync('mkfifo', [s.calibrationPath])
    await expect(s.router.invoke('calibration.delete', {})).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/not a regular file .*; not deleted/),
    })
    expect(lstatSync(s.calibrationPath).isFIFO()).toBe(true)

    rmSync(s.calibrationPath)
    writeFileSync(s.calibrationPath, 'SECRET notes of the user\n')
    const err = await s.router.invoke('calibration.delete', {}).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/not a calibration file .*; not deleted/) })
    expect(String((err as Error).message)).not.toContain('SECRET')
    expect(readFileSync(s.calibrationPath, 'utf8')).toBe('SECRET notes of the user\n')
    await s.close()
  })

  it('a calibration, or a damaged one, is deleted; a missing one is no error', async () => {
    const s = setup()
    writeFileSync(s.calibrationPath, calibrationText())
    await expect(s.router.invoke('calibration.delete', {})).resolves.toMatchObject({ calibration: null })
    expect(existsSync(s.calibrationPath)).toBe(false)
    writeFileSync(s.calibrationPath, calibrationText().slice(0, 60))
    await expect(s.router.invoke('calibration.delete', {})).resolves.toMatchObject({ calibration: null })
    expect(existsSync(s.calibrationPath)).toBe(false)
    await expect(s.router.invoke('calibration.delete', {})).resolves.toMatchObject({ calibration: null })
    await s.close()
  })
})

describe('runs.delete and scenarios.save (issue 18)', () => {
  it('runs.delete: a run that is a link out of the workspace, a file, or a runs folder linked outside is a 400; nothing outside is deleted', async () => {
    const s = setup()
    const victim = join(s.outside, 'victim')
    mkdirSync(victim)
    writeFileSync(join(victim, 'manifest.json'), '{}\n')
    mkdirSync(join(s.workspace, 'runs'))
    symlinkSync(victim, join(s.workspace, 'runs', 'linked'))
    await expect(s.router.invoke('runs.delete', { runId: 'linked' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/run linked: .*runs\/linked is a symbolic link, not a run folder; not deleted/),
    })
    expect(existsSync(join(victim, 'manifest.json'))).toBe(true)

    writeFileSync(join(s.workspace, 'runs', 'plain'), 'not a run\n')
    await expect(s.router.invoke('runs.delete', { runId: 'plain' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/run plain: .*runs\/plain is not a folder, not a run folder; not deleted/),
    })
    expect(existsSync(join(s.workspace, 'runs', 'plain'))).toBe(true)

    rmSync(join(s.workspace, 'runs'), { recursive: true })
    symlinkSync(s.outside, join(s.workspace, 'runs'))
    await expect(s.router.invoke('runs.delete', { runId: 'victim' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/run victim: .* is outside the workspace .*; not deleted/),
    })
    expect(existsSync(join(victim, 'manifest.json'))).toBe(true)
    await s.close()
  })

  it('scenarios.save: a scenario folder linked out of the workspace, or a folder at the name, is a 400; nothing written outside', async () => {
    const s = setup()
    mkdirSync(join(s.workspace, 'scenarios'), { recursive: true })
    symlinkSync(s.outside, join(s.workspace, 'scenarios', 'out'))
    await expect(s.router.invoke('scenarios.save', { fileName: 'out/x.yaml', text: 'name: x\n' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/scenario .*out\/x\.yaml: .*outside the workspace scenarios folder; not saved/),
    })
    expect(existsSync(join(s.outside, 'x.yaml'))).toBe(false)

    mkdirSync(join(s.workspace, 'scenarios', 'dir.yaml'))
    await expect(s.router.invoke('scenarios.save', { fileName: 'dir.yaml', text: 'name: x\n' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/scenario .*dir\.yaml: is a folder, not a file/),
    })
    await expect(s.router.invoke('scenarios.save', { fileName: 'sub/ok.yaml', text: 'name: ok\n' })).resolves.toEqual({ id: 'workspace:sub/ok.yaml' })
    expect(readFileSync(join(s.workspace, 'scenarios', 'sub', 'ok.yaml'), 'utf8')).toBe('name: ok\n')
    await s.close()
  })
})
