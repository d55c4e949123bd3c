/**
 * Finds the Electron binary from files only. Requiring `electron` in plain Node would start a
 * binary download (Electron 42+), so this never does.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface ElectronAvailability {
  binary?: string
  reason?: string
}

/** The Electron executable and whether a display exists to show its window. */
export function findElectron(root: string, env: NodeJS.ProcessEnv = process.env): ElectronAvailability {
  const pkgDir = join(root, 'node_modules', 'electron')
  const pathFile = join(pkgDir, 'path.txt')
  if (!existsSync(pathFile)) {
    return { reason: 'no Electron binary (node_modules/electron/path.txt is missing; run `npx install-electron` where the network allows)' }
  }
  const binary = join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim())
  if (!existsSync(binary)) return { reason: `the Electron binary named in path.txt is missing (${binary})` }
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { binary, reason: 'no display (DISPLAY and WAYLAND_DISPLAY are unset); run under xvfb-run to include the Electron e2e' }
  }
  return { binary }
}
