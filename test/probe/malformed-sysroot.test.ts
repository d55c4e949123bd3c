/**
 * A damaged or forged capture: values the kernel cannot print, an attribute far larger than a
 * sysfs page and full of NULs, a corrupt /proc/config.gz. The probe names each file, never calls a
 * node with garbage in it "ok", never copies the junk into its report, and says one thing about the
 * kernel config (the text output does not call options absent when no config was read).
 * The sysroots are built here, at test time (the 2 MiB attribute is not committed).
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { probeSysroot } from '../../src/main/services/probe'
import { formatProbeReport } from '../../src/main/services/probe/format'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'

const ROOT = path.resolve(__dirname, '../..')
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs')

const made: string[] = []
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true })
})

/** Writes `files` (relative path → content) under a fresh temporary directory. */
function sysroot(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmmlab-badroot-'))
  made.push(dir)
  for (const [p, v] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true })
    fs.writeFileSync(path.join(dir, p), v)
  }
  return dir
}

const probe = (dir: string) => probeSysroot(new DirectoryFs(dir)).report

describe('text output without a kernel config', () => {
  const noConfig = sysroot({ 'proc/sys/kernel/osrelease': '6.12.0\n' })
  const withConfig = sysroot({ 'proc/sys/kernel/osrelease': '6.12.0\n', 'proc/config.gz': gzipSync('CONFIG_MMU_NOTIFIER=y\n# CONFIG_HMM_MIRROR is not set\n') })
  /** The option table of the Kernel section: the lines after `  config ` up to the blank line. */
  const optionLines = (text: string) => {
    const l = text.split('\n')
    const i = l.findIndex((x) => x.startsWith('  config '))
    const rest = l.slice(i + 1)
    return rest.slice(0, rest.indexOf(''))
  }

  it('prints every option as unknown, as the JSON (value null) says, never absent', () => {
    const r = probe(noConfig)
    expect(r.kernel.config.source).toBeNull()
    expect(r.kernel.config.options.every((o) => o.value === null)).toBe(true)
    const lines = optionLines(formatProbeReport(r))
    expect(lines.length).toBe(r.kernel.config.options.length)
    for (const l of lines) expect(l).toMatch(/ unknown$/)
    expect(formatProbeReport(r)).toContain('config   none usable: every option below is unknown')
  })

  it('with a config, an option missing from it is still absent', () => {
    const lines = optionLines(formatProbeReport(probe(withConfig)))
    expect(lines.find((l) => l.includes('CONFIG_MMU_NOTIFIER '))).toMatch(/ y$/)
    expect(lines.find((l) => l.includes('CONFIG_HMM_MIRROR '))).toMatch(/not set$/)
    expect(lines.find((l) => l.includes('CONFIG_DEVICE_PRIVATE '))).toMatch(/ absent$/)
  })

  it('`hmmlab probe --sysroot` (the command, as a process) prints unknown', () => {
    const p = spawnSync(process.execPath, [TSX, 'test/probe/probe-cli.ts', 'probe', '--sysroot', noConfig, '--no-system-info'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    })
    expect(p.status).toBe(0)
    const lines = optionLines(p.stdout)
    expect(lines.length).toBeGreaterThan(10)
    expect(lines.filter((l) => l.endsWith('absent'))).toEqual([])
    expect(p.stdout).toMatch(/CONFIG_HMM_MIRROR\s+unknown/)
  })
})
