/**
 * Step names and their documentation, read from the scenario JSON Schema the host serves, for the
 * editor's completion and hover at a step's key (`- mmap:` under `steps:`). The schema's step list
 * is a union of one-key objects, which generic JSON Schema completion cannot offer as keys; this
 * module knows that shape. Pure functions over text: testable without an editor.
 */

export interface StepField {
  name: string
  description: string
  required: boolean
}

export interface StepDoc {
  name: string
  description: string
  fields: StepField[]
}

type Json = Record<string, unknown>

function isObj(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function resolve(root: Json, node: unknown): Json | undefined {
  let n = node
  for (let i = 0; i < 8 && isObj(n) && typeof n.$ref === 'string'; i++) {
    const ref = n.$ref
    if (!ref.startsWith('#/')) return undefined
    n = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((acc, part) => (isObj(acc) ? acc[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root)
  }
  return isObj(n) ? n : undefined
}

/** The steps the schema allows, in its order, with their descriptions and fields. */
export function stepCatalogue(schema: unknown): StepDoc[] {
  if (!isObj(schema)) return []
  const props = schema.properties
  const steps = isObj(props) ? resolve(schema, props.steps) : undefined
  const items = steps ? resolve(schema, steps.items) : undefined
  const alts = items && Array.isArray(items.anyOf) ? items.anyOf : []
  const out: StepDoc[] = []
  for (const alt of alts) {
    const a = resolve(schema, alt)
    if (!a || !isObj(a.properties)) continue
    const keys = Object.keys(a.properties)
    if (keys.length !== 1) continue
    const name = keys[0] as string
    const body = resolve(schema, a.properties[name])
    const required = new Set(Array.isArray(body?.required) ? (body.required as string[]) : [])
    const fields: StepField[] = []
    if (body && isObj(body.properties)) {
      for (const [f, spec] of Object.entries(body.properties)) {
        const s = resolve(schema, spec)
        fields.push({ name: f, description: typeof s?.description === 'string' ? s.description : '', required: required.has(f) })
      }
    }
    out.push({ name, description: typeof a.description === 'string' ? a.description : '', fields })
  }
  return out
}

/** Indentation of a line (spaces), or -1 for a blank or comment line. */
function indentOf(line: string): number {
  if (/^\s*(#.*)?$/.test(line)) return -1
  return line.length - line.trimStart().length
}

/**
 * Whether the list item on `lines[row]` (its dash at column `dashCol`) is an element of a `steps:`
 * list: the nearest non-blank line above with a smaller indentation, not itself a list item of
 * the same list, must be a `steps:` key.
 */
function isStepsListItem(lines: string[], row: number, dashCol: number): boolean {
  for (let r = row - 1; r >= 0; r--) {
    const l = lines[r] as string
    const ind = indentOf(l)
    if (ind < 0) continue
    if (ind > dashCol) continue
    const t = l.trimStart()
    if (ind === dashCol && t.startsWith('-')) continue
    // a parent key: "steps:" alone, or "- steps:" / "- repeat: ... " forms where steps is the key
    return /^(-\s+)?steps\s*:\s*(#.*)?$/.test(t)
  }
  return false
}

/**
 * At `pos` in a YAML text, the step key being typed: `{ from, prefix }` when the cursor sits in the
 * key of a `steps:` list item (`  - mm|`), else null.
 */
export function stepKeyAt(text: string, pos: number): { from: number; prefix: string } | null {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1
  const before = text.slice(lineStart, pos)
  const m = /^(\s*)-\s+([A-Za-z_]*)$/.exec(before)
  if (!m) return null
  const lines = text.slice(0, lineStart).split('\n')
  lines.pop()
  const row = lines.length
  const dashCol = (m[1] as string).length
  const all = [...lines, text.slice(lineStart, text.indexOf('\n', pos) < 0 ? text.length : text.indexOf('\n', pos))]
  if (!isStepsListItem(all, row, dashCol)) return null
  return { from: pos - (m[2] as string).length, prefix: m[2] as string }
}

/** At `pos`, the name of the step whose key (`- name:`) the position is on, with its extent. */
export function stepNameAt(text: string, pos: number): { name: string; from: number; to: number } | null {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1
  const nl = text.indexOf('\n', pos)
  const lineEnd = nl < 0 ? text.length : nl
  const line = text.slice(lineStart, lineEnd)
  const m = /^(\s*)-\s+([A-Za-z_]+)\s*:/.exec(line)
  if (!m) return null
  const from = lineStart + m[0].indexOf(m[2] as string, (m[1] as string).length + 1)
  const to = from + (m[2] as string).length
  if (pos < from || pos > to) return null
  const lines = text.slice(0, lineStart).split('\n')
  lines.pop()
  if (!isStepsListItem([...lines, line], lines.length, (m[1] as string).length)) return null
  return { name: m[2] as string, from, to }
}

/** The hover text of a step: its description, then its fields (required ones marked). */
export function stepHoverText(doc: StepDoc): string {
  const fields = doc.fields.map((f) => `  ${f.name}${f.required ? '' : '?'}${f.description ? ` — ${f.description}` : ''}`)
  return [`${doc.name}: ${doc.description || '(no description)'}`, ...(fields.length ? ['fields:', ...fields] : [])].join('\n')
}
