/**
 * `npm start` (scripts/start.mjs) as a user runs it on a machine without Electron: one process
 * that serves the app, says where it keeps runs, and stops with its pid. And README as a new user
 * follows it: its `hmmlab run` examples leave nothing in the checkout, and it says which Node
 * each part needs.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, ROOT } from './fixtures'
import { findElectron } from './electron-binary'

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

test('npm start serves in its own process: killing its pid stops the server', async ({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'the browser host case')
  const electron = findElectron(ROOT, {})
  test.skip(electron.binary !== undefined && electron.reason === undefined, 'Electron and a display exist: npm start opens the window')
  const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-start-'))
  const env = { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' }
  const child = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs'), '--port', '0', '--workspace', workspace], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  try {
    await expect.poll(() => /127\.0\.0\.1:(\d+)\/\?token=/.test(out) && out.includes('workspace'), { timeout: 120_000 }).toBe(true)
    expect(out).toContain(`workspace (runs are saved here): ${workspace}`)
    expect(out).not.toMatch(/out\/renderer\/assets\/.*\.js\s+\d/) // no chunk list
    const port = Number(/127\.0\.0\.1:(\d+)\/\?token=/.exec(out)![1])
    expect(await portOpen(port)).toBe(true)
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    await expect.poll(() => portOpen(port), { timeout: 10_000 }).toBe(false)
  } finally {
    child.kill('SIGKILL')
    rmSync(workspace, { recursive: true, force: true })
  }
})

/**
 * Everything in the checkout that git does not track, ignored or not, a new folder as one entry
 * (what a user finds after trying README's commands). Edits of tracked files are someone's work.
 */
function untracked(): string[] {
  const out = spawnSync('git', ['ls-files', '--others', '--directory'], { cwd: ROOT, encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`git ls-files failed: ${out.stderr}`)
  return out.stdout.split('\n').filter(Boolean).sort()
}

test("README's `hmmlab run` examples leave the repository as it was", async ({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'a command-line check: once, in the web project')
  test.setTimeout(240_000)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const examples = readme.split('\n').filter((l) => l.startsWith('npx hmmlab run '))
  expect(examples.length, 'README shows how to run a scenario and a sweep').toBeGreaterThanOrEqual(2)
  expect(examples.some((l) => l.includes('--sweep'))).toBe(true)
  // Output paths in /tmp go to a folder of this test's own (the same path shape, nothing shared);
  // the default workspace is a temporary data folder, never the developer's.
  const scratch = mkdtempSync(join(tmpdir(), 'hmmlab-readme-'))
  const before = untracked()
  try {
    for (const line of examples) {
      const args = line
        .replace(/#.*$/, '')
        .trim()
        .split(/\s+/)
        .slice(2)
        .map((a) => a.replace(/^\/tmp\//, `${scratch}/`))
      const run = spawnSync(process.execPath, [join(ROOT, 'out/main/cli.js'), ...args], {
        cwd: ROOT,
        env: { ...process.env, XDG_DATA_HOME: join(scratch, 'data') },
        encoding: 'utf8',
        timeout: 200_000,
      })
      expect(run.status, `${line}\n${run.stdout}\n${run.stderr}`).toBe(0)
    }
    expect(untracked(), 'files the examples left in the checkout').toEqual(before)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
})

test('README says which Node each part needs: the engines of package.json and of Electron', ({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'a documentation check: once, in the web project')
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ')
  const ours = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node
  const electron = (JSON.parse(readFileSync(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node
  const version = (range: string): string => /(\d+\.\d+)/.exec(range)![1]!
  expect(readme).toContain(`Node ${version(ours)} or newer`)
  if (electron) {
    expect(readme).toContain(`Node >= ${version(electron)}`)
    expect(readme).toMatch(/EBADENGINE/)
  }
})
