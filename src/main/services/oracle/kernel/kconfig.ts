/**
 * The config fragment (oracle/kernel.config) and its verification: after `make olddefconfig`,
 * every option of the fragment is looked up in the resulting .config; an option that did not
 * land is explained from the tree's own Kconfig (its `depends on` symbols that are not set, or
 * the symbol not existing in this tree at all).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface FragmentOption {
  name: string
  /** 'y', 'm', 'n' or a value. */
  value: string
  line: number
}

/** Options without which the oracle cannot run at all (the rest degrade one observation each). */
export const REQUIRED_OPTIONS = new Set([
  'CONFIG_TEST_HMM',
  'CONFIG_DEVICE_PRIVATE',
  'CONFIG_MMU_NOTIFIER',
  'CONFIG_KPROBE_EVENTS',
  'CONFIG_BLK_DEV_INITRD',
  'CONFIG_VIRTIO_BLK',
  'CONFIG_VIRTIO_PCI',
  'CONFIG_DEVTMPFS',
  'CONFIG_PROC_FS',
  'CONFIG_SYSFS',
  'CONFIG_TMPFS',
  'CONFIG_SERIAL_8250_CONSOLE',
  'CONFIG_BINFMT_ELF',
  'CONFIG_BINFMT_SCRIPT',
])

/** Parses a fragment: `CONFIG_X=y` / `CONFIG_X="s"` / `# CONFIG_X is not set`; other comments and blank lines are skipped. */
export function parseFragment(text: string, file = 'kernel.config'): FragmentOption[] {
  const out: FragmentOption[] = []
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim()
    if (l === '') return
    const off = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(l)
    if (off) {
      out.push({ name: off[1] as string, value: 'n', line: i + 1 })
      return
    }
    if (l.startsWith('#')) return
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(l)
    if (!m) throw new Error(`${file}:${i + 1}: expected CONFIG_NAME=value or "# CONFIG_NAME is not set", got ${JSON.stringify(l)}`)
    out.push({ name: m[1] as string, value: m[2] as string, line: i + 1 })
  })
  return out
}

/** Parses a .config into name → value ('n' for "is not set"). */
export function parseDotConfig(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const l = raw.trim()
    const off = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(l)
    if (off) out.set(off[1] as string, 'n')
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(l)
    if (m) out.set(m[1] as string, m[2] as string)
  }
  return out
}

export interface KconfigSymbol {
  /** `depends on` expressions of every definition (a symbol may be defined more than once). */
  depends: string[]
  /** The enclosing `if` / `menu ... depends on` conditions. */
  visibleIf: string[]
  file: string
}

/** Every `config`/`menuconfig` symbol of a tree's Kconfig files with its dependencies. */
export function scanKconfig(tree: string): Map<string, KconfigSymbol> {
  const out = new Map<string, KconfigSymbol>()
  const files: string[] = []
  const walkDir = (dir: string, depth: number): void => {
    if (depth > 12) return
    let ents
    try {
      ents = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of ents) {
      if (e.name.startsWith('.')) continue
      const p = join(dir, e.name)
      if (e.isDirectory()) {
        if (e.name === 'Documentation' || e.name === 'tools' || e.name === 'scripts' || e.name === 'LICENSES') continue
        walkDir(p, depth + 1)
      } else if (e.name.startsWith('Kconfig')) files.push(p)
    }
  }
  walkDir(tree, 0)
  for (const f of files) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    const ifStack: string[] = []
    let cur: KconfigSymbol | null = null
    for (const raw of text.split('\n')) {
      const l = raw.replace(/#.*$/, '').trim()
      const cfg = /^(?:menu)?config\s+([A-Za-z0-9_]+)/.exec(l)
      if (cfg) {
        const name = 'CONFIG_' + cfg[1]
        cur = out.get(name) ?? { depends: [], visibleIf: [], file: f.slice(tree.length + 1) }
        cur.visibleIf.push(...ifStack)
        out.set(name, cur)
        continue
      }
      const ifm = /^if\s+(.+)$/.exec(l)
      if (ifm) {
        ifStack.push(ifm[1] as string)
        cur = null
        continue
      }
      if (l === 'endif') {
        ifStack.pop()
        cur = null
        continue
      }
      if (/^(menu|endmenu|choice|endchoice|comment|source|mainmenu)\b/.test(l)) {
        cur = null
        continue
      }
      const dep = /^depends\s+on\s+(.+)$/.exec(l)
      if (dep && cur) cur.depends.push(dep[1] as string)
    }
  }
  return out
}

/** Symbols named in a Kconfig expression (without CONFIG_), e.g. "A && (B || !C)" → A, B, C. */
export function exprSymbols(expr: string): string[] {
  return [...new Set((expr.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).filter((s) => s !== 'y' && s !== 'n' && s !== 'm'))]
}

export interface OptionCheck {
  name: string
  want: string
  got: string
  ok: boolean
  required: boolean
  why: string | null
}

/** Checks each fragment option in the final .config and explains the ones that did not land. */
export function verifyConfig(fragment: FragmentOption[], dotConfig: Map<string, string>, kconfig: Map<string, KconfigSymbol> | null): OptionCheck[] {
  return fragment.map((o) => {
    const got = dotConfig.get(o.name) ?? 'n'
    const ok = o.value === 'n' ? got === 'n' : got === o.value
    let why: string | null = null
    if (!ok) {
      const sym = kconfig?.get(o.name)
      if (kconfig && !sym) why = `${o.name} does not exist in this tree's Kconfig`
      else if (sym) {
        const unmet: string[] = []
        for (const e of [...sym.depends, ...sym.visibleIf]) {
          for (const s of exprSymbols(e)) {
            const v = dotConfig.get('CONFIG_' + s) ?? 'n'
            if (v === 'n' && !e.includes('!' + s)) unmet.push(`CONFIG_${s} (depends on ${e})`)
          }
        }
        why = unmet.length
          ? `unmet dependencies: ${[...new Set(unmet)].join(', ')}`
          : `set to ${got} by olddefconfig (a choice, a select or a default overrode it; see ${sym.file})`
      } else why = `set to ${got} by olddefconfig`
    }
    return { name: o.name, want: o.value, got, ok, required: REQUIRED_OPTIONS.has(o.name), why }
  })
}
