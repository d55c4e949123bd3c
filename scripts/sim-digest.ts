/**
 * Digest of every shipped scenario's result under each of its designs (first seed), one line per
 * run: `<sha256>  <file> <design>`. A refactoring of src/sim that must not change behaviour keeps
 * this output byte-identical:
 *
 *   npx tsx scripts/sim-digest.ts > /tmp/before.txt   # on the old commit
 *   npx tsx scripts/sim-digest.ts | diff /tmp/before.txt -
 *
 * `--only GLOB-SUBSTRING` restricts to files whose path contains it.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseScenario, runScenario, scenarioDesigns } from '../src/sim/index'

const root = join(import.meta.dirname, '..', 'scenarios')
const only = process.argv.indexOf('--only') >= 0 ? process.argv[process.argv.indexOf('--only') + 1] : undefined

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : /\.(ya?ml|json)$/.test(e.name) ? [join(dir, e.name)] : []))
    .sort()
}

for (const file of walk(root)) {
  const rel = file.slice(root.length + 1)
  if (only && !rel.includes(only)) continue
  const sc = parseScenario(readFileSync(file, 'utf8'), `scenarios/${rel}`)
  for (const d of scenarioDesigns(sc)) {
    const r = runScenario(sc, { design: d })
    const h = createHash('sha256').update(JSON.stringify(r)).digest('hex')
    process.stdout.write(`${h}  ${rel} ${d}\n`)
  }
}
