/**
 * README: killing `npm start`'s pid stops the server. npm is that pid; it runs the script through
 * `sh -c` (the shell may exec node or stay between them) and does not pass SIGKILL on. A fake npm
 * here does what npm does (npm_lifecycle_event=start, `sh -c SCRIPT`); the test kills it with
 * SIGKILL and waits, a bounded number of tries, for the server's port to close.
 */
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stopWithLauncher } from '../../../scripts/launcher-watch.mjs'

const child = join(__dirname, 'launcher-child.mjs')

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

/** Starts a fake `npm start` running `script` through `sh -c`; resolves to it and the server's port. */
function fakeNpmStart(script: string): Promise<{ npm: ReturnType<typeof spawn>; port: number; watched: number[] }> {
  const npm = spawn(
    process.execPath,
    ['-e', `require('child_process').spawn('sh', ['-c', process.argv[1]], { stdio: 'inherit' }); setInterval(() => {}, 60000)`, script],
    { env: { ...process.env, npm_lifecycle_event: 'start' }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    npm.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /PORT (\d+) WATCH (\[.*\])\n/.exec(out)
      if (m) resolve({ npm, port: Number(m[1]), watched: JSON.parse(m[2]!) as number[] })
    })
    npm.on('exit', (code) => reject(new Error(`the fake npm exited (${code}) before the server listened: ${out}`)))
  })
}

describe.skipIf(process.platform !== 'linux')('npm start stops with npm (scripts/launcher-watch.mjs)', () => {
  const cases = [
    // dash execs the last command: node is npm's child
    ['the shell execs node', `exec "${process.execPath}" "${child}"`, 1],
    // the shell stays between npm and node: node watches both links
    ['a shell between npm and node', `"${process.execPath}" "${child}"; true`, 2],
  ] as const
  for (const [name, script, links] of cases) {
    it(`killing npm's pid with SIGKILL closes the server's port: ${name}`, async () => {
      const { npm, port, watched } = await fakeNpmStart(script)
      try {
        expect(watched).toHaveLength(links)
        expect(watched[watched.length - 1]).toBe(npm.pid)
        expect(await portOpen(port)).toBe(true)
        npm.kill('SIGKILL')
        // bounded tries, not a time limit: the mechanism is under test (it checks every 50 ms)
        let open = true
        for (let i = 0; i < 600 && open; i++) {
          await new Promise((r) => setTimeout(r, 100))
          open = await portOpen(port)
        }
        expect(open).toBe(false)
      } finally {
        npm.kill('SIGKILL')
      }
    }, 120_000)
  }

  it('watches nothing when npm did not start it (a server started by hand keeps running)', () => {
    expect(stopWithLauncher({ env: {} })).toEqual([])
    expect(stopWithLauncher({ env: { npm_lifecycle_event: 'test' } })).toEqual([])
  })
})
