/**
 * The services' single point of contact with the simulator on the main thread: planning and
 * validating scenarios (cheap) and the JSON Schema for editors. Runs happen in the run worker.
 */
import { parse as parseYaml } from 'yaml'
import type { ValidationIssue } from '../../shared/contracts'
import type { ParamValue } from '../../shared/runs'
import { setScenarioParam } from '../../shared/sweep'
import { checkTextLimits, SCENARIO_LIMITS } from '../../shared/text-limits'
import { DESIGNS, ScenarioError, parseScenario, scenarioDesigns, scenarioJsonSchema, type LoadedScenario } from '../../sim'
import type { ScenarioPlan } from './experiments/service'

export interface SimBinding {
  /** Validates a scenario and returns its name, description, designs and seed; throws naming file, line and field. */
  plan(text: string, fileName: string, machine?: Record<string, unknown>): ScenarioPlan
  /** Validates without throwing: every issue with its line and field. */
  validate(text: string, fileName: string, machine?: Record<string, unknown>): { ok: boolean; issues: ValidationIssue[]; name?: string; designs?: string[] }
  /** The JSON Schema of scenario files. */
  jsonSchema(): unknown
  /** Every teardown design with its title, summary and whether it is correct (the one catalogue). */
  designs(): { id: string; title: string; summary: string; correct: boolean }[]
}

/** Every design the simulator knows (D1–D6 and the broken B1, B2). */
export const KNOWN_DESIGNS: readonly string[] = DESIGNS.map((d) => d.id)

/**
 * Parses a scenario with swept parameters applied: the text is read as data, each parameter set
 * at its path, and the result validated again, so a sweep can change any field of the scenario.
 * Errors name the file (and say which parameters were applied).
 */
export function loadWithParameters(text: string, fileName: string, parameters: Record<string, ParamValue>, machine?: Record<string, unknown>): LoadedScenario {
  const keys = Object.keys(parameters)
  if (keys.length === 0 && !machine) return parseScenario(text, fileName)
  // The limits first: yaml's composer recurses, and a second stack overflow can abort the process.
  checkTextLimits(text, fileName, SCENARIO_LIMITS, (message, line) => new ScenarioError(message, fileName, line, '(document)'))
  let data: unknown
  try {
    data = parseYaml(text, { maxAliasCount: SCENARIO_LIMITS.maxAliases })
  } catch {
    return parseScenario(text, fileName) // throws the precise parse error with its line
  }
  if (machine) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return parseScenario(text, fileName)
    const own = (data as { machine?: unknown }).machine
    ;(data as { machine?: unknown }).machine = { ...(own !== null && typeof own === 'object' ? own : {}), ...machine }
  }
  for (const key of keys) setScenarioParam(data, key, parameters[key]!)
  const applied = [...(machine ? ['the probed machine'] : []), ...keys.map((k) => `${k}=${String(parameters[k])}`)].join(', ')
  return parseScenario(JSON.stringify(data, null, 1), `${fileName} (with ${applied})`)
}

const ISSUE_LINE = /^(.*?):(\d+): (\S+?): (.*)$/

export const simBinding: SimBinding = {
  plan(text, fileName, machine) {
    const sc = loadWithParameters(text, fileName, {}, machine)
    return {
      name: sc.name,
      ...(sc.description ? { description: sc.description.trim() } : {}),
      designs: scenarioDesigns(sc),
      seed: sc.seed ?? 1,
      knownDesigns: KNOWN_DESIGNS,
      checkParameters: (parameters, machine) => void loadWithParameters(text, fileName, parameters, machine),
    }
  },
  validate(text, fileName, machine) {
    try {
      const sc = loadWithParameters(text, fileName, {}, machine)
      return { ok: true, issues: [], name: sc.name, designs: scenarioDesigns(sc) }
    } catch (err) {
      if (!(err instanceof ScenarioError)) return { ok: false, issues: [{ path: '(document)', message: err instanceof Error ? err.message : String(err) }] }
      const issues = err.message.split('\n').map((line): ValidationIssue => {
        const m = ISSUE_LINE.exec(line)
        return m ? { line: Number(m[2]), path: m[3]!, message: m[4]! } : { line: err.line > 0 ? err.line : 1, path: err.field, message: line }
      })
      return { ok: false, issues }
    }
  },
  jsonSchema: () => scenarioJsonSchema(),
  designs: () => DESIGNS.map((d) => ({ id: d.id, title: d.title, summary: d.summary, correct: d.correct })),
}
