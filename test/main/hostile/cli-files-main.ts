/**
 * Files named on the command line, hostile ones (a FIFO, /dev/zero, a symlink, a sparse file over
 * the limit, a folder), given to each command that reads or writes one: `hmmlab run FILE`,
 * `--costs FILE`, `hmmlab calibrate -o FILE`, `hmmlab import strace|proc FILE` (and `-o`),
 * `hmmlab oracle FILE --kernel BZIMAGE` (and `--tolerances`, `oracle fidelity`). All in this one
 * process, in order, so that the test (cli-files.test.ts) starts Node once: a read that blocks on
 * a FIFO blocks this process, and the test sees which case never ended (`START` without `CASE`).
 *
 *   node --import tsx cli-files-main.ts DIR
 * prints `START <name>` before a case and `CASE <json>` after it: { name, code, out, err }.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, closeSync, mkdirSync, openSync, ftruncateSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Command } from 'commander'
import { runCommand } from '../../../src/main/cli/commands/run'
import { runExperiments } from '../../../src/main/cli/commands/run-experiment'
import { registerReportCommand } from '../../../src/main/cli/commands/report'
import { writeRegularFileSync } from '../../../src/main/services/safe-read'
import { calibrateCommand } from '../../../src/main/cli/commands/calibrate'
import { IMPORT_MAX_BYTES, registerImportCommand } from '../../../src/main/cli/commands/import'
import { oracleCommand, oracleFidelityCommand } from '../../../src/main/cli/commands/oracle'
import { KERNEL_IMAGE_MAX_BYTES } from '../../../src/main/services/oracle/run'
import { SCENARIO_FILE_MAX_BYTES } from '../../../src/shared/text-limits'
import { captureDeps, fakeKernel } from '../../oracle/helpers'

const dir = resolve(process.argv[2] ?? '.')
mkdirSync(dir, { recursive: true })
const OPEN_CLOSE = 'scenarios/selftests/open_close.yaml'

const fifo = join(dir, 'pipe')
execFileSync('mkfifo', [fifo])
const link = join(dir, 'zero-link')
symlinkSync('/dev/zero', link)
const folder = join(dir, 'folder')
mkdirSync(folder)
/** A sparse file of `size` bytes (no disk blocks). */
function sparse(name: string, size: number): string {
  const p = join(dir, name)
  const fd = openSync(p, 'w')
  ftruncateSync(fd, size)
  closeSync(fd)
  return p
}
const hugeScenario = sparse('huge.yaml', SCENARIO_FILE_MAX_BYTES + 1)
const hugeCalibration = sparse('huge-calibration.json', 4 * 2 ** 20 + 1)
const hugeLog = sparse('huge.log', IMPORT_MAX_BYTES + 1)
const hugeImage = sparse('huge-bzImage', KERNEL_IMAGE_MAX_BYTES + 1)
const notImage = join(dir, 'not-a-bzImage')
writeFileSync(notImage, 'just text\n'.repeat(200))
const image = join(dir, 'bzImage')
const head = Buffer.alloc(0x400)
head.write('HdrS', 0x202, 'latin1')
writeFileSync(image, head)
const imageLink = join(dir, 'bzImage-link')
symlinkSync(image, imageLink)
const okScenario = join(dir, 'ok.yaml')
writeFileSync(okScenario, 'name: ok\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n')
const okLog = join(dir, 'ok.strace.log')
writeFileSync(okLog, '100 1700000000.000001 brk(NULL) = 0x55550000\n100 1700000000.000002 exit_group(0) = ?\n100 1700000000.000003 +++ exited with 0 +++\n')

const realOut = process.stdout.write.bind(process.stdout)
const realErr = process.stderr.write.bind(process.stderr)

/** Runs one case with stdout and stderr captured; prints START and CASE lines around it. */
async function run(name: string, fn: () => Promise<number | undefined> | number | undefined): Promise<void> {
  realOut(`START ${name}\n`)
  let out = ''
  let err = ''
  // a write's callback runs, as the CLI waits for stdout to drain (stdoutFlushed)
  const capture = (add: (s: string) => void) =>
    ((s: string | Uint8Array, a?: unknown, b?: unknown) => {
      add(String(s))
      const cb = typeof a === 'function' ? a : typeof b === 'function' ? b : undefined
      if (cb) queueMicrotask(() => (cb as () => void)())
      return true
    }) as typeof process.stdout.write
  process.stdout.write = capture((s) => (out += s))
  process.stderr.write = capture((s) => (err += s))
  process.exitCode = 0
  let code: number | undefined
  try {
    code = await fn()
  } catch (e) {
    err += `THREW ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`
    code = -1
  } finally {
    process.stdout.write = realOut
    process.stderr.write = realErr
  }
  code ??= typeof process.exitCode === 'number' ? process.exitCode : 0
  process.exitCode = 0
  realOut(`CASE ${JSON.stringify({ name, code, out: out.slice(0, 4000), err: err.slice(0, 4000) })}\n`)
}

/** `hmmlab import ...` through commander, as the CLI runs it. */
async function hmmlabImport(...args: string[]): Promise<undefined> {
  const program = new Command().exitOverride()
  registerImportCommand(program)
  await program.parseAsync(['node', 'hmmlab', 'import', ...args])
  return undefined
}

const oracleDeps = () => captureDeps(fakeKernel({}))
async function oracle(files: string[], flags: Record<string, string>): Promise<number> {
  const d = oracleDeps()
  const code = await oracleCommand(files, flags, d)
  process.stderr.write(d.stderr())
  process.stdout.write(d.stdout())
  return code
}

const hostile: Array<[string, string]> = [
  ['fifo', fifo],
  ['devzero', '/dev/zero'],
  ['link', link],
]

for (const [kind, path] of [...hostile, ['huge', hugeScenario] as [string, string]]) await run(`run ${kind}`, () => runCommand([path], {}))
for (const [kind, path] of [...hostile, ['huge', hugeCalibration] as [string, string]])
  await run(`costs ${kind}`, () => runCommand([okScenario], { costs: path }))
for (const [kind, path] of [...hostile, ['folder', folder] as [string, string]]) await run(`calibrate-o ${kind}`, () => calibrateCommand({ output: path }))
for (const [kind, path] of [...hostile, ['huge', hugeLog] as [string, string]]) {
  await run(`import-strace ${kind}`, () => hmmlabImport('strace', path))
  await run(`import-proc ${kind}`, () => hmmlabImport('proc', '--smaps', path))
}
await run('import-strace-o fifo', () => hmmlabImport('strace', okLog, '-o', fifo, '-q'))
await run('import-strace-o link', () => hmmlabImport('strace', okLog, '-o', link, '-q'))
await run('import-strace-o ok', () => hmmlabImport('strace', okLog, '-o', join(dir, 'out.yaml'), '-q'))
for (const [kind, path] of [...hostile, ['huge', hugeImage], ['not-image', notImage], ['missing', join(dir, 'missing')]] as Array<[string, string]>) {
  await run(`oracle-kernel ${kind}`, () => oracle([OPEN_CLOSE], { kernel: path }))
}
await run('oracle-kernel image-link', () => oracle([OPEN_CLOSE], { kernel: imageLink }))
for (const [kind, path] of hostile) await run(`oracle-file ${kind}`, () => oracle([path], {}))
await run('oracle-tolerances fifo', () => oracle([OPEN_CLOSE], { tolerances: fifo }))
await run('oracle-fidelity fifo', () => {
  const d = oracleDeps()
  const code = oracleFidelityCommand(fifo, { doc: join(dir, 'doc.md') }, d)
  process.stderr.write(d.stderr())
  return code
})
// Outputs of `hmmlab report -o`, `hmmlab run --out DIR` and `run --report FILE`: nothing may be
// written into a FIFO, a device, a folder or through a link, nothing left half-written.
const dangling = join(dir, 'dangling')
symlinkSync(join(dir, 'nowhere', 'at-all'), dangling)
const regular = join(dir, 'regular')
writeFileSync(regular, 'a file, not a folder\n')
const badOutputs: Array<[string, string]> = [
  ['fifo', fifo],
  ['devfull', '/dev/full'],
  ['folder', folder],
  ['link', link],
  ['dangling', dangling],
  ['through-dangling', join(dangling, 'out.html')],
  ['through-file', join(regular, 'out.html')],
]
const ws = join(dir, 'ws')
/** `hmmlab report ...` through commander, as the CLI runs it. */
async function hmmlabReport(...args: string[]): Promise<undefined> {
  const program = new Command().exitOverride()
  registerReportCommand(program)
  await program.parseAsync(['node', 'hmmlab', 'report', ...args, '--workspace', ws, '--no-probe'])
  return undefined
}
const runIds = (): string[] => readdirSync(join(ws, 'runs')).filter((n) => !n.startsWith('.'))
for (const [kind, path] of badOutputs) await run(`report-o ${kind}`, () => hmmlabReport('no-such-run', '-o', path))
for (const [kind, path] of badOutputs) await run(`run-report ${kind}`, () => runExperiments([okScenario], { workspace: ws, report: path }))
await run('run-report folder-input', () => runExperiments([folder], { workspace: ws, report: join(dir, 'never.html') }))
await run('run-report fifo-input', () => runExperiments([fifo], { workspace: ws, report: join(dir, 'never.html') }))
await run('run folder', () => runCommand([folder], {}))
await run('run-out file', () => runCommand([okScenario], { out: regular }))
await run('run-out dangling', () => runCommand([okScenario], { out: dangling }))
const outDir = join(dir, 'out')
mkdirSync(outDir)
execFileSync('mkfifo', [join(outDir, 'ok.D1.seed1.json')])
await run('run-out fifo-inside', () => runCommand([okScenario], { out: outDir }))
await run('run-out ok', () => runCommand([okScenario], { out: join(dir, 'out-ok') }))
await run('run-report ok', () => runExperiments([okScenario], { workspace: ws, report: join(dir, 'run-report.html') }))
const id = runIds()[0] ?? 'none'
const old = join(dir, 'old.html')
writeFileSync(old, 'the old report\n')
await run('report-o ok', () => hmmlabReport(id, '-o', old))

// A huge output: under a file size limit (RLIMIT_FSIZE, Node ignores SIGXFSZ) the write fails
// with EFBIG part-way; the old file stays whole and no temporary file is left.
const big = join(dir, 'big')
mkdirSync(big)
writeFileSync(join(big, 'report.html'), 'the old report\n')
execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=65536:'])
await run('report-o efbig', () => hmmlabReport(id, '-o', join(big, 'report.html')))
execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:'])

// An unwritable folder; root writes anywhere, so these cases run as nobody when started as root.
const ro = join(dir, 'ro')
mkdirSync(ro)
chmodSync(ro, 0o555)
if (process.getuid?.() === 0) {
  chmodSync(dirname(dir), 0o711)
  process.setgid!(65534)
  process.setuid!(65534)
}
await run('report-o unwritable', () => hmmlabReport(id, '-o', join(ro, 'report.html')))
await run('run-out unwritable', () => runCommand([okScenario], { out: ro, costs: 'default' }))
await run('run-out unwritable-sub', () => runCommand([okScenario], { out: join(ro, 'sub'), costs: 'default' }))
await run('write unwritable', () => {
  writeRegularFileSync(join(ro, 'x.json'), '{}\n', 'result file')
  return 0
})
realOut('DONE\n')
process.exit(0)
