/** Contracts of the hardware probe: this machine, or a captured sysroot (folder or .tar.gz). */
import { z } from 'zod'
import { ProbeReport } from '../probe'
import { ProbeMachine } from '../probe-machine'
import { defineRoute } from './define'

export const probeRoutes = {
  'probe.run': defineRoute(
    "Probes this machine's /sys, /dev and /proc, or a sysroot folder or .tar.gz capture; read-only",
    z.object({ sysroot: z.string().min(1).max(4096).optional() }).strict(),
    z.object({ report: ProbeReport }),
  ),
  'probe.machine': defineRoute(
    '"Simulate this machine": the probed machine and the scenario `machine:` section derived from it',
    z.object({ sysroot: z.string().min(1).max(4096).optional() }).strict(),
    z.object({ machine: ProbeMachine, scenarioMachine: z.record(z.string(), z.unknown()), yaml: z.string(), notes: z.array(z.string()) }),
  ),
}
