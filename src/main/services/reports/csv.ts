/**
 * CSV export: one file in tidy long format, one observation per row, so a script can filter it
 * by `record` and pivot as it likes (pandas, R, a spreadsheet):
 *
 *   run_id,design,seed,parameters,record,name,dimension,t_ns,measure,value,unit
 *
 *   record        name              dimension                  t_ns     measure
 *   status        status words      stop reason: message       —        value (1)
 *   metric        metric name       —                          —        value (unit as in the record)
 *   series        memory.pages …    —                          sample   value (a step: holds until the next row)
 *   leak          object type       owner -> held by chain     since    peak_bytes | bytes_at_end | byte_seconds | until_ns
 *   invalidation  event|device|mechanism|by   the key ("munmap", "gpu0", "munmap/gpu0/gpu_tlb")  —  count | total_ns | p50_ns | p90_ns | p99_ns | max_ns
 *   table         table name        —                          —        rows | total | dropped
 *   finding       kind              severity: message          at       count (1)
 *   expect        line              what: check                —        passed (0/1); expected and actual in `dimension`
 *
 * Every number is the record's (src/shared/record.ts): the invalidation rows are its exact
 * aggregates, never sums over its capped table, and the `table` rows say how many rows each
 * capped table kept and dropped.
 *
 * RFC 4180 quoting; text cells that a spreadsheet would run as a formula (=, +, -, @ first) are
 * prefixed with a single quote.
 */
import type { ReportDocument } from '../../../shared/report'
import { statusWords, STOP_WORDS } from '../../../shared/record'

export const CSV_COLUMNS = ['run_id', 'design', 'seed', 'parameters', 'record', 'name', 'dimension', 't_ns', 'measure', 'value', 'unit'] as const

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  let s = v
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Renders every run of the document as tidy long CSV. */
export function renderCsv(doc: ReportDocument): string {
  const lines: string[] = [CSV_COLUMNS.join(',')]
  for (const r of doc.runs) {
    const params = Object.entries(r.manifest.parameters)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(';')
    const pre = [cell(r.id), cell(r.manifest.design), cell(r.manifest.seed), cell(params)].join(',')
    const row = (record: string, name: string, dimension: string, t: number | null, measure: string, value: number, unit: string): void => {
      lines.push(`${pre},${[cell(record), cell(name), cell(dimension), cell(t), cell(measure), cell(value), cell(unit)].join(',')}`)
    }
    const rec = r.result
    row(
      'status',
      statusWords(r.manifest.status, r.manifest.stop),
      r.manifest.stop ? `${STOP_WORDS[r.manifest.stop.reason]}: ${r.manifest.stop.message}` : '',
      null,
      'value',
      1,
      'count',
    )
    for (const name of Object.keys(rec.metrics).sort()) row('metric', name, '', null, 'value', rec.metrics[name]!.value, rec.metrics[name]!.unit)
    for (const name of Object.keys(r.series).sort()) {
      const s = r.series[name]!
      const unit = name.startsWith('memory.') || name.startsWith('leaked.') ? 'bytes' : ''
      for (let i = 0; i < s.t.length; i++) row('series', name, '', s.t[i]!, 'value', s.v[i]!, unit)
    }
    for (const l of rec.leaks.rows) {
      const dim = `${l.owner} -> ${l.heldBy.join(' -> ')}`
      row('leak', l.objectType, dim, l.since, 'peak_bytes', l.peakBytes, 'bytes')
      row('leak', l.objectType, dim, l.since, 'bytes_at_end', l.bytesAtEnd, 'bytes')
      row('leak', l.objectType, dim, l.since, 'byte_seconds', l.byteSeconds, 'byte_seconds')
      if (l.until !== null) row('leak', l.objectType, dim, l.since, 'until_ns', l.until, 'ns')
    }
    const inv = rec.aggregates.invalidations
    const groups: [string, typeof inv.by][] = [
      ['mechanism', inv.byMechanism],
      ['device', inv.byDevice],
      ['event', inv.byEvent],
      ['by', inv.by],
    ]
    row('invalidation', 'total', '*', null, 'count', inv.count, 'count')
    row('invalidation', 'total', '*', null, 'total_ns', inv.totalNs, 'ns')
    for (const [name, stats] of groups) {
      for (const s of stats) {
        const key = name === 'by' ? `${s.event}/${s.device}/${s.mechanism}` : (s[name as 'mechanism' | 'device' | 'event'] ?? '')
        row('invalidation', name, key, null, 'count', s.count, 'count')
        row('invalidation', name, key, null, 'total_ns', s.totalNs, 'ns')
        row('invalidation', name, key, null, 'p50_ns', s.p50Ns, 'ns')
        row('invalidation', name, key, null, 'p90_ns', s.p90Ns, 'ns')
        row('invalidation', name, key, null, 'p99_ns', s.p99Ns, 'ns')
        row('invalidation', name, key, null, 'max_ns', s.maxNs, 'ns')
      }
    }
    for (const [name, t] of [
      ['invalidations', rec.invalidations],
      ['trace', rec.trace],
      ['steps', rec.steps],
      ['markers', rec.markers],
      ['findings', rec.findings],
      ['expects', rec.expects],
      ['leaks', rec.leaks],
    ] as const) {
      row('table', name, '', null, 'rows', t.total - t.dropped, 'count')
      row('table', name, '', null, 'total', t.total, 'count')
      row('table', name, '', null, 'dropped', t.dropped, 'count')
    }
    for (const f of rec.findings.rows) row('finding', f.kind, `${f.severity}: ${f.message}`, f.t, 'count', 1, 'count')
    for (const x of rec.expects.rows) {
      for (const c of x.checks)
        row('expect', String(x.line), `${x.what}: ${c.what}: expected ${c.expected}, got ${c.actual}`, x.t, 'passed', c.passed ? 1 : 0, 'count')
    }
  }
  return `${lines.join('\r\n')}\r\n`
}
