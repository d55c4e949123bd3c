/**
 * The services' single point of contact with the simulator on the main thread: planning and
 * validating scenarios (cheap) and the JSON Schema for editors. Runs happen in the run worker.
 */
import { isMap, isSeq, type Document } from 'yaml'
import type { ValidationIssue } from '../../shared/contracts'
import type { ParamValue } from '../../shared/runs'
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
 * Parses a scenario with swept parameters applied to the parsed YAML document (yaml's Document
 * API, `setIn`), so a sweep can change any field and every error and expect still cites the line
 * in the user's file. Errors name the file and say which parameters were applied.
 */
export function loadWithParameters(text: string, fileName: string, parameters: Record<string, ParamValue>, machine?: Record<string, unknown>): LoadedScenario {
  const keys = Object.keys(parameters)
  if (keys.length === 0 && !machine) return parseScenario(text, fileName)
  const applied = [...(machine ? ['the probed machine'] : []), ...keys.map((k) => `${k}=${String(parameters[k])}`)].join(', ')
  const label = `${fileName} (with ${applied})`
  const sc = parseScenario(text, label, {
    edit: (doc) => {
      if (machine) {
        if (!isMap(doc.contents)) throw new Error('expected a mapping with name, steps, ...')
        if (!doc.has('machine') || !isMap(doc.get('machine', true))) doc.set('machine', doc.createNode({}))
        for (const [k, v] of Object.entries(machine)) doc.setIn(['machine', k], doc.createNode(v))
      }
      for (const key of keys) setDocumentParam(doc, key, parameters[key]!)
    },
  })
  // the record names the user's file; the label above is for errors only
  if (sc.source) sc.source = { ...sc.source, file: fileName }
  return sc
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
