/** Contracts of the hardware probe: this machine, or a captured sysroot (folder or .tar.gz). */
import { z } from 'zod'
import { ProbeReport } from '../probe'
import { defineRoute } from './define'

export const probeRoutes = {
  'probe.run': defineRoute(
    "Probes this machine's /sys, /dev and /proc, or a sysroot folder or .tar.gz capture; read-only",
    z.object({ sysroot: z.string().min(1).max(4096).optional() }).strict(),
    z.object({ report: ProbeReport }),
  ),
}
