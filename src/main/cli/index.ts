/**
 * `hmmlab`: the command-line host. It registers one module per subcommand; each module uses the
 * same services as the app and the browser host. Exit codes: 0 success, 1 a check failed
 * (an `expect`, a finding), 2 invalid input or a command that is not available.
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
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
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
