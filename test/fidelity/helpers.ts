/**
 * Shared helpers of the fidelity suite: the kernel's hmm-tests.c test list and a cached runner
 * for scenarios/selftests/*.yaml.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseScenario, runScenario, scenarioDesigns } from '../../src/sim/index'
import type { RunRecord } from '../../src/shared/record'

export const SELFTEST_DIR = 'scenarios/selftests'
export const FIDELITY_DOC = 'docs/fidelity.md'

/** The 38 TEST_F() of tools/testing/selftests/mm/hmm-tests.c (torvalds/linux 0eaed89c18ae), in order. */
export const KERNEL_TESTS = [
  'open_close',
  'anon_read',
  'anon_read_prot',
  'anon_write',
  'anon_write_prot',
  'anon_write_child',
  'anon_write_child_shared',
  'anon_write_huge',
  'anon_write_hugetlbfs',
  'file_read',
  'file_write',
  'migrate',
  'migrate_file_private',
  'migrate_fault',
  'migrate_release',
  'migrate_shared',
  'migrate_mixed',
  'migrate_multiple',
  'anon_read_multiple',
  'anon_teardown',
  'mixedmap',
  'snapshot',
  'compound',
  'double_map',
  'exclusive',
  'exclusive_mprotect',
  'exclusive_cow',
  'hmm_gup_test',
  'hmm_cow_in_device',
  'migrate_anon_huge_empty',
  'migrate_anon_huge_zero',
  'migrate_anon_huge_free',
  'migrate_anon_huge_fault',
  'migrate_partial_unmap_fault',
  'migrate_remap_fault',
  'migrate_anon_huge_err',
  'migrate_anon_huge_zero_err',
  'benchmark_thp_migration',
] as const

/** Names (without .yaml) of the scenario files present in scenarios/selftests. */
export function selftestFiles(): string[] {
  if (!existsSync(SELFTEST_DIR)) return []
  return readdirSync(SELFTEST_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort()
}

export interface SelftestRun {
  design: string
  result: RunRecord
  /** "line N: label: details" of every failed expect. */
  failed: string[]
}

const cache = new Map<string, SelftestRun[]>()

/** Runs scenarios/selftests/<name>.yaml under each of its designs (cached per test file). */
export function runSelftest(name: string): SelftestRun[] {
  const hit = cache.get(name)
  if (hit) return hit
  const file = join(SELFTEST_DIR, `${name}.yaml`)
  const sc = parseScenario(readFileSync(file, 'utf8'), file)
  const runs = scenarioDesigns(sc).map((design) => {
    const result = runScenario(sc, { design })
    const failed = result.expects.rows
      .filter((e) => !e.passed)
      .map(
        (e) =>
          `line ${e.line}: ${e.what}: ${e.checks
            .filter((c) => !c.passed)
            .map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`)
            .join('; ')}`,
      )
    return { design, result, failed }
  })
  cache.set(name, runs)
  return runs
}

export interface DocRow {
  name: string
  status: string
  /** The "Coherent variant" cell (hmm_device_coherent / hmm2_device_coherent fixture), '' if absent. */
  coherent: string
  cells: string[]
}

/** Suffix of the scenario file of a test's DEVICE_COHERENT fixture variant: `<test>.coherent.yaml`. */
export const COHERENT_SUFFIX = '.coherent'

/** The rows of the status table in docs/fidelity.md (the table whose header has "Status"). */
export function fidelityRows(text = readFileSync(FIDELITY_DOC, 'utf8')): DocRow[] {
  const rows: DocRow[] = []
  let inTable = false
  let nameCol = -1
  let statusCol = -1
  let coherentCol = -1
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false
      continue
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim())
    if (!inTable) {
      const s = cells.findIndex((c) => c.toLowerCase() === 'status')
      const n = cells.findIndex((c) => c.toLowerCase() === 'test')
      if (s >= 0 && n >= 0) {
        inTable = true
        statusCol = s
        nameCol = n
        coherentCol = cells.findIndex((c) => c.toLowerCase() === 'coherent variant')
      }
      continue
    }
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue
    const name = (cells[nameCol] ?? '').replace(/`/g, '').replace(/^hmm2?\./, '')
    const coherent = coherentCol >= 0 ? (cells[coherentCol] ?? '').replace(/\*/g, '').trim() : ''
    rows.push({ name, status: (cells[statusCol] ?? '').replace(/\*/g, '').trim(), coherent, cells })
  }
  return rows
}
