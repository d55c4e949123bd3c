/**
 * `hmmlab oracle`: runs scenarios on a real Linux kernel (test_hmm in a QEMU guest, every
 * mmu_notifier invalidation traced) and in the simulator, and compares them step by step.
 *
 *   hmmlab oracle FILE... [--design D5] [--kernel BZIMAGE | --kernel-tree DIR] [--json] [--report FILE]
 *   hmmlab oracle [FILE...] --kernel-results RECORDED.json   (compare again with a recorded kernel side; no boot)
 *   hmmlab oracle build [--tree DIR]
 *   hmmlab oracle hmm-tests [--kernel BZIMAGE | --kernel-tree DIR] [--json] [--report FILE]
 *   hmmlab oracle fidelity RESULTS.json [--doc docs/fidelity.md]
 *
 * Exit codes: 0 every scenario agrees (or differs only where a known difference is declared),
 * 1 a new difference, 2 invalid input, a scenario the kernel cannot run (the step, line and why),
 * missing host tools (with the apt command), a guest that failed.
 */
import { mkdirSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { appRoot } from '../../paths'
import * as realKernel from '../../services/oracle/kernel/index'
import { loadDeclarations } from '../../services/oracle/declarations'
import { fidelityMarkdown, rewriteMarkedSection, tableFiles } from '../../services/oracle/fidelity-table'
import { hmmTestRows } from '../../services/oracle/hmm-tests'
import { formatHmmTests, formatOracleText, oracleHtml } from '../../services/oracle/report'
import { readKernelResults, readResultsDocument, type RecordedKernel } from '../../services/oracle/recorded'
import { exitCodeOf, resultsJson, type OracleResults } from '../../services/oracle/results'
import { checkDesign, checkKernelImage, OracleSetupError, runOracle, type KernelSide } from '../../services/oracle/run'
import { readRegularFileSync, writeRegularFileSync } from '../../services/safe-read'
import { stdoutFlushed } from './run'
import { kernelVersionOfRelease } from '../../../sim/kernel/version'

export interface OracleFlags {
  design?: string
  kernel?: string
  kernelTree?: string
  /** Recorded kernel sides to compare with instead of booting a kernel. */
  kernelResults?: string[]
  json?: boolean
  report?: string | string[]
  skipInexpressible?: boolean
  hmmTests?: boolean
  tolerances?: string
  known?: string
  verbose?: boolean
}

/** What the command needs from outside (the kernel side, the project root, output streams); tests replace it. */
export interface OracleDeps {
  kernel: KernelSide
  root: string
  out: (s: string) => void
  err: (s: string) => void
}

export function defaultDeps(): OracleDeps {
  return {
    kernel: realKernel,
    root: appRoot(),
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
  }
}

/**
 * A report goes only to a new or regular file (never through a symlink, into a FIFO or a device).
 * JSON is written compact: a full run's raw observations are tens of MB.
 */
function writeReport(file: string, r: OracleResults): void {
  writeRegularFileSync(file, /\.html?$/i.test(file) ? oracleHtml(r) : resultsJson(r) + '\n', 'report')
}

/** The largest results document or fidelity doc read (a full run's results are a few MiB). */
const ORACLE_DOC_MAX_BYTES = 64 << 20

function kernelOpts(flags: OracleFlags, d: OracleDeps, what = 'hmmlab oracle'): { ok: true } | { ok: false } {
  if (flags.kernel && flags.kernelTree) {
    d.err(`${what}: give either --kernel BZIMAGE or --kernel-tree DIR, not both\n`)
    return { ok: false }
  }
  if (flags.kernelResults?.length && (flags.kernel || flags.kernelTree || flags.hmmTests)) {
    d.err(
      `hmmlab oracle: --kernel-results compares with a recorded kernel side and boots nothing: it does not go with ${flags.kernel ? '--kernel' : flags.kernelTree ? '--kernel-tree' : '--hmm-tests'}\n`,
    )
    return { ok: false }
  }
  if (flags.kernel) {
    try {
      checkKernelImage(flags.kernel)
    } catch (e) {
      setupFailure(e, d, what)
      return { ok: false }
    }
  }
  return { ok: true }
}

function setupFailure(e: unknown, d: OracleDeps, what = 'hmmlab oracle'): number {
  if (e instanceof OracleSetupError) {
    d.err(`${what}: ${e.message}\n`)
    if (e.hint) d.err(`${e.hint}\n`)
  } else d.err(`${what}: ${e instanceof Error ? e.message : String(e)}\n`)
  return 2
}

/** `hmmlab oracle FILE...`; returns the exit code. */
export async function oracleCommand(files: string[], flags: OracleFlags, d: OracleDeps = defaultDeps()): Promise<number> {
  const recordedFiles = flags.kernelResults ?? []
  if (files.length === 0 && recordedFiles.length === 0) {
    d.err(
      'hmmlab oracle: name at least one scenario file (or: --kernel-results RECORDED.json | oracle build | oracle hmm-tests | oracle fidelity RESULTS.json)\n',
    )
    return 2
  }
  if (!kernelOpts(flags, d).ok) return 2
  let declarations
  let recorded: RecordedKernel[] | undefined
  try {
    checkDesign(flags.design ?? 'D5')
    if (recordedFiles.length > 0) recorded = recordedFiles.map((f) => readKernelResults(f))
    declarations = loadDeclarations(d.root, { ...(flags.tolerances ? { tolerances: flags.tolerances } : {}), ...(flags.known ? { known: flags.known } : {}) })
  } catch (e) {
    return setupFailure(e, d)
  }
  let results: OracleResults
  try {
    results = await runOracle({
      files,
      design: flags.design ?? 'D5',
      ...(flags.kernel ? { kernelImage: flags.kernel } : {}),
      ...(flags.kernelTree ? { kernelTree: flags.kernelTree } : {}),
      skipInexpressible: flags.skipInexpressible === true,
      ...(recorded ? { recorded } : {}),
      declarations,
      kernel: d.kernel,
      onProgress: (m) => d.err(`  ${m}\n`),
    })
    if (flags.hmmTests) results.hmm_tests = await hmmTests(flags, d)
  } catch (e) {
    return setupFailure(e, d)
  }
  const blocked = results.scenarios.some((o) => o.status === 'invalid')
  if (blocked && !results.kernel) d.err('hmmlab oracle: nothing ran on the kernel because of the invalid scenarios above (fix them or leave them out)\n')
  else if (!flags.skipInexpressible && results.scenarios.some((o) => o.status === 'inexpressible'))
    d.err(
      'hmmlab oracle: some scenarios cannot run on the kernel (listed above with the step, line and why): exit 2; --skip-inexpressible lists them without failing\n',
    )
  if (flags.json) d.out(resultsJson(results, 1) + '\n')
  else d.out(formatOracleText(results, { verbose: flags.verbose === true }))
  for (const file of typeof flags.report === 'string' ? [flags.report] : (flags.report ?? [])) {
    try {
      mkdirSync(dirname(resolve(file)), { recursive: true })
      writeReport(file, results)
      d.err(`  report: ${file}\n`)
    } catch (e) {
      d.err(`hmmlab oracle: cannot write ${file}: ${e instanceof Error ? e.message : String(e)}\n`)
      return 2
    }
  }
  const code = exitCodeOf(results, { inexpressibleIsError: !flags.skipInexpressible })
  // an hmm-tests case the kernel passes and the simulator's replay fails (or the reverse) is a difference too
  return code === 0 && results.hmm_tests?.some((r) => r.agree === false) ? 1 : code
}

async function hmmTests(flags: OracleFlags, d: OracleDeps): Promise<NonNullable<OracleResults['hmm_tests']>> {
  const tools = d.kernel.checkHostTools({ debianSource: !flags.kernelTree && !flags.kernel })
  if (!tools.ok) throw new OracleSetupError(`missing host tools: ${tools.missing.join(', ')}`, `install them with: ${tools.install}`)
  const kernel = flags.kernel
    ? { bzImage: flags.kernel }
    : await d.kernel.buildKernel({ ...(flags.kernelTree ? { tree: flags.kernelTree } : {}), onProgress: (m) => d.err(`  ${m}\n`) })
  d.err('  guest: running hmm-tests\n')
  const r = await d.kernel.runHmmTests({ kernel, onProgress: (m) => d.err(`  ${m}\n`) })
  return hmmTestRows(r.cases, join(d.root, 'scenarios', 'selftests'), kernelVersionOfRelease(r.release).version)
}

/** `hmmlab oracle hmm-tests`. */
export async function oracleHmmTestsCommand(flags: OracleFlags, d: OracleDeps = defaultDeps()): Promise<number> {
  if (!kernelOpts(flags, d, 'hmmlab oracle hmm-tests').ok) return 2
  let rows
  try {
    rows = await hmmTests(flags, d)
  } catch (e) {
    return setupFailure(e, d, 'hmmlab oracle hmm-tests')
  }
  if (flags.json) d.out(JSON.stringify(rows, null, 1) + '\n')
  else d.out(formatHmmTests(rows).join('\n') + '\n')
  return rows.some((r) => r.agree === false) ? 1 : 0
}

/** `hmmlab oracle build`. */
export async function oracleBuildCommand(flags: { tree?: string }, d: OracleDeps = defaultDeps()): Promise<number> {
  try {
    const tools = d.kernel.checkHostTools({ debianSource: !flags.tree })
    if (!tools.ok) throw new OracleSetupError(`missing host tools: ${tools.missing.join(', ')}`, `install them with: ${tools.install}`)
    const b = await d.kernel.buildKernel({ ...(flags.tree ? { tree: flags.tree } : {}), onProgress: (m) => d.err(`  ${m}\n`) })
    d.out(
      `kernel ${b.release} from ${b.source}\n  image     ${b.bzImage}\n  cache     ${b.dir} (key ${b.cacheKey.slice(0, 16)})\n` +
        (b.kernelDir ? `  kernel    ${b.kernelDir}\n` : '') +
        `  hmm-tests ${b.hmmTests ?? 'none in this tree'}\n`,
    )
    return 0
  } catch (e) {
    return setupFailure(e, d, 'hmmlab oracle build')
  }
}

/**
 * `hmmlab oracle fidelity RESULTS.json [--doc FILE] [--force]`: rewrites the marked section of
 * docs/fidelity.md. The section is the agreement table of the shipped scenarios, so it is replaced
 * only by results that cover every scenario it lists now and name only files inside the
 * repository; anything else (one scenario of /tmp, part of the set) is refused with exit 2, as it
 * would silently drop rows and change the headline. `--force` replaces the table all the same.
 */
export function oracleFidelityCommand(resultsFile: string, flags: { doc?: string; force?: boolean }, d: OracleDeps = defaultDeps()): number {
  const docFile = flags.doc ?? join(d.root, 'docs', 'fidelity.md')
  let results: OracleResults
  try {
    results = readResultsDocument(resultsFile)
  } catch (e) {
    d.err(`hmmlab oracle fidelity: ${e instanceof Error ? e.message : String(e)}\n`)
    return 2
  }
  try {
    const doc = readRegularFileSync(docFile, { maxBytes: ORACLE_DOC_MAX_BYTES, what: 'document' }).toString('utf8')
    if (!flags.force) {
      const refusal = fidelityRefusal(results, tableFiles(doc), d.root, resultsFile, docFile)
      if (refusal) {
        d.err(`hmmlab oracle fidelity: ${refusal}; nothing written (--force replaces the table with these results all the same)\n`)
        return 2
      }
    }
    const next = rewriteMarkedSection(doc, fidelityMarkdown(results), docFile)
    if (next !== doc) writeRegularFileSync(docFile, next, 'document')
    d.out(`${docFile}: oracle section ${next === doc ? 'already up to date' : 'rewritten'} (${results.scenarios.length} scenarios)\n`)
    return 0
  } catch (e) {
    d.err(`hmmlab oracle fidelity: ${e instanceof Error ? e.message : String(e)}\n`)
    return 2
  }
}

/** `a, b, c and 7 others`. */
function someFiles(files: readonly string[], max = 3): string {
  return files.length <= max ? files.join(', ') : `${files.slice(0, max).join(', ')} and ${files.length - max} others`
}

/**
 * Why results must not replace the table: files outside the repository `root` (a relative name
 * is taken from the root, as the table shows it), or scenarios the table lists that the results
 * lack. Undefined when they may.
 */
export function fidelityRefusal(results: OracleResults, listed: readonly string[], root: string, resultsFile: string, docFile: string): string | undefined {
  const outside = results.scenarios
    .map((o) => o.file)
    .filter((f) => {
      const rel = relative(resolve(root), resolve(root, f))
      return rel === '' || rel.startsWith('..') || isAbsolute(rel)
    })
  if (outside.length)
    return `${resultsFile} has results for ${outside.length} file${outside.length > 1 ? 's' : ''} outside the repository (${someFiles(outside)}): ${docFile}'s table lists the shipped scenarios only`
  const have = new Set(results.scenarios.map((o) => relative(resolve(root), resolve(root, o.file))))
  const missing = listed.filter((f) => !have.has(relative(resolve(root), resolve(root, f))))
  if (missing.length)
    return `${resultsFile} covers ${listed.length - missing.length} of the ${listed.length} scenarios ${docFile}'s table lists: rewriting would drop ${someFiles(missing)} (run them all, as \`npm run test:kernel\` does)`
  return undefined
}

/** Registers `hmmlab oracle` and its subcommands. */
export function registerOracleCommand(program: Command, deps?: () => OracleDeps): void {
  const getDeps = deps ?? defaultDeps
  const oracle = program
    .command('oracle')
    .description('run scenarios on a real kernel (test_hmm in a QEMU guest) and in the simulator, and compare them step by step')
    .argument('[files...]', 'scenario files (YAML or JSON)')
    .option('--design <id>', "teardown design (default D5: test_hmm's interval notifier per open file)", 'D5')
    .option('--kernel <bzImage>', 'boot this kernel image instead of the cached build')
    .option('--kernel-tree <dir>', 'build the guest kernel from this tree (your patches) instead of linux-source-6.12')
    .option(
      '--kernel-results <file>',
      'compare with a recorded kernel side (a --json / --report FILE.json results document, or one kernel side) instead of booting; without FILEs, every scenario it holds; repeatable',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--json', "print both sides' raw per-step observations, the kernel release and the diff as JSON")
    .option(
      '--report <file>',
      'also write a report: .html (self-contained) or .json (the results document); repeatable',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--skip-inexpressible', 'list scenarios the kernel cannot run as skipped instead of failing (exit 2)')
    .option('--hmm-tests', "also run the kernel's own hmm-tests in the guest next to the simulator's replay")
    .option('--tolerances <file>', 'tolerances file (default oracle/tolerances.yaml)')
    .option('--known <file>', 'known differences file (default oracle/known-differences.yaml)')
    .option('-v, --verbose', 'list every tolerated step')
    .addHelpText(
      'after',
      '\nExit codes: 0 agree (or only declared known differences), 1 a new difference, 2 invalid input, a scenario the kernel cannot run, missing tools or a failed guest.',
    )
    .action(async (files: string[], flags: OracleFlags) => {
      process.exitCode = await oracleCommand(files, flags, getDeps())
      await stdoutFlushed()
    })
  oracle
    .command('build')
    .description('build (or reuse from the cache) the guest kernel with test_hmm, hmm-tests and the scenario executor')
    .option('--tree <dir>', 'a kernel tree to build instead of linux-source-6.12')
    .action(async (flags: { tree?: string }) => {
      process.exitCode = await oracleBuildCommand(flags, getDeps())
      await stdoutFlushed()
    })
  oracle
    .command('hmm-tests')
    .description(
      "run the kernel's own hmm-tests in the guest and put them next to the simulator's replay (scenarios/selftests); takes oracle's --kernel, --kernel-tree and --json",
    )
    .action(async () => {
      // --kernel, --kernel-tree and --json are the parent's options (commander reads them after the subcommand too)
      process.exitCode = await oracleHmmTestsCommand(oracle.opts<OracleFlags>(), getDeps())
      await stdoutFlushed()
    })
  oracle
    .command('fidelity')
    .description("rewrite docs/fidelity.md's oracle section from a results document (--report FILE.json)")
    .argument('<results>', 'results JSON written by hmmlab oracle --report FILE.json')
    .option('--doc <file>', 'the document to rewrite (default docs/fidelity.md)')
    .option('--force', 'replace the table even when the results miss scenarios it lists or name files outside the repository')
    .action((file: string, flags: { doc?: string; force?: boolean }) => {
      process.exitCode = oracleFidelityCommand(file, flags, getDeps())
    })
}
