import type { Command } from 'commander'
import { notYetAvailable } from './not-yet'

/** Registers `hmmlab report`. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('export a run, an experiment or a comparison as HTML, JSON, CSV or a trace')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => notYetAvailable('report'))
}
