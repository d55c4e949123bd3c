/**
 * The services' single point of contact with the simulator: planning and validating scenarios
 * on the main thread (cheap), and the JSON Schema for editors. Runs happen in the run worker.
 */
import type { ValidationIssue } from '../../shared/contracts'
import type { ScenarioPlan } from './experiments/service'

export interface SimBinding {
  /** Validates a scenario and returns its name, description, designs and seed; throws naming file, line and field. */
  plan(text: string, fileName: string): ScenarioPlan
  /** Validates without throwing: every issue with its line and field. */
  validate(text: string, fileName: string): { ok: boolean; issues: ValidationIssue[]; name?: string; designs?: string[] }
  /** The JSON Schema of scenario files. */
  jsonSchema(): unknown
}

const notConnected = (): never => {
  throw new Error('the simulator is not connected to the services yet')
}

// Connected to src/sim once its public API lands (same session).
export const simBinding: SimBinding = {
  plan: notConnected,
  validate: notConnected,
  jsonSchema: notConnected,
}
