/**
 * Regenerates test/fixtures/runs/<set>/ from real runs of the simulator (see
 * test/fixtures/runs/make.ts): each run as the store writes it (runs/<id>/{manifest,result,series}.json)
 * and the experiments. Run after a deliberate change of the record or the model:
 *
 *   npx tsx scripts/make-run-fixtures.ts
 *
 * test/reports/fixtures.test.ts fails when the files differ from what the simulator makes.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { RunStore } from '../src/main/services/store/run-store'
import { fixtureSets } from '../test/fixtures/runs/make'

const base = join(import.meta.dirname, '..', 'test', 'fixtures', 'runs')
for (const set of fixtureSets()) {
  const dir = join(base, set.name)
  await rm(dir, { recursive: true, force: true })
  const store = new RunStore(dir)
  for (const r of set.runs) await store.saveRun(r)
  if (set.experiment) await store.saveExperiment(set.experiment)
  process.stdout.write(`${dir}: ${set.runs.length} runs\n`)
}
