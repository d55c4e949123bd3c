/**
 * Reads a live process's /proc files for `hmmlab import proc PID` (Node side of proc.ts).
 */
import { readFileSync } from 'node:fs'

export interface ProcFiles {
  smaps: string
  comm: string
  source: string
}

/** /proc/PID/smaps and comm; a clear error when the process is gone or not readable. */
export function readProcFiles(pid: number, procRoot = '/proc'): ProcFiles {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`a pid is a positive integer, got ${JSON.stringify(String(pid))}`)
  const dir = `${procRoot}/${pid}`
  let smaps: string
  try {
    smaps = readFileSync(`${dir}/smaps`, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new Error(`no process ${pid} (${dir}/smaps does not exist)`, { cause: err })
    if (code === 'EACCES' || code === 'EPERM') throw new Error(`${dir}/smaps is not readable by this user (ptrace access mode PTRACE_MODE_READ_FSCREDS is needed: run as the process's owner)`, { cause: err })
    throw new Error(`${dir}/smaps: ${(err as Error).message}`, { cause: err })
  }
  if (smaps.trim() === '') throw new Error(`${dir}/smaps is empty (a kernel thread or a zombie has no address space)`)
  let comm = `pid${pid}`
  try {
    comm = readFileSync(`${dir}/comm`, 'utf8').trim() || comm
  } catch {
    /* comm is cosmetic */
  }
  return { smaps, comm, source: `${dir}/smaps` }
}
