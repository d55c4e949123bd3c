/**
 * Contracts of the lab: the scenario library, experiments (sweeps of runs), stored runs,
 * comparisons and report export.
 */
import { z } from 'zod'
import { Comparison, ExperimentId, ExperimentManifest, RunId, RunManifest, RunStatus, StoreProblem } from '../runs'
import { Stop } from '../record'
import { SweepSpec } from '../sweep'
import { MAX_SEED } from '../scenario'
import { DesignIdSchema } from '../scenario'
import { defineEvent, defineRoute } from './define'
import { SeriesBlock } from './series-block'

export const ScenarioSource = z.enum(['builtin', 'workspace'])

/** Shipped scenarios named in error messages as examples of an id (a test checks they exist). */
export const SCENARIO_ID_EXAMPLES = [
  'builtin:thread-2014/a-fork-after-mirror.yaml',
  'builtin:examples/oom-reaper.yaml',
  'builtin:selftests/anon_read.yaml',
] as const

/** `builtin:<path under scenarios/>` or `workspace:<path under the workspace's scenarios/>`. */
export const ScenarioId = z
  .string()
  .regex(
    /^(builtin|workspace):[A-Za-z0-9][A-Za-z0-9._/-]*\.(ya?ml|json)$/,
    `a scenario id such as ${SCENARIO_ID_EXAMPLES.join(', ')} (scenarios.list gives them all)`,
  )

export const ScenarioEntry = z.object({
  id: ScenarioId,
  source: ScenarioSource,
  /** Folder the file sits in (e.g. `thread-2014`, `selftests`); '' at the top. */
  group: z.string(),
  fileName: z.string(),
  name: z.string(),
  description: z.string(),
  /** Set when the file does not parse: the message names the line and field. */
  error: z.string().optional(),
})
export type ScenarioEntry = z.infer<typeof ScenarioEntry>

export const ValidationIssue = z.object({
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
  path: z.string(),
  message: z.string(),
})
export type ValidationIssue = z.infer<typeof ValidationIssue>

export const ScenarioText = z.object({ text: z.string().max(4 << 20), fileName: z.string().min(1).max(255) })

/** The largest log or smaps text the app imports (the browser host takes 1 MiB request bodies). */
export const IMPORT_TEXT_MAX = 900 * 1024

export const ImportRequest = z
  .object({
    /** strace: a log of `strace -f -ttt -e trace=memory,process,desc`; proc: /proc/PID/smaps (or maps) text */
    kind: z.enum(['strace', 'proc']),
    text: z.string().max(IMPORT_TEXT_MAX, `at most ${IMPORT_TEXT_MAX / 1024} KiB: trim the log or use hmmlab import on the command line`),
    fileName: z.string().min(1).max(255),
    device: z.enum(['dmirror', 'gpu']).optional(),
    iommu: z.enum(['intel', 'amd', 'arm']).optional(),
    mirror: z.enum(['none', 'main', 'all']).optional(),
    forkExit: z.boolean().optional(),
    designs: z.array(DesignIdSchema).min(1).optional(),
  })
  .strict()
export type ImportRequest = z.infer<typeof ImportRequest>

export const ExperimentProgress = z.object({
  experimentId: ExperimentId,
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  /** Runs that did not pass (expects failed, stopped, crashed); cancelled runs are counted in `cancelled`. */
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative().default(0),
  running: z.number().int().nonnegative(),
  etaMs: z.number().nonnegative().nullable(),
  finished: z.boolean(),
  /** Once finished: passed (every run passed, the sweep summary holds), failed, or incomplete (a run did not go to its end). */
  status: z.enum(['passed', 'failed', 'incomplete']).optional(),
})

/** `pdf` is the HTML report printed by the desktop app (Electron's printToPDF); the browser host refuses it. */
export const ReportFormat = z.enum(['html', 'json', 'csv', 'trace', 'pdf'])
export const ReportTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('run'), runId: RunId }),
  z.object({ kind: z.literal('experiment'), experimentId: ExperimentId }),
  z.object({ kind: z.literal('compare'), runIds: z.array(RunId).min(2).max(16) }),
])

export const labRoutes = {
  'scenarios.list': defineRoute(
    'Built-in scenarios and the workspace ones, with name and description',
    z.object({}).strict(),
    z.object({ scenarios: z.array(ScenarioEntry) }),
  ),
  'scenarios.get': defineRoute(
    'The text of one scenario',
    z.object({ id: ScenarioId }).strict(),
    z.object({ id: ScenarioId, fileName: z.string(), text: z.string() }),
  ),
  'scenarios.save': defineRoute('Saves a scenario into the workspace (never over a built-in one)', ScenarioText.strict(), z.object({ id: ScenarioId })),
  'scenarios.validate': defineRoute(
    'Validates scenario text; issues carry the line and field',
    ScenarioText.strict(),
    z.object({ ok: z.boolean(), issues: z.array(ValidationIssue), name: z.string().optional(), designs: z.array(z.string()).optional() }),
  ),
  'scenarios.import': defineRoute(
    'Turns an strace log or a /proc/PID/smaps text into scenario YAML (docs/workloads.md); a bad input gives issues with their lines',
    ImportRequest,
    z.object({
      ok: z.boolean(),
      issues: z.array(ValidationIssue),
      text: z.string().optional(),
      fileName: z.string().optional(),
      summary: z.string().optional(),
      /** what the import could not say in the scenario language, grouped, with line numbers */
      notMapped: z.array(z.string()).optional(),
    }),
  ),
  'scenarios.schema': defineRoute('The JSON Schema of scenario files, for editor completion', z.object({}).strict(), z.object({ schema: z.unknown() })),
  'designs.list': defineRoute(
    'The teardown designs the simulator knows (D1–D6, then the broken B1, B2), from the simulator itself',
    z.object({}).strict(),
    z.object({ designs: z.array(z.object({ id: DesignIdSchema, title: z.string(), summary: z.string(), correct: z.boolean() })) }),
  ),
  'experiments.start': defineRoute(
    'Starts a scenario under a sweep; each parameter set × design becomes a run',
    z
      .object({
        scenarioId: ScenarioId.optional(),
        scenario: ScenarioText.optional(),
        sweep: SweepSpec.optional(),
        designs: z.array(z.string().min(1)).min(1).optional(),
        seed: z
          .number()
          .int(`seed must be an integer 0..${MAX_SEED}`)
          .min(0, `seed must be 0..${MAX_SEED}`)
          .max(MAX_SEED, `seed must be 0..${MAX_SEED}`)
          .optional(),
        name: z.string().max(120).optional(),
        /** Stop any run of this experiment that takes longer than this (default 10 minutes). */
        timeoutSeconds: z.number().positive().max(86_400).optional(),
        /** Simulate this machine (or a captured sysroot): its IOMMU and GPUs replace the scenario's. */
        probedMachine: z
          .object({ sysroot: z.string().min(1).max(4096).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .refine((v) => (v.scenarioId === undefined) !== (v.scenario === undefined), {
        error: (issue) =>
          `give exactly one of scenarioId (a library id such as ${SCENARIO_ID_EXAMPLES[0]}) or scenario (the text of a scenario); ${
            (issue.input as { scenarioId?: unknown } | undefined)?.scenarioId !== undefined ? 'both were given' : 'neither was given'
          }`,
      }),
    z.object({ experimentId: ExperimentId, runIds: z.array(RunId) }),
  ),
  'experiments.cancel': defineRoute(
    'Cancels every unfinished run of an experiment',
    z.object({ experimentId: ExperimentId }).strict(),
    z.object({ cancelled: z.number().int() }),
  ),
  'experiments.list': defineRoute(
    'Stored experiments, and the progress of those running now',
    z.object({}).strict(),
    z.object({ experiments: z.array(ExperimentManifest), active: z.array(ExperimentProgress), problems: z.array(StoreProblem) }),
  ),
  'experiments.get': defineRoute(
    'One experiment with the manifests of its finished runs',
    z.object({ experimentId: ExperimentId }).strict(),
    z.object({ experiment: ExperimentManifest, runs: z.array(RunManifest) }),
  ),
  'runs.list': defineRoute(
    'Stored runs, newest first; damaged entries are listed as problems',
    z.object({}).strict(),
    z.object({ runs: z.array(RunManifest), problems: z.array(StoreProblem) }),
  ),
  'runs.get': defineRoute(
    'One stored run: manifest, result (the run record without its series, src/shared/record.ts; older runs: an old format) and series (left out, as {}, with series: false; runs.series has them as binary)',
    z.object({ runId: RunId, series: z.boolean().optional() }).strict(),
    z.object({ manifest: RunManifest, result: z.unknown(), series: z.record(z.string(), z.unknown()) }),
  ),
  'runs.series': defineRoute(
    "A stored run's time series as one block of float64 numbers (see src/shared/contracts/series-block.ts): no per-number JSON",
    z.object({ runId: RunId }).strict(),
    SeriesBlock,
  ),
  'runs.cancel': defineRoute('Cancels one queued or running run', z.object({ runId: RunId }).strict(), z.object({ cancelled: z.boolean() })),
  'runs.delete': defineRoute('Deletes a stored run', z.object({ runId: RunId }).strict(), z.object({})),
  'runs.tag': defineRoute(
    "Replaces a run's tags",
    z.object({ runId: RunId, tags: z.array(z.string().min(1).max(64)).max(64) }).strict(),
    z.object({ manifest: RunManifest }),
  ),
  'runs.compare': defineRoute('Two or more runs side by side', z.object({ runIds: z.array(RunId).min(2).max(16) }).strict(), Comparison),
  'reports.export': defineRoute(
    'Exports a run, an experiment or a comparison as HTML, JSON, CSV, a Perfetto trace, or (desktop app) PDF',
    z
      .object({
        target: ReportTarget,
        format: ReportFormat,
        /** Probe this machine into the report (kernel release and command line, PCI devices); default true. */
        probe: z.boolean().optional(),
      })
      .strict(),
    z.object({ fileName: z.string(), mimeType: z.string(), content: z.string(), encoding: z.enum(['utf8', 'base64']).optional() }),
  ),
}

export const labEvents = {
  'experiment.progress': defineEvent('Runs done / total, failures and ETA of a running experiment', ExperimentProgress),
  'run.progress': defineEvent(
    'Simulated time and steps of one running run',
    z.object({
      experimentId: ExperimentId,
      runId: RunId,
      simTimeNs: z.number().nonnegative(),
      stepsDone: z.number().int().nonnegative(),
      stepsTotal: z.number().int().nonnegative(),
    }),
  ),
  'run.finished': defineEvent(
    'A run ended (saved in the store unless the event says otherwise)',
    z.object({
      experimentId: ExperimentId,
      runId: RunId,
      status: RunStatus,
      /** Why a stopped or cancelled run stopped. */
      stop: Stop.optional(),
      error: z.string().optional(),
      /** Set when the run finished but could not be saved (disk full, read-only workspace…): why. */
      notSaved: z.string().optional(),
      /** Where the run's record ended (absent when the run left no record): simulated time and top-level steps. */
      simTimeNs: z.number().nonnegative().optional(),
      stepsDone: z.number().int().nonnegative().optional(),
      stepsTotal: z.number().int().nonnegative().optional(),
    }),
  ),
}
