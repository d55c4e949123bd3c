/**
 * The real `hmmlab` process writing into a pipe: a document larger than the pipe (64 KiB on Linux)
 * reaches a slow reader whole (`report -o -`, `run --json`), and a reader that goes away early
 * (`hmmlab run x.yaml | head -1`) ends the command with 141 (128 + SIGPIPE, as a shell reports a
 * kernel tool killed by SIGPIPE), not with a stack trace and 1 (which reads as a failed expect).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { runExperiments } from '../../src/main/cli/commands/run-experiment'
import { RunStore } from '../../src/main/services/store/run-store'

const root = join(__dirname, '..', '..')
const cli = join(root, 'src/main/cli/index.ts')
const fork = join(root, 'scenarios/thread-2014/a-fork-after-mirror.yaml')

interface Ended {
  code: number | null
  signal: NodeJS.Signals | null
  out: Buffer
  err: string
}

/** Runs `hmmlab args` with stdout on a pipe whose reader pauses after every chunk, so the writer must wait. */
function slowly(args: string[]): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    let err = ''
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.stdout.on('data', (b: Buffer) => {
      chunks.push(b)
      child.stdout.pause()
      setTimeout(() => child.stdout.resume(), 5)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, out: Buffer.concat(chunks), err }))
  })
}

let workspace = ''
let runIds: string[] = []

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'hmmlab-pipes-'))
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    expect(await runExperiments([fork], { design: 'D1,D4', workers: '1', workspace })).toBe(0)
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
  runIds = (await new RunStore(workspace).listRuns()).items.map((r) => r.id)
  expect(runIds).toHaveLength(2)
}, 300_000)
afterAll(() => rmSync(workspace, { recursive: true, force: true }))

describe.skipIf(process.platform === 'win32')('hmmlab writing into a pipe', () => {
  it('report -o - reaches a slow reader whole, past the 64 KiB of the pipe', async () => {
    const r = await slowly(['report', '--compare', ...runIds, '-f', 'json', '-o', '-', '--no-probe', '--workspace', workspace])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    // the case is only a test when the document is larger than what the pipe holds
    expect(r.out.length).toBeGreaterThan(4 * 65536)
    expect(() => JSON.parse(r.out.toString('utf8')) as unknown).not.toThrow()
  }, 300_000)

  it('run --json reaches a slow reader whole', async () => {
    const r = await slowly(['run', fork, '--design', 'D1', '--json'])
    expect(r.code).toBe(0)
    expect(r.out.length).toBeGreaterThan(65536)
    const doc = JSON.parse(r.out.toString('utf8')) as { meta?: { scenario?: { name?: string } } }
    expect(doc.meta?.scenario?.name).toBeTruthy()
  }, 300_000)

  it('a reader that closes its end early (`| head -c 1`) ends the run with 141 and no stack trace', () => {
    // a shell pipe: 64 KiB, so the 600 KiB document cannot fit and the write must meet the closed end
    // (Node's own stdio 'pipe' is a socket pair whose buffers may take the whole document)
    const r = spawnSync(
      'bash',
      ['-c', '"$0" --import tsx "$1" run "$2" --design D1 --json | head -c 1 >/dev/null; echo "exit ${PIPESTATUS[0]}" >&2', process.execPath, cli, fork],
      { cwd: root, encoding: 'utf8', timeout: 280_000 },
    )
    const exit = /exit (\d+)\n$/.exec(r.stderr)
    expect(exit?.[1], r.stderr).toBe('141')
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /)
  }, 300_000)
})
