/**
 * `hmmlab probe` (its command module, run as a process) on the machine running the tests: exit 0,
 * the real kernel config and command line,
 * and IOMMU/KFD exactly as /sys shows them (on the development VM: none of either).
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { ProbeReport } from '../../src/shared/probe'
import { onPath } from '../../src/main/services/probe/sysinfo'

const ROOT = path.resolve(__dirname, '../..')
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const run = (...args: string[]) =>
  spawnSync(process.execPath, [TSX, 'test/probe/probe-cli.ts', 'probe', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 })
const list = (p: string) => {
  try {
    return fs.readdirSync(p)
  } catch {
    return []
  }
}

describe('hmmlab probe on this machine', () => {
  const json = run('--json', '--no-system-info')
  const report = ProbeReport.parse(JSON.parse(json.stdout))

  it('exits 0 and prints a valid report', () => {
    expect(json.status).toBe(0)
    expect(report.source.kind).toBe('live')
  })

  it('IOMMU and KFD as /sys shows them', () => {
    expect(report.iommu.units.map((u) => u.name)).toEqual(list('/sys/class/iommu').sort())
    expect(report.kfd.dev.present).toBe(fs.existsSync('/dev/kfd'))
    expect(report.kfd.topologyPresent).toBe(fs.existsSync('/sys/devices/virtual/kfd/kfd/topology'))
    if (list('/sys/class/iommu').length === 0) expect(report.findings.some((f) => f.code === 'iommu.none')).toBe(true)
    if (!fs.existsSync('/dev/kfd')) expect(report.findings.some((f) => f.code === 'kfd.absent')).toBe(true)
  })

  it('the real command line and release', () => {
    expect(report.kernel.cmdline.raw).toBe(fs.readFileSync('/proc/cmdline', 'utf8').trim())
    expect(report.kernel.release).toBe(fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim())
  })

  it.runIf(fs.existsSync('/proc/config.gz'))('the real kernel config, option by option', () => {
    expect(report.kernel.config.source).toBe('/proc/config.gz')
    const text = gunzipSync(fs.readFileSync('/proc/config.gz')).toString('utf8')
    for (const o of report.kernel.config.options) {
      const set = new RegExp(`^${o.name}=(.*)$`, 'm').exec(text)?.[1]?.replace(/^"(.*)"$/, '$1')
      const notSet = new RegExp(`^# ${o.name} is not set$`, 'm').test(text)
      expect(o.value, o.name).toBe(set !== undefined ? set : notSet ? 'n' : null)
    }
  })

  it('human-readable output puts findings first', () => {
    const text = run('--no-system-info')
    expect(text.status).toBe(0)
    const f = text.stdout.indexOf('Findings')
    expect(f).toBeGreaterThan(0)
    expect(f).toBeLessThan(text.stdout.indexOf('Kernel'))
    expect(text.stdout.indexOf('Kernel')).toBeLessThan(text.stdout.indexOf('IOMMU ('))
  })

  it('large reports reach a pipe whole (the entry point exits right after the command)', () => {
    const r = run('--sysroot', 'test/fixtures/sysroots/kfd-mi210-xgmi', '--json')
    expect(r.status).toBe(0)
    expect(r.stdout.length).toBeGreaterThan(65536)
    expect(ProbeReport.parse(JSON.parse(r.stdout)).kfd.nodes).toHaveLength(10)
  })

  it('--capture writes an archive that reads back, and says what it holds', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmmlab-cli-capture-'))
    try {
      const file = path.join(dir, 'snap.tar.gz')
      const c = run('--capture', file, '--no-system-info')
      expect(c.status).toBe(0)
      expect(c.stderr).toMatch(/captured \d+ file\(s\)/)
      const back = run('--sysroot', file, '--json')
      expect(back.status).toBe(0)
      const r = ProbeReport.parse(JSON.parse(back.stdout))
      expect(r.source.kind).toBe('archive')
      expect(r.kernel.cmdline.raw).toBe(report.kernel.cmdline.raw)
      const bad = run('--capture', path.join(dir, 'no/such/dir/snap.tar.gz'), '--no-system-info')
      expect(bad.status).toBe(2)
      expect(bad.stderr).toMatch(/capture failed/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a sysroot that does not exist is exit 2 with a message', () => {
    const r = run('--sysroot', '/nonexistent/sysroot')
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/hmmlab probe:/)
  })
})

const canDropRoot = typeof process.getuid === 'function' && process.getuid() === 0 && onPath('runuser') && spawnSync('id', ['nobody']).status === 0

describe.runIf(canDropRoot)('the same probe as an unprivileged user (runuser -u nobody)', () => {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, TSX, 'test/probe/probe-cli.ts', 'probe', '--json', '--no-system-info'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  })
  const asRoot = ProbeReport.parse(JSON.parse(run('--json', '--no-system-info').stdout))

  it('exits 0', () => expect(r.status).toBe(0))
  it('config space beyond 64 bytes is "unknown (needs root)", never "absent"', () => {
    const report = ProbeReport.parse(JSON.parse(r.stdout))
    for (const d of report.pci) {
      const root = asRoot.pci.find((x) => x.address === d.address)
      if (d.configBytesReadable === null) continue
      expect(d.configBytesReadable, d.address).toBeLessThanOrEqual(64)
      // functions with a capability list: root may see ATS/PRI/PASID or their absence; nobody may not
      if (root && !root.ats.detail.startsWith('no capability list')) expect(d.ats.detail, d.address).toContain('needs root')
    }
  })
  it('the kernel log is refused under dmesg_restrict, and said so', () => {
    const report = ProbeReport.parse(JSON.parse(r.stdout))
    const restrict = fs.existsSync('/proc/sys/kernel/dmesg_restrict') && fs.readFileSync('/proc/sys/kernel/dmesg_restrict', 'utf8').trim() === '1'
    if (restrict) expect(report.bootLog.note).toMatch(/EPERM|EACCES/)
  })
})
