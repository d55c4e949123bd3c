import type { Command } from 'commander'
import { notYetAvailable } from './not-yet'

/** Registers `hmmlab probe`. */
export function registerProbeCommand(program: Command): void {
  program
    .command('probe')
    .description('probe this machine (IOMMUs, groups, KFD topology, GPUs, kernel config)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => notYetAvailable('probe'))
}
