/**
 * `hmmlab import strace FILE` and `hmmlab import proc PID | --smaps FILE [--maps FILE]`: real
 * programs as scenarios (docs/workloads.md). The scenario YAML goes to -o FILE or stdout; what could
 * not be mapped is listed on stderr (and as comments in the YAML). Exit 0, or 2 for a bad input
 * (every error with its line).
 */
import { basename } from 'node:path'
import type { Command } from 'commander'
import { DESIGN_IDS, parseSize, type DesignIdT } from '../../../shared/scenario'
import { ImportError, importStrace, type StraceImportOptions } from '../../services/import/strace'
import { importProc, parseMaps } from '../../services/import/proc'
import { readProcFiles } from '../../services/import/proc-live'
import { unmappedSummary, type Unmapped } from '../../services/import/writer'
import { readRegularFile, SafeReadError, writeRegularFileSync } from '../../services/safe-read'
import { SCENARIO_LIMITS } from '../../../shared/text-limits'
import { stdoutFlushed } from './run'

/** The largest input read (a longer strace log should be trimmed: docs/workloads.md). */
export const IMPORT_MAX_BYTES = 64 << 20

interface CommonFlags {
  output?: string
  design?: string
  device?: string
  iommu?: string
  mirror?: string
  deviceRead?: string
  deviceReadMax?: string
  forkExit?: boolean
  name?: string
  note?: string[]
  quiet?: boolean
}

class UsageError extends Error {}

function common(flags: CommonFlags): Omit<StraceImportOptions, 'sourceName'> {
  const o: Omit<StraceImportOptions, 'sourceName'> = {}
  if (flags.design !== undefined) {
    const ids = flags.design
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean)
    const bad = ids.filter((i) => !(DESIGN_IDS as readonly string[]).includes(i))
    if (bad.length > 0 || ids.length === 0) throw new UsageError(`--design: unknown design ${bad.join(', ') || '(none)'}; expected ${DESIGN_IDS.join(', ')}`)
    o.designs = ids as DesignIdT[]
  }
  if (flags.device !== undefined) {
    if (flags.device !== 'dmirror' && flags.device !== 'gpu') throw new UsageError(`--device: expected dmirror or gpu, got "${flags.device}"`)
    o.device = flags.device
  }
  if (flags.iommu !== undefined) {
    if (!['intel', 'amd', 'arm'].includes(flags.iommu)) throw new UsageError(`--iommu: expected intel, amd or arm, got "${flags.iommu}"`)
    if (o.device === undefined) throw new UsageError('--iommu needs --device')
    o.iommu = flags.iommu as 'intel'
  }
  if (flags.mirror !== undefined) {
    if (!['none', 'main', 'all'].includes(flags.mirror)) throw new UsageError(`--mirror: expected none, main or all, got "${flags.mirror}"`)
    if (o.device === undefined && flags.mirror !== 'none') throw new UsageError('--mirror needs --device')
    o.mirror = flags.mirror as 'main'
  }
  if (flags.deviceRead !== undefined) {
    if (flags.deviceRead !== 'none' && flags.deviceRead !== 'mapped') throw new UsageError(`--device-read: expected none or mapped, got "${flags.deviceRead}"`)
    o.deviceRead = flags.deviceRead
  }
  if (flags.deviceReadMax !== undefined) {
    const n = parseSize(flags.deviceReadMax)
    if (!Number.isFinite(n) || n < 4096 || n % 4096 !== 0)
      throw new UsageError(`--device-read-max: expected a page-aligned size such as 16M, got "${flags.deviceReadMax}"`)
    o.deviceReadMax = n
  }
  if (flags.forkExit) {
    if (o.device === undefined) throw new UsageError('--fork-exit needs --device (the child keeps the device fd)')
    o.forkExit = true
  }
  if (flags.name !== undefined) o.name = flags.name
  if (flags.note !== undefined) o.notes = flags.note
  return o
}

/** null when a maps text and an smaps text list the same VMAs, else the first difference. */
function compareMaps(maps: string, smaps: string): string | null {
  const a = parseMaps(maps)
  const b = parseMaps(smaps)
  if (a.errors.length > 0) throw new ImportError(a.errors, 'the maps text')
  const key = (v: { start: number; end: number; perms: string; path: string }): string => `${v.start.toString(16)}-${v.end.toString(16)} ${v.perms} ${v.path}`
  const n = Math.max(a.vmas.length, b.vmas.length)
  for (let i = 0; i < n; i++) {
    const x = a.vmas[i]
    const y = b.vmas[i]
    if (!x || !y || key(x) !== key(y))
      return `maps line ${x?.line ?? 'end'} (${x ? key(x) : 'no more VMAs'}) against smaps line ${y?.line ?? 'end'} (${y ? key(y) : 'no more VMAs'}); take both copies at the same moment`
  }
  return null
}

/**
 * Reads a file named on the command line: a regular file (not a symlink, a FIFO or a device) of
 * at most IMPORT_MAX_BYTES, opened without blocking (safe-read.ts). Errors name the file.
 */
async function readInput(file: string, what: string): Promise<string> {
  try {
    return (await readRegularFile(file, { maxBytes: IMPORT_MAX_BYTES, what })).toString('utf8')
  } catch (err) {
    if (err instanceof SafeReadError && err.code === 'TOO_LARGE')
      throw new UsageError(`${err.message}: an import reads at most ${IMPORT_MAX_BYTES >> 20} MiB; trim the log (docs/workloads.md shows how)`)
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}

function report(cmd: string, out: { yaml: string; unmapped: Unmapped[] }, flags: CommonFlags, summary: string): void {
  if (flags.output) writeRegularFileSync(flags.output, out.yaml, 'output file')
  else process.stdout.write(out.yaml)
  // The app and `hmmlab run` refuse a scenario over the text limits (src/shared/text-limits.ts)
  const tooBig = out.yaml.length > SCENARIO_LIMITS.maxChars
  if (tooBig)
    process.stderr.write(
      `hmmlab import ${cmd}: warning: the scenario has ${out.yaml.length} characters, more than the ${SCENARIO_LIMITS.maxChars} a scenario may have; hmmlab run and the app will refuse it: trim the input (docs/workloads.md)\n`,
    )
  if (flags.quiet) return
  const lines = [`hmmlab import ${cmd}: ${summary}${flags.output ? ` → ${flags.output}` : ''}`]
  if (out.unmapped.length > 0) {
    lines.push(`  not mapped (${out.unmapped.length} lines):`)
    for (const s of unmappedSummary(out.unmapped)) lines.push(`    ${s.length > 400 ? s.slice(0, 400) + ' …' : s}`)
  }
  process.stderr.write(lines.join('\n') + '\n')
}

function fail(cmd: string, err: unknown): number {
  if (err instanceof ImportError || err instanceof UsageError) process.stderr.write(`hmmlab import ${cmd}: ${err.message}\n`)
  else process.stderr.write(`hmmlab import ${cmd}: ${err instanceof Error ? err.message : String(err)}\n`)
  return 2
}

function addCommon(c: Command): Command {
  return c
    .option('-o, --output <file>', 'write the scenario here (default: stdout)')
    .option('--design <ids>', `designs to run (${DESIGN_IDS.join(', ')}); default: D1-D6`)
    .option('--device <kind>', 'attach a device: dmirror or gpu (named dev0)')
    .option('--iommu <vendor>', 'put the device behind an IOMMU (intel, amd, arm) with ATS')
    .option('--device-read <mode>', 'mapped: the device reads every range as it is mapped or made readable (default with a device); none')
    .option('--device-read-max <size>', 'at most this much per device_read (default 16M)')
    .option('--fork-exit', 'before the main process exits, it forks a child that keeps the device fd for 10 ms')
    .option('--name <text>', 'scenario name')
    .option('--note <text...>', 'header lines to add (e.g. how the log was captured)')
    .option('-q, --quiet', 'no summary on stderr')
}

/** Registers `hmmlab import`. */
export function registerImportCommand(program: Command): void {
  const imp = program.command('import').description('turn a real program into a scenario: an strace log, or a process address space from /proc')
  addCommon(
    imp
      .command('strace')
      .description('a log of `strace -f -ttt -e trace=memory,process,desc -o FILE PROGRAM` as a scenario')
      .argument('<file>', 'the strace log')
      .option('--mirror <which>', 'with --device: which processes mirror their address space: main (default), all, none'),
  ).action(async (file: string, flags: CommonFlags) => {
    try {
      const o = common(flags)
      const r = importStrace(await readInput(file, 'strace log'), { ...o, sourceName: basename(file) })
      report('strace', r, flags, `${r.stats.lines} lines, ${r.stats.calls} calls → ${r.stats.steps} steps, tasks ${r.stats.tasks.join(', ')}`)
    } catch (err) {
      process.exitCode = fail('strace', err)
    }
    await stdoutFlushed()
  })
  addCommon(
    imp
      .command('proc')
      .description("a process's address space now (VMAs and resident pages from /proc/PID/smaps) as a scenario")
      .argument('[pid]', 'a live process (e.g. $$)')
      .option('--smaps <file>', 'a saved copy of /proc/PID/smaps instead of a live process')
      .option('--maps <file>', 'a saved copy of /proc/PID/maps (VMAs only, no resident pages) when there is no smaps'),
  ).action(async (pid: string | undefined, flags: CommonFlags & { smaps?: string; maps?: string }) => {
    try {
      const o = common(flags)
      if (flags.mirror !== undefined) throw new UsageError('--mirror applies to strace imports (a proc import has one process)')
      let text: string
      let source: string
      let comm: string | undefined
      let pidN: number | undefined
      if (pid !== undefined) {
        if (flags.smaps || flags.maps) throw new UsageError('give a pid or --smaps/--maps, not both')
        if (!/^\d+$/.test(pid)) throw new UsageError(`a pid is a positive integer, got "${pid}"`)
        pidN = Number(pid)
        const f = readProcFiles(pidN)
        text = f.smaps
        source = f.source
        comm = f.comm
      } else if (flags.smaps || flags.maps) {
        const file = (flags.smaps ?? flags.maps) as string
        text = await readInput(file, flags.smaps ? 'smaps' : 'maps')
        source = basename(file)
        if (flags.smaps && flags.maps) {
          // both: smaps has everything; the maps copy must describe the same VMAs
          const diff = compareMaps(await readInput(flags.maps, 'maps'), text)
          if (diff) throw new UsageError(`--maps ${flags.maps} and --smaps ${flags.smaps} do not describe the same address space: ${diff}`)
        }
      } else throw new UsageError('give a pid, or --smaps FILE (or --maps FILE)')
      const r = importProc(text, { ...o, sourceName: source, comm, pid: pidN })
      report(
        'proc',
        r,
        flags,
        `${r.stats.vmas} VMAs, ${Math.round(r.stats.mappedBytes / 1024)} KiB mapped, ${Math.round(r.stats.residentBytes / 1024)} KiB resident`,
      )
    } catch (err) {
      process.exitCode = fail('proc', err)
    }
    await stdoutFlushed()
  })
}
