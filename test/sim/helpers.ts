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

/**
 * Runs a simulator process to completion right now, ignoring its waits (for model calls whose
 * callbacks cost nothing, so that they never sleep). Throws if it asks to wait on a queue.
 */
export function runNow<T>(g: Generator<{ kind: string }, T, void>): T {
  let r = g.next()
  while (!r.done) {
    if (r.value.kind !== 'sleep') throw new Error('runNow: the process waits on a queue')
    r = g.next()
  }
  return r.value
}
