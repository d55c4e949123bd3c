/**
 * The interpreter's raw outcome of one `expect` step, before the simulator turns it into a row
 * of the run record (src/shared/record.ts, `expects`). Not a document of its own: every layer
 * reads the record.
 */
export interface ExpectResult {
  /** Index in the flattened step log. */
  step: number
  /** Line in the scenario file (0 if unknown). */
  line: number
  t: number
  label: string
  pass: boolean
  /** One line per check: what was expected and what was found. */
  details: string[]
}
