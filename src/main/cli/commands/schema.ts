import type { Command } from 'commander'
import { notYetAvailable } from './not-yet'

/** Registers `hmmlab schema`: prints the JSON Schema of the scenario language. */
export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors)')
    .action(() => notYetAvailable('schema'))
}
