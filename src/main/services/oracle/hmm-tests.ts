/**
 * The kernel's own hmm-tests, run in the guest, next to the simulator's replay of the same tests
 * (scenarios/selftests/<test>.yaml for the device_private variants, <test>.coherent.yaml for
 * device_coherent). The guest's hmm-tests.c is the one of the kernel tree that was built (6.12
 * has 29 TEST_F); our scenarios follow a newer file (38): each row says where the test comes from,
 * and only tests in both are compared.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseScenario, runScenario } from '../../../sim/index'
import type { KernelVersionT } from '../../../sim/kernel/version'
import type { HmmTestCase } from './kernel/index'
import type { HmmTestRow } from './results'

const COHERENT = '.coherent'

/** The scenario file of a kernel case: "hmm.hmm_device_coherent" → <test>.coherent.yaml. */
export function scenarioFileFor(dir: string, fixture: string, test: string): string {
  return join(dir, `${test}${/coherent/.test(fixture) ? COHERENT : ''}.yaml`)
}

/** Fixture family of a kernel case ("hmm.hmm_device_private" → hmm, "hmm2" → hmm2). */
function family(fixture: string): string {
  return fixture.split('.')[0] ?? fixture
}

/**
 * Compares kernel TAP cases with the simulator's replay of `dir`'s scenarios, run under the rules
 * of `kernel` (the guest's version, kernel/version.ts; default: each scenario's own).
 */
export function hmmTestRows(cases: readonly HmmTestCase[], dir: string, kernel?: KernelVersionT): HmmTestRow[] {
  const rows: HmmTestRow[] = []
  const used = new Set<string>()
  for (const c0 of cases) {
    // the kernel side names the FIXTURE_VARIANT separately ("hmm" + "hmm_device_coherent") or in the fixture
    const variant = (c0 as { variant?: string }).variant
    const c = variant ? { ...c0, fixture: `${c0.fixture}.${variant}` } : c0
    const file = scenarioFileFor(dir, c.fixture, c.test)
    const rel = file
    let simulator: HmmTestRow['simulator'] = 'absent'
    let message = c.message
    if (existsSync(file)) {
      used.add(file)
      try {
        const sc = parseScenario(readFileSync(file, 'utf8'), file)
        const r = runScenario(sc, { design: 'D5', ...(kernel ? { kernel } : {}) })
        simulator = r.outcome.status === 'expects_failed' ? 'failed' : r.outcome.status
      } catch (e) {
        simulator = 'failed'
        message = `${message ? message + '; ' : ''}simulator: ${e instanceof Error ? e.message : String(e)}`
      }
    }
    const agree = simulator === 'absent' || c.status === 'skip' ? null : (c.status === 'pass') === (simulator === 'passed')
    rows.push({
      fixture: c.fixture,
      test: c.test,
      kernel: c.status,
      source: simulator === 'absent' ? 'kernel only' : 'both',
      simulator,
      scenario: simulator === 'absent' ? null : rel,
      agree,
      ...(message ? { message } : {}),
    })
  }
  // scenarios for tests this kernel's hmm-tests.c does not have (a newer file)
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
    : []
  for (const f of names) {
    const file = join(dir, f)
    if (used.has(file)) continue
    const coherent = f.endsWith(`${COHERENT}.yaml`)
    const test = f.slice(0, -(coherent ? COHERENT.length + 5 : 5))
    // only report a scenario whose test is missing from the kernel for its variant
    const variantRan = cases.some((c) => c.test === test && /coherent/.test(c.fixture) === coherent)
    if (variantRan) continue
    let fam = 'hmm'
    try {
      const sc = parseScenario(readFileSync(file, 'utf8'), file)
      fam = family(sc.name)
    } catch {
      // an invalid file is reported by `hmmlab run`; keep the default family here
    }
    rows.push({
      fixture: `${fam}.${coherent ? 'device_coherent' : 'device_private'}`,
      test,
      kernel: 'absent',
      source: 'scenarios only',
      simulator: 'absent',
      scenario: file,
      agree: null,
      message: "not in the guest kernel's hmm-tests.c",
    })
  }
  return rows
}
