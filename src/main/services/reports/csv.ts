/**
 * CSV export: one file in tidy long format, one observation per row, so a script can filter it
 * by `record` and pivot as it likes (pandas, R, a spreadsheet):
 *
 *   run_id,design,seed,parameters,record,name,dimension,t_ns,measure,value,unit
 *
 *   record        name              dimension            t_ns     measure
 *   metric        metric name       —                    —        value
 *   series        memory.page …     —                    sample   value (a step: holds until the next row)
 *   leak          object type       owner -> held by     since    count | bytes | byte_seconds | until_ns
 *   invalidation  mechanism         device (* = all)     —        count | total_ns | p50_ns | p90_ns | p99_ns | max_ns
 *   finding       kind              severity             at       count (1), message in `dimension`
 *
 * RFC 4180 quoting; text cells that a spreadsheet would run as a formula (=, +, -, @ first) are
 * prefixed with a single quote.
 */
import type { ReportDocument } from '../../../shared/report'

export const CSV_COLUMNS = ['run_id', 'design', 'seed', 'parameters', 'record', 'name', 'dimension', 't_ns', 'measure', 'value', 'unit'] as const

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  let s = v
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function unitOf(name: string): string {
  if (/byte_?seconds$/.test(name)) return 'byte_seconds'
  if (name.endsWith('_bytes')) return 'bytes'
  if (name.endsWith('_ns')) return 'ns'
  if (name.endsWith('_count')) return 'count'
  return ''
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
    for (const name of Object.keys(r.result.metrics).sort()) row('metric', name, '', null, 'value', r.result.metrics[name]!, unitOf(name))
    for (const name of Object.keys(r.series).sort()) {
      const s = r.series[name]!
      const unit = name.startsWith('memory.') || name.startsWith('leaked.') ? 'bytes' : ''
      for (let i = 0; i < s.t.length; i++) row('series', name, '', s.t[i]!, 'value', s.v[i]!, unit)
    }
    for (const l of r.result.leaks) {
      const dim = `${l.owner} -> ${l.heldBy ?? ''}`
      row('leak', l.objectType, dim, l.since, 'count', l.count, 'count')
      row('leak', l.objectType, dim, l.since, 'bytes', l.bytes, 'bytes')
      row('leak', l.objectType, dim, l.since, 'byte_seconds', l.byteSeconds, 'byte_seconds')
      if (l.until !== null) row('leak', l.objectType, dim, l.since, 'until_ns', l.until, 'ns')
    }
    for (const s of [...r.summary.invalidationsByMechanism, ...r.summary.invalidations]) {
      row('invalidation', s.mechanism, s.device, null, 'count', s.count, 'count')
      row('invalidation', s.mechanism, s.device, null, 'total_ns', s.totalNs, 'ns')
      row('invalidation', s.mechanism, s.device, null, 'p50_ns', s.p50Ns, 'ns')
      row('invalidation', s.mechanism, s.device, null, 'p90_ns', s.p90Ns, 'ns')
      row('invalidation', s.mechanism, s.device, null, 'p99_ns', s.p99Ns, 'ns')
      row('invalidation', s.mechanism, s.device, null, 'max_ns', s.maxNs, 'ns')
    }
    for (const f of r.result.findings) row('finding', f.kind, `${f.severity}: ${f.message}`, f.at, 'count', 1, 'count')
  }
  return `${lines.join('\r\n')}\r\n`
}
