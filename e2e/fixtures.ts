/**
 * One set of specs, two hosts. The `web` project starts the browser host (`hmmlab serve`) and
 * drives Debian's Chromium; the `electron` project launches the built app in Electron where the
 * binary and a display exist, and skips with the reason otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test as base, _electron, type ElectronApplication, type Page } from '@playwright/test'
import { findElectron } from './electron-binary'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface BrowserHostProcess {
  url: string
  origin: string
  token: string
  child: ChildProcess
}

/** Starts `hmmlab serve --port 0` from the built bundle and waits for the URL it prints. */
export async function startServeProcess(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<BrowserHostProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'out/main/cli.js'), 'serve', '--port', '0', ...extraArgs], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hmmlab serve printed no URL:\n${output}`)), 20_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`hmmlab serve exited with ${code}:\n${output}`)))
  })
  const parsed = new URL(url)
  return { url, origin: parsed.origin, token: parsed.searchParams.get('token') ?? '', child }
}

interface WorkerFixtures {
  hostKind: 'browser' | 'electron'
  browserHost: BrowserHostProcess | undefined
  electronApp: ElectronApplication | undefined
}

export const test = base.extend<{ appPage: Page }, WorkerFixtures>({
  hostKind: ['browser', { option: true, scope: 'worker' }],

  browserHost: [
    async ({ hostKind }, use) => {
      if (hostKind !== 'browser') return use(undefined)
      const host = await startServeProcess()
      await use(host)
      host.child.kill('SIGTERM')
    },
    { scope: 'worker' },
  ],

  electronApp: [
    async ({ hostKind }, use) => {
      if (hostKind !== 'electron') return use(undefined)
      const electron = findElectron(ROOT)
      if (!electron.binary || electron.reason) return use(undefined)
      const app = await _electron.launch({ executablePath: electron.binary, args: [join(ROOT, 'out/main/index.js')], cwd: ROOT })
      await use(app)
      await app.close()
    },
    { scope: 'worker' },
  ],

  appPage: async ({ hostKind, browserHost, electronApp, page }, use, testInfo) => {
    if (hostKind === 'electron') {
      const reason = findElectron(ROOT).reason
      testInfo.skip(!electronApp, `Electron e2e skipped: ${reason ?? 'Electron did not start'}`)
      const win = await electronApp!.firstWindow()
      await use(win)
      return
    }
    await page.goto(browserHost!.url)
    await use(page)
  },
})

export { expect } from '@playwright/test'
