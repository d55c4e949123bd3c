import type { Command } from 'commander'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createApi } from '../../api'
import { rendererDir } from '../../paths'
import { isLoopback } from '../../server/security'
import { startBrowserHost } from '../../server/browser-host'
import { checkWorkspace, defaultWorkspace } from '../../services/store/workspace'

interface ServeOptions {
  port: string
  host: string
  workspace?: string
}

/** Registers `hmmlab serve`: the browser host on 127.0.0.1 with a per-launch token. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the app and its API to a browser on 127.0.0.1 (token-protected), for headless hosts')
    .option('--port <n>', 'port to listen on (0 = any free port)', '0')
    .option('--host <addr>', 'address to bind (anything but loopback exposes the lab to your network)', '127.0.0.1')
    .option('--workspace <dir>', 'folder where runs are stored (default: $HMMLAB_WORKSPACE or the user data folder)')
    .addHelpText('after', '\nThe token is random per launch; set HMMLAB_TOKEN (32-128 hex digits) to keep one across restarts.')
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`hmmlab serve: --port must be an integer 0..65535, got ${JSON.stringify(opts.port)}\n`)
        process.exitCode = 2
        return
      }
      // a workspace runs cannot be saved in (a file, a FIFO, no permission) is refused before listening
      let workspace: string
      try {
        workspace = checkWorkspace(opts.workspace ?? defaultWorkspace())
      } catch (err) {
        process.stderr.write(`hmmlab serve: ${err instanceof Error ? err.message : String(err)}\n`)
        process.exitCode = 2
        return
      }
      const staticDir = rendererDir()
      if (!existsSync(join(staticDir, 'index.html'))) {
        process.stderr.write(`hmmlab serve: the renderer is not built (${staticDir}); run \`npm run build\` first\n`)
        process.exitCode = 2
        return
      }
      if (!isLoopback(opts.host)) {
        process.stderr.write(
          `hmmlab serve: WARNING: binding ${opts.host} exposes the lab beyond this machine; anyone with the URL's token can run experiments and read the hardware probe. Prefer an ssh port-forward.\n`,
        )
      }
      const token = process.env.HMMLAB_TOKEN
      if (token !== undefined && !/^[0-9a-f]{32,128}$/.test(token)) {
        process.stderr.write('hmmlab serve: HMMLAB_TOKEN must be 32 to 128 lowercase hex digits (e.g. `openssl rand -hex 24`)\n')
        process.exitCode = 2
        return
      }
      const api = createApi({ host: 'browser', workspace })
      const host = await startBrowserHost({ router: api.router, hub: api.hub, staticDir, host: opts.host, port, ...(token ? { token } : {}) })
      process.stdout.write(`HMM Lab browser host listening; open:\n  ${host.url}\nworkspace (runs are saved here): ${api.services.workspace}\n`)
      await new Promise<void>((resolveStop) => {
        const stop = (): void => resolveStop()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
      await host.close()
      await api.close()
    })
}
