/**
 * Reads a live process's /proc files for `hmmlab import proc PID` (Node side of proc.ts).
 */
import { readFileSync } from 'node:fs'

export interface ProcFiles {
  smaps: string
  comm: string
  source: string
}

/** Reads of a live smaps that may be torn before one is taken as it is (see `inAddressOrder`). */
const SMAPS_READS = 5

/**
 * True when the VMA header lines of a maps/smaps text are in address order without overlap. A
 * live process's smaps is not one snapshot: the kernel takes mmap_lock per read() call (m_start,
 * fs/proc/task_mmu.c) and resumes at the last VMA's vm_start, so a VMA the process merged, split or
 * grew between two reads can show up again overlapping the one before it.
 */
export function inAddressOrder(text: string): boolean {
  let end = 0n
  for (const m of text.matchAll(/^([0-9a-f]+)-([0-9a-f]+) /gm)) {
    const lo = BigInt(`0x${m[1]}`)
    if (lo < end) return false
    end = BigInt(`0x${m[2]}`)
  }
  return true
}

/** /proc/PID/smaps and comm; a clear error when the process is gone or not readable. */
export function readProcFiles(pid: number, procRoot = '/proc'): ProcFiles {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`a pid is a positive integer, got ${JSON.stringify(String(pid))}`)
  const dir = `${procRoot}/${pid}`
  let smaps = ''
  try {
    // a process that changes its mappings while we read may tear the text: read again (the
    // importer names the offending line if every read was torn)
    for (let i = 0; i < SMAPS_READS; i++) {
      smaps = readFileSync(`${dir}/smaps`, 'utf8')
      if (inAddressOrder(smaps)) break
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new Error(`no process ${pid} (${dir}/smaps does not exist)`, { cause: err })
    if (code === 'EACCES' || code === 'EPERM')
      throw new Error(`${dir}/smaps is not readable by this user (ptrace access mode PTRACE_MODE_READ_FSCREDS is needed: run as the process's owner)`, {
        cause: err,
      })
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
