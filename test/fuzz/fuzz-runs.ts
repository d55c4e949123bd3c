/** How many cases each fuzz property runs: a few hundred in `npm test`, 10,000 in `npm run fuzz`. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200)
