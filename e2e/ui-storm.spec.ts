/**
 * The invalidation storm of issue 15 (test/fixtures/runs/storm.yaml: a 4 MiB mirror, 3000 × (8 KiB
 * device read + 8 KiB MADV_DONTNEED), made by the simulator with scripts/make-run-fixtures.ts):
 * 12003 invalidations, of which the record's table keeps 4096. Every number the Results view and
 * Compare show for it is the record's, formatted by the one formatter; none is recounted from the
 * capped table.
 */
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'
import { StoredRecord, costsWords, statusWords } from '../src/shared/record'
import { formatNs, formatUnit } from '../src/shared/units'
import { metricLines } from '../src/main/cli/record-text'

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'runs')
const STORM = 'storm-D5-s1'
const FORK = 'a-fork-after-mirror-D5-s1'

const test = workspaceTest((root) => {
  cpSync(join(FIXTURES, 'storm', 'runs', STORM), join(root, 'runs', STORM), { recursive: true })
  cpSync(join(FIXTURES, 'fork', 'runs', FORK), join(root, 'runs', FORK), { recursive: true })
})

const record = (id: string, set: string): StoredRecord => StoredRecord.parse(JSON.parse(readFileSync(join(FIXTURES, set, 'runs', id, 'result.json'), 'utf8')))
const storm = record(STORM, 'storm')
const fork = record(FORK, 'fork')

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('the fixture is the storm of the issue: 12003 invalidations, 4096 kept', () => {
  expect(storm.aggregates.invalidations.count).toBe(12003)
  expect(storm.metrics.invalidation_count!.value).toBe(12003)
  expect(storm.invalidations.rows.t.length).toBe(4096)
  expect(storm.invalidations.total).toBe(12003)
  expect(storm.invalidations.dropped).toBe(12003 - 4096)
})

test('the Results view shows the storm with the record’s numbers', async ({ appPage: page }) => {
  await gotoHash(page, `#/results?run=${STORM}`)
  const o = storm.outcome
  await expect(page.getByTestId('result-status')).toHaveText(statusWords('passed'))
  await expect(page.getByTestId('result-progress')).toHaveText(`· ran to ${formatNs(o.simulatedNs)} simulated, ${o.stepsDone}/${o.stepsTotal} steps`)
  await expect(page.getByTestId('result-costs')).toHaveText(costsWords(storm.meta.costs))
  await expect(page.getByTestId('result-costs')).toHaveText('default costs')

  // every metric, name and value, as the record has it
  const metrics = Object.entries(storm.metrics).sort(([a], [b]) => a.localeCompare(b))
  const rows = page.getByTestId('metrics').locator('tr')
  await expect(rows).toHaveCount(metrics.length)
  await expect(rows.locator('th')).toHaveText(metrics.map(([k]) => k))
  await expect(rows.locator('td')).toHaveText(metrics.map(([, m]) => formatUnit(m.unit, m.value)))
  // the very strings the CLI prints for this record (`hmmlab run --metrics`; test/reports/agreement.test.ts
  // ties the HTML report and the CLI's run of the storm to them)
  const cli = metricLines(storm, '').map((l) => l.split(/ {2,}/))
  expect(cli.map(([name]) => name)).toEqual(metrics.map(([k]) => k))
  await expect(rows.locator('td')).toHaveText(cli.map(([, text]) => text!))
  await expect(page.getByTestId('metrics').getByRole('row', { name: /^invalidation_cost_ns / })).toHaveText(/invalidation_cost_ns\s*11\.73 ms/)
  await expect(page.getByTestId('metrics').getByRole('row', { name: /^invalidation_count / })).toHaveText(/invalidation_count\s*12003/)

  // the invalidation panel: the exact totals, and the table's cap said plainly
  const inv = storm.aggregates.invalidations
  const panel = page.getByTestId('invalidations')
  await expect(panel.getByTestId('inval-count')).toHaveText('(12003 delivered)')
  await expect(panel.getByTestId('inval-totals')).toHaveText(
    `total ${formatNs(inv.totalNs)} · max ${formatNs(Math.max(...inv.byMechanism.map((s) => s.maxNs)))}`,
  )
  await expect(panel.getByTestId('inval-dropped')).toContainText('keeps 4096 of 12003 rows (7907 dropped at its cap)')
  const mech = panel.getByTestId('inval-by-mechanism').locator('tbody tr')
  await expect(mech).toHaveCount(inv.byMechanism.length)
  await expect(mech).toHaveText(
    inv.byMechanism.map((s) => [s.mechanism ?? '', String(s.count), ...[s.totalNs, s.p50Ns, s.p90Ns, s.p99Ns, s.maxNs].map((v) => formatNs(v))].join('')),
  )
  // the mechanisms together deliver every invalidation (the panel does not sum the kept rows)
  expect(inv.byMechanism.reduce((n, s) => n + s.count, 0)).toBe(12003)

  // the section navigation names the sections this run has (no expects in the storm)
  await expect(page.getByTestId('section-nav').getByRole('button')).toHaveText([
    'Summary',
    'Findings (0)',
    'Metrics',
    'Memory',
    'Leaks',
    'Invalidations',
    'Lifetimes',
    'Timeline',
  ])
})

test('Compare shows the storm’s record numbers beside another run’s', async ({ appPage: page }) => {
  await gotoHash(page, `#/compare?runs=${STORM},${FORK}`)
  const table = page.getByTestId('compare-metrics')
  await expect(table).toBeVisible()
  for (const name of ['invalidation_count', 'invalidation_cost_ns', 'events', 'simulated_ns', 'peak_bytes_total', 'counter.invalidate.CLEAR']) {
    const cells = page.getByTestId(`metric-${name}`).locator('td')
    const a = storm.metrics[name]!
    const b = fork.metrics[name]
    await expect(cells.nth(0), `${name} of the storm`).toHaveText(formatUnit(a.unit, a.value))
    // the second run: its own value first, then the difference to the storm
    if (b) await expect(cells.nth(1), `${name} of the fork run`).toContainText(formatUnit(b.unit, b.value))
  }
  await expect(page.getByTestId('metric-invalidation_count').locator('td').first()).toHaveText('12003')
  // and the storm's table cap is said there too (the fork run's table dropped nothing)
  await expect(page.getByTestId('compare-dropped')).toHaveText([
    // the two runs come from different scenarios: each is named by its own
    /^D5 · seed 1 of “invalidation storm” \(storm-D5-s1\): the invalidation table keeps 4096 of 12003 rows \(7907 dropped at its cap\); the metrics count every one\.\s*$/,
  ])
})
