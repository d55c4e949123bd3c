/**
 * The guest build without building a kernel: fragment parsing and option-by-option verification
 * (with the reason an option did not land, from the tree's Kconfig), the cache key, the cache
 * folder (never a half-written one), the initramfs archive, host tools, and hmm-tests' TAP.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDotConfig, parseFragment, scanKconfig, verifyConfig, exprSymbols } from '../../../src/main/services/oracle/kernel/kconfig'
import {
  buildFeatures,
  defaultCacheRoot,
  guestSources,
  planBuild,
  readBuildMeta,
  treeFeatures,
  treeVersion,
  objDir,
  BUILD_FORMAT,
} from '../../../src/main/services/oracle/kernel/build'
import { readCpio, writeCpio } from '../../../src/main/services/oracle/kernel/image'
import { checkTools, qemuArgs, readTarImage } from '../../../src/main/services/oracle/kernel/qemu'
import { execFileSync } from 'node:child_process'
import { truncateSync } from 'node:fs'
import { listHmmTests, parseHmmTestsTap } from '../../../src/main/services/oracle/kernel/tap'
import { readFileSync } from 'node:fs'

const tmp = (p: string): string => mkdtempSync(join(tmpdir(), p))

describe('config fragment', () => {
  it('parses the shipped fragment, and names the line of a bad one', () => {
    const f = parseFragment(readFileSync(guestSources().fragment, 'utf8'))
    expect(f.find((o) => o.name === 'CONFIG_TEST_HMM')?.value).toBe('y')
    expect(f.find((o) => o.name === 'CONFIG_KPROBE_EVENTS_ON_NOTRACE')?.value).toBe('y')
    expect(() => parseFragment('CONFIG_A=y\nTEST_HMM=y\n', 'frag')).toThrow(/frag:2: expected CONFIG_NAME=value/)
    expect(parseFragment('# CONFIG_SWAP is not set\n')).toEqual([{ name: 'CONFIG_SWAP', value: 'n', line: 1 }])
  })

  it("says which option did not land and why, from the tree's Kconfig", () => {
    const tree = tmp('hmmlab-kc-')
    mkdirSync(join(tree, 'lib'))
    writeFileSync(
      join(tree, 'lib', 'Kconfig.debug'),
      'menuconfig RUNTIME_TESTING_MENU\n\tbool "tests"\nif RUNTIME_TESTING_MENU\nconfig TEST_HMM\n\ttristate "Test HMM"\n\tdepends on TRANSPARENT_HUGEPAGE\n\tdepends on DEVICE_PRIVATE\nendif\n',
    )
    writeFileSync(join(tree, 'Kconfig'), 'config DEVICE_PRIVATE\n\tbool "dp"\n\tdepends on ZONE_DEVICE\n')
    const kc = scanKconfig(tree)
    expect(kc.get('CONFIG_TEST_HMM')?.depends).toEqual(['TRANSPARENT_HUGEPAGE', 'DEVICE_PRIVATE'])
    expect(kc.get('CONFIG_TEST_HMM')?.visibleIf).toEqual(['RUNTIME_TESTING_MENU'])
    const frag = parseFragment('CONFIG_TEST_HMM=y\nCONFIG_DEVICE_PRIVATE=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\nCONFIG_NOT_IN_TREE=y\n')
    const dot = parseDotConfig('CONFIG_TRANSPARENT_HUGEPAGE=y\n# CONFIG_DEVICE_PRIVATE is not set\nCONFIG_RUNTIME_TESTING_MENU=y\n')
    const checks = verifyConfig(frag, dot, kc)
    const by = new Map(checks.map((c) => [c.name, c]))
    expect(by.get('CONFIG_TRANSPARENT_HUGEPAGE')?.ok).toBe(true)
    expect(by.get('CONFIG_TEST_HMM')).toMatchObject({ ok: false, got: 'n', required: true })
    expect(by.get('CONFIG_TEST_HMM')?.why).toBe('unmet dependencies: CONFIG_DEVICE_PRIVATE (depends on DEVICE_PRIVATE)')
    expect(by.get('CONFIG_DEVICE_PRIVATE')?.why).toMatch(/CONFIG_ZONE_DEVICE/)
    expect(by.get('CONFIG_NOT_IN_TREE')?.why).toBe("CONFIG_NOT_IN_TREE does not exist in this tree's Kconfig")
    expect(exprSymbols('A && (B || !C) && D=y')).toEqual(['A', 'B', 'C', 'D'])
  })
})

describe('cache', () => {
  it('lives under $XDG_CACHE_HOME/hmm-lab/oracle, else ~/.cache/hmm-lab/oracle', () => {
    expect(defaultCacheRoot({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/hmm-lab/oracle')
    expect(defaultCacheRoot({ XDG_CACHE_HOME: 'relative' })).toMatch(/\.cache\/hmm-lab\/oracle$/)
    expect(defaultCacheRoot({})).toMatch(/\.cache\/hmm-lab\/oracle$/)
  })

  it('plans a user tree by its version and never treats an incomplete folder as a build', () => {
    const tree = tmp('hmmlab-tree-')
    writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 15\nSUBLEVEL = 2\nEXTRAVERSION = -rc1\n')
    writeFileSync(join(tree, 'Kconfig'), '')
    const cache = tmp('hmmlab-cache-')
    const plan = planBuild({ tree, cacheRoot: cache })
    expect(plan?.version).toBe('6.15.2-rc1')
    expect(plan?.dir.startsWith(cache)).toBe(true)
    expect(readBuildMeta(plan?.dir as string)).toBeNull()
    // a folder with build.json but without the image is not a build
    mkdirSync(plan?.dir as string)
    writeFileSync(join(plan?.dir as string, 'build.json'), JSON.stringify({ format: BUILD_FORMAT }))
    expect(readBuildMeta(plan?.dir as string)).toBeNull()
    for (const f of ['bzImage', 'initramfs.cpio', 'executor']) writeFileSync(join(plan?.dir as string, f), 'x')
    expect(readBuildMeta(plan?.dir as string)?.format).toBe(BUILD_FORMAT)
    // the hmm-tests source is part of the key
    mkdirSync(join(tree, 'tools/testing/selftests/mm'), { recursive: true })
    writeFileSync(join(tree, 'tools/testing/selftests/mm/hmm-tests.c'), 'TEST_F(hmm, x) {}\n')
    expect(planBuild({ tree, cacheRoot: cache })?.key).not.toBe(plan?.key)
    expect(objDir(cache, tree).startsWith(join(cache, 'obj'))).toBe(true)
    expect(objDir(cache, join(cache, 'src', 'linux-source-6.12'))).toBe(join(cache, 'obj', 'linux-source-6.12-debian'))
    expect(() => planBuild({ tree: join(tree, 'nope'), cacheRoot: cache })).toThrow(/no such folder/)
    expect(() => treeVersion('all:\n')).toThrow(/not a kernel tree/)
    // an empty EXTRAVERSION does not swallow the next line
    expect(treeVersion('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\nEXTRAVERSION =\nNAME = Baby Opossum Posse\n')).toBe('6.12.118')
  })
})

describe('initramfs', () => {
  it('writes a newc archive the kernel unpacks: dirs, files, a console node', () => {
    const buf = writeCpio([
      { kind: 'dir', path: 'bin' },
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'file', path: '/init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    ])
    expect(buf.length % 512).toBe(0)
    const back = readCpio(buf)
    expect(back.map((e) => e.path)).toEqual(['bin', 'dev/console', 'init'])
    expect(back[1]?.rdev).toEqual([5, 1])
    expect((back[1]?.mode ?? 0) & 0o170000).toBe(0o020000)
    expect(back[2]?.data.toString()).toBe('#!/bin/sh\n')
    expect((back[2]?.mode ?? 0) & 0o777).toBe(0o755)
    expect(() => writeCpio([{ kind: 'dir', path: '../x' }])).toThrow(/bad path/)
  })
})

describe('host', () => {
  it('names missing tools and the apt command', () => {
    const r = checkTools('/nonexistent')
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.missing).toContain('qemu-system-x86_64 (qemu-system-x86)')
      expect(r.install).toMatch(/^sudo apt-get install -y .*qemu-system-x86/)
    }
    // a guest built from the user's tree does not need Debian's source package
    const own = checkTools('/nonexistent', false)
    expect(own.ok).toBe(false)
    if (!own.ok) expect(own.install).not.toContain('linux-source-6.12')
  })
  it('boots TCG with -cpu max and KVM with -cpu host, with the coherent-device memory reserved', () => {
    const o = { bzImage: '/k', initramfs: '/i', mode: 'scenarios' as const, input: '', cpuLimitMs: 1 }
    const tcg = qemuArgs({ ...o, accel: 'tcg' }, '/in', '/out')
    expect(tcg.slice(0, 4)).toEqual(['-accel', 'tcg', '-cpu', 'max'])
    expect(tcg.join(' ')).toMatch(/memmap=512M!1G test_hmm.spm_addr_dev0=0x40000000/)
    expect(tcg.join(' ')).toMatch(/norandmaps/)
    expect(qemuArgs({ ...o, accel: 'kvm' }, '/in', '/out').slice(0, 4)).toEqual(['-accel', 'kvm', '-cpu', 'host'])
  })
})

describe('guest output disk', () => {
  it('extracts the tar archive at the start of a large zero-padded image, up to its end block', () => {
    const src = tmp('hmmlab-out-')
    mkdirSync(join(src, 'p0'))
    writeFileSync(join(src, 'release'), '6.12.118\n')
    writeFileSync(join(src, 'p0', 'steps.txt'), 'R 0 0 - -\n'.repeat(1000))
    const img = join(tmp('hmmlab-img-'), 'out.img')
    execFileSync('tar', ['--format=ustar', '-cf', img, '-C', src, '.'])
    truncateSync(img, 64 << 20)
    const dest = tmp('hmmlab-x-')
    expect(readTarImage(img, dest)).toBe(2)
    expect(readFileSync(join(dest, 'release'), 'utf8')).toBe('6.12.118\n')
    expect(readFileSync(join(dest, 'p0', 'steps.txt'), 'utf8').length).toBe(10_000)
  })
})

describe('hmm-tests TAP', () => {
  it('parses passes, failures with their assertion, and skips with the reason', () => {
    const tap = [
      'TAP version 13',
      '1..3',
      '# Starting 3 tests from 2 test cases.',
      '#  RUN           hmm.hmm_device_private.open_close ...',
      '#            OK  hmm.hmm_device_private.open_close',
      'ok 1 hmm.hmm_device_private.open_close',
      '#  RUN           hmm.hmm_device_private.anon_read ...',
      '# hmm-tests.c:310:anon_read:Expected ret (-14) == 0 (0)',
      '# anon_read: Test terminated by assertion',
      '#          FAIL  hmm.hmm_device_private.anon_read',
      'not ok 2 hmm.hmm_device_private.anon_read',
      '#  RUN           hmm.hmm_device_coherent.open_close ...',
      '#      SKIP      DEVICE_COHERENT not available',
      'ok 3 hmm.hmm_device_coherent.open_close # SKIP DEVICE_COHERENT not available',
      '# FAILED: 1 / 3 tests passed.',
    ].join('\n')
    const cases = parseHmmTestsTap(tap)
    expect(cases).toHaveLength(3)
    expect(cases[0]).toMatchObject({ fixture: 'hmm', variant: 'hmm_device_private', test: 'open_close', status: 'pass', number: 1 })
    expect(cases[1]?.status).toBe('fail')
    expect(cases[1]?.message).toMatch(/Expected ret \(-14\) == 0/)
    expect(cases[2]).toMatchObject({ variant: 'hmm_device_coherent', status: 'skip', message: 'DEVICE_COHERENT not available' })
  })
  it('lists the tests a hmm-tests.c defines (its version of the selftests)', () => {
    const src =
      'FIXTURE(hmm) {};\nTEST_F(hmm, open_close)\n{\n}\n  TEST_F(hmm2, migrate_mixed)\nTEST(plain)\n// TEST_F(hmm, in_comment) is not at a line start\n'
    expect(listHmmTests(src)).toEqual([
      { fixture: 'hmm', test: 'open_close' },
      { fixture: 'hmm2', test: 'migrate_mixed' },
      { fixture: null, test: 'plain' },
    ])
  })
})

describe('build lock', () => {
  it("reads what a tree's test_hmm offers from its lib/test_hmm_uapi.h, else from the release", () => {
    const old = mkdtempSync(join(tmpdir(), 'hmmlab-tree-'))
    mkdirSync(join(old, 'lib'))
    writeFileSync(join(old, 'lib/test_hmm_uapi.h'), "#define HMM_DMIRROR_RELEASE\t\t_IOWR('H', 0x07, struct hmm_dmirror_cmd)\n")
    const newer = mkdtempSync(join(tmpdir(), 'hmmlab-tree-'))
    mkdirSync(join(newer, 'lib'))
    writeFileSync(
      join(newer, 'lib/test_hmm_uapi.h'),
      "#define HMM_DMIRROR_RELEASE\t\t_IOWR('H', 0x07, struct hmm_dmirror_cmd)\n#define HMM_DMIRROR_FLAGS\t\t_IOWR('H', 0x08, struct hmm_dmirror_cmd)\n",
    )
    expect(treeFeatures(old)).toEqual({ dmirrorFlags: false })
    expect(treeFeatures(newer)).toEqual({ dmirrorFlags: true })
    expect(treeFeatures(join(old, 'nothing'))).toBeNull()
    // a build.json that recorded it wins; else the tree; else the release
    expect(buildFeatures({ features: { dmirrorFlags: true }, tree: old, release: '6.12.118' })).toEqual({ dmirrorFlags: true })
    expect(buildFeatures({ tree: newer, release: '6.12.118' })).toEqual({ dmirrorFlags: true })
    expect(buildFeatures({ tree: '/nonexistent', release: '6.12.118' })).toEqual({ dmirrorFlags: false })
    expect(buildFeatures({ tree: '/nonexistent', release: '6.19.0-rc1' })).toEqual({ dmirrorFlags: true })
  })

  it("lets one build at a time use an object folder and takes over a dead owner's lock", async () => {
    const { lockObj } = await import('../../../src/main/services/oracle/kernel/build')
    const obj = join(tmp('hmmlab-lock-'), 'obj')
    const unlock = await lockObj(obj)
    let second = false
    const p = lockObj(obj).then((u) => {
      second = true
      return u
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(second).toBe(false)
    unlock()
    ;(await p)()
    expect(second).toBe(true)
    // a lock left by a process that no longer exists
    mkdirSync(`${obj}.lock`)
    writeFileSync(join(`${obj}.lock`, 'pid'), '999999999')
    ;(await lockObj(obj))()
  })
})
