/** Contracts of the hardware probe: this machine, or a captured sysroot (folder or .tar.gz). */
import { z } from 'zod'
import { ProbeReport } from '../probe'
import { ProbeMachine } from '../probe-machine'
import { MachinePart } from '../record'
import { defineRoute } from './define'
import { ScenarioId } from './lab'

export const probeRoutes = {
  'probe.run': defineRoute(
    "Probes this machine's /sys, /dev and /proc, or a sysroot folder or .tar.gz capture; read-only",
    z.object({ sysroot: z.string().min(1).max(4096).optional() }).strict(),
    z.object({ report: ProbeReport }),
  ),
  'probe.machine': defineRoute(
    '"Simulate this machine": the probed machine and the scenario `machine:` section derived from it; with scenarioId, what that scenario would run on (which parts come from the probe, which from the scenario) or why it cannot',
    z.object({ sysroot: z.string().min(1).max(4096).optional(), scenarioId: ScenarioId.optional() }).strict(),
    z.object({
      machine: ProbeMachine,
      scenarioMachine: z.record(z.string(), z.unknown()),
      yaml: z.string(),
      notes: z.array(z.string()),
      /** With scenarioId: the scenario's machine replaced by this one, part by part, or why a step cannot run on it. */
      forScenario: z
        .object({
          scenarioId: ScenarioId,
          parts: z.array(MachinePart),
          /** The `machine:` section the runs would use, as YAML. */
          yaml: z.string(),
          /** Set when the scenario cannot run on this machine: the steps that need what it lacks, with their lines. */
          refused: z.string().optional(),
        })
        .optional(),
    }),
  ),
}
