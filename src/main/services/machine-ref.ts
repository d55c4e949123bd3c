/**
 * `machine: probed` and `machine: <file>` in a scenario: the machine comes from this host's probe,
 * or from a capture / saved probe report / saved machine next to the scenario. It is resolved on
 * the main thread before the scenario is validated, and replaces the scenario's machine section
 * (src/shared/simulate-machine.ts) for every run.
 */
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { simulateMachine } from '../../shared/simulate-machine'
import { loadMachine, probedMachine } from './probe/machine'

export interface MachineOverride {
  spec: Record<string, unknown>
  origin: string
  notes: string[]
}

const MACHINE_IS_MAPPING = /^machine:[ \t]*(?:\{|(?:#[^\n]*)?\r?\n[ \t]+[A-Za-z_][A-Za-z0-9_]*:(?:[ \t]|\r?\n|$))/m

/** The `machine:` value of a scenario when it is a reference (a string), else undefined. */
export function machineRef(text: string): string | undefined {
  // The scenario library calls this for every file it lists: skip the YAML parse when the text
  // plainly has no reference — no "machine" at all, or a top-level `machine:` whose value is a
  // block mapping (an indented `key:` on the next line) or a flow mapping.
  if (!text.includes('machine') || MACHINE_IS_MAPPING.test(text)) return undefined
  try {
    const data = parseYaml(text, { maxAliasCount: 100 }) as { machine?: unknown } | null
    return data !== null && typeof data === 'object' && typeof data.machine === 'string' ? data.machine : undefined
  } catch {
    return undefined
  }
}

/**
 * Resolves a scenario's machine reference; undefined when the scenario describes its machine
 * itself. `scenarioPath` (the file's location on disk, when it has one) anchors relative paths.
 */
export async function resolveMachineRef(text: string, fileName: string, scenarioPath?: string): Promise<MachineOverride | undefined> {
  const ref = machineRef(text)
  if (ref === undefined) return undefined
  let machine
  try {
    if (ref === 'probed') machine = await probedMachine()
    else {
      if (!isAbsolute(ref) && !scenarioPath) throw new Error('a relative machine file needs a scenario saved on disk; give an absolute path')
      machine = await loadMachine(isAbsolute(ref) ? ref : resolve(dirname(scenarioPath!), ref))
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new Error(`${fileName}: machine: cannot load ${JSON.stringify(ref)}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err })
  }
  const simulated = simulateMachine(machine)
  return { spec: simulated.machine, origin: machine.origin, notes: simulated.notes }
}
