/**
 * Regenerates the real-kernel fixtures under test/fixtures/oracle/: the kernel side's OracleSide
 * of a few shipped scenarios (D5) and the kernel's own hmm-tests TAP, captured in a QEMU guest.
 * The comparison's unit tests read them, so they can run without QEMU.
 *
 *   npx tsx scripts/oracle-kernel-fixtures.ts [--only SUBSTRING] [--no-hmm-tests] [--kernel-tree DIR]
 *
 * Builds the guest first when the cache has none (minutes); prints progress on stderr.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseScenario } from '../src/sim/index'
import { buildKernel, runHmmTests, runScenariosOnKernel } from '../src/main/services/oracle/kernel/index'

const root = join(import.meta.dirname, '..')
const out = join(root, 'test', 'fixtures', 'oracle')
const argv = process.argv.slice(2)
const opt = (name: string): string | undefined => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined)

/** Shipped scenarios whose kernel side is kept as a fixture. */
export const FIXTURE_SCENARIOS = [
  'scenarios/selftests/open_close.yaml',
  'scenarios/selftests/anon_read.yaml',
  'scenarios/selftests/anon_read.coherent.yaml',
  'scenarios/selftests/anon_read_prot.yaml',
  'scenarios/selftests/anon_write_prot.yaml',
  'scenarios/selftests/anon_write_child_shared.yaml',
  'scenarios/selftests/anon_write_hugetlbfs.yaml',
  'scenarios/selftests/double_map.yaml',
  'scenarios/selftests/exclusive_cow.yaml',
  'scenarios/selftests/file_read.yaml',
  'scenarios/selftests/hmm_gup_test.yaml',
  'scenarios/selftests/migrate.yaml',
  'scenarios/selftests/migrate_fault.yaml',
  'scenarios/selftests/migrate_remap_fault.coherent.yaml',
  'scenarios/selftests/snapshot.yaml',
  'scenarios/examples/data-cow-and-migration.yaml',
  'scenarios/thread-2014/b-release-free-and-deferred-job.yaml',
  'scenarios/thread-2014/e-device-mmap-cycle.yaml',
]

async function main(): Promise<void> {
  const only = opt('--only')
  const tree = opt('--kernel-tree')
  const progress = (m: string): void => {
    process.stderr.write(`[oracle] ${m}\n`)
  }
  const t0 = Date.now()
  const kernel = await buildKernel({ ...(tree !== undefined ? { tree } : {}), onProgress: progress })
  progress(`kernel ${kernel.release} ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  mkdirSync(out, { recursive: true })
  const files = FIXTURE_SCENARIOS.filter((f) => only === undefined || f.includes(only))
  const reqs = files.map((f) => ({ scenario: parseScenario(readFileSync(join(root, f), 'utf8'), f), design: 'D5' }))
  const t1 = Date.now()
  const res = await runScenariosOnKernel(reqs, { kernel, onProgress: progress })
  progress(`${files.length} scenario(s) in ${((Date.now() - t1) / 1000).toFixed(1)} s (${res.accel})`)
  let failed = 0
  res.outcomes.forEach((o, i) => {
    const f = files[i] as string
    const name = f
      .replace(/^scenarios\//, '')
      .replace(/\.yaml$/, '')
      .replace(/\//g, '__')
    if (o.ok) {
      writeFileSync(join(out, `${name}.kernel.json`), JSON.stringify(o.side) + '\n')
      const inv = o.side.steps.reduce((n, s) => n + s.invalidations.length, 0)
      progress(`${f}: ${o.side.steps.length} steps, ${inv} invalidations, ${o.side.trailing.length} trailing, ${o.side.notes.length} notes`)
    } else {
      failed++
      progress(
        `${f}: ${o.kind === 'unsupported' ? `unsupported: step ${o.unsupported.index} line ${o.unsupported.line} ${o.unsupported.op}: ${o.unsupported.why}` : `${o.message}\n${o.consoleTail}`}`,
      )
    }
  })
  if (!argv.includes('--no-hmm-tests')) {
    const t2 = Date.now()
    const ht = await runHmmTests({ kernel, onProgress: progress })
    writeFileSync(join(out, `hmm-tests-${ht.release}.tap`), ht.tap)
    writeFileSync(join(out, `hmm-tests-${ht.release}.json`), JSON.stringify({ release: ht.release, accel: ht.accel, cases: ht.cases }, null, 1) + '\n')
    const by = (s: string): number => ht.cases.filter((c) => c.status === s).length
    progress(`hmm-tests: ${ht.cases.length} cases, ${by('pass')} pass, ${by('fail')} fail, ${by('skip')} skip in ${((Date.now() - t2) / 1000).toFixed(1)} s`)
  }
  process.exitCode = failed ? 1 : 0
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 2
})
