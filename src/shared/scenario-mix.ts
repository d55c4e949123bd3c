/**
 * Runs of different scenarios told together (a comparison, a report of several runs): each
 * scenario is one experiment's setting, so runs of two scenarios are never seeds of one
 * experiment. A scenario is its text (the manifest's SHA-256), named by its `name:`; two texts
 * under one name (a scenario edited between runs) are told apart by the start of their hash.
 * Pure; no Node or DOM.
 */

/** What identifies a run's scenario: its name and the SHA-256 of its text. */
export interface ScenarioIdentity {
  name: string
  hash: string
}

/**
 * One label per run for its scenario: the scenario's name, or `name (text 1a2b3c4d)` when runs
 * with that name ran different texts. Equal labels mean the same scenario text.
 */
export function scenarioLabels(scenarios: readonly ScenarioIdentity[]): string[] {
  const hashesOf = new Map<string, Set<string>>()
  for (const s of scenarios) hashesOf.set(s.name, (hashesOf.get(s.name) ?? new Set()).add(s.hash))
  return scenarios.map((s) => ((hashesOf.get(s.name)?.size ?? 0) > 1 ? `${s.name} (text ${s.hash.slice(0, 8)})` : s.name))
}

/** The distinct labels, in the order of their first run. */
export function distinctScenarios(labels: readonly string[]): string[] {
  return [...new Set(labels)]
}

/**
 * The warning said at the top of a comparison (report and app) when its runs come from more than
 * one scenario; undefined when they share one.
 */
export function mixedScenariosWarning(labels: readonly string[]): string | undefined {
  const distinct = distinctScenarios(labels)
  if (distinct.length < 2) return undefined
  const names = distinct.map((l) => `“${l}”`)
  const listed =
    names.length <= 4 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : `${names.slice(0, 3).join(', ')} and ${names.length - 3} others`
  return `These runs come from ${distinct.length} different scenarios (${listed}): their numbers are not seeds of one experiment, and a difference between them is not the design's alone. Each run is named by its scenario.`
}
