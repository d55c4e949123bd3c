#!/usr/bin/env node
// The `hmmlab` command: runs the built CLI bundle (`npm run build` makes it).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'main', 'cli.js')
if (!existsSync(bundle)) {
  process.stderr.write('hmmlab: not built yet; run `npm run build` in the HMM Lab folder first\n')
  process.exit(2)
}
const { main } = await import(pathToFileURL(bundle).href)
process.exit(await main(process.argv))
