/** How many cases each fuzz property runs: a few hundred in `npm test`, 10,000 in `npm run fuzz`. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200)

/**
 * The seed of the properties that pass it (the same cases on every run, so a failure reproduces
 * and `npm test` never turns red by chance); `FUZZ_SEED=<n> npm run fuzz` explores other cases.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_207)

/** fast-check parameters: the fixed seed and `runs` cases (FUZZ_RUNS by default). */
export const fuzzParams = (runs = FUZZ_RUNS): { seed: number; numRuns: number } => ({ seed: FUZZ_SEED, numRuns: runs })
