/** Ends a subcommand whose substance has not been built yet: says so and exits 2. */
export function notYetAvailable(command: string): void {
  process.stderr.write(`hmmlab ${command}: not available in this version yet\n`)
  process.exitCode = 2
}
