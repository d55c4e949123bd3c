/**
 * The parent that the test kills with SIGKILL. It starts one child of each kind the app starts:
 * a run process as an Electron utility process (process-host.ts with a `process.parentPort`, no
 * IPC), a Node child without IPC that watches its parent (Electron's main under `npm start`), and
 * a native program through withParentDeathSignal (the calibration benchmark, QEMU, make). Once
 * every child is ready it prints `PIDS {json}` and waits to be killed.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { withParentDeathSignal } from '../../../src/main/services/parent-death'

const here = import.meta.dirname
const root = join(here, '..', '..', '..')

/** Resolves once the child has printed `ready`. */
function ready(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      if (out.includes('ready\n')) resolve()
    })
    child.on('exit', (code) => reject(new Error(`child ${child.pid} exited (${code}) before it was ready`)))
  })
}

const utility = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    join(here, 'fake-parent-port.ts'),
    join(root, 'src/main/services/experiments/process-host.ts'),
    JSON.stringify({ parentPid: process.pid }),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
const node = spawn(process.execPath, ['--import', 'tsx', join(here, 'node-child.ts'), String(process.pid)], { stdio: ['ignore', 'pipe', 'inherit'] })
const native = spawn(...withParentDeathSignal('sleep', ['600']), { stdio: ['ignore', 'ignore', 'inherit'] })
await Promise.all([ready(utility), ready(node)])
// the death signal is set once setpriv has run: wait until the child is `sleep` itself
for (;;) {
  const comm = readFileSync(`/proc/${native.pid}/comm`, 'utf8').trim()
  if (comm === 'sleep') break
  await new Promise((r) => setTimeout(r, 20))
}
process.stdout.write(`PIDS ${JSON.stringify({ utility: utility.pid, node: node.pid, native: native.pid })}\n`)
setInterval(() => undefined, 60_000)
