/**
 * The sweep builder's rows (parameter + values typed as text) turned into a `SweepSpec`, and the
 * number of runs it makes (parameter sets × designs), using the shared sweep rules.
 */
import { countRuns, parseSweepArg, type SweepAxis, type SweepSpec } from '../../shared/sweep'

export interface SweepRow {
  param: string
  /** `1,2,4` or `1..8` or `1..8:2`. */
  values: string
}

export interface BuiltSweep {
  spec: SweepSpec | undefined
  /** Runs per design (parameter sets). */
  sets: number
  /** Runs in all: sets × designs. */
  runs: number
  /** One message per bad row (index → message). */
  errors: Map<number, string>
  /** A sweep-level problem (zip with uneven axes, too many runs). */
  error?: string
}

/** Builds the sweep from the rows; empty rows are ignored, bad rows reported by index. */
export function buildSweep(rows: readonly SweepRow[], mode: 'product' | 'zip', designs: number): BuiltSweep {
  const axes: Record<string, SweepAxis> = {}
  const errors = new Map<number, string>()
  rows.forEach((row, i) => {
    const param = row.param.trim()
    const values = row.values.trim()
    if (!param && !values) return
    if (!param) return errors.set(i, 'name a parameter')
    if (!values) return errors.set(i, 'give values: 1,2,4 or 1..8 or 1..8:2')
    if (param === 'design') return errors.set(i, 'choose designs with the design checkboxes')
    if (axes[param]) return errors.set(i, `${param} is already swept`)
    try {
      const [key, axis] = parseSweepArg(`${param}=${values}`)
      axes[key] = axis
    } catch (err) {
      errors.set(i, (err as Error).message.replace(/^--sweep "[^"]*": /, ''))
    }
  })
  const d = Math.max(1, designs)
  if (Object.keys(axes).length === 0) return { spec: undefined, sets: 1, runs: d, errors }
  const spec: SweepSpec = { mode, axes }
  let sets: number
  try {
    sets = countRuns(spec)
  } catch (err) {
    return { spec: undefined, sets: 0, runs: 0, errors, error: (err as Error).message }
  }
  const built: BuiltSweep = { spec, sets, runs: sets * d, errors }
  if (mode === 'zip') {
    const lengths = Object.entries(axes).map(([k, a]) => [k, countRuns({ axes: { [k]: a } })] as const)
    const uneven = lengths.find(([, n]) => n !== lengths[0]![1])
    if (uneven) built.error = `zip needs axes of equal length: ${lengths[0]![0]} has ${lengths[0]![1]} values, ${uneven[0]} has ${uneven[1]}`
  }
  return built
}
