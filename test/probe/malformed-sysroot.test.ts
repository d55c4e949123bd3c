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
import { ProbeReport } from '../../src/shared/probe'
import { probeSysroot } from '../../src/main/services/probe'
import { formatProbeReport } from '../../src/main/services/probe/format'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'

const ROOT = path.resolve(__dirname, '../..')
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const TOPO = 'sys/devices/virtual/kfd/kfd/topology'

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

describe('KFD node fields out of range or unparsable', () => {
  const dir = sysroot({
    'proc/sys/kernel/osrelease': '6.12.0\n',
    [`${TOPO}/generation_id`]: '5\n',
    [`${TOPO}/nodes/0/properties`]: 'simd_count 99999999999999999999999\nmem_banks_count abc\ncpu_cores_count 8\nhive_id 12609507387757274807\n',
    [`${TOPO}/nodes/0/name`]: Buffer.alloc(2 << 20),
    [`${TOPO}/nodes/1/properties`]: 'simd_count 4294967296\ncpu_cores_count 0\n',
    [`${TOPO}/nodes/1/name`]: 'gfx90a\0\0\n',
  })
  const r = probe(dir)
  const props = (n: number) => `/${TOPO}/nodes/${n}/properties`
  const at = (file: string) => r.findings.filter((f) => f.file === file)

  it('the report validates and stays small', () => {
    expect(() => ProbeReport.parse(r)).not.toThrow()
    expect(JSON.stringify(r).length).toBeLessThan(64 << 10)
  })

  it('a node with a u32 field beyond 2^32-1 or a non-number is malformed, with findings naming the file and key', () => {
    const [n0, n1] = r.kfd.nodes
    expect(n0?.status).toBe('malformed')
    expect(n1?.status).toBe('malformed')
    const m0 = at(props(0)).map((f) => f.message)
    expect(m0.some((m) => m.includes('out of range') && m.includes('simd_count 99999999999999999999999'))).toBe(true)
    expect(m0.some((m) => m.includes('unparsable') && m.includes('mem_banks_count abc'))).toBe(true)
    // hive_id is a u64 (%llu): a value above 2^53 is fine
    expect(m0.some((m) => m.includes('hive_id'))).toBe(false)
    expect(at(props(1)).some((f) => f.message.includes('simd_count 4294967296'))).toBe(true)
    // nothing claims the topology is a healthy CPU-only one
    expect(r.findings.some((f) => f.code === 'kfd.cpu-only')).toBe(false)
  })

  it('an attribute longer than a page is cut at 4 KiB and its NULs removed, each with a finding', () => {
    const name = `/${TOPO}/nodes/0/name`
    expect(r.kfd.nodes[0]?.name).toBe('')
    expect(r.kfd.nodes[1]?.name).toBe('gfx90a')
    expect(JSON.stringify(r).includes('\\u0000')).toBe(false)
    expect(at(name).map((f) => f.code)).toEqual(expect.arrayContaining(['file.oversize', 'file.nul']))
    expect(at(name).find((f) => f.code === 'file.oversize')?.message).toMatch(/longer than 4096 bytes.*sysfs_kf_seq_show/)
    expect(at(`/${TOPO}/nodes/1/name`).map((f) => f.code)).toEqual(['file.nul'])
    expect(at(`/${TOPO}/nodes/1/name`).some((f) => f.code === 'file.oversize')).toBe(false)
  })

  it('a well-formed 4096-byte attribute is not flagged', () => {
    const d = sysroot({ [`${TOPO}/generation_id`]: '1\n', [`${TOPO}/nodes/0/properties`]: `cpu_cores_count 4\n${'x'.repeat(4096 - 18 - 1)}\n` })
    expect(fs.statSync(path.join(d, TOPO, 'nodes/0/properties')).size).toBe(4096)
    const rr = probe(d)
    expect(rr.findings.some((f) => f.code === 'file.oversize')).toBe(false)
  })
})

describe('kernel config: one statement', () => {
  it('a corrupt /proc/config.gz is named once, as unusable, never also as missing', () => {
    const r = probe(sysroot({ 'proc/sys/kernel/osrelease': '6.12.0\n', 'proc/config.gz': 'not gzip at all' }))
    const kc = r.findings.filter((f) => f.subject === 'kernel config')
    expect(kc).toHaveLength(1)
    expect(kc[0]).toMatchObject({ code: 'kconfig.unavailable', severity: 'error', file: '/proc/config.gz' })
    expect(kc[0]?.message).toContain('/proc/config.gz is not a valid gzip stream')
    expect(kc[0]?.message).not.toContain('needs CONFIG_IKCONFIG_PROC')
    expect(kc[0]?.message).toContain('/boot/config-6.12.0 absent')
  })

  it('with no config file at all: a warning that names what is needed', () => {
    const r = probe(sysroot({ 'proc/sys/kernel/osrelease': '6.12.0\n' }))
    const kc = r.findings.filter((f) => f.subject === 'kernel config')
    expect(kc).toHaveLength(1)
    expect(kc[0]).toMatchObject({ code: 'kconfig.unavailable', severity: 'warning' })
    expect(kc[0]?.message).toContain('/proc/config.gz absent (needs CONFIG_IKCONFIG_PROC)')
  })

  it('a corrupt /proc/config.gz next to a good /boot/config: the config is used, the bad file named', () => {
    const r = probe(
      sysroot({ 'proc/sys/kernel/osrelease': '6.12.0\n', 'proc/config.gz': 'junk', 'boot/config-6.12.0': 'CONFIG_MMU_NOTIFIER=y\nCONFIG_HMM_MIRROR=y\n' }),
    )
    expect(r.kernel.config.source).toBe('/boot/config-6.12.0')
    expect(r.findings.some((f) => f.code === 'kconfig.unavailable')).toBe(false)
    const bad = r.findings.find((f) => f.file === '/proc/config.gz')
    expect(bad?.message).toMatch(/not a valid gzip stream.*read from \/boot\/config-6\.12\.0 instead/)
  })
})

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
