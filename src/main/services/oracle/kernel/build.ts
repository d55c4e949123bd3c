/**
 * Builds the guest (kernel, hmm-tests, executor, initramfs) and caches it, in two parts.
 *
 * Source: Debian's /usr/src/linux-source-6.12.tar.xz (extracted once under the cache) or a tree
 * the user names, always built out of tree (`make O=...`) so the user's tree stays clean.
 * Config: `make tinyconfig`, the fragment oracle/kernel.config appended, `make olddefconfig`, then
 * every fragment option checked (kconfig.ts). An object folder whose .config was made from the
 * same fragment keeps it (at most `make olddefconfig` when the tree changed): rewriting it through
 * tinyconfig costs a rebuild of most of the kernel.
 * Cache ($XDG_CACHE_HOME/hmm-lab/oracle, default ~/.cache/hmm-lab/oracle):
 *  - kernel/<kernel key>/: bzImage, the verified .config, kernel.json (release, options, struct
 *    offsets, probes); kernel key = sha256 of the kernel version, the tree's identity, the fragment
 *    and the kernel format. Minutes to build.
 *  - <image key>/: the guest a run boots: the kernel's bzImage and config (hard links), the
 *    executor, hmm-tests, initramfs.cpio and build.json; image key = sha256 of the kernel key, the
 *    executor, init and hmm-tests sources. Seconds to build from a cached kernel, so editing the
 *    guest's programs never rebuilds the kernel.
 * Both are built in a temporary folder renamed into place at the end: a cache folder is complete
 * or absent. The object folder (obj/) is kept between builds, so a changed fragment rebuilds
 * incrementally. A guest cached by the single key of earlier versions (hmmlab-oracle-build/1,
 * <full key>/) whose inputs are the current ones is adopted (hard links), not rebuilt.
 */
import { spawn, execFileSync } from 'node:child_process'
import { withParentDeathSignal } from '../../parent-death'
import { createHash } from 'node:crypto'
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { availableParallelism, homedir } from 'node:os'
import { basename, join } from 'node:path'
import { appRoot } from '../../../paths'
import { parseDotConfig, parseFragment, REQUIRED_OPTIONS, scanKconfig, verifyConfig, type OptionCheck } from './kconfig'
import { guestInitramfs } from './image'
import { measureTreeLayout, kprobeLines, type RangeLayout } from './probes'
import { listHmmTests } from './tap'

export const DEBIAN_TARBALL = '/usr/src/linux-source-6.12.tar.xz'
export const DEBIAN_SOURCE = 'linux-source-6.12 (Debian)'
/** build.json of a guest image folder. */
export const BUILD_FORMAT = 'hmmlab-oracle-build/2'
/** build.json of a guest cached by the single key of earlier versions (still readable, adopted). */
export const LEGACY_BUILD_FORMAT = 'hmmlab-oracle-build/1'
/** kernel.json of a kernel folder (part of the kernel key: a new format rebuilds kernels). */
export const KERNEL_FORMAT = 'hmmlab-oracle-kernel/1'

/** What a built kernel is, whatever guest programs boot on it (kernel/<key>/kernel.json). */
export interface KernelMeta {
  format: typeof KERNEL_FORMAT
  kernelKey: string
  release: string
  version: string
  source: string
  tree: string
  configHash: string
  options: OptionCheck[]
  layout: RangeLayout
  probes: string[]
  features: TreeFeatures
  seconds: { config: number; kernel: number }
  builtAt: string
  /** The legacy guest folder the bzImage and config were taken from, when adopted. */
  adoptedFrom?: string
}

export interface BuildMeta {
  format: typeof BUILD_FORMAT | typeof LEGACY_BUILD_FORMAT
  /** The image key (the single key of a legacy build). */
  cacheKey: string
  /** The kernel this image boots (absent in legacy builds). */
  kernelKey?: string
  kernelDir?: string
  release: string
  version: string
  source: string
  tree: string
  configHash: string
  options: OptionCheck[]
  layout: RangeLayout
  probes: string[]
  hmmTests: boolean
  hmmTestsNote: string | null
  /** The TEST_F / TEST names of the tree's hmm-tests.c (which version each test comes from). */
  hmmTestsList: Array<{ fixture: string | null; test: string }>
  /** What the tree's test_hmm offers beyond 6.12's (absent in builds made before it was recorded). */
  features?: TreeFeatures
  /** This build's seconds: config and kernel are 0 when the kernel came from the cache. */
  seconds: { config: number; kernel: number; tools: number; total: number }
  builtAt: string
  /** The legacy guest folder this image was adopted from. */
  adoptedFrom?: string
}

export interface BuildOpts {
  tree?: string | undefined
  cacheRoot?: string | undefined
  onProgress?: ((message: string) => void) | undefined
  signal?: AbortSignal | undefined
  /** The checkout whose oracle/ sources go into the guest (default: this one; tests use a copy). */
  guestRoot?: string | undefined
}

export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache')
  return join(base, 'hmm-lab', 'oracle')
}

/** The guest sources of this checkout that go into every build (and into the key). */
export function guestSources(root = appRoot()): { fragment: string; executor: string; init: string } {
  return { fragment: join(root, 'oracle', 'kernel.config'), executor: join(root, 'oracle', 'guest', 'executor.c'), init: join(root, 'oracle', 'guest', 'init') }
}

export interface TreeFeatures {
  /** lib/test_hmm_uapi.h defines HMM_DMIRROR_FLAGS (added after 6.12). */
  dmirrorFlags: boolean
}

/** What a tree's test_hmm offers, from its lib/test_hmm_uapi.h; null when the file is not there. */
export function treeFeatures(tree: string): TreeFeatures | null {
  const p = join(tree, 'lib', 'test_hmm_uapi.h')
  if (!existsSync(p)) return null
  return { dmirrorFlags: /^#define\s+HMM_DMIRROR_FLAGS\b/m.test(readFileSync(p, 'utf8')) }
}

/**
 * The features of a build: recorded in its build.json, or read again from its tree, or (the tree
 * gone) from the release: 6.12 and older have no HMM_DMIRROR_FLAGS; a newer release is let
 * through (the kernel's answer is then compared as it is).
 */
export function buildFeatures(m: Pick<BuildMeta, 'features' | 'tree' | 'release'>): TreeFeatures {
  if (m.features) return m.features
  const t = treeFeatures(m.tree)
  if (t) return t
  const v = /^(\d+)\.(\d+)/.exec(m.release)
  const old = v !== null && (Number(v[1]) < 6 || (Number(v[1]) === 6 && Number(v[2]) <= 12))
  return { dmirrorFlags: !old }
}

/** VERSION.PATCHLEVEL.SUBLEVEL + EXTRAVERSION from a tree's Makefile. */
export function treeVersion(makefile: string): string {
  const get = (k: string): string => new RegExp(`^${k}[ \\t]*=[ \\t]*(.*)$`, 'm').exec(makefile)?.[1]?.trim() ?? ''
  const v = get('VERSION')
  if (!/^\d+$/.test(v)) throw new Error('not a kernel tree: its Makefile has no VERSION')
  return `${v}.${get('PATCHLEVEL')}.${get('SUBLEVEL')}${get('EXTRAVERSION')}`
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex')

/** What decides the kernel: a change of any rebuilds it (incrementally, in the kept object folder). */
export interface KernelKeyInputs {
  version: string
  /** What identifies the source beyond its version: the tarball's size and mtime, or a git tree's HEAD and dirty state. */
  identity: string
  fragment: string
}

/** Every input of a guest: the kernel's, then the programs packed into its initramfs. */
export interface KeyInputs extends KernelKeyInputs {
  executor: string
  init: string
  hmmTests: string
}

/** The kernel key: sha256 over the kernel format, version, source identity and fragment, labelled. */
export function kernelKey(k: KernelKeyInputs): string {
  return sha256([`format ${KERNEL_FORMAT}`, `version ${k.version}`, `identity ${k.identity}`, `fragment ${sha256(k.fragment)}`].join('\n'))
}

/** The image key: the kernel key and the guest programs' sources (not the kernel's inputs again). */
export function imageKey(kernel: string, k: Pick<KeyInputs, 'executor' | 'init' | 'hmmTests'>): string {
  return sha256(
    [`format ${BUILD_FORMAT}`, `kernel ${kernel}`, `executor ${sha256(k.executor)}`, `init ${sha256(k.init)}`, `hmm-tests ${sha256(k.hmmTests)}`].join('\n'),
  )
}

/** The single key of hmmlab-oracle-build/1 (kept to find and adopt guests cached by it). */
export function legacyCacheKey(k: KeyInputs): string {
  return sha256(
    [
      `format ${LEGACY_BUILD_FORMAT}`,
      `version ${k.version}`,
      `identity ${k.identity}`,
      `fragment ${sha256(k.fragment)}`,
      `executor ${sha256(k.executor)}`,
      `init ${sha256(k.init)}`,
      `hmm-tests ${sha256(k.hmmTests)}`,
    ].join('\n'),
  )
}

interface Source {
  /** The tree make runs in (read-only for us). */
  tree: string
  source: string
  identity: string
  /** Null when the Debian tarball still has to be extracted. */
  ready: boolean
}

function gitIdentity(tree: string): string | null {
  try {
    const head = execFileSync('git', ['-C', tree, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['-C', tree, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 << 20,
    })
    return `git ${head} dirty ${sha256(dirty)}`
  } catch {
    return null
  }
}

function resolveSource(opts: BuildOpts, cacheRoot: string): Source {
  if (opts.tree !== undefined) {
    let tree: string
    try {
      tree = realpathSync(opts.tree)
    } catch {
      throw new Error(`--kernel-tree ${opts.tree}: no such folder`)
    }
    if (!existsSync(join(tree, 'Makefile')) || !existsSync(join(tree, 'Kconfig')))
      throw new Error(`--kernel-tree ${opts.tree}: not a kernel tree (no Makefile and Kconfig at its top)`)
    return { tree, source: tree, identity: gitIdentity(tree) ?? `path ${tree}`, ready: true }
  }
  if (!existsSync(DEBIAN_TARBALL)) throw new Error(`${DEBIAN_TARBALL} is missing: sudo apt-get install linux-source-6.12 (or pass --kernel-tree DIR)`)
  const st = statSync(DEBIAN_TARBALL)
  const tree = join(cacheRoot, 'src', 'linux-source-6.12')
  return { tree, source: DEBIAN_SOURCE, identity: `tarball ${DEBIAN_TARBALL} ${st.size} ${Math.floor(st.mtimeMs)}`, ready: existsSync(join(tree, 'Makefile')) }
}

function hmmTestsSource(tree: string): string {
  const p = join(tree, 'tools/testing/selftests/mm/hmm-tests.c')
  return existsSync(p) ? readFileSync(p, 'utf8') : ''
}

export interface BuildPlan {
  /** The image key. */
  key: string
  /** The guest image folder: <cacheRoot>/<image key, 16 hex>. */
  dir: string
  kernelKey: string
  /** The kernel folder: <cacheRoot>/kernel/<kernel key, 16 hex>. */
  kernelDir: string
  /** Where hmmlab-oracle-build/1 would have cached a guest of these very inputs. */
  legacyDir: string
  source: Source
  version: string
  inputs: KeyInputs
}

/** The kernel folder of a kernel key. */
export function kernelDirOf(cacheRoot: string, key: string): string {
  return join(cacheRoot, 'kernel', key.slice(0, 16))
}

/** Keys and folders for these options without building anything (the tarball must be extracted for its hmm-tests to count: until then, null). */
export function planBuild(opts: BuildOpts): BuildPlan | null {
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot()
  const src = resolveSource(opts, cacheRoot)
  if (!src.ready) return null
  const g = guestSources(opts.guestRoot)
  const version = treeVersion(readFileSync(join(src.tree, 'Makefile'), 'utf8'))
  const inputs: KeyInputs = {
    version,
    identity: src.identity,
    fragment: readFileSync(g.fragment, 'utf8'),
    executor: readFileSync(g.executor, 'utf8'),
    init: readFileSync(g.init, 'utf8'),
    hmmTests: hmmTestsSource(src.tree),
  }
  const kk = kernelKey(inputs)
  const key = imageKey(kk, inputs)
  return {
    key,
    dir: join(cacheRoot, key.slice(0, 16)),
    kernelKey: kk,
    kernelDir: kernelDirOf(cacheRoot, kk),
    legacyDir: join(cacheRoot, legacyCacheKey(inputs).slice(0, 16)),
    source: src,
    version,
    inputs,
  }
}

/** A complete guest folder's build.json (this format or the legacy one), or null. */
export function readBuildMeta(dir: string): BuildMeta | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as BuildMeta
    if (m.format !== BUILD_FORMAT && m.format !== LEGACY_BUILD_FORMAT) return null
    for (const f of ['bzImage', 'initramfs.cpio', 'executor']) if (!existsSync(join(dir, f))) return null
    return m
  } catch {
    return null
  }
}

/** A complete kernel folder's kernel.json, or null. */
export function readKernelMeta(dir: string): KernelMeta | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')) as KernelMeta
    if (m.format !== KERNEL_FORMAT) return null
    for (const f of ['bzImage', 'config']) if (!existsSync(join(dir, f))) return null
    return m
  } catch {
    return null
  }
}

/** Hard-links `from` to `to` (same file system: no copy), else copies it. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to)
  } catch {
    copyFileSync(from, to)
  }
}

/**
 * Renames a finished temporary folder to `dest`; when another process put a complete one there
 * first, keeps that one. Returns the folder that is in place.
 */
function publish<M>(tmp: string, dest: string, read: (d: string) => M | null): M | null {
  const other = read(dest)
  if (other) return other
  if (existsSync(dest)) rmSync(dest, { recursive: true, force: true })
  try {
    renameSync(tmp, dest)
  } catch (e) {
    const won = read(dest)
    if (won) return won
    throw e
  }
  return null
}

function newTmp(parent: string, key: string): string {
  mkdirSync(parent, { recursive: true })
  const tmp = join(parent, `.tmp-${key.slice(0, 16)}-${process.pid}-${Date.now()}`)
  mkdirSync(tmp)
  return tmp
}

/**
 * A guest cached by the single key of hmmlab-oracle-build/1 for exactly these inputs becomes
 * this layout's kernel folder and image folder (hard links and new metadata: nothing compiles,
 * the legacy folder stays as it is). Returns the image's metadata, or null when there is none.
 */
export function adoptLegacyGuest(plan: BuildPlan, onProgress?: (m: string) => void): BuildMeta | null {
  const legacy = readBuildMeta(plan.legacyDir)
  if (!legacy || legacy.format !== LEGACY_BUILD_FORMAT || legacy.cacheKey !== legacyCacheKey(plan.inputs)) return null
  if (!existsSync(join(plan.legacyDir, 'config'))) return null
  const cacheRoot = join(plan.dir, '..')
  let kmeta = readKernelMeta(plan.kernelDir)
  if (!kmeta) {
    const tmp = newTmp(join(cacheRoot, 'kernel'), plan.kernelKey)
    try {
      linkOrCopy(join(plan.legacyDir, 'bzImage'), join(tmp, 'bzImage'))
      linkOrCopy(join(plan.legacyDir, 'config'), join(tmp, 'config'))
      const m: KernelMeta = {
        format: KERNEL_FORMAT,
        kernelKey: plan.kernelKey,
        release: legacy.release,
        version: legacy.version,
        source: legacy.source,
        tree: legacy.tree,
        configHash: legacy.configHash,
        options: legacy.options,
        layout: legacy.layout,
        probes: legacy.probes,
        features: buildFeatures(legacy),
        seconds: { config: legacy.seconds.config, kernel: legacy.seconds.kernel },
        builtAt: legacy.builtAt,
        adoptedFrom: plan.legacyDir,
      }
      writeFileSync(join(tmp, 'kernel.json'), JSON.stringify(m, null, 2) + '\n')
      kmeta = publish(tmp, plan.kernelDir, readKernelMeta) ?? m
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    onProgress?.(`kernel ${kmeta.release} adopted from the earlier cache folder ${plan.legacyDir} into ${plan.kernelDir}`)
    // the object folder's .config is the one that kernel was built from: a later kernel build
    // with the same fragment keeps it instead of going through tinyconfig again
    const obj = objDir(cacheRoot, plan.source.tree)
    try {
      const dot = readFileSync(join(obj, '.config'), 'utf8')
      if (!existsSync(join(obj, CONFIG_STAMP)) && dot === readFileSync(join(plan.kernelDir, 'config'), 'utf8')) writeConfigStamp(obj, plan.inputs, dot)
    } catch {
      // no object folder: nothing to record
    }
  }
  const found = readBuildMeta(plan.dir)
  if (found) return found
  const tmp = newTmp(cacheRoot, plan.key)
  try {
    for (const f of ['bzImage', 'config']) linkOrCopy(join(plan.kernelDir, f), join(tmp, f))
    for (const f of ['executor', 'initramfs.cpio', ...(legacy.hmmTests ? ['hmm-tests'] : [])]) linkOrCopy(join(plan.legacyDir, f), join(tmp, f))
    const meta: BuildMeta = {
      ...legacy,
      format: BUILD_FORMAT,
      cacheKey: plan.key,
      kernelKey: plan.kernelKey,
      kernelDir: plan.kernelDir,
      features: buildFeatures(legacy),
      adoptedFrom: plan.legacyDir,
    }
    writeFileSync(join(tmp, 'build.json'), JSON.stringify(meta, null, 2) + '\n')
    const other = publish(tmp, plan.dir, readBuildMeta)
    onProgress?.(`guest adopted from the earlier cache folder ${plan.legacyDir} into ${plan.dir}`)
    return other ?? meta
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** The cached guest for these options (adopting a legacy one), or null; never builds. */
export function findGuest(opts: BuildOpts): { dir: string; meta: BuildMeta } | null {
  const plan = planBuild(opts)
  if (!plan) return null
  const m = readBuildMeta(plan.dir) ?? adoptLegacyGuest(plan, opts.onProgress)
  return m ? { dir: plan.dir, meta: m } : null
}

/** Runs a command, condensing its output into progress lines; rejects with the output's tail on failure. */
export function runLogged(
  cmd: string,
  args: string[],
  o: { cwd?: string; label: string; onProgress?: ((m: string) => void) | undefined; signal?: AbortSignal | undefined; every?: number; log?: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    // killed by the kernel if this process dies first (parent-death.ts)
    const child = spawn(...withParentDeathSignal(cmd, args), { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
    let lines = 0
    let lastReport = Date.now()
    let lastLine = ''
    const tail: string[] = []
    let partial = ''
    const onData = (b: Buffer): void => {
      const text = partial + b.toString('utf8')
      const parts = text.split('\n')
      partial = parts.pop() ?? ''
      for (const l of parts) {
        lines++
        lastLine = l.trim()
        tail.push(l)
        if (tail.length > 40) tail.shift()
        if (o.log) appendFileSync(o.log, l + '\n')
      }
      const now = Date.now()
      if (o.onProgress && (now - lastReport > 15_000 || (o.every !== undefined && lines % o.every === 0 && lines > 0))) {
        lastReport = now
        o.onProgress(`${o.label}: ${lines} lines, ${Math.round((now - t0) / 1000)} s (${lastLine.slice(0, 80)})`)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const abort = (): void => {
      child.kill('SIGTERM')
    }
    o.signal?.addEventListener('abort', abort, { once: true })
    child.on('error', (e) => reject(new Error(`${o.label}: ${cmd}: ${e.message}`)))
    child.on('close', (code, sig) => {
      o.signal?.removeEventListener('abort', abort)
      if (o.signal?.aborted) reject(new Error(`${o.label}: aborted`))
      else if (code === 0) {
        o.onProgress?.(`${o.label}: done in ${Math.round((Date.now() - t0) / 1000)} s`)
        resolve()
      } else reject(new Error(`${o.label} failed (${sig ?? 'exit ' + String(code)}):\n${tail.join('\n')}`))
    })
  })
}

async function extractDebian(cacheRoot: string, o: BuildOpts): Promise<void> {
  const srcRoot = join(cacheRoot, 'src')
  mkdirSync(srcRoot, { recursive: true })
  const tmp = join(srcRoot, `.tmp-${process.pid}-${Date.now()}`)
  mkdirSync(tmp)
  try {
    o.onProgress?.(`extracting ${DEBIAN_TARBALL} (1.7 GB unpacked)`)
    await runLogged('tar', ['-xJf', DEBIAN_TARBALL, '-C', tmp], { label: 'extract', onProgress: o.onProgress, signal: o.signal })
    const inner = readdirSync(tmp).find((d) => existsSync(join(tmp, d, 'Makefile')))
    if (!inner) throw new Error(`${DEBIAN_TARBALL} holds no kernel tree`)
    const dest = join(srcRoot, 'linux-source-6.12')
    if (!existsSync(dest)) renameSync(join(tmp, inner), dest)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * The object folder of a tree: kept between builds (incremental), never the cache entry itself.
 * Its name must not change (kbuild records it in every .cmd file: a renamed folder rebuilds all).
 */
export function objDir(cacheRoot: string, tree: string): string {
  if (tree === join(cacheRoot, 'src', 'linux-source-6.12')) return join(cacheRoot, 'obj', 'linux-source-6.12-debian')
  return join(cacheRoot, 'obj', `${basename(tree)}-${sha256(tree).slice(0, 8)}`)
}

/** Recorded in an object folder once its .config was made from a fragment and verified. */
const CONFIG_STAMP = '.hmmlab-config.json'
interface ConfigStamp {
  fragment: string
  version: string
  identity: string
  /** sha256 of the .config as verified (a .config changed since is not trusted). */
  config: string
}

/**
 * How to configure an object folder for these inputs: `keep` its .config (made from this fragment
 * for this very source), refresh it with `olddefconfig` (same fragment, the source changed: new or
 * removed options get their defaults, the rest stays), or start over from `tinyconfig` (no
 * .config, another fragment, or a .config edited since it was verified). tinyconfig rewrites
 * every option through allnoconfig, and kbuild then rebuilds most of the kernel: never again for
 * an unchanged fragment.
 */
export function configPlan(obj: string, k: KernelKeyInputs): 'keep' | 'olddefconfig' | 'tinyconfig' {
  let st: Partial<ConfigStamp>
  let dot: string
  try {
    st = JSON.parse(readFileSync(join(obj, CONFIG_STAMP), 'utf8')) as Partial<ConfigStamp>
    dot = readFileSync(join(obj, '.config'), 'utf8')
  } catch {
    return 'tinyconfig'
  }
  if (st.fragment !== sha256(k.fragment) || st.config !== sha256(dot)) return 'tinyconfig'
  return st.version === k.version && st.identity === k.identity ? 'keep' : 'olddefconfig'
}

/** Records that `obj`'s current .config was made from these inputs and verified. */
export function writeConfigStamp(obj: string, k: KernelKeyInputs, dot: string): void {
  const stamp: ConfigStamp = { fragment: sha256(k.fragment), version: k.version, identity: k.identity, config: sha256(dot) }
  const tmp = join(obj, `${CONFIG_STAMP}.${process.pid}`)
  writeFileSync(tmp, JSON.stringify(stamp) + '\n')
  renameSync(tmp, join(obj, CONFIG_STAMP))
}

/** Builds (or finds) the guest for these options: the kernel only when its key has no folder, then the image. */
export async function buildGuest(opts: BuildOpts): Promise<{ dir: string; meta: BuildMeta }> {
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot()
  const onProgress = opts.onProgress
  const t0 = Date.now()
  let plan = planBuild(opts)
  if (!plan) {
    await extractDebian(cacheRoot, opts)
    plan = planBuild(opts)
    if (!plan) throw new Error('the extracted kernel tree is incomplete')
  }
  const found = readBuildMeta(plan.dir) ?? adoptLegacyGuest(plan, onProgress)
  if (found) {
    onProgress?.(`cached guest ${plan.dir} (${found.release})`)
    return { dir: plan.dir, meta: found }
  }
  let kernel = readKernelMeta(plan.kernelDir)
  let seconds = { config: 0, kernel: 0 }
  if (kernel) onProgress?.(`cached kernel ${plan.kernelDir} (${kernel.release}): building only the guest image`)
  else {
    kernel = await buildKernelFolder(plan, cacheRoot, opts)
    seconds = kernel.seconds
  }
  return buildImage(plan, kernel, seconds, t0, opts)
}

/** Configures, verifies and builds the kernel of `plan` into its kernel folder. */
async function buildKernelFolder(plan: BuildPlan, cacheRoot: string, opts: BuildOpts): Promise<KernelMeta> {
  const onProgress = opts.onProgress
  const { tree, source } = plan.source
  // before minutes of make: the options the oracle cannot do without must exist in this tree
  onProgress?.(`reading the Kconfig of ${source}`)
  const kconfig = scanKconfig(tree)
  const absent = [...REQUIRED_OPTIONS].filter((n) => !kconfig.has(n))
  if (absent.length > 0) {
    throw new Error(
      `${source} (${plan.version}) cannot give the oracle's guest: its Kconfig has no ${absent.join(', ')}` +
        (absent.includes('CONFIG_TEST_HMM') ? ' (test_hmm, lib/test_hmm.c, is the driver the oracle runs scenarios through)' : '') +
        '; build from a tree that has them',
    )
  }
  const obj = objDir(cacheRoot, tree)
  mkdirSync(obj, { recursive: true })
  const unlock = await lockObj(obj, onProgress, opts.signal)
  let tmp: string | null = null
  try {
    const again = readKernelMeta(plan.kernelDir)
    if (again) {
      onProgress?.(`cached kernel ${plan.kernelDir} (${again.release}), built meanwhile by another process`)
      return again
    }
    tmp = newTmp(join(cacheRoot, 'kernel'), plan.kernelKey)
    const log = join(tmp, 'build.log')
    const make = (args: string[], label: string, every?: number): Promise<void> =>
      runLogged('make', ['-C', tree, `O=${obj}`, 'ARCH=x86_64', ...args], {
        label,
        onProgress,
        signal: opts.signal,
        log,
        ...(every !== undefined ? { every } : {}),
      })
    // config: tinyconfig + fragment + olddefconfig (or the kept .config), then option by option;
    // the fragment as it was keyed, so a checkout that changes meanwhile cannot put another under this key
    const tc = Date.now()
    const fragmentText = plan.inputs.fragment
    const fragment = parseFragment(fragmentText, guestSources(opts.guestRoot).fragment)
    const how = configPlan(obj, plan.inputs)
    if (how === 'tinyconfig') {
      onProgress?.(`configuring ${source} (${plan.version}) in ${obj}: tinyconfig + fragment + olddefconfig`)
      rmSync(join(obj, CONFIG_STAMP), { force: true })
      await make(['tinyconfig'], 'tinyconfig')
      appendFileSync(join(obj, '.config'), '\n' + fragmentText)
      await make(['olddefconfig'], 'olddefconfig')
    } else if (how === 'olddefconfig') {
      onProgress?.(`keeping the .config of ${obj} (same fragment; the source changed): olddefconfig`)
      await make(['olddefconfig'], 'olddefconfig')
    } else onProgress?.(`keeping the .config of ${obj} (made from this fragment and source)`)
    const dot = readFileSync(join(obj, '.config'), 'utf8')
    const checks = verifyConfig(fragment, parseDotConfig(dot), null)
    let options = checks
    if (checks.some((c) => !c.ok)) {
      onProgress?.("some options did not land; reading the tree's Kconfig to say why")
      options = verifyConfig(fragment, parseDotConfig(dot), kconfig)
    }
    const missing = options.filter((c) => !c.ok)
    for (const m of missing) onProgress?.(`${m.required ? 'MISSING' : 'missing (optional)'} ${m.name}=${m.want}: got ${m.got}; ${m.why ?? ''}`)
    const fatal = missing.filter((c) => c.required)
    if (fatal.length)
      throw new Error(`the kernel config lacks what the oracle needs:\n${fatal.map((m) => `  ${m.name}=${m.want} (got ${m.got}): ${m.why ?? ''}`).join('\n')}`)
    writeConfigStamp(obj, plan.inputs, dot)
    const configSec = (Date.now() - tc) / 1000
    // kernel: one job per CPU this process may use (a CI runner with more cores builds faster)
    const tk = Date.now()
    const jobs = `-j${Math.max(1, availableParallelism())}`
    onProgress?.(`building the kernel (make ${jobs} bzImage; minutes)`)
    await make([jobs, 'bzImage'], 'kernel', 500)
    const kernelSec = (Date.now() - tk) / 1000
    const release = readFileSync(join(obj, 'include/config/kernel.release'), 'utf8').trim()
    copyFileSync(join(obj, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'))
    writeFileSync(join(tmp, 'config'), dot)
    const layout = measureTreeLayout(tree)
    const meta: KernelMeta = {
      format: KERNEL_FORMAT,
      kernelKey: plan.kernelKey,
      release,
      version: plan.version,
      source,
      tree,
      configHash: sha256(dot).slice(0, 16),
      options,
      layout,
      probes: kprobeLines(layout),
      features: treeFeatures(tree) ?? { dmirrorFlags: false },
      seconds: { config: configSec, kernel: kernelSec },
      builtAt: new Date().toISOString(),
    }
    writeFileSync(join(tmp, 'kernel.json'), JSON.stringify(meta, null, 2) + '\n')
    const other = publish(tmp, plan.kernelDir, readKernelMeta)
    onProgress?.(`kernel ready in ${plan.kernelDir} (${Math.round(configSec + kernelSec)} s)`)
    return other ?? meta
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true })
    unlock()
  }
}

/** Compiles the guest programs and packs the initramfs for a built kernel (seconds). */
async function buildImage(
  plan: BuildPlan,
  kernel: KernelMeta,
  kernelSeconds: { config: number; kernel: number },
  t0: number,
  opts: BuildOpts,
): Promise<{ dir: string; meta: BuildMeta }> {
  const onProgress = opts.onProgress
  const cacheRoot = join(plan.dir, '..')
  const tree = plan.source.tree
  const tmp = newTmp(cacheRoot, plan.key)
  const log = join(tmp, 'build.log')
  try {
    const tt = Date.now()
    // the guest sources as they were keyed
    const srcDir = join(tmp, 'guest-src')
    mkdirSync(srcDir)
    const g = { executor: join(srcDir, 'executor.c'), init: join(srcDir, 'init') }
    writeFileSync(g.executor, plan.inputs.executor)
    writeFileSync(g.init, plan.inputs.init, { mode: 0o755 })
    for (const f of ['bzImage', 'config']) linkOrCopy(join(plan.kernelDir, f), join(tmp, f))
    onProgress?.(`building the guest image (executor, hmm-tests, initramfs) for kernel ${kernel.release}`)
    await runLogged('cc', ['-static', '-O2', '-Wall', '-o', join(tmp, 'executor'), g.executor], { label: 'executor', onProgress, signal: opts.signal, log })
    let hmmTests: string | null = null
    let hmmTestsNote: string | null = null
    const ht = join(tree, 'tools/testing/selftests/mm/hmm-tests.c')
    if (existsSync(ht)) {
      try {
        await runLogged(
          'cc',
          ['-static', '-O2', '-I', tree, '-isystem', join(tree, 'tools/include/uapi'), '-o', join(tmp, 'hmm-tests'), ht, '-lrt', '-lpthread', '-lm'],
          { label: 'hmm-tests', onProgress, signal: opts.signal, log },
        )
        hmmTests = join(tmp, 'hmm-tests')
      } catch (e) {
        hmmTestsNote = `hmm-tests did not build: ${(e as Error).message.split('\n').slice(0, 6).join(' ')}`
        onProgress?.(hmmTestsNote)
      }
    } else hmmTestsNote = 'the tree has no tools/testing/selftests/mm/hmm-tests.c'
    const busybox = findBusybox()
    writeFileSync(join(tmp, 'initramfs.cpio'), guestInitramfs({ busybox, executor: join(tmp, 'executor'), init: g.init, hmmTests }))
    const toolsSec = (Date.now() - tt) / 1000
    const meta: BuildMeta = {
      format: BUILD_FORMAT,
      cacheKey: plan.key,
      kernelKey: plan.kernelKey,
      kernelDir: plan.kernelDir,
      release: kernel.release,
      version: kernel.version,
      source: kernel.source,
      tree: kernel.tree,
      configHash: kernel.configHash,
      options: kernel.options,
      layout: kernel.layout,
      probes: kernel.probes,
      hmmTests: hmmTests !== null,
      hmmTestsNote,
      hmmTestsList: listHmmTests(plan.inputs.hmmTests),
      features: kernel.features,
      seconds: { ...kernelSeconds, tools: toolsSec, total: (Date.now() - t0) / 1000 },
      builtAt: new Date().toISOString(),
    }
    writeFileSync(join(tmp, 'build.json'), JSON.stringify(meta, null, 2) + '\n')
    rmSync(srcDir, { recursive: true, force: true })
    const other = publish(tmp, plan.dir, readBuildMeta)
    if (other) return { dir: plan.dir, meta: other }
    onProgress?.(`guest ready in ${plan.dir} (image ${toolsSec.toFixed(1)} s, ${Math.round(meta.seconds.total)} s in all)`)
    return { dir: plan.dir, meta }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * One build at a time per object folder (two makes in one O= folder corrupt it): a lock folder
 * holding the owner's pid; a lock whose owner is gone is taken over.
 */
export async function lockObj(obj: string, onProgress?: (m: string) => void, signal?: AbortSignal): Promise<() => void> {
  const lock = `${obj}.lock`
  let told = false
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      return () => rmSync(lock, { recursive: true, force: true })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    let owner = NaN
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'))
    } catch {
      // being created: look again shortly
    }
    if (Number.isInteger(owner) && !pidAlive(owner)) {
      rmSync(lock, { recursive: true, force: true })
      continue
    }
    if (!told) {
      onProgress?.(`waiting for another build of this tree (pid ${String(owner)})`)
      told = true
    }
    if (signal?.aborted) throw new Error('aborted')
    await new Promise((r) => setTimeout(r, 2000))
  }
}

export function findBusybox(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(p)) continue
    const head = readFileSync(p).subarray(0, 4096)
    // a dynamically linked ELF names its interpreter (PT_INTERP: /lib64/ld-linux...)
    if (head.includes(Buffer.from('/ld-linux'))) continue
    return p
  }
  throw new Error('no static busybox: sudo apt-get install busybox-static')
}
