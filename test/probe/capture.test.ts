/**
 * Capture and read-back: the archive holds exactly what the probe read, reads back to the same
 * report, redacts secret-looking command-line values, and an archive can never reach outside its
 * temporary directory.
 */
import { execFileSync } from 'node:child_process'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import * as tar from 'tar'
import { afterAll, describe, expect, it } from 'vitest'
import { probeSysroot, runProbe } from '../../src/main/services/probe'
import { CaptureError, openArchiveSysroot, sweepStaleTempDirs, writeCapture } from '../../src/main/services/probe/capture'
import { DirectoryFs, LiveFs } from '../../src/main/services/probe/sysroot'
import type { ProbeReport } from '../../src/shared/probe'
import { fixture, MemoryFs } from './helpers'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmmlab-capture-test-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const comparable = (r: ProbeReport) => ({ ...r, probedAt: '', source: null, system: null, bootLog: { ...r.bootLog, source: null } })

async function roundTrip(sysfs: ConstructorParameters<typeof Object>[0] & Parameters<typeof probeSysroot>[0], name: string) {
  const first = probeSysroot(sysfs)
  const file = path.join(tmp, `${name}.tar.gz`)
  const summary = await writeCapture(first.ctx, file, { release: first.report.kernel.release })
  const again = await runProbe({ sysroot: file })
  return { first, again, summary, file }
}

async function entries(file: string): Promise<string[]> {
  const out: string[] = []
  await tar.t({ file, onReadEntry: (e) => out.push(e.path) })
  return out
}

describe('capture → read back', () => {
  it('a fixture (8× MI210, /dev/kfd in the manifest) reads back to the same report', async () => {
    const { first, again } = await roundTrip(new DirectoryFs(fixture('kfd-mi210-xgmi')), 'mi210')
    expect(again.report.source.kind).toBe('archive')
    expect(comparable(again.report)).toEqual(comparable(first.report))
    expect(again.report.kfd.dev).toMatchObject({ present: true, type: 'c', mode: '0666', rdev: '238:0' })
  })

  it('the broken fixture reads back with the same findings (errors included)', async () => {
    const { first, again } = await roundTrip(new DirectoryFs(fixture('broken')), 'broken')
    expect(again.report.findings).toEqual(first.report.findings)
  })

  it('this machine reads back to the same report', async () => {
    const { first, again, summary } = await roundTrip(new LiveFs(), 'live')
    expect(summary.skipped).toEqual([])
    expect(comparable(again.report)).toEqual(comparable(first.report))
  })

  it('the committed capture of the development VM reads back (real config, no IOMMU, no KFD)', async () => {
    const { report } = await runProbe({ sysroot: fixture('this-machine.tar.gz') })
    expect(report.kernel.config.source).toBe('/proc/config.gz')
    expect(report.kernel.release).toMatch(/^6\.18\./)
    expect(report.kernel.config.options.find((o) => o.name === 'CONFIG_MMU_NOTIFIER')?.value).toBe('y')
    expect(report.iommu).toEqual({ classPresent: true, units: [] })
    expect(report.kfd.topologyPresent).toBe(false)
    expect(report.pci.length).toBeGreaterThan(0)
  })
})

describe('what goes into a capture', () => {
  it('exactly the files read, nothing else, and secrets redacted', async () => {
    const mem = new MemoryFs({
      '/proc/cmdline': 'root=/dev/sda1 rd.luks.key=/secret.key password=hunter2 intel_iommu=on\n',
      '/proc/sys/kernel/osrelease': '6.8.0\n',
      '/etc/shadow': 'root:x:::\n',
      '/home/user/.ssh/id_rsa': 'PRIVATE',
      '/sys/kernel/iommu_groups/1/type': 'DMA\n',
    })
    const { ctx, report } = probeSysroot(mem)
    const file = path.join(tmp, 'mem.tar.gz')
    const s = await writeCapture(ctx, file, { release: report.kernel.release })
    expect(s.redacted).toEqual(['/proc/cmdline'])
    const names = await entries(file)
    expect(names.some((n) => /etc|home|shadow|ssh/.test(n))).toBe(false)
    const read = new Set([...ctx.recorded.entries()].filter(([, r]) => r.kind === 'file').map(([p]) => p.slice(1)))
    for (const n of names.filter((x) => !x.endsWith('/') && x !== '.hmmlab-capture.json')) expect(read.has(n) || n.includes('iommu_groups'), n).toBe(true)
    const back = await openArchiveSysroot(file)
    try {
      const cmd = fs.readFileSync(path.join(back.dir, 'proc/cmdline'), 'utf8')
      expect(cmd).toContain('password=<redacted>')
      expect(cmd).toContain('rd.luks.key=<redacted>')
      expect(cmd).not.toContain('hunter2')
      expect(cmd).toContain('intel_iommu=on')
    } finally {
      back.dispose()
    }
  })
})

describe('hostile archives', () => {
  it('refuses .. paths and never follows a symlink out of the sysroot', async () => {
    const stage = fs.mkdtempSync(path.join(tmp, 'stage-'))
    fs.mkdirSync(path.join(stage, 'root/proc/sys/kernel'), { recursive: true })
    fs.writeFileSync(path.join(stage, 'root/proc/sys/kernel/osrelease'), '6.8.0\n')
    // absolute and climbing symlinks pointing at host files
    fs.symlinkSync('/etc/hostname', path.join(stage, 'root/proc/cmdline'))
    fs.mkdirSync(path.join(stage, 'root/sys/class'), { recursive: true })
    fs.symlinkSync('../../../../../../../../etc', path.join(stage, 'root/sys/class/iommu'))
    fs.writeFileSync(path.join(stage, 'evil'), 'outside')
    const file = path.join(tmp, 'hostile.tar.gz')
    await tar.c({ gzip: true, file, cwd: path.join(stage, 'root'), preservePaths: true, portable: true }, ['proc', 'sys', '../evil'])
    expect((await entries(file)).some((n) => n.includes('..'))).toBe(true)

    const back = await openArchiveSysroot(file)
    try {
      expect(fs.existsSync(path.join(path.dirname(back.dir), 'evil'))).toBe(false)
      const { report } = probeSysroot(back.fs)
      expect(report.kernel.release).toBe('6.8.0')
      // /proc/cmdline → /etc/hostname is re-rooted into the sysroot, where it does not exist
      expect(report.kernel.cmdline.raw).toBeNull()
      // /sys/class/iommu → ../../..(…)/etc stops at the sysroot root: /etc of the sysroot, empty
      expect(report.iommu.units).toEqual([])
    } finally {
      back.dispose()
    }
  })

  it('a file that is not an archive is a clear error', async () => {
    const file = path.join(tmp, 'not.tar.gz')
    fs.writeFileSync(file, 'hello')
    await expect(runProbe({ sysroot: file })).rejects.toThrow(/cannot read capture/)
  })

  const extractions = (): string[] => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`hmmlab-sysroot-${process.pid}-`))

  it('an entry declaring 600 MiB is refused as too large, caught, with no extraction folder left (issue 18 #5)', async () => {
    const file = path.join(tmp, 'huge.tar.gz')
    const header = new tar.Header({ path: 'sys/huge', size: 600 * 2 ** 20, type: 'File', mode: 0o644, mtime: new Date(0) })
    header.encode()
    fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([header.block!, Buffer.alloc(1 << 20)])))
    const before = extractions()
    await expect(openArchiveSysroot(file)).rejects.toThrow(CaptureError)
    await expect(runProbe({ sysroot: file })).rejects.toThrow(/capture too large/)
    expect(extractions()).toEqual(before)
  })

  it('real files over the unpacked limit stop extraction part-way (limits lowered to keep it small)', async () => {
    const stage = fs.mkdtempSync(path.join(tmp, 'sparse-'))
    fs.mkdirSync(path.join(stage, 'sys'))
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(stage, 'sys', `data${i}`), crypto.randomBytes(1 << 20))
    const file = path.join(tmp, 'sparse.tar.gz')
    await tar.c({ gzip: true, file, cwd: stage, portable: true }, ['sys'])
    const before = extractions()
    await expect(openArchiveSysroot(file, { maxBytes: 3 << 20 })).rejects.toThrow(/capture too large/)
    await expect(openArchiveSysroot(file, { maxEntries: 2 })).rejects.toThrow(/capture too large/)
    expect(extractions()).toEqual(before)
    const ok = await openArchiveSysroot(file)
    ok.dispose()
  })

  it('sweeps extraction folders of processes that no longer run (issue 18 #9)', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'tmpdir-'))
    const dead = 2 ** 22 + 12345
    for (const name of [
      `hmmlab-sysroot-${dead}-abc123`,
      `hmmlab-capture-${dead}-abc123`,
      `hmmlab-sysroot-${process.pid}-abc123`,
      'hmmlab-sysroot-old123',
      'other-dir',
    ])
      fs.mkdirSync(path.join(dir, name))
    const removed = sweepStaleTempDirs({ dir, force: true, now: Date.now() + 48 * 3600_000 }).map((p) => path.basename(p))
    expect(removed.sort()).toEqual([`hmmlab-capture-${dead}-abc123`, `hmmlab-sysroot-${dead}-abc123`, 'hmmlab-sysroot-old123'])
    expect(fs.readdirSync(dir).sort()).toEqual([`hmmlab-sysroot-${process.pid}-abc123`, 'other-dir'])
  })
})

describe('hostile sysroot folders (issue 18 #4)', () => {
  it('a FIFO where the probe reads a file is an error, never a hang', () => {
    const root = fs.mkdtempSync(path.join(tmp, 'fifo-'))
    fs.mkdirSync(path.join(root, 'proc/sys/kernel'), { recursive: true })
    execFileSync('mkfifo', [path.join(root, 'proc/cmdline')])
    execFileSync('mkfifo', [path.join(root, 'proc/sys/kernel/osrelease')])
    const { report } = probeSysroot(new DirectoryFs(root))
    expect(report.kernel.release).toBeNull()
    expect(report.files.errors.map((e) => e.path)).toContain('/proc/cmdline')
  })

  it('a capture manifest that is a symlink (to a file outside) or a FIFO is not read', () => {
    const root = fs.mkdtempSync(path.join(tmp, 'manifest-link-'))
    const outside = path.join(tmp, 'outside-manifest.json')
    fs.writeFileSync(outside, JSON.stringify({ format: 'hmmlab.capture', version: 1, devices: {}, errors: { '/proc/cmdline': 'EOUTSIDE' } }))
    fs.symlinkSync(outside, path.join(root, '.hmmlab-capture.json'))
    expect(new DirectoryFs(root).manifest).toBeNull()
    const fifoRoot = fs.mkdtempSync(path.join(tmp, 'manifest-fifo-'))
    execFileSync('mkfifo', [path.join(fifoRoot, '.hmmlab-capture.json')])
    expect(new DirectoryFs(fifoRoot).manifest).toBeNull()
  })
})

describe('resolution never hands the host a path with unresolved symlinks', () => {
  it('a dangling link followed by .. cannot reach a host directory through a sysroot symlink', () => {
    const root = fs.mkdtempSync(path.join(tmp, 'dangling-'))
    fs.mkdirSync(path.join(root, 'proc/sys/kernel'), { recursive: true })
    fs.symlinkSync('/etc', path.join(root, 'hostetc')) // would escape if the host followed it
    // /proc/cmdline → missing/../../hostetc/hostname: "missing" does not exist
    fs.symlinkSync('missing/../../hostetc/hostname', path.join(root, 'proc/cmdline'))
    const { report } = probeSysroot(new DirectoryFs(root))
    expect(report.kernel.cmdline.raw).toBeNull()
  })
})
