import { execFileSync } from 'node:child_process'
import { chmodSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { RunManifest } from '../../../src/shared/runs'
import { RunStore, StoreError } from '../../../src/main/services/store/run-store'
import { writeFileAtomic } from '../../../src/main/services/store/atomic'

const HASH = 'ab'.repeat(32)
function manifest(id: string, finishedAt = '2026-11-25T18:00:00.000Z'): RunManifest {
  return {
    schema: 'hmmlab.run/2',
    id,
    scenario: { name: 'fork leak', fileName: 'fork-leak.yaml', hash: HASH, text: 'name: fork leak\n' },
    design: 'D4',
    seed: 1,
    parameters: { 'machine.devices.count': 2 },
    versions: { hmmlab: '0.1.0', node: process.versions.node },
    timings: { queuedAt: finishedAt, startedAt: finishedAt, finishedAt, wallMs: 12 },
    status: 'passed',
    tags: [],
    metrics: { leaked_bytes: { value: 4096, unit: 'bytes' } },
    expects: { passed: 3, failed: 0 },
    findings: 0,
  }
}

let root: string
let store: RunStore
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hmmlab-store-'))
  store = new RunStore(root)
})

describe('run store', () => {
  it('saves a run as readable files and reads it back', async () => {
    await store.saveRun({ manifest: manifest('r1'), result: { metrics: { leaked_bytes: 4096 } }, series: { 'memory.pages': { t: [0, 1], v: [0, 4096] } } })
    const files = readdirSync(join(root, 'runs', 'r1')).sort()
    expect(files).toEqual(['manifest.json', 'result.json', 'series.json'])
    expect(readFileSync(join(root, 'runs', 'r1', 'series.json'), 'utf8')).toBe('{\n "memory.pages": {"t":[0,1],"v":[0,4096]}\n}\n')
    const back = await store.getRun('r1')
    expect(back.manifest.metrics.leaked_bytes).toEqual({ value: 4096, unit: 'bytes' })
    expect(back.series['memory.pages']).toEqual({ t: [0, 1], v: [0, 4096] })
  })

  it('lists newest first, tags and deletes', async () => {
    await store.saveRun({ manifest: manifest('old', '2026-11-25T10:00:00.000Z'), result: {}, series: {} })
    await store.saveRun({ manifest: manifest('new', '2026-11-25T11:00:00.000Z'), result: {}, series: {} })
    expect((await store.listRuns()).items.map((m) => m.id)).toEqual(['new', 'old'])
    expect((await store.tagRun('old', ['baseline', ' baseline ', 'D4'])).tags).toEqual(['baseline', 'D4'])
    await store.deleteRun('new')
    expect((await store.listRuns()).items.map((m) => m.id)).toEqual(['old'])
    await expect(store.deleteRun('new')).rejects.toMatchObject({ code: 'not_found' })
  })

  it('refuses ids that could leave the workspace', async () => {
    for (const id of ['../etc', 'a/b', '', '.hidden', 'x'.repeat(200)]) {
      await expect(store.getRun(id), id).rejects.toBeInstanceOf(StoreError)
    }
  })

  it('never lists a half-written run (crash between write and rename)', async () => {
    await store.saveRun({ manifest: manifest('complete'), result: {}, series: {} })
    // What a crash leaves: a staging folder with some files, and a temp file beside a manifest.
    const staging = join(root, 'runs', '.staging-crashed-1234')
    mkdirSync(staging, { recursive: true })
    writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest('crashed')))
    writeFileSync(join(root, 'runs', 'complete', '.manifest.json.tmp-99-abcd'), '{"half":')
    const listing = await store.listRuns()
    expect(listing.items.map((m) => m.id)).toEqual(['complete'])
    expect(listing.problems).toEqual([])
  })

  it('skips a corrupt or foreign entry with a message naming the file', async () => {
    await store.saveRun({ manifest: manifest('good'), result: {}, series: {} })
    mkdirSync(join(root, 'runs', 'broken'))
    writeFileSync(join(root, 'runs', 'broken', 'manifest.json'), '{"schema": "hmmlab.run/1", "id": ')
    mkdirSync(join(root, 'runs', 'foreign'))
    writeFileSync(join(root, 'runs', 'foreign', 'manifest.json'), '{"hello": "world"}')
    writeFileSync(join(root, 'runs', 'stray.txt'), 'not a run')
    const listing = await store.listRuns()
    expect(listing.items.map((m) => m.id)).toEqual(['good'])
    const messages = listing.problems.map((p) => p.message).join('\n')
    expect(messages).toContain(join('broken', 'manifest.json'))
    expect(messages).toContain('not valid JSON')
    expect(messages).toContain(join('foreign', 'manifest.json'))
    expect(messages).toContain('not an HMM Lab file')
  })

  it('recreates its folders when the workspace was deleted while running', async () => {
    await store.saveRun({ manifest: manifest('before'), result: {}, series: {} })
    rmSync(root, { recursive: true, force: true })
    expect((await store.listRuns()).items).toEqual([])
    await store.saveRun({ manifest: manifest('after'), result: {}, series: {} })
    expect((await store.listRuns()).items.map((m) => m.id)).toEqual(['after'])
  })

  it('refuses to overwrite an existing run', async () => {
    await store.saveRun({ manifest: manifest('same'), result: { v: 1 }, series: {} })
    await expect(store.saveRun({ manifest: manifest('same'), result: { v: 2 }, series: {} })).rejects.toMatchObject({ code: 'exists' })
    expect((await store.getRun('same')).result).toEqual({ v: 1 })
  })

  it.skipIf(process.getuid?.() === 0)('reports a read-only workspace in words and keeps what was saved (non-root only)', async () => {
    await store.saveRun({ manifest: manifest('kept'), result: {}, series: {} })
    const runsDir = join(root, 'runs')
    chmodSync(runsDir, 0o555)
    try {
      await expect(store.saveRun({ manifest: manifest('blocked'), result: {}, series: {} })).rejects.toThrow(/permission denied/)
    } finally {
      chmodSync(runsDir, 0o755)
    }
    expect((await store.getRun('kept')).manifest.id).toBe('kept')
  })

  it('reports an unwritable workspace with the path and reason, as a StoreError', async () => {
    const file = join(root, 'not-a-folder')
    writeFileSync(file, 'x')
    const blocked = new RunStore(file)
    const attempt = blocked.saveRun({ manifest: manifest('r'), result: {}, series: {} })
    await expect(attempt).rejects.toBeInstanceOf(StoreError)
    await expect(attempt).rejects.toThrow(`run r not saved: cannot write in ${join(file, 'runs')}`)
    expect(readFileSync(file, 'utf8')).toBe('x')
  })

  it('an unwritable workspace: an experiment is reported "not saved", naming no temporary file (issue 18 #9)', async () => {
    const file = join(root, 'not-a-folder')
    writeFileSync(file, 'x')
    const attempt = new RunStore(file).saveExperiment({
      schema: 'hmmlab.experiment/1',
      id: 'e1',
      name: 'e',
      createdAt: '2026-11-25T18:00:00.000Z',
      scenario: { name: 'e', fileName: 'e.yaml', hash: HASH },
      sweep: {},
      runIds: [],
    })
    await expect(attempt).rejects.toBeInstanceOf(StoreError)
    await expect(attempt).rejects.toThrow(/^experiment e1 not saved: cannot write in .*not-a-folder\/experiments: /)
    await expect(attempt).rejects.not.toThrow(/\.tmp-/)
  })

  it('a FIFO, a device link and a link out of the workspace as manifests are problems, read without blocking (issue 18 #7)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'hmmlab-outside-'))
    writeFileSync(join(outside, 'manifest.json'), JSON.stringify(manifest('r-out')))
    await store.saveRun({ manifest: manifest('kept'), result: {}, series: {} })
    for (const id of ['r-fifo', 'r-zero', 'r-out', 'r-big']) mkdirSync(join(root, 'runs', id), { recursive: true })
    execFileSync('mkfifo', [join(root, 'runs', 'r-fifo', 'manifest.json')])
    symlinkSync('/dev/zero', join(root, 'runs', 'r-zero', 'manifest.json'))
    symlinkSync(join(outside, 'manifest.json'), join(root, 'runs', 'r-out', 'manifest.json'))
    // a sparse file far over the manifest limit: refused by its size, never read
    const big = openSync(join(root, 'runs', 'r-big', 'manifest.json'), 'w')
    ftruncateSync(big, 1 << 30)
    closeSync(big)
    const listing = await store.listRuns()
    expect(listing.items.map((r) => r.id)).toEqual(['kept'])
    const why = Object.fromEntries(listing.problems.map((p) => [p.path.split('/').at(-2), p.message]))
    expect(why['r-fifo']).toMatch(/not a regular file/)
    expect(why['r-zero']).toMatch(/outside the allowed folders/)
    expect(why['r-out']).toMatch(/outside the allowed folders/)
    expect(why['r-big']).toMatch(/over the limit/)
  })

  it('sweeps what a crash left behind: staging and trash folders, temporary files of dead processes (issue 18 #9)', async () => {
    const runs = join(root, 'runs')
    const experiments = join(root, 'experiments')
    mkdirSync(runs, { recursive: true })
    mkdirSync(experiments, { recursive: true })
    const dead = 2 ** 22 + 12345 // above pid_max's default: no such process
    const leftovers = [join(runs, `.staging-p${dead}-r1-abcd`), join(runs, `.trash-p${dead}-r2-abcd`)]
    for (const d of leftovers) mkdirSync(d)
    writeFileSync(join(experiments, `.e1.json.tmp-${dead}-abcd`), '{')
    const mine = join(runs, `.staging-p${process.pid}-r3-abcd`)
    mkdirSync(mine)
    const old = join(runs, '.staging-20261125-r4-abcd')
    mkdirSync(old)
    const removed = await store.sweepLeftovers(Date.now() + 2 * 3600_000)
    expect(removed.sort()).toEqual([...leftovers, join(experiments, `.e1.json.tmp-${dead}-abcd`), old].sort())
    expect(readdirSync(runs)).toEqual([`.staging-p${process.pid}-r3-abcd`])
  })

  it('writes files atomically: the old content survives a failed write', async () => {
    const path = join(root, 'file.json')
    await writeFileAtomic(path, 'v1')
    await writeFileAtomic(path, 'v2')
    expect(readFileSync(path, 'utf8')).toBe('v2')
    expect(readdirSync(root)).toEqual(['file.json'])
    await expect(writeFileAtomic(join(root, 'missing', 'x.json'), 'v')).rejects.toThrow()
  })

  it('keeps experiments and reports damaged ones', async () => {
    await store.saveExperiment({
      schema: 'hmmlab.experiment/1',
      id: 'exp1',
      name: 'fork leak sweep',
      createdAt: '2026-11-25T18:00:00.000Z',
      scenario: { name: 'fork leak', fileName: 'fork-leak.yaml', hash: HASH },
      sweep: { design: ['D1', 'D4'] },
      runIds: ['a', 'b'],
    })
    writeFileSync(join(root, 'experiments', 'bad.json'), '[]')
    const listing = await store.listExperiments()
    expect(listing.items.map((e) => e.id)).toEqual(['exp1'])
    expect(listing.problems[0]?.path).toContain('bad.json')
    expect((await store.getExperiment('exp1')).runIds).toEqual(['a', 'b'])
  })
})
