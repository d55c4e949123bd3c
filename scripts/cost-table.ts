/**
 * Prints the cost-model table of docs/scenarios.md from src/sim/cost/model.ts (COST_DEFAULTS);
 * `--write` replaces the table in the document. test/sim/metrics.test.ts keeps the two equal.
 *   npx tsx scripts/cost-table.ts [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { COST_DEFAULTS, COST_NAMES, type CostParam } from '../src/sim/cost/model'

const rows = COST_NAMES.map((n) => {
  const p: CostParam = COST_DEFAULTS[n]
  const unit = p.unit === 'count' ? '' : ` ${p.unit}`
  const cal = p.calibrate ? ` — measured by \`hmmlab calibrate\` (${p.calibrate})` : ''
  return `| \`${n}\` | ${p.value}${unit} | [${p.conf}] ${p.source}${cal} |`
})
const table = ['| name | default | source |', '|---|---|---|', ...rows].join('\n')
if (process.argv.includes('--write')) {
  const path = 'docs/scenarios.md'
  const doc = readFileSync(path, 'utf8')
  const start = doc.indexOf('| name | default | source |', doc.indexOf('## Cost model'))
  const end = doc.indexOf('\n\n', start)
  if (start < 0 || end < 0) throw new Error(`${path}: no cost table under "## Cost model"`)
  writeFileSync(path, doc.slice(0, start) + table + doc.slice(end))
} else process.stdout.write(table + '\n')
