/**
 * `machine: probed` and `machine: <file>` in a scenario: the machine comes from this host's probe,
 * or from a capture / saved probe report / saved machine. It is resolved before the scenario is
 * validated, and replaces the scenario's machine section (src/shared/simulate-machine.ts) for
 * every run.
 *
 * A machine file is read on the user's behalf, so it is confined: it must lie (symlinks resolved)
 * inside one of the allowed roots (the workspace and the built-in library; the CLI adds the
 * folder of the scenario named on its command line), be a regular file, a folder or a capture,
 * and is read bounded and without blocking (safe-read.ts). Errors never quote its contents.
 */
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { simulateMachine } from '../../shared/simulate-machine'
import { checkTextLimits, SCENARIO_LIMITS } from '../../shared/text-limits'
import { loadMachine, probedMachine } from './probe/machine'
import { confinedPath, SafeReadError } from './safe-read'
import type { ProbeMachine } from '../../shared/probe-machine'

export interface MachineOverride {
  /** The probed or loaded machine; it replaces the scenario's (src/shared/simulate-machine.ts `machineForScenario`). */
  spec: ProbeMachine
  origin: string
  notes: string[]
}

const MACHINE_IS_MAPPING = /^machine:[ \t]*(?:\{|(?:#[^\n]*)?\r?\n[ \t]+[A-Za-z_][A-Za-z0-9_]*:(?:[ \t]|\r?\n|$))/m

/**
 * The `machine:` value of a scenario when it is a reference (a string), else undefined. Text over
 * the scenario limits (size, nesting, aliases) has none: the scenario parser reports those.
 */
export function machineRef(text: string): string | undefined {
  // The scenario library calls this for every file it lists: skip the YAML parse when the text
  // plainly has no reference — no "machine" at all, or a top-level `machine:` whose value is a
  // block mapping (an indented `key:` on the next line) or a flow mapping.
  if (!text.includes('machine') || MACHINE_IS_MAPPING.test(text)) return undefined
  try {
    checkTextLimits(text, 'scenario', SCENARIO_LIMITS)
    const data = parseYaml(text, { maxAliasCount: SCENARIO_LIMITS.maxAliases }) as { machine?: unknown } | null
    return data !== null && typeof data === 'object' && typeof data.machine === 'string' ? data.machine : undefined
  } catch {
    return undefined
  }
}

/**
 * Resolves a scenario's machine reference; undefined when the scenario describes its machine
 * itself. `scenarioPath` (the file's location on disk, when it has one) anchors relative paths;
 * `roots` are the folders a machine file may come from.
 */
export async function resolveMachineRef(
  text: string,
  fileName: string,
  scenarioPath: string | undefined,
  roots: readonly string[],
): Promise<MachineOverride | undefined> {
  const ref = machineRef(text)
  if (ref === undefined) return undefined
  let machine
  try {
    if (ref === 'probed') machine = await probedMachine()
    else {
      if (!isAbsolute(ref) && !scenarioPath) throw new Error('a relative machine file needs a scenario saved on disk; give an absolute path')
      const path = await confinedPath(isAbsolute(ref) ? ref : resolve(dirname(scenarioPath!), ref), roots, 'machine file')
      machine = await loadMachine(path)
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such file' : e instanceof SafeReadError && e.code === 'OUTSIDE' ? `not inside ${roots.join(' or ')}` : e.message
    throw new Error(`${fileName}: machine: cannot load ${JSON.stringify(ref)}: ${why}`, { cause: err })
  }
  const simulated = simulateMachine(machine)
  return { spec: machine, origin: machine.origin, notes: simulated.notes }
}
