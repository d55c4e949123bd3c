/**
 * The handlers of every route, assembled from the services. Both hosts build their router from
 * `createHandlers`, so the Electron window, the browser host and tests see the same behaviour.
 */
import { APP_VERSION } from '../../shared/version'
import type { AppInfo } from '../../shared/contracts'
import type { HostContext, RouteHandlers } from './router'

/** Builds the full handler table. */
export function createHandlers(): RouteHandlers {
  return {
    'app.info': (_input, ctx) => appInfo(ctx),
  }
}

/** Describes the running host. */
export function appInfo(ctx: HostContext): AppInfo {
  const versions = process.versions as NodeJS.ProcessVersions & { electron?: string; chrome?: string }
  return {
    name: 'HMM Lab',
    version: APP_VERSION,
    host: ctx.host,
    platform: process.platform,
    arch: process.arch,
    versions: {
      node: versions.node,
      v8: versions.v8,
      ...(versions.electron ? { electron: versions.electron } : {}),
      ...(versions.chrome ? { chrome: versions.chrome } : {}),
    },
    ...(ctx.workspace ? { workspace: ctx.workspace } : {}),
  }
}
