import { defineConfig } from '@playwright/test'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findElectron } from './e2e/electron-binary'

const root = dirname(fileURLToPath(import.meta.url))
// the app under test keeps its calibration in a folder of its own, never the developer's (docs/calibration.md)
process.env.HMMLAB_CALIBRATION ??= join(tmpdir(), `hmmlab-e2e-${process.pid}`, 'calibration.json')
const electron = findElectron(root)
if ((!electron.binary || electron.reason) && process.env.TEST_WORKER_INDEX === undefined) {
  // Said once per run, in plain words, so a skipped Electron project is never mistaken for a pass.
  console.log(`[e2e] electron project: SKIPPED: ${electron.reason}`)
}

export default defineConfig<object, { hostKind: 'browser' | 'electron' }>({
  testDir: join(root, 'e2e'),
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [
    { name: 'web', use: { hostKind: 'browser', browserName: 'chromium' } },
    { name: 'electron', use: { hostKind: 'electron' } },
  ],
})
