/**
 * Builds the guest (kernel, hmm-tests, executor, initramfs) and caches it.
 *
 * Source: Debian's /usr/src/linux-source-6.12.tar.xz (extracted once under the cache) or a tree
 * the user names, always built out of tree (`make O=...`) so the user's tree stays clean.
 * Config: `make tinyconfig`, the fragment oracle/kernel.config appended, `make olddefconfig`, then
 * every fragment option checked (kconfig.ts).
 * Cache: $XDG_CACHE_HOME/hmm-lab/oracle/<key> (default ~/.cache/hmm-lab/oracle), key = sha256 of
 * the kernel version, the tree's identity, the fragment and the guest sources. A build happens in
 * a temporary folder renamed into place at the end: a cache folder is complete or absent. The
 * object folder (obj/) is kept between builds, so a changed fragment rebuilds incrementally.
 */
import { spawn, execFileSync } from 'node:child_process'
import { withParentDeathSignal } from '../../parent-death'
import { createHash } from 'node:crypto'
import {
  appendFileSync,
  copyFileSync,
  existsSync,
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
export const BUILD_FORMAT = 'hmmlab-oracle-build/1'

export interface BuildMeta {
  format: typeof BUILD_FORMAT
  cacheKey: string
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
  seconds: { config: number; kernel: number; tools: number; total: number }
  builtAt: string
}

export interface BuildOpts {
  tree?: string | undefined
  cacheRoot?: string | undefined
  onProgress?: ((message: string) => void) | undefined
  signal?: AbortSignal | undefined
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

export interface KeyInputs {
  version: string
  /** What identifies the source beyond its version: the tarball's size and mtime, or a git tree's HEAD and dirty state. */
  identity: string
  fragment: string
  executor: string
  init: string
  hmmTests: string
}

/** The cache key: sha256 over every input, in a fixed order with labels. */
export function cacheKey(k: KeyInputs): string {
  return sha256(
    [
      `format ${BUILD_FORMAT}`,
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

/** Key and folders for these options without building anything (the tarball must be extracted for its hmm-tests to count: until then, null). */
export function planBuild(opts: BuildOpts): { key: string; dir: string; source: Source; version: string; inputs: KeyInputs } | null {
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot()
  const src = resolveSource(opts, cacheRoot)
  if (!src.ready) return null
  const g = guestSources()
  const version = treeVersion(readFileSync(join(src.tree, 'Makefile'), 'utf8'))
  const inputs: KeyInputs = {
    version,
    identity: src.identity,
    fragment: readFileSync(g.fragment, 'utf8'),
    executor: readFileSync(g.executor, 'utf8'),
    init: readFileSync(g.init, 'utf8'),
    hmmTests: hmmTestsSource(src.tree),
  }
  const key = cacheKey(inputs)
  return { key, dir: join(cacheRoot, key.slice(0, 16)), source: src, version, inputs }
}

export function readBuildMeta(dir: string): BuildMeta | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as BuildMeta
    if (m.format !== BUILD_FORMAT) return null
    for (const f of ['bzImage', 'initramfs.cpio', 'executor']) if (!existsSync(join(dir, f))) return null
    return m
  } catch {
    return null
  }
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

/** Builds (or finds) the guest for these options. */
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
  const found = readBuildMeta(plan.dir)
  if (found) {
    onProgress?.(`cached guest ${plan.dir} (${found.release})`)
    return { dir: plan.dir, meta: found }
  }
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
  const again = readBuildMeta(plan.dir)
  if (again) {
    unlock()
    onProgress?.(`cached guest ${plan.dir} (${again.release}), built meanwhile by another process`)
    return { dir: plan.dir, meta: again }
  }
  const tmp = join(cacheRoot, `.tmp-${plan.key.slice(0, 16)}-${process.pid}`)
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  const log = join(tmp, 'build.log')
  try {
    // the guest sources as they were keyed: a checkout that changes during the build cannot put
    // other sources under this key
    const srcDir = join(tmp, 'guest-src')
    mkdirSync(srcDir)
    const g = { fragment: join(srcDir, 'kernel.config'), executor: join(srcDir, 'executor.c'), init: join(srcDir, 'init') }
    writeFileSync(g.fragment, plan.inputs.fragment)
    writeFileSync(g.executor, plan.inputs.executor)
    writeFileSync(g.init, plan.inputs.init, { mode: 0o755 })
    // config: tinyconfig + fragment + olddefconfig, then option by option
    const tc = Date.now()
    const make = (args: string[], label: string, every?: number): Promise<void> =>
      runLogged('make', ['-C', tree, `O=${obj}`, 'ARCH=x86_64', ...args], {
        label,
        onProgress,
        signal: opts.signal,
        log,
        ...(every !== undefined ? { every } : {}),
      })
    onProgress?.(`configuring ${source} (${plan.version}) in ${obj}`)
    await make(['tinyconfig'], 'tinyconfig')
    const fragmentText = plan.inputs.fragment
    const fragment = parseFragment(fragmentText, guestSources().fragment)
    appendFileSync(join(obj, '.config'), '\n' + fragmentText)
    await make(['olddefconfig'], 'olddefconfig')
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
    const configSec = (Date.now() - tc) / 1000
    // kernel
    const tk = Date.now()
    // one job per CPU this process may use (a CI runner with more cores builds faster)
    const jobs = `-j${Math.max(1, availableParallelism())}`
    onProgress?.(`building the kernel (make ${jobs} bzImage; minutes)`)
    await make([jobs, 'bzImage'], 'kernel', 500)
    const kernelSec = (Date.now() - tk) / 1000
    const release = readFileSync(join(obj, 'include/config/kernel.release'), 'utf8').trim()
    copyFileSync(join(obj, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'))
    writeFileSync(join(tmp, 'config'), dot)
    // guest programs
    const tt = Date.now()
    const layout = measureTreeLayout(tree)
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
      release,
      version: plan.version,
      source,
      tree,
      configHash: sha256(dot).slice(0, 16),
      options,
      layout,
      probes: kprobeLines(layout),
      hmmTests: hmmTests !== null,
      hmmTestsNote,
      hmmTestsList: listHmmTests(hmmTestsSource(tree)),
      features: treeFeatures(tree) ?? { dmirrorFlags: false },
      seconds: { config: configSec, kernel: kernelSec, tools: toolsSec, total: (Date.now() - t0) / 1000 },
      builtAt: new Date().toISOString(),
    }
    writeFileSync(join(tmp, 'build.json'), JSON.stringify(meta, null, 2) + '\n')
    rmSync(srcDir, { recursive: true, force: true })
    if (existsSync(plan.dir)) {
      // another build finished first: keep it (it is complete), drop ours
      const other = readBuildMeta(plan.dir)
      if (other) return { dir: plan.dir, meta: other }
      rmSync(plan.dir, { recursive: true, force: true })
    }
    renameSync(tmp, plan.dir)
    onProgress?.(`guest ready in ${plan.dir} (${Math.round(meta.seconds.total)} s)`)
    return { dir: plan.dir, meta }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    unlock()
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
