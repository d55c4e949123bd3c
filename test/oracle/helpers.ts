/**
 * Helpers for the oracle tests: a kernel side that returns recorded (or crafted) observations
 * instead of booting a QEMU guest, and scenario loading.
 */
import { readFileSync } from 'node:fs'
import { parseScenario, type LoadedScenario } from '../../src/sim/index'
import type { OracleSide } from '../../src/shared/oracle'
import type { KernelSide } from '../../src/main/services/oracle/run'
import type { Unsupported } from '../../src/main/services/oracle/kernel/index'
import type { OracleDeps } from '../../src/main/cli/commands/oracle'
import { runSimulatorSide } from '../../src/main/services/oracle/simulator-side'

export function loadScenario(file: string): LoadedScenario {
  return parseScenario(readFileSync(file, 'utf8'), file)
}

export function scenarioFromText(text: string, file = 'test.yaml'): LoadedScenario {
  return parseScenario(text, file)
}

/** The simulator's observations relabelled as a kernel's (a kernel that agrees with the model). */
export function asKernel(side: OracleSide, release = '6.12.118-test'): OracleSide {
  return { ...structuredClone(side), side: 'kernel', version: { release, accel: 'tcg' }, notes: [] }
}

export interface FakeKernelOptions {
  /** Kernel observations per scenario name (default: the simulator's own, relabelled). */
  sides?: (sc: LoadedScenario) => OracleSide
  unsupported?: (sc: LoadedScenario) => Unsupported | null
  missingTools?: boolean
  guestFails?: boolean
}

/** A KernelSide that never boots anything; records what it was asked. */
export function fakeKernel(o: FakeKernelOptions): KernelSide & { calls: string[]; toolChecks: Array<{ debianSource?: boolean }> } {
  const calls: string[] = []
  const toolChecks: Array<{ debianSource?: boolean }> = []
  return {
    calls,
    toolChecks,
    checkHostTools: (opts = {}) => {
      toolChecks.push(opts)
      return o.missingTools ? { ok: false, missing: ['qemu-system-x86_64'], install: 'apt-get install -y qemu-system-x86' } : { ok: true }
    },
    checkExpressible: (sc) => o.unsupported?.(sc) ?? null,
    findCachedKernel: async () => {
      calls.push('findCachedKernel')
      return {
        dir: '/cache/k',
        bzImage: '/cache/k/bzImage',
        release: '6.12.118-test',
        source: 'fixture',
        cacheKey: 'f'.repeat(64),
        hmmTests: '/cache/k/hmm-tests',
      }
    },
    buildKernel: async () => {
      calls.push('buildKernel')
      return {
        dir: '/cache/k',
        bzImage: '/cache/k/bzImage',
        release: '6.12.118-test',
        source: 'fixture',
        cacheKey: 'f'.repeat(64),
        hmmTests: '/cache/k/hmm-tests',
      }
    },
    runScenariosOnKernel: async (reqs) => {
      calls.push(`run ${reqs.length}`)
      return {
        accel: 'tcg',
        release: '6.12.118-test',
        outcomes: reqs.map((r) =>
          o.guestFails
            ? { ok: false as const, kind: 'guest_failed' as const, message: 'the guest did not finish within 120 s', consoleTail: 'Kernel panic - not syncing' }
            : // a kernel that behaves as the model does under the rules of its release (6.12)
              { ok: true as const, side: (o.sides ?? ((sc: LoadedScenario) => asKernel(runSimulatorSide(sc, { design: 'D5', kernel: '6.12' }))))(r.scenario) },
        ),
      }
    },
    runHmmTests: async (opts) => {
      calls.push(`hmm-tests ${opts.kernel.bzImage}`)
      return {
        accel: 'tcg',
        release: '6.12.118-test',
        tap: '',
        cases: [
          { fixture: 'hmm.hmm_device_private', test: 'open_close', status: 'pass' },
          { fixture: 'hmm.hmm_device_private', test: 'anon_read', status: 'pass' },
          { fixture: 'hmm', variant: 'hmm_device_coherent', test: 'anon_read', status: 'skip' } as { fixture: string; test: string; status: 'skip' },
        ],
      }
    },
  }
}

/** CLI deps that capture output. */
export function captureDeps(kernel: KernelSide, root = process.cwd()): OracleDeps & { stdout: () => string; stderr: () => string } {
  let out = ''
  let err = ''
  return { kernel, root, out: (s) => void (out += s), err: (s) => void (err += s), stdout: () => out, stderr: () => err }
}
