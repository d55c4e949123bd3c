/**
 * Every route's input, fuzzed: random values and random mutations of valid inputs. The router
 * must always answer (a result, or an ApiError with a code and a message); it must never throw
 * anything else, never answer `internal` for bad input, and never hang.
 */
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROUTE_NAMES } from '../../src/shared/contracts'
import { createHandlers } from '../../src/main/api/handlers'
import { ApiError, createRouter } from '../../src/main/api/router'
import { createLabServices } from '../../src/main/services'
import { FUZZ_RUNS } from './fuzz-runs'

const services = createLabServices({ workspace: mkdtempSync(join(tmpdir(), 'hmmlab-fuzz-')), threads: 1 })
const router = createRouter(createHandlers(services), { host: 'browser' })
afterAll(() => services.close())

const SYSROOTS = join(__dirname, '..', 'fixtures', 'sysroots')

/**
 * The probe routes with a sysroot: fixtures, broken and odd paths, random strings. An object input
 * without one is given a fixture, so fuzzing never probes this machine's own /sys ten thousand times
 * (`e2e/hardware.spec.ts` and test/probe cover the live probe).
 */
function probeInput(): fc.Arbitrary<unknown> {
  const sysroot = fc.oneof(
    fc.string({ minLength: 1 }),
    fc
      .constantFrom('intel-adl', 'broken', 'empty', 'kfd-mi210-xgmi', 'this-machine.tar.gz', 'intel-adl/../../..', 'no-such-machine')
      .map((d) => join(SYSROOTS, d)),
    fc.constantFrom('/nonexistent', '/dev/null', __filename, '../../..', 'x.tar.gz', '\0'),
  )
  return fc
    .oneof(fc.record({ sysroot }), fc.anything())
    .map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('sysroot' in v) ? { ...v, sysroot: join(SYSROOTS, 'intel-adl') } : v))
}

/** Inputs shaped like the real ones, so fuzzing reaches past the first schema check. */
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  'runs.get': fc.record({ runId: fc.oneof(fc.string(), fc.constantFrom('../../etc/passwd', 'run-1', '.staging-x', 'a'.repeat(300))) }),
  'runs.delete': fc.record({ runId: fc.oneof(fc.string(), fc.constantFrom('..', 'x/y', 'nope')) }),
  'runs.tag': fc.record({ runId: fc.string(), tags: fc.array(fc.string()) }),
  'runs.compare': fc.record({ runIds: fc.array(fc.string({ minLength: 1 }), { maxLength: 20 }) }),
  'scenarios.get': fc.record({ id: fc.oneof(fc.string(), fc.constantFrom('builtin:../package.json', 'workspace:/etc/passwd.yaml', 'builtin:x.yaml')) }),
  'experiments.get': fc.record({ experimentId: fc.string() }),
  'experiments.cancel': fc.record({ experimentId: fc.string() }),
  'runs.cancel': fc.record({ runId: fc.string() }),
  'scenarios.validate': fc.record({ text: fc.oneof(fc.string(), fc.json()), fileName: fc.string({ minLength: 1 }) }),
  'scenarios.save': fc.record({
    text: fc.string(),
    fileName: fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom('../x.yaml', '/etc/x.yaml', 'a/../../b.yaml', 'ok.yaml')),
  }),
  'experiments.start': fc.record({
    scenario: fc.record({ text: fc.oneof(fc.string(), fc.json()), fileName: fc.string({ minLength: 1 }) }),
    sweep: fc.anything(),
  }),
  'calibration.import': fc.record({
    text: fc.oneof(
      fc.string(),
      fc.json(),
      fc.constantFrom('{"format":"hmmlab.calibration/1"}', '{"format":"hmmlab.calibration/1","params":{"cpu_fault":{"value":-1}}}'),
    ),
  }),
  'scenarios.import': fc.record({
    kind: fc.constantFrom('strace', 'proc', 'x'),
    text: fc.oneof(fc.string(), fc.constantFrom('1 1.0 brk(NULL) = 0x1000\n1 1.1 exit_group(0) = ?\n', '00400000-00401000 r-xp 00000000 00:00 0 /bin/x\n')),
    fileName: fc.string({ minLength: 1 }),
    device: fc.constantFrom(undefined, 'dmirror', 'gpu'),
    forkExit: fc.boolean(),
  }),
  'probe.run': probeInput(),
  'probe.machine': probeInput(),
  'reports.export': fc.record({
    target: fc.record({ kind: fc.constantFrom('run', 'experiment', 'compare', 'x'), runId: fc.string() }),
    format: fc.constantFrom('html', 'pdf'),
  }),
}

describe('fuzz: every route input', () => {
  for (const name of ROUTE_NAMES) {
    it(`${name} answers or refuses cleanly`, async () => {
      // The probe routes always get their own inputs (see probeInput): never the live machine.
      const input = name.startsWith('probe.') ? plausible[name]! : fc.oneof(fc.anything(), plausible[name] ?? fc.object())
      // calibration.run with a valid input measures this machine for a minute: fuzz only the refusals
      // (test/main/calibration-service.test.ts runs it, with a fake benchmark)
      const fuzzed =
        name === 'calibration.run'
          ? input.filter(
              (v) =>
                !(
                  v !== null &&
                  typeof v === 'object' &&
                  !Array.isArray(v) &&
                  Object.keys(v).length === 1 &&
                  typeof (v as { quick?: unknown }).quick === 'boolean'
                ),
            )
          : input
      await fc.assert(
        fc.asyncProperty(fuzzed, async (value) => {
          try {
            await router.invoke(name, value)
          } catch (err) {
            expect(err).toBeInstanceOf(ApiError)
            expect((err as ApiError).message.length).toBeGreaterThan(0)
            expect((err as ApiError).code).not.toBe('internal')
          }
        }),
        { numRuns: FUZZ_RUNS },
      )
    })
  }

  it('unknown route names are refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (name) => {
        fc.pre(!(ROUTE_NAMES as readonly unknown[]).includes(name))
        await expect(router.invoke(name, {})).rejects.toMatchObject({ code: 'unknown_route' })
      }),
      { numRuns: FUZZ_RUNS },
    )
  })
})
