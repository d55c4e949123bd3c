/**
 * The same number reads the same everywhere (issue 15): for real stored runs (the fixtures that
 * scripts/make-run-fixtures.ts writes from the simulator), every metric reads the same in the CLI
 * summary (`hmmlab run --metrics`, which runs the scenario again in this process), in the HTML
 * report of the stored run and in the app (the renderer's formatter, which the Results view's
 * Metrics table calls; e2e/ui-storm.spec.ts checks the displayed table against the CLI's lines).
 */
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { runCommand } from '../../src/main/cli/commands/run'
import { metricLines } from '../../src/main/cli/record-text'
import { renderReport } from '../../src/main/services/reports'
import { documentFromRuns } from '../../src/main/services/reports/document'
import { RunStore, type StoredRun } from '../../src/main/services/store/run-store'
import { StoredRecord } from '../../src/shared/record'
import { formatUnit as appFormat } from '../../src/renderer/lib/format'
import { FORK_FILE, STORM_FILE } from '../fixtures/runs/make'

const root = join(import.meta.dirname, '..', '..')
const fixtures = join(root, 'test', 'fixtures', 'runs')

let out = ''
beforeEach(() => {
  out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation(((s: string | Uint8Array, cb?: unknown) => {
    out += String(s)
    if (typeof cb === 'function') cb()
    return true
  }) as typeof process.stdout.write)
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
})
afterEach(() => vi.restoreAllMocks())

/** The `metrics:` block of each run summary the CLI printed: design → metric name → text. */
function cliMetrics(text: string): Map<string, Map<string, string>> {
  const runs = new Map<string, Map<string, string>>()
  let design: string | undefined
  let inMetrics = false
  for (const line of text.split('\n')) {
    const head = /^[✓✗■!] (D\d) /.exec(line)
    if (head) {
      design = head[1]!
      inMetrics = false
      runs.set(design, new Map())
    } else if (line === '    metrics:') inMetrics = true
    else if (inMetrics && design) {
      const m = /^ {6}(\S+) {2,}(.+)$/.exec(line)
      if (m) runs.get(design)!.set(m[1]!, m[2]!)
      else inMetrics = false
    }
  }
  return runs
}

/** The "All metrics of this run" table of the HTML report: metric name → text. */
function htmlMetrics(html: string): Map<string, string> {
  const table = /All metrics of this run \(\d+\)<\/summary><table class="data"><tbody>(.*?)<\/tbody>/s.exec(html)
  expect(table, 'the report has the table of every metric').not.toBeNull()
  const unescape = (s: string): string =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
  const rows = new Map<string, string>()
  for (const m of table![1]!.matchAll(/<tr><th scope="row"><code>(.*?)<\/code><\/th><td class="num">(.*?)<\/td><\/tr>/g))
    rows.set(unescape(m[1]!), unescape(m[2]!))
  return rows
}

async function storedRuns(set: string): Promise<StoredRun[]> {
  const store = new RunStore(join(fixtures, set))
  const ids = (await store.listRuns()).items.map((r) => r.id).sort()
  return Promise.all(ids.map((id) => store.getRun(id)))
}

describe.each([
  { set: 'storm', file: STORM_FILE, designs: 'D5' },
  { set: 'fork', file: FORK_FILE, designs: 'D1,D2,D3,D4,D5,D6' },
])('every metric of the stored $set runs reads the same in the CLI, the HTML report and the app', ({ set, file, designs }) => {
  it('as the record has it', async () => {
    const stored = await storedRuns(set)
    expect(stored.map((r) => r.manifest.design).join(',')).toBe(designs)
    runCommand([join(root, file)], { design: designs, metrics: true })
    const cli = cliMetrics(out)
    expect([...cli.keys()].join(',')).toBe(designs)
    for (const run of stored) {
      const record = StoredRecord.parse(run.result)
      const html = htmlMetrics(renderReport(await documentFromRuns('run', [run], { probe: 'none' }), 'html').content)
      const fromCli = cli.get(run.manifest.design)!
      const names = Object.keys(record.metrics).sort()
      expect([...fromCli.keys()].sort(), `${run.manifest.id}: the CLI prints every metric`).toEqual(names)
      expect([...html.keys()].sort(), `${run.manifest.id}: the report shows every metric`).toEqual(names)
      for (const name of names) {
        const m = record.metrics[name]!
        const app = appFormat(m.unit, m.value)
        expect(fromCli.get(name), `${run.manifest.id} ${name}: CLI vs app`).toBe(app)
        expect(html.get(name), `${run.manifest.id} ${name}: HTML vs app`).toBe(app)
      }
      // the CLI's own projection of the stored record prints the same lines as its run did
      expect(out).toContain(`    metrics:\n${metricLines(record, '      ').join('\n')}\n`)
    }
    if (set === 'fork') {
      // what holds A's memory under D1 (issue 15), the same chain in the CLI and the report
      const d1 = StoredRecord.parse(stored.find((r) => r.manifest.design === 'D1')!.result)
      const pages = d1.leaks.rows.find((l) => l.objectType === 'pages' && l.owner === 'task A')!
      const chain = "B's fd dev → gpu0 file (opened by A as dev) → D1's mm_users reference → mm of A → its pages"
      expect(pages.heldBy.join(' → ')).toBe(chain)
      expect(out).toContain(
        `    task A: ${appFormat('bytes', pages.peakBytes)} of pages kept after exit for ${appFormat('ns', pages.until! - pages.since)}\n        held by ${chain}\n`,
      )
      const html = renderReport(await documentFromRuns('run', [stored.find((r) => r.manifest.design === 'D1')!], { probe: 'none' }), 'html').content
      expect(html).toContain(`<td class="held-by">${chain.replace(/'/g, '&#39;')}</td>`)
    }
    if (set === 'storm') {
      // the storm of the issue: the exact totals, past the table's cap, in every view's words
      const storm = StoredRecord.parse(stored[0]!.result)
      expect(storm.metrics.invalidation_count!.value).toBe(12003)
      expect(cli.get('D5')!.get('invalidation_count')).toBe('12003')
      expect(cli.get('D5')!.get('invalidation_cost_ns')).toBe('11.73 ms')
      expect(out).toContain('invalidation_count 12003, invalidation_cost_ns 11.73 ms (the table keeps 4096 of 12003)')
    }
  })
})
