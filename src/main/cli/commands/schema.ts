import type { Command } from 'commander'
import { scenarioJsonSchema } from '../../../sim/index'
import { stdoutFlushed } from './run'

/** Registers `hmmlab schema`: prints the JSON Schema of the scenario language. */
export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors)')
    .action(async () => {
      process.stdout.write(JSON.stringify(scenarioJsonSchema(), null, 2) + '\n')
      await stdoutFlushed()
    })
}
