import type { Command } from 'commander'
import { readRegularFileSync } from '../../services/safe-read'
import { runProbe } from '../../services/probe'
import { writeCapture } from '../../services/probe/capture'
import { formatProbeReport } from '../../services/probe/format'
import { machineFromProbe } from '../../../shared/probe-machine'

/** The largest saved kernel log read (a boot's dmesg is well under 1 MiB; the ring buffer is at most 32 MiB). */
const DMESG_MAX_BYTES = 32 << 20

interface ProbeFlags {
  sysroot?: string
  json?: boolean
  capture?: string
  verbose?: boolean
  systemInfo?: boolean
  dmesg?: string
  machine?: boolean
}

/**
 * Registers `hmmlab probe`:
 *   hmmlab probe [--sysroot DIR|FILE.tar.gz] [--json] [--verbose]
 *   hmmlab probe --capture FILE.tar.gz [--sysroot ...]
 *   hmmlab probe --sysroot ... --dmesg saved-dmesg.txt
 *   hmmlab probe --machine [--sysroot ...]      the simulator machine as JSON
 * Exit 0 when the probe ran (findings do not fail it), 2 when the sysroot cannot be opened.
 */
export function registerProbeCommand(program: Command): void {
  program
    .command('probe')
    .description('probe this machine (IOMMUs, groups, KFD topology, GPUs, kernel config); only reads')
    .option('--sysroot <path>', 'read a captured tree (directory or .tar.gz) instead of /')
    .option('--json', 'print the report as JSON (src/shared/probe.ts, docs/probe.md)')
    .option('--capture <file>', 'write exactly the files the probe read into a .tar.gz')
    .option('-v, --verbose', 'print every decoded register field')
    .option('--no-system-info', 'skip systeminformation (CPU/memory/OS/GPU summary)')
    .option('--dmesg <file>', "use a saved kernel log (dmesg output) instead of the sysroot's own")
    .option('--machine', 'print the simulator machine derived from the probe ("simulate this machine") as JSON')
    .action(async (flags: ProbeFlags) => {
      let result
      try {
        const bootLog = flags.dmesg
          ? { source: flags.dmesg, text: readRegularFileSync(flags.dmesg, { maxBytes: DMESG_MAX_BYTES, what: 'kernel log' }).toString('utf8') }
          : undefined
        result = await runProbe({ sysroot: flags.sysroot, system: flags.systemInfo === false ? 'skip' : 'auto', bootLog })
      } catch (err) {
        process.stderr.write(`hmmlab probe: ${err instanceof Error ? err.message : String(err)}\n`)
        process.exitCode = 2
        return
      }
      const { report, ctx } = result
      if (flags.capture) {
        try {
          const s = await writeCapture(ctx, flags.capture, { release: report.kernel.release })
          process.stderr.write(
            `hmmlab probe: captured ${s.files} file(s), ${s.symlinks} symlink(s), ${s.devices} device node(s), ${s.errors} read error(s) into ${s.file}` +
              (s.redacted.length ? `; redacted ${s.redacted.join(', ')}` : '') +
              '\n',
          )
        } catch (err) {
          process.stderr.write(`hmmlab probe: capture failed: ${err instanceof Error ? err.message : String(err)}\n`)
          process.exitCode = 2
          return
        }
        if (!flags.json && !flags.machine) {
          process.exitCode = 0
          return
        }
      }
      const out = flags.machine
        ? JSON.stringify(machineFromProbe(report), null, 2) + '\n'
        : flags.json
          ? JSON.stringify(report, null, 2) + '\n'
          : formatProbeReport(report, { verbose: flags.verbose })
      // Wait until the data is handed to the OS: the entry point exits right after, and stdout to a
      // pipe is asynchronous (large reports would be cut at 64 KiB otherwise).
      await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()))
      process.exitCode = 0
    })
}
