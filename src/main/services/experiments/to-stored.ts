/**
 * Maps the simulator's result document (src/shared/result.ts) into what the run store keeps and
 * the app and reports read (src/shared/run-result.ts): flat headline metrics, a columnar
 * invalidation table, findings with stable signatures and call paths, lanes for the timeline, and
 * the memory series as step functions.
 */
import type { RunResult as SimResult } from '../../../shared/result'
import type { Finding, InvalidationTable, RunResult, RunSeries } from '../../../shared/run-result'
import { MEM_TYPE_NAMES } from '../../../shared/scenario'

export interface StoredParts {
  result: RunResult
  series: RunSeries
  metrics: Record<string, number>
  expects: { passed: number; failed: number }
  findings: number
}

/** Converts one simulator result into the stored shape. */
export function toStored(sim: SimResult): StoredParts {
  const metrics = flatMetrics(sim)
  const result: RunResult = {
    schema: 'hmmlab.result/1',
    scenario: { name: sim.scenario.name, ...(sim.scenario.description ? { description: sim.scenario.description } : {}) },
    design: sim.design.id,
    seed: sim.seed,
    endTime: sim.simulated_ns,
    metrics,
    expects: sim.expects.map((e) => ({
      step: e.step,
      ...(e.line > 0 ? { line: e.line } : {}),
      check: e.label,
      passed: e.pass,
      ...(e.details.length ? { actual: e.details.join('\n') } : {}),
    })),
    findings: sim.findings.map(toFinding),
    leaks: sim.leaks.map((l) => ({
      objectType: l.type,
      owner: l.owner,
      count: 1,
      bytes: l.bytesAtEnd > 0 ? l.bytesAtEnd : l.peakBytes,
      byteSeconds: l.byteSeconds,
      since: l.since ?? 0,
      until: l.until,
    })),
    invalidations: columnar(sim.invalidations.records),
    markers: sim.markers.map((m) => ({ t: m.t, kind: m.kind, label: m.label })),
    lanes: lanesOf(sim),
    trace: {
      events: sim.trace.records.map((r) => ({ t: r.t, lane: r.cat, name: r.name, ...(r.detail ? { args: { detail: r.detail } } : {}) })),
      dropped: sim.trace.dropped,
    },
  }
  const series: RunSeries = {}
  for (const type of MEM_TYPE_NAMES) {
    const v = sim.series.bytes[type]
    if (v.some((x) => x !== 0)) series[`memory.${type}`] = { t: sim.series.t, v }
  }
  series['leaked.total'] = { t: sim.series.t, v: sim.series.leaked }
  const failed = sim.expects.filter((e) => !e.pass).length
  return { result, series, metrics, expects: { passed: sim.expects.length - failed, failed }, findings: sim.findings.length }
}

/** Headline numbers with their unit in the name. */
export function flatMetrics(sim: SimResult): Record<string, number> {
  const m = sim.metrics
  const out: Record<string, number> = {
    simulated_ns: sim.simulated_ns,
    events_count: sim.events,
    leaked_end_bytes: m.leaked_bytes_end,
    leaked_peak_bytes: m.leaked_bytes_peak,
    leak_byte_seconds: m.leak_byte_seconds,
    invalidation_count: m.invalidation_count,
    invalidation_cost_ns: m.invalidation_cost_ns,
    srcu_callbacks_pending_count: m.srcu_callbacks_pending,
    findings_count: sim.findings.length,
  }
  for (const type of MEM_TYPE_NAMES) {
    out[`peak_${type}_bytes`] = m.peak_bytes[type]
    out[`final_${type}_bytes`] = m.final_bytes[type]
  }
  for (const [name, value] of Object.entries(m.counters)) out[`counter_${name}`] = value
  return out
}

function toFinding(f: SimResult['findings'][number]): Finding {
  const paths = [
    ...(f.allocPath ? [{ label: 'allocated at', frames: f.allocPath }] : []),
    ...(f.freePath ? [{ label: 'freed at', frames: f.freePath }] : []),
    ...(f.accessPath ? [{ label: 'accessed at', frames: f.accessPath }] : []),
  ]
  const severity = f.kind === 'warn' ? 'warning' : 'error'
  // Stable across seeds: kind, invariant number, the object's type and the call site, no times or ids.
  const signature = [f.kind, f.invariant ?? '', (f.object ?? '').replace(/[#@]?\d+/g, '#'), (f.accessPath ?? f.freePath ?? []).join('<')].join('|')
  return { kind: f.kind, severity, message: f.message, signature, at: f.t, paths }
}

function columnar(records: SimResult['invalidations']['records']): InvalidationTable {
  const dict = { event: [] as string[], device: [] as string[], mechanism: [] as string[] }
  const index = (list: string[], value: string): number => {
    const i = list.indexOf(value)
    return i >= 0 ? i : list.push(value) - 1
  }
  const table: InvalidationTable = { t: [], event: [], start: [], end: [], device: [], mechanism: [], costNs: [], dict }
  for (const r of records) {
    table.t.push(r.t)
    table.event.push(index(dict.event, r.event))
    table.start.push(r.start)
    table.end.push(r.end)
    table.device.push(index(dict.device, r.device))
    table.mechanism.push(index(dict.mechanism, r.mechanism))
    table.costNs.push(r.cost)
  }
  return table
}

/** Timeline lanes: one per trace category, kinds guessed from the names the simulator uses. */
function lanesOf(sim: SimResult): RunResult['lanes'] {
  const ids = [...new Set(sim.trace.records.map((r) => r.cat))]
  return ids.map((id) => ({
    id,
    kind: /iommu|iotlb|ats|pasid/i.test(id) ? 'iommu' : /gpu|dev|dmirror|kfd/i.test(id) ? 'device' : /task|pid|proc/i.test(id) ? 'task' : 'kernel',
    label: id,
  }))
}
