/**
 * The services' single point of contact with the simulator on the main thread: planning and
 * validating scenarios (cheap) and the JSON Schema for editors. Runs happen in the run worker.
 */
import { isMap, isPair, isScalar, isSeq, type Document } from 'yaml'
import type { ValidationIssue } from '../../shared/contracts'
import type { ProbeMachine } from '../../shared/probe-machine'
import type { MachinePart } from '../../shared/record'
import type { ParamValue } from '../../shared/runs'
import type { DesignIdT } from '../../shared/scenario'
import { machineForScenario, type LackingDevice, type ScenarioMachine } from '../../shared/simulate-machine'
import { DESIGNS, ScenarioError, parseScenario, scenarioDesigns, scenarioJsonSchema, type LoadedScenario } from '../../sim'
import type { ScenarioPlan } from './experiments/service'

export interface SimBinding {
  /** Validates a scenario and returns its name, description, designs and seed; throws naming file, line and field. */
  plan(text: string, fileName: string, machine?: ProbeMachine): ScenarioPlan
  /** Validates without throwing: every issue with its line and field. */
  validate(text: string, fileName: string, machine?: ProbeMachine): { ok: boolean; issues: ValidationIssue[]; name?: string; designs?: string[] }
  /** The JSON Schema of scenario files. */
  jsonSchema(): unknown
  /** Every teardown design with its title, summary and whether it is correct (the one catalogue). */
  designs(): { id: DesignIdT; title: string; summary: string; correct: boolean }[]
}

/** Every design the simulator knows (D1–D6 and the broken B1, B2). */
export const KNOWN_DESIGNS: readonly string[] = DESIGNS.map((d) => d.id)

/**
 * Parses a scenario with swept parameters applied to the parsed YAML document (yaml's Document
 * API, `setIn`), so a sweep can change any field and every error and expect still cites the line
 * in the user's file. Errors name the file and say which parameters were applied.
 *
 * With a probed machine ("simulate this machine", or `machine: probed` / a machine file), that
 * machine replaces the scenario's `machine:` part by part (`machineForScenario`); a step that
 * names a device this machine lacks refuses the run, naming the step, its line and why.
 */
export function loadWithParameters(text: string, fileName: string, parameters: Record<string, ParamValue>, machine?: ProbeMachine): LoadedScenario {
  return loadOnMachine(text, fileName, parameters, machine).scenario
}

/**
 * What a scenario would run on with a probed machine, without running it: which parts come from
 * the probe and which from the scenario, the `machine:` section, or why it cannot run (the steps
 * that need what the machine lacks, with their lines). For the Hardware view's preview.
 */
export function previewOnMachine(text: string, fileName: string, machine: ProbeMachine): { parts: MachinePart[]; machine?: ScenarioMachine; refused?: string } {
  const sink: MachineSink = {}
  try {
    loadOnMachine(text, fileName, {}, machine, sink)
    return { parts: sink.parts ?? [], ...(sink.machine ? { machine: sink.machine } : {}) }
  } catch (err) {
    return { parts: sink.parts ?? [], refused: err instanceof Error ? err.message : String(err) }
  }
}

interface MachineSink {
  parts?: MachinePart[]
  machine?: ScenarioMachine
}

/** `loadWithParameters`, and which parts of the machine came from the probe and which from the scenario. */
export function loadOnMachine(
  text: string,
  fileName: string,
  parameters: Record<string, ParamValue>,
  machine?: ProbeMachine,
  sink: MachineSink = {},
): { scenario: LoadedScenario; machineParts?: MachinePart[] } {
  const keys = Object.keys(parameters)
  if (keys.length === 0 && !machine) return { scenario: parseScenario(text, fileName) }
  const applied = [...(machine ? ['the probed machine'] : []), ...keys.map((k) => `${k}=${String(parameters[k])}`)].join(', ')
  const label = `${fileName} (with ${applied})`
  let parts: MachinePart[] | undefined
  let refused: ScenarioError | undefined
  try {
    const sc = parseScenario(text, label, {
      edit: (doc) => {
        if (machine) {
          if (!isMap(doc.contents)) throw new Error('expected a mapping with name, steps, ...')
          const node = doc.get('machine', true)
          // a mapping: the scenario's machine; absent: the default device; a string: a reference (`machine: probed`)
          const own = isMap(node) ? (node.toJSON() as ScenarioMachine) : node === undefined ? undefined : null
          const derived = machineForScenario(machine, own)
          parts = derived.parts
          sink.parts = derived.parts
          const uses = deviceUses(doc, text, derived.machine.devices ?? [], derived.lacking)
          if (uses.length) {
            refused = new ScenarioError(
              uses
                .map(
                  (u) =>
                    `${label}:${u.line}: ${u.path}: the ${u.step} step needs device "${u.device.name}", which this machine lacks (${u.device.why}); run the scenario on its own machine, or simulate a machine that has one`,
                )
                .join('\n'),
              label,
              uses[0]!.line,
              uses[0]!.path,
            )
            throw refused
          }
          sink.machine = derived.machine
          doc.set('machine', doc.createNode(derived.machine))
        }
        for (const key of keys) setDocumentParam(doc, key, parameters[key]!)
      },
    })
    // the record names the user's file; the label above is for errors only
    if (sc.source) sc.source = { ...sc.source, file: fileName }
    return { scenario: sc, ...(parts ? { machineParts: parts } : {}) }
  } catch (err) {
    throw refused ?? err
  }
}

/**
 * Every `device:` under `steps:` that names a device the machine does not have (one of the
 * scenario's this machine lacks, or none of its devices): its path, line, step and why.
 */
function deviceUses(
  doc: Document,
  text: string,
  devices: readonly { name: string }[],
  lacking: readonly LackingDevice[],
): { path: string; line: number; step: string; device: LackingDevice }[] {
  const have = new Set(devices.map((d) => d.name))
  const byName = new Map(lacking.map((d) => [d.name, d]))
  const why = (name: string): LackingDevice =>
    byName.get(name) ?? { name, why: `it has ${devices.length ? `only ${devices.map((d) => d.name).join(', ')}` : 'no GPU, accelerator or test_hmm device'}` }
  const out: { path: string; line: number; step: string; device: LackingDevice }[] = []
  const lineOf = (offset: number): number => {
    let line = 1
    for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++
    return line
  }
  const walk = (node: unknown, path: string, step: string): void => {
    if (isSeq(node)) node.items.forEach((item, i) => walk(item, `${path}[${i}]`, step))
    else if (isMap(node))
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue
        const key = String(pair.key.value)
        const here = `${path}.${key}`
        // the step is the first key of a list item under steps (open, device_read, expect, …)
        const stepName = /\]$/.test(path) && node.items[0] === pair ? key : step
        if (key === 'device' && isScalar(pair.value) && typeof pair.value.value === 'string' && !have.has(pair.value.value))
          out.push({ path: here, line: lineOf(pair.value.range?.[0] ?? 0), step: stepName, device: why(pair.value.value) })
        else walk(pair.value, here, stepName)
      }
  }
  walk(doc.get('steps', true), 'steps', '')
  return out
}

/** Sets one swept parameter (a dotted path, list items by index) in a parsed document. */
export function setDocumentParam(doc: Document, path: string, value: ParamValue): void {
  const parts = path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p))
  for (const p of parts) if (p === '__proto__' || p === 'constructor' || p === 'prototype') throw new Error(`sweep parameter ${path}: not a scenario field`)
  for (let i = 0; i < parts.length - 1; i++) {
    const node = doc.getIn(parts.slice(0, i + 1), true)
    if (!isMap(node) && !isSeq(node)) throw new Error(`sweep parameter ${path}: the scenario has nothing at ${parts.slice(0, i + 1).join('.')}`)
    const next = parts[i + 1]!
    if (isSeq(node) && typeof next !== 'number') throw new Error(`sweep parameter ${path}: ${parts.slice(0, i + 1).join('.')} is a list; use an index`)
  }
  if (parts.length > 1 || isMap(doc.contents)) doc.setIn(parts, value)
  else throw new Error(`sweep parameter ${path}: the scenario is not a mapping`)
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
      seeds: sc.seeds ?? 1,
      ...(sc.sweep_expect ? { sweepExpect: sc.sweep_expect } : {}),
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
