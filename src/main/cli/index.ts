/**
 * `hmmlab`: the command-line host. It registers one module per subcommand; each module uses the
 * same services as the app and the browser host. Exit codes: 0 success, 1 a check failed
 * (an `expect`, a finding), 2 invalid input or a command that is not available, 141 the reader
 * of stdout went away (`hmmlab run x.yaml | head -1`): what a kernel tool killed by SIGPIPE
 * reports in a shell (128 + 13), without a stack trace.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { APP_VERSION } from '../../shared/version'
import { registerRunCommand } from './commands/run'
import { registerProbeCommand } from './commands/probe'
import { registerReportCommand } from './commands/report'
import { registerServeCommand } from './commands/serve'
import { registerSchemaCommand } from './commands/schema'
import { registerOracleCommand } from './commands/oracle'
import { registerCalibrateCommand } from './commands/calibrate'
import { registerImportCommand } from './commands/import'
import { stdoutFlushed } from './commands/run'

/** The exit code when stdout's reader has gone: 128 + SIGPIPE, as a shell reports `git log | head -1`. */
export const EXIT_PIPE_CLOSED = 141

let pipeWatched = false

/**
 * A closed pipe on stdout (EPIPE) ends the process at once with EXIT_PIPE_CLOSED: Node ignores
 * SIGPIPE, so without a listener the write error would be an unhandled 'error' event (a stack
 * trace and exit 1, which reads as a failed expect). Nothing more can be said to that reader, so
 * the work left is not done. On stderr a write error is dropped: there is nowhere to report it.
 */
function watchClosedPipes(): void {
  if (pipeWatched) return
  pipeWatched = true
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_PIPE_CLOSED)
    process.stderr.write(`hmmlab: cannot write to stdout: ${err.message}\n`)
    process.exit(2)
  })
  process.stderr.on('error', () => undefined)
}

/** Builds the commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command()
  program
    .name('hmmlab')
    .description('HMM Lab: run mm/mmu_notifier teardown experiments, probe IOMMU/KFD hardware, export reports')
    .version(APP_VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride()
  registerRunCommand(program)
  registerProbeCommand(program)
  registerReportCommand(program)
  registerServeCommand(program)
  registerSchemaCommand(program)
  registerOracleCommand(program)
  registerCalibrateCommand(program)
  registerImportCommand(program)
  return program
}

/** Parses argv and runs the chosen subcommand; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  watchClosedPipes()
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    // the caller exits right after: a document piped to a slow reader must be handed over first
    await stdoutFlushed()
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with code 0; usage errors with 1: report them as 2.
      return err.exitCode === 0 ? 0 : 2
    }
    process.stderr.write(`hmmlab: ${err instanceof Error ? err.message : String(err)}\n`)
    return 2
  }
}

// Run when this module is the program itself (`node out/main/cli.js`, `tsx src/main/cli/index.ts`);
// `bin/hmmlab.mjs` imports it and calls `main` instead.
if (isEntryPoint()) {
  void main(process.argv).then((code) => process.exit(code))
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (!script) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}
