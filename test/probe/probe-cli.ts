/**
 * Runs `hmmlab probe` through the same command module as the `hmmlab` entry point, but without
 * loading the other subcommands (so these tests do not depend on unrelated work in progress).
 * Exit codes as in src/main/cli/index.ts.
 */
import { Command, CommanderError } from 'commander'
import { registerProbeCommand } from '../../src/main/cli/commands/probe'

const program = new Command().name('hmmlab').exitOverride()
registerProbeCommand(program)
program
  .parseAsync(['node', 'hmmlab', ...process.argv.slice(2)])
  .then(() => process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0))
  .catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2)
    process.stderr.write(`hmmlab: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(2)
  })
