/**
 * Where things are on disk, for the built bundles (`out/main/*.js`) and for sources run by tsx
 * or vitest (`src/main/*.ts`) alike: both find the project root by walking up to package.json.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cachedRoot: string | undefined

/** The folder that holds HMM Lab's package.json. */
export function appRoot(): string {
  if (cachedRoot) return cachedRoot
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'hmm-lab') return (cachedRoot = dir)
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the hmm-lab package root')
    dir = parent
  }
}

/** The built renderer served by the browser host and loaded by the Electron window. */
export function rendererDir(): string {
  return join(appRoot(), 'out', 'renderer')
}
