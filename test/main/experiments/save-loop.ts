/**
 * For the crash test: saves runs with large results into a workspace, one after another, until
 * it is killed. Prints "saving" once the first run is saved.
 */
import { RunStore } from '../../../src/main/services/store/run-store'

const store = new RunStore(process.argv[2]!)
const big = Array.from({ length: 200_000 }, (_, i) => i * 0.5)
for (let i = 0; ; i++) {
  const at = new Date(Date.UTC(2026, 10, 25, 18, 0, i)).toISOString()
  await store.saveRun({
    manifest: {
      schema: 'hmmlab.run/2',
      id: `run-${String(i).padStart(5, '0')}`,
      scenario: { name: 'crash', fileName: 'crash.yaml', hash: 'ab'.repeat(32), text: 'name: crash\n' },
      design: 'D4',
      seed: i,
      parameters: {},
      versions: { hmmlab: '0.1.0', node: process.versions.node },
      timings: { queuedAt: at, startedAt: at, finishedAt: at, wallMs: 1 },
      status: 'passed',
      tags: [],
      metrics: { n: { value: i, unit: 'count' } },
      expects: { passed: 1, failed: 0 },
      findings: 0,
    },
    result: { values: big },
    series: { 'memory.pages': { t: big, v: big } },
  })
  if (i === 0) process.stdout.write('saving\n')
}
