/**
 * Where a scenario's `machine: probed` (or a saved probe file) comes from: this machine, a capture,
 * a saved probe report, or a saved machine description, all turned into a `ProbeMachine`.
 */
import * as fs from 'node:fs'
import { machineFromProbe, ProbeMachine } from '../../../shared/probe-machine'
import { ProbeReport } from '../../../shared/probe'
import { runProbe } from './index'

/** The simulator machine of the machine running this process (systeminformation skipped). */
export async function probedMachine(): Promise<ProbeMachine> {
  const { report } = await runProbe({ system: 'skip' })
  return machineFromProbe(report)
}

/**
 * Loads a machine from a file: a capture (`.tar.gz` or a sysroot directory), a saved probe report
 * (`hmmlab probe --json`), or a saved machine (`hmmlab probe --machine`). Errors name the file.
 */
export async function loadMachine(file: string): Promise<ProbeMachine> {
  const st = fs.statSync(file)
  if (st.isDirectory() || /\.(tar\.gz|tgz)$/.test(file)) {
    const { report } = await runProbe({ sysroot: file, system: 'skip' })
    return machineFromProbe(report)
  }
  let json: unknown
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`${file}: not JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err })
  }
  const schema = typeof json === 'object' && json !== null ? (json as { schema?: unknown }).schema : undefined
  if (schema === 'hmmlab.machine') {
    const m = ProbeMachine.safeParse(json)
    if (!m.success) throw new Error(`${file}: not a valid machine: ${m.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
    return m.data
  }
  if (schema === 'hmmlab.probe') {
    const r = ProbeReport.safeParse(json)
    if (!r.success) throw new Error(`${file}: not a valid probe report: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
    return machineFromProbe(r.data)
  }
  throw new Error(`${file}: neither a probe report ("schema": "hmmlab.probe") nor a machine ("schema": "hmmlab.machine")`)
}
