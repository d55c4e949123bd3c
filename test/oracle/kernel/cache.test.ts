/**
 * The guest cache in two parts: a kernel key (version, source, fragment) for bzImage, .config and
 * struct offsets, and an image key (kernel key + executor, init, hmm-tests) for the initramfs. An
 * edit of the executor must find the cached kernel and build only the image; a config fragment
 * that did not change keeps the object folder's .config; a guest cached by the single key of the
 * earlier format is adopted, not rebuilt; nothing half-written is ever taken for a build.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  adoptLegacyGuest,
  buildGuest,
  BUILD_FORMAT,
  configPlan,
  findGuest,
  guestSources,
  imageKey,
  kernelKey,
  KERNEL_FORMAT,
  LEGACY_BUILD_FORMAT,
  legacyCacheKey,
  objDir,
  planBuild,
  readBuildMeta,
  readKernelMeta,
  writeConfigStamp,
  type KeyInputs,
} from '../../../src/main/services/oracle/kernel/build'
import { kprobeLines, type RangeLayout } from '../../../src/main/services/oracle/kernel/probes'
import { readCpio } from '../../../src/main/services/oracle/kernel/image'
import { whichAll } from '../../../src/main/services/oracle/kernel/qemu'

const tmp = (p: string): string => mkdtempSync(join(tmpdir(), p))

/** struct mmu_notifier_range as measured on 6.12 (what a build records in kernel.json). */
const LAYOUT_6_12: RangeLayout = {
  mm: 0,
  start: 8,
  end: 16,
  flags: 24,
  event: 28,
  owner: 32,
  events: ['UNMAP', 'CLEAR', 'PROTECTION_VMA', 'PROTECTION_PAGE', 'SOFT_DIRTY', 'RELEASE', 'MIGRATE', 'EXCLUSIVE'],
}

const base: KeyInputs = {
  version: '6.12.118',
  identity: 'tarball x 1 2',
  fragment: 'CONFIG_A=y\n',
  executor: 'int main(){}',
  init: '#!/bin/sh',
  hmmTests: 'TEST_F',
}

/** A kernel tree with just what planning reads, and a copy of this checkout's oracle/ sources. */
function fixture(): { tree: string; cache: string; guestRoot: string } {
  const tree = tmp('hmmlab-tree-')
  writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\nEXTRAVERSION =\n')
  // no TEST_HMM in this Kconfig: a kernel build would be refused, so a test that passes built none
  writeFileSync(join(tree, 'Kconfig'), 'config MMU_NOTIFIER\n\tbool\n')
  const guestRoot = tmp('hmmlab-checkout-')
  mkdirSync(join(guestRoot, 'oracle', 'guest'), { recursive: true })
  const g = guestSources()
  copyFileSync(g.fragment, join(guestRoot, 'oracle', 'kernel.config'))
  writeFileSync(join(guestRoot, 'oracle', 'guest', 'executor.c'), '/* the executor */\nint main(void) { return 0; }\n')
  copyFileSync(g.init, join(guestRoot, 'oracle', 'guest', 'init'))
  return { tree, cache: tmp('hmmlab-cache-'), guestRoot }
}

/** A kernel folder as a kernel build leaves it (the bzImage's bytes are not looked at here). */
function plantKernel(dir: string, key: string, tree: string): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'bzImage'), 'kernel image')
  writeFileSync(join(dir, 'config'), 'CONFIG_A=y\n')
  writeFileSync(
    join(dir, 'kernel.json'),
    JSON.stringify({
      format: KERNEL_FORMAT,
      kernelKey: key,
      release: '6.12.118',
      version: '6.12.118',
      source: tree,
      tree,
      configHash: '0123456789abcdef',
      options: [],
      layout: LAYOUT_6_12,
      probes: kprobeLines(LAYOUT_6_12),
      features: { dmirrorFlags: false },
      seconds: { config: 1, kernel: 2 },
      builtAt: '2026-12-06T00:00:00.000Z',
    }),
  )
}

describe('cache keys', () => {
  it('keys the kernel on its version, source and fragment only', () => {
    const k = kernelKey(base)
    expect(k).toMatch(/^[0-9a-f]{64}$/)
    expect(kernelKey({ ...base })).toBe(k)
    for (const f of ['version', 'identity', 'fragment'] as const) expect(kernelKey({ ...base, [f]: base[f] + ' ' })).not.toBe(k)
    // the guest's programs are not the kernel's inputs
    for (const f of ['executor', 'init', 'hmmTests'] as const) expect(kernelKey({ ...base, [f]: base[f] + ' ' })).toBe(k)
  })

  it('keys the image on the kernel key and every guest program', () => {
    const k = kernelKey(base)
    const i = imageKey(k, base)
    expect(i).toMatch(/^[0-9a-f]{64}$/)
    expect(i).not.toBe(k)
    expect(imageKey(kernelKey({ ...base, fragment: 'CONFIG_B=y\n' }), base)).not.toBe(i)
    for (const f of ['executor', 'init', 'hmmTests'] as const) expect(imageKey(k, { ...base, [f]: base[f] + ' ' })).not.toBe(i)
  })

  it('keeps the single key of hmmlab-oracle-build/1 to find guests cached by it', () => {
    // the formula of the earlier build.ts, over the same labelled inputs
    const l = legacyCacheKey(base)
    expect(l).not.toBe(imageKey(kernelKey(base), base))
    for (const f of Object.keys(base) as Array<keyof KeyInputs>) expect(legacyCacheKey({ ...base, [f]: base[f] + ' ' })).not.toBe(l)
  })

  it('plans an executor edit as a new image on the same kernel folder', () => {
    const { tree, cache, guestRoot } = fixture()
    const before = planBuild({ tree, cacheRoot: cache, guestRoot })
    if (!before) throw new Error('no plan')
    expect(before.kernelDir).toBe(join(cache, 'kernel', before.kernelKey.slice(0, 16)))
    expect(before.dir).toBe(join(cache, before.key.slice(0, 16)))
    writeFileSync(join(guestRoot, 'oracle', 'guest', 'executor.c'), '/* the executor, edited */\nint main(void) { return 0; }\n')
    const after = planBuild({ tree, cacheRoot: cache, guestRoot })
    expect(after?.kernelDir).toBe(before.kernelDir)
    expect(after?.dir).not.toBe(before.dir)
    // the fragment is the kernel's: both change
    writeFileSync(join(guestRoot, 'oracle', 'kernel.config'), readFileSync(guestSources().fragment, 'utf8') + 'CONFIG_EXTRA=y\n')
    const frag = planBuild({ tree, cacheRoot: cache, guestRoot })
    expect(frag?.kernelDir).not.toBe(before.kernelDir)
    expect(frag?.dir).not.toBe(after?.dir)
  })
})

describe('object folder config', () => {
  it('keeps a .config made from the same fragment, refreshes it for a changed source, redoes it otherwise', () => {
    const obj = tmp('hmmlab-obj-')
    expect(configPlan(obj, base)).toBe('tinyconfig')
    writeFileSync(join(obj, '.config'), 'CONFIG_A=y\n')
    // a .config without the record of how it was made
    expect(configPlan(obj, base)).toBe('tinyconfig')
    writeConfigStamp(obj, base, 'CONFIG_A=y\n')
    expect(configPlan(obj, base)).toBe('keep')
    // the executor is not the kernel's business
    expect(configPlan(obj, { ...base, executor: 'other' } as KeyInputs)).toBe('keep')
    expect(configPlan(obj, { ...base, identity: 'tarball x 1 3' })).toBe('olddefconfig')
    expect(configPlan(obj, { ...base, version: '6.12.119' })).toBe('olddefconfig')
    expect(configPlan(obj, { ...base, fragment: 'CONFIG_A=y\nCONFIG_B=y\n' })).toBe('tinyconfig')
    // a .config changed since it was verified is not trusted
    writeFileSync(join(obj, '.config'), 'CONFIG_A=n\n')
    expect(configPlan(obj, base)).toBe('tinyconfig')
  })
})

describe('legacy guests', () => {
  function plantLegacy(cache: string, tree: string, guestRoot: string): string {
    const plan = planBuild({ tree, cacheRoot: cache, guestRoot })
    if (!plan) throw new Error('no plan')
    const dir = plan.legacyDir
    mkdirSync(dir)
    for (const [f, text] of [
      ['bzImage', 'legacy kernel'],
      ['config', 'CONFIG_A=y\n'],
      ['executor', 'legacy executor'],
      ['hmm-tests', 'legacy hmm-tests'],
      ['initramfs.cpio', 'legacy image'],
    ])
      writeFileSync(join(dir, f as string), text as string)
    writeFileSync(
      join(dir, 'build.json'),
      JSON.stringify({
        format: LEGACY_BUILD_FORMAT,
        cacheKey: legacyCacheKey(plan.inputs),
        release: '6.12.118',
        version: '6.12.118',
        source: 'linux-source-6.12 (Debian)',
        tree,
        configHash: 'fedcba9876543210',
        options: [{ name: 'CONFIG_A', want: 'y', got: 'y', ok: true, required: false, why: null }],
        layout: LAYOUT_6_12,
        probes: kprobeLines(LAYOUT_6_12),
        hmmTests: true,
        hmmTestsNote: null,
        hmmTestsList: [{ fixture: 'hmm', test: 'open_close' }],
        seconds: { config: 56, kernel: 658, tools: 4, total: 720 },
        builtAt: '2026-12-06T19:36:00.000Z',
      }),
    )
    return dir
  }

  it('adopts a guest of the same inputs by hard links, leaving it in place', () => {
    const { tree, cache, guestRoot } = fixture()
    const legacy = plantLegacy(cache, tree, guestRoot)
    const said: string[] = []
    const g = findGuest({ tree, cacheRoot: cache, guestRoot, onProgress: (m) => said.push(m) })
    const plan = planBuild({ tree, cacheRoot: cache, guestRoot })
    if (!g || !plan) throw new Error('not adopted')
    expect(g.dir).toBe(plan.dir)
    expect(g.meta).toMatchObject({ format: BUILD_FORMAT, cacheKey: plan.key, kernelKey: plan.kernelKey, release: '6.12.118', adoptedFrom: legacy })
    expect(g.meta.features).toEqual({ dmirrorFlags: false })
    const k = readKernelMeta(plan.kernelDir)
    expect(k).toMatchObject({ format: KERNEL_FORMAT, kernelKey: plan.kernelKey, configHash: 'fedcba9876543210', adoptedFrom: legacy })
    expect(k?.layout).toEqual(LAYOUT_6_12)
    // the same files, not copies, and the legacy folder untouched
    expect(statSync(join(plan.kernelDir, 'bzImage')).ino).toBe(statSync(join(legacy, 'bzImage')).ino)
    expect(statSync(join(plan.dir, 'bzImage')).ino).toBe(statSync(join(legacy, 'bzImage')).ino)
    expect(statSync(join(plan.dir, 'initramfs.cpio')).ino).toBe(statSync(join(legacy, 'initramfs.cpio')).ino)
    expect(readBuildMeta(legacy)?.format).toBe(LEGACY_BUILD_FORMAT)
    expect(said.some((m) => m.includes('adopted'))).toBe(true)
    // a second look finds the adopted guest as it is
    expect(findGuest({ tree, cacheRoot: cache, guestRoot })?.meta.adoptedFrom).toBe(legacy)
    expect(readdirSync(cache).filter((f) => f.startsWith('.tmp'))).toEqual([])
  })

  it('records the kept object folder config when it is the one the adopted kernel was built from', () => {
    const { tree, cache, guestRoot } = fixture()
    plantLegacy(cache, tree, guestRoot)
    const obj = objDir(cache, tree)
    mkdirSync(obj, { recursive: true })
    writeFileSync(join(obj, '.config'), 'CONFIG_A=y\n')
    findGuest({ tree, cacheRoot: cache, guestRoot })
    const plan = planBuild({ tree, cacheRoot: cache, guestRoot })
    expect(configPlan(obj, plan?.inputs as KeyInputs)).toBe('keep')
  })

  it('adopts the kernel of a legacy guest of these sources when the executor changed afterwards', () => {
    const { tree, cache, guestRoot } = fixture()
    const before = planBuild({ tree, cacheRoot: cache, guestRoot })
    plantLegacy(cache, tree, guestRoot)
    expect(adoptLegacyGuest(before as NonNullable<typeof before>)).not.toBeNull()
    writeFileSync(join(guestRoot, 'oracle', 'guest', 'executor.c'), 'int main(void) { return 1; }\n')
    // no legacy folder has these inputs: nothing to adopt, but the kernel folder is there
    expect(findGuest({ tree, cacheRoot: cache, guestRoot })).toBeNull()
    expect(readKernelMeta(planBuild({ tree, cacheRoot: cache, guestRoot })?.kernelDir as string)).not.toBeNull()
  })

  it('does not adopt a folder whose build.json was made from other inputs', () => {
    const { tree, cache, guestRoot } = fixture()
    const legacy = plantLegacy(cache, tree, guestRoot)
    const bj = JSON.parse(readFileSync(join(legacy, 'build.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(legacy, 'build.json'), JSON.stringify({ ...bj, cacheKey: 'f'.repeat(64) }))
    expect(findGuest({ tree, cacheRoot: cache, guestRoot })).toBeNull()
    expect(existsSync(join(cache, 'kernel'))).toBe(false)
  })
})

const tools = whichAll(['cc'])
const busybox = ['/bin/busybox', '/usr/bin/busybox'].some((p) => existsSync(p))
const why = !tools.has('cc') ? 'no C compiler (build-essential)' : !busybox ? 'no busybox (busybox-static)' : null
if (why) console.log(`[guest image build test skipped] ${why}`)

describe.skipIf(why !== null)('building a guest image on a cached kernel', () => {
  it('compiles only the guest programs and packs the image; never configures or makes a kernel', { timeout: 300_000 }, async () => {
    const { tree, cache, guestRoot } = fixture()
    const plan = planBuild({ tree, cacheRoot: cache, guestRoot })
    if (!plan) throw new Error('no plan')
    plantKernel(plan.kernelDir, plan.kernelKey, tree)
    const said: string[] = []
    const { dir, meta } = await buildGuest({ tree, cacheRoot: cache, guestRoot, onProgress: (m) => said.push(m) })
    expect(dir).toBe(plan.dir)
    expect(meta).toMatchObject({ format: BUILD_FORMAT, cacheKey: plan.key, kernelKey: plan.kernelKey, release: '6.12.118', hmmTests: false })
    expect(meta.seconds.config).toBe(0)
    expect(meta.seconds.kernel).toBe(0)
    expect(said.some((m) => m.startsWith('cached kernel'))).toBe(true)
    expect(said.some((m) => /tinyconfig|olddefconfig|building the kernel|Kconfig/.test(m))).toBe(false)
    expect(existsSync(join(cache, 'obj'))).toBe(false)
    // the kernel's image is linked, the programs are in the archive
    expect(statSync(join(dir, 'bzImage')).ino).toBe(statSync(join(plan.kernelDir, 'bzImage')).ino)
    const paths = readCpio(readFileSync(join(dir, 'initramfs.cpio'))).map((e) => e.path)
    expect(paths).toEqual(expect.arrayContaining(['init', 'executor', 'bin/busybox']))
    expect(readBuildMeta(dir)?.cacheKey).toBe(plan.key)
    // an executor that does not compile leaves no guest behind, and no temporary folder
    writeFileSync(join(guestRoot, 'oracle', 'guest', 'executor.c'), 'int main(void) { return }\n')
    const broken = planBuild({ tree, cacheRoot: cache, guestRoot })
    await expect(buildGuest({ tree, cacheRoot: cache, guestRoot })).rejects.toThrow(/executor failed/)
    expect(existsSync(broken?.dir as string)).toBe(false)
    expect(readdirSync(cache).filter((f) => f.startsWith('.tmp'))).toEqual([])
    expect(readdirSync(join(cache, 'kernel')).filter((f) => f.startsWith('.tmp'))).toEqual([])
  })
})
