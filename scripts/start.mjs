#!/usr/bin/env node
/**
 * `npm start`: builds when the sources are newer than the build, then opens the Electron window
 * when the Electron binary and a display exist, and otherwise starts the browser host and prints
 * its URL with the token. It always says which of the two happened and why.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { stopWithLauncher } from './launcher-watch.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outputs = ['out/main/index.js', 'out/main/cli.js', 'out/preload/index.cjs', 'out/renderer/index.html'].map((p) => join(root, p))

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

function needsBuild() {
  if (!outputs.every((p) => existsSync(p))) return 'no build yet'
  const built = Math.min(...outputs.map((p) => statSync(p).mtimeMs))
  const inputs = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'electron.vite.config.ts')).mtimeMs, statSync(join(root, 'package.json')).mtimeMs)
  return inputs > built ? 'sources changed since the last build' : undefined
}

const why = needsBuild()
if (why) {
  console.log(`[start] building (${why})…`)
  // warnings and errors only: the chunk list of three bundles says nothing to someone starting the app
  const started = Date.now()
  const build = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (build.status !== 0) process.exit(build.status ?? 1)
  console.log(`[start] built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

function electronBinary() {
  const pathFile = join(root, 'node_modules/electron/path.txt')
  if (!existsSync(pathFile)) return { reason: 'no Electron binary (run `npx install-electron` where the network allows)' }
  const binary = join(root, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim())
  if (!existsSync(binary)) return { reason: `Electron binary missing at ${binary}` }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return { reason: 'no display' }
  return { binary }
}

// killing npm's pid (even with SIGKILL) stops us: the server or the Electron window with us
stopWithLauncher()

const extra = process.argv.slice(2)
const electron = electronBinary()
if (electron.binary) {
  console.log('[start] opening the Electron window')
  // Electron must not outlive this process, even killed by SIGKILL: the kernel kills it
  // (setpriv --pdeathsig, Linux), and its main process watches HMMLAB_PARENT_PID (parent-death.ts).
  const setpriv = process.platform === 'linux' && ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))
  const [cmd, args] = setpriv
    ? [setpriv, ['--pdeathsig', 'KILL', '--', electron.binary, join(root, 'out/main/index.js'), ...extra]]
    : [electron.binary, [join(root, 'out/main/index.js'), ...extra]]
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, HMMLAB_PARENT_PID: String(process.pid) } })
  child.on('exit', (code) => process.exit(code ?? 0))
} else {
  console.log(`[start] ${electron.reason}: starting the browser host instead`)
  // In this process, not a child: killing this process (even with SIGKILL) stops the server, and
  // stopWithLauncher stops it when npm's pid is killed.
  const { main } = await import(pathToFileURL(join(root, 'out/main/cli.js')).href)
  process.exit(await main([process.execPath, join(root, 'out/main/cli.js'), 'serve', ...extra]))
}
