/**
 * The import rules of src/sim (src/sim/README.md, "Layers"), checked on the source: every import
 * and re-export is parsed with the TypeScript compiler API, so a rule broken by a new import fails
 * here with the offending file or chain.
 *
 * - engine/ and ledger/ are leaves: they import nothing of src/sim outside themselves.
 * - kernel/ never imports drivers/, teardown/, scenario/, metrics/, world.ts or run.ts (not even a
 *   type): the kernel reaches drivers and designs only through ops stored on objects.
 * - kernel/mm-ref.ts, kernel/types.ts and kernel/errno.ts import no kernel code at run time.
 * - No module of src/sim imports Node, Electron or Vue.
 * - No cycle among the run-time imports of src/sim (an `import type` is erased at compile time; a
 *   type-only mutual reference, like a C forward declaration, is allowed only inside one layer).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, dirname, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../../src/sim')

interface Edge {
  to: string
  typeOnly: boolean
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

/** Import specifiers of one file, each with whether it is erased at compile time. */
export function importsOf(text: string, file = 'x.ts'): { spec: string; typeOnly: boolean }[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS)
  const out: { spec: string; typeOnly: boolean }[] = []
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause
      let typeOnly = false
      if (c) {
        const named = c.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : null
        typeOnly = c.isTypeOnly || (!c.name && named !== null && named.length > 0 && named.every((e) => e.isTypeOnly))
      }
      out.push({ spec: n.moduleSpecifier.text, typeOnly })
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const named = n.exportClause && ts.isNamedExports(n.exportClause) ? n.exportClause.elements : null
      out.push({ spec: n.moduleSpecifier.text, typeOnly: n.isTypeOnly || (named !== null && named.length > 0 && named.every((e) => e.isTypeOnly)) })
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ spec: n.argument.literal.text, typeOnly: true })
    }
    ts.forEachChild(n, visit)
  }
  visit(sf)
  return out
}

function graph(): Map<string, Edge[]> {
  const g = new Map<string, Edge[]>()
  for (const abs of walk(ROOT)) {
    const from = relative(ROOT, abs)
    const edges: Edge[] = []
    for (const { spec, typeOnly } of importsOf(readFileSync(abs, 'utf8'), abs)) {
      if (!spec.startsWith('.')) {
        edges.push({ to: `pkg:${spec}`, typeOnly })
        continue
      }
      const target = relative(ROOT, resolve(dirname(abs), spec))
      edges.push({ to: target.startsWith('..') ? `outside:${target}` : `${target}.ts`, typeOnly })
    }
    g.set(from, edges)
  }
  return g
}

/** The first cycle of run-time edges found, as a chain `a → b → … → a`, or null. */
export function findCycle(g: Map<string, Edge[]>, runtimeOnly: boolean): string[] | null {
  const state = new Map<string, 1 | 2>()
  const stack: string[] = []
  const dfs = (n: string): string[] | null => {
    state.set(n, 1)
    stack.push(n)
    for (const e of g.get(n) ?? []) {
      if (runtimeOnly && e.typeOnly) continue
      if (!g.has(e.to)) continue
      const s = state.get(e.to)
      if (s === 1) return [...stack.slice(stack.indexOf(e.to)), e.to]
      if (s === undefined) {
        const c = dfs(e.to)
        if (c) return c
      }
    }
    stack.pop()
    state.set(n, 2)
    return null
  }
  for (const n of [...g.keys()].sort()) {
    if (state.has(n)) continue
    const c = dfs(n)
    if (c) return c
  }
  return null
}

const layer = (f: string): string => (f.includes('/') ? (f.split('/')[0] as string) : f)

function violations(g: Map<string, Edge[]>, rule: (from: string, e: Edge) => boolean): string[] {
  const out: string[] = []
  for (const [from, edges] of g) for (const e of edges) if (rule(from, e)) out.push(`${from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`)
  return out.sort()
}

describe('src/sim import rules', () => {
  const g = graph()

  it('parses imports, re-exports and import() types', () => {
    const got = importsOf(
      `import a from './a'\nimport type { B } from './b'\nimport { type C } from './c'\nimport { type D, E } from './d'\nexport { F } from './f'\nexport type { G } from './g'\nlet x: import('./h').H\n`,
    )
    expect(got).toEqual([
      { spec: './a', typeOnly: false },
      { spec: './b', typeOnly: true },
      { spec: './c', typeOnly: true },
      { spec: './d', typeOnly: false },
      { spec: './f', typeOnly: false },
      { spec: './g', typeOnly: true },
      { spec: './h', typeOnly: true },
    ])
  })

  it('finds a cycle and names its chain', () => {
    const t = new Map<string, Edge[]>([
      ['a.ts', [{ to: 'b.ts', typeOnly: false }]],
      ['b.ts', [{ to: 'c.ts', typeOnly: false }]],
      ['c.ts', [{ to: 'a.ts', typeOnly: false }]],
    ])
    expect(findCycle(t, true)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts'])
    t.set('c.ts', [{ to: 'a.ts', typeOnly: true }])
    expect(findCycle(t, true)).toBeNull()
    expect(findCycle(t, false)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts'])
  })

  it('sees the whole tree', () => {
    expect(g.has('kernel/notifier.ts')).toBe(true)
    expect(g.has('scenario/interp.ts')).toBe(true)
  })

  it('has no cycle among run-time imports', () => {
    expect(findCycle(g, true)).toBeNull()
  })

  it('has no cycle between layers, even through types', () => {
    // collapse files into their directory: a type-only cycle between two layers is a layering error
    const lg = new Map<string, Edge[]>()
    for (const [from, edges] of g) {
      const l = layer(from)
      const list = lg.get(l) ?? []
      for (const e of edges) if (g.has(e.to) && layer(e.to) !== l) list.push({ to: layer(e.to), typeOnly: false })
      lg.set(l, list)
    }
    expect(findCycle(lg, false)).toBeNull()
  })

  it('keeps engine/ and ledger/ leaves', () => {
    const bad = violations(g, (from, e) => (layer(from) === 'engine' || layer(from) === 'ledger') && g.has(e.to) && layer(e.to) !== layer(from))
    expect(bad).toEqual([])
  })

  it('keeps kernel/ below drivers/, teardown/, scenario/, metrics/ and the composition root', () => {
    const above = new Set(['drivers', 'teardown', 'scenario', 'metrics', 'world.ts', 'run.ts', 'index.ts'])
    const bad = violations(g, (from, e) => layer(from) === 'kernel' && g.has(e.to) && above.has(layer(e.to)))
    expect(bad).toEqual([])
  })

  it('keeps the kernel leaves (mm-ref, types, errno) free of run-time kernel imports', () => {
    const leaves = new Set(['kernel/mm-ref.ts', 'kernel/types.ts', 'kernel/errno.ts'])
    const allowed = new Set(['kernel/objects.ts', 'kernel/pagetable.ts', 'kernel/frames.ts'])
    const bad = violations(g, (from, e) => leaves.has(from) && !e.typeOnly && layer(e.to) === 'kernel' && !allowed.has(e.to))
    expect(bad).toEqual([])
  })

  it('lets only the composition root, the run and the interpreter see the World', () => {
    const bad = violations(g, (from, e) => e.to === 'world.ts' && !['run.ts', 'index.ts'].includes(from) && layer(from) !== 'scenario')
    expect(bad).toEqual([])
  })

  it('imports nothing from Node, Electron or Vue', () => {
    const bad = violations(g, (_from, e) => /^pkg:(node:|electron|vue|fs$|path$|os$|crypto$)/.test(e.to))
    expect(bad).toEqual([])
  })
})
