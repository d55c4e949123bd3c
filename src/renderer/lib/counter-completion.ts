/**
 * Where the editor may complete a counter name: the value of `name:` inside an expect's
 * `counter:` (flow `counter: { name: inv` or block style on the lines below `counter:`, YAML or
 * JSON). Pure, so it is tested without an editor; the names come from src/shared/counters.ts.
 */
import { COUNTER_NAMES, COUNTERS } from '../../shared/counters'

/** The start of the counter name being typed at `pos` and what is typed so far, or null. */
export function counterNameAt(text: string, pos: number): { from: number; prefix: string } | null {
  const before = text.slice(Math.max(0, pos - 400), pos)
  // flow style (YAML or JSON) on one line: counter: { name: invalidate.P
  const flow = /["']?counter["']?\s*:\s*\{[^{}]*?["']?name["']?\s*:\s*["']?([\w.]*)$/.exec(before)
  if (flow) return { from: pos - flow[1]!.length, prefix: flow[1]! }
  // block style: a `name:` line whose nearest less-indented key line is `counter:`
  const lines = before.split('\n')
  const cur = /^(\s*)name\s*:\s*["']?([\w.]*)$/.exec(lines[lines.length - 1]!)
  if (!cur) return null
  const indent = cur[1]!.length
  for (let i = lines.length - 2; i >= 0; i--) {
    const m = /^(\s*)(?:-\s*)?([\w]+)\s*:/.exec(lines[i]!)
    if (!m) continue
    if (m[1]!.length < indent) return m[2] === 'counter' ? { from: pos - cur[2]!.length, prefix: cur[2]! } : null
  }
  return null
}

/** The registry's names matching a prefix, with what each counts. */
export function counterOptions(prefix: string): { label: string; info: string }[] {
  const p = prefix.toLowerCase()
  return COUNTER_NAMES.filter((n) => n.toLowerCase().startsWith(p) || (p.length > 1 && n.toLowerCase().includes(p))).map((n) => ({
    label: n,
    info: COUNTERS[n]!,
  }))
}
