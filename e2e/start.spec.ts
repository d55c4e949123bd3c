/**
 * `npm start` (scripts/start.mjs) as a user runs it on a machine without Electron: one process
 * that serves the app, says where it keeps runs, and stops with its pid.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
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
