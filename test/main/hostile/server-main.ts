/**
 * A browser host in a process of its own, for tests that must see whether an attack kills it:
 * `node --import tsx server-main.ts '<json options>'` prints `PORT <n>` once it listens.
 * Options: workspace, staticDir, token, and the host's timeouts and connection cap.
 */
import { createApi } from '../../../src/main/api'
import { startBrowserHost } from '../../../src/main/server/browser-host'

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  workspace: string
  staticDir: string
  token: string
  host?: Record<string, number>
}
const api = createApi({ host: 'browser', workspace: opts.workspace }, { threads: 1 })
const host = await startBrowserHost({ router: api.router, hub: api.hub, staticDir: opts.staticDir, token: opts.token, heartbeatMs: 0, ...(opts.host ?? {}) })
process.stdout.write(`PORT ${host.port}\n`)
process.on('SIGTERM', () => {
  void host
    .close()
    .then(() => api.close())
    .then(() => process.exit(0))
})
