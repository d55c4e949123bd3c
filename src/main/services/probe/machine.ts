/**
 * Where a scenario's `machine: probed` (or a saved probe file) comes from: this machine, a capture,
 * a saved probe report, or a saved machine description, all turned into a `ProbeMachine`.
 */
import * as fs from 'node:fs/promises'
import { machineFromProbe, ProbeMachine } from '../../../shared/probe-machine'
import { ProbeReport } from '../../../shared/probe'
import { runProbe } from './index'
import { readRegularFile } from '../safe-read'

/** The largest saved probe report or machine file read (a real report is well under 1 MiB). */
export const MAX_MACHINE_FILE_BYTES = 16 << 20

/** The simulator machine of the machine running this process (systeminformation skipped). */
export async function probedMachine(): Promise<ProbeMachine> {
  const { report } = await runProbe({ system: 'skip' })
  return machineFromProbe(report)
}

/**
 * Loads a machine from a file: a capture (`.tar.gz` or a sysroot directory), a saved probe report
 * (`hmmlab probe --json`), or a saved machine (`hmmlab probe --machine`). Errors name the file
 * and never quote its contents. A JSON file is read as a regular file only, bounded, without
 * blocking (see safe-read.ts); the caller confines the path.
 */
export async function loadMachine(file: string): Promise<ProbeMachine> {
  const st = await fs.lstat(file)
  if (st.isDirectory() || (st.isFile() && /\.(tar\.gz|tgz)$/.test(file))) {
    const { report } = await runProbe({ sysroot: file, system: 'skip' })
    return machineFromProbe(report)
  }
  const text = (await readRegularFile(file, { maxBytes: MAX_MACHINE_FILE_BYTES, what: 'machine file' })).toString('utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // The parser's message quotes the text around the error: never echo a file's contents.
    throw new Error(`${file}: not JSON (a saved probe report or machine is a JSON document)`)
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
