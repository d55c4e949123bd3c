/** Starts `server-main.ts` in a child process and talks to it; tells whether it is still alive. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rawRequest, type RawResponse } from '../http-helpers'

export const TOKEN = 'c'.repeat(48)

export interface ServerProcess {
  proc: ChildProcess
  port: number
  root: string
  workspace: string
  stderr: () => string
  /** Calls a route with the token; never rejects (a dead server gives status 0). */
  call(route: string, input: unknown): Promise<RawResponse>
  /** True when the process still runs and answers `app.info`. */
  alive(): Promise<boolean>
  stop(): Promise<void>
}

export async function startServerProcess(hostOptions: Record<string, number> = {}): Promise<ServerProcess> {
  const root = mkdtempSync(join(tmpdir(), 'hmmlab-hostile-'))
  const staticDir = join(root, 'renderer')
  mkdirSync(staticDir)
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>HMM Lab</title>')
  const workspace = join(root, 'workspace')
  mkdirSync(workspace)
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'server-main.ts'), JSON.stringify({ workspace, staticDir, token: TOKEN, host: hostOptions })],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: root },
    },
  )
  let err = ''
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-8000)))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)))
  })
  const call = (route: string, input: unknown): Promise<RawResponse> =>
    rawRequest(port, {
      method: 'POST',
      path: `/api/invoke/${route}`,
      headers: { 'x-hmmlab-token': TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    }).catch((e: Error) => ({ status: 0, headers: {}, body: e.message }))
  return {
    proc,
    port,
    root,
    workspace,
    stderr: () => err,
    call,
    async alive() {
      if (proc.exitCode !== null || proc.signalCode !== null) return false
      return (await call('app.info', {})).status === 200
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await exited
    },
  }
}
