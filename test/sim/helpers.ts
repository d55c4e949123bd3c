import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Every scenario file shipped under scenarios/ (recursively). */
export function shippedScenarios(dir = 'scenarios'): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) out.push(...shippedScenarios(p))
    else if (/\.(ya?ml|json)$/.test(e)) out.push(p)
  }
  return out
}

export function read(p: string): string {
  return readFileSync(p, 'utf8')
}
