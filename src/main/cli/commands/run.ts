import type { Command } from 'commander'
import { notYetAvailable } from './not-yet'

/** Registers `hmmlab run`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run scenarios under teardown designs')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => notYetAvailable('run'))
}
