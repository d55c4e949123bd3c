/**
 * The event trace in Chrome trace-event JSON (the "JSON object format"), which Perfetto and
 * chrome://tracing open. For each run:
 *
 *   process "<run>: tasks"    one thread per task lane (syscalls, faults as slices; instants)
 *   process "<run>: devices"  one thread per device lane, plus "<device> invalidations"
 *   process "<run>: IOMMUs"   one thread per IOMMU lane, plus "<iommu> invalidations"
 *   process "<run>: kernel"   kernel lanes and the run's markers (fork, exit, close...)
 *   process "<run>: memory"   counters `memory.<type>` and `leaked.<type>` (bytes)
 *
 * Invalidations (from the columnar table) are complete ('X') slices lasting their cost, with the
 * mechanism, event and address range as args. Slices that would overlap on one thread are moved
 * to an extra thread ("gpu0 invalidations (2)"), since the format requires slices on a thread to
 * nest. Timestamps are µs (the format's unit) with ns precision kept as fractions.
 */
import type { ReportDocument, ReportRun } from '../../../shared/report'

export interface TraceEventJson {
  name: string
  ph: 'X' | 'i' | 'C' | 'M'
  ts?: number
  dur?: number
  pid: number
  tid: number
  cat?: string
  s?: 't' | 'p' | 'g'
  args?: Record<string, string | number | boolean>
}

export interface TraceFile {
  traceEvents: TraceEventJson[]
  displayTimeUnit: 'ns'
  otherData: Record<string, string | number>
}

type Group = 'tasks' | 'devices' | 'IOMMUs' | 'kernel' | 'memory'
const GROUPS: Group[] = ['tasks', 'devices', 'IOMMUs', 'kernel', 'memory']
const GROUP_OF_KIND: Record<string, Group> = { task: 'tasks', device: 'devices', iommu: 'IOMMUs', kernel: 'kernel' }

const us = (ns: number): number => ns / 1000

function hex(n: number): string {
  return Number.isSafeInteger(n) && n >= 0 ? `0x${n.toString(16)}` : String(n)
}

class RunTracks {
  private threads = new Map<string, { pid: number; tid: number; lastEnd: number }[]>()
  private nextTid = new Map<number, number>()
  constructor(
    private readonly out: TraceEventJson[],
    private readonly basePid: number,
    private readonly label: string,
  ) {
    GROUPS.forEach((g, i) => {
      const pid = this.pid(g)
      out.push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: `${label}: ${g}` } })
      out.push({ name: 'process_sort_index', ph: 'M', ts: 0, pid, tid: 0, args: { sort_index: basePid + i } })
    })
  }

  pid(group: Group): number {
    return this.basePid + GROUPS.indexOf(group) + 1
  }

  /** The thread for a track name; `ts..end` (µs) picks a thread where the slice does not overlap. */
  thread(group: Group, name: string, ts?: number, end?: number): { pid: number; tid: number } {
    const key = `${group}\u0000${name}`
    let list = this.threads.get(key)
    if (!list) this.threads.set(key, (list = []))
    let chosen = ts === undefined ? list[0] : list.find((t) => t.lastEnd <= ts)
    if (!chosen) {
      const pid = this.pid(group)
      const tid = (this.nextTid.get(pid) ?? 0) + 1
      this.nextTid.set(pid, tid)
      chosen = { pid, tid, lastEnd: -Infinity }
      list.push(chosen)
      const threadName = list.length === 1 ? name : `${name} (${list.length})`
      this.out.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name: threadName } })
      this.out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid, args: { sort_index: tid } })
    }
    if (end !== undefined) chosen.lastEnd = Math.max(chosen.lastEnd, end)
    return { pid: chosen.pid, tid: chosen.tid }
  }
}

function runEvents(run: ReportRun, index: number, out: TraceEventJson[]): void {
  const r = run.result
  const tracks = new RunTracks(out, (index + 1) * 100, run.label)
  const lanes = new Map(r.lanes.map((l) => [l.id, l]))
  const laneByName = new Map<string, (typeof r.lanes)[number]>()
  for (const l of r.lanes) {
    laneByName.set(l.id, l)
    laneByName.set(l.label, l)
  }
  const laneTrack = (laneId: string): { group: Group; name: string } => {
    const lane = lanes.get(laneId)
    return lane ? { group: GROUP_OF_KIND[lane.kind] ?? 'kernel', name: lane.label } : { group: 'kernel', name: laneId }
  }
  // Declare every lane's thread up front so empty lanes still show as tracks.
  for (const l of r.lanes) tracks.thread(GROUP_OF_KIND[l.kind] ?? 'kernel', l.label)

  const slices = r.trace.events.filter((ev) => ev.dur !== undefined).sort((a, b) => a.t - b.t)
  for (const ev of slices) {
    const { group, name } = laneTrack(ev.lane)
    const ts = us(ev.t)
    const dur = us(Math.max(0, ev.dur!))
    const th = tracks.thread(group, name, ts, ts + dur)
    out.push({ name: ev.name, cat: 'trace', ph: 'X', ts, dur, ...th, ...(ev.args ? { args: ev.args } : {}) })
  }
  for (const ev of r.trace.events) {
    if (ev.dur !== undefined) continue
    const { group, name } = laneTrack(ev.lane)
    out.push({ name: ev.name, cat: 'trace', ph: 'i', s: 't', ts: us(ev.t), ...tracks.thread(group, name), ...(ev.args ? { args: ev.args } : {}) })
  }

  const inv = r.invalidations
  const order = inv.t.map((_, i) => i).sort((a, b) => inv.t[a]! - inv.t[b]! || a - b)
  for (const i of order) {
    const device = inv.dict.device[inv.device[i]!] ?? `device ${inv.device[i]}`
    const mechanism = inv.dict.mechanism[inv.mechanism[i]!] ?? `mechanism ${inv.mechanism[i]}`
    const event = inv.dict.event[inv.event[i]!] ?? `event ${inv.event[i]}`
    const lane = laneByName.get(device)
    const group: Group = lane ? (GROUP_OF_KIND[lane.kind] ?? 'devices') : /iommu|dmar|ivhd|smmu|amd-vi/i.test(device) ? 'IOMMUs' : 'devices'
    const ts = us(inv.t[i]!)
    const dur = us(Math.max(0, inv.costNs[i]!))
    const th = tracks.thread(group, `${lane?.label ?? device} invalidations`, ts, ts + dur)
    out.push({
      name: `invalidate ${mechanism}`,
      cat: 'invalidation',
      ph: 'X',
      ts,
      dur,
      ...th,
      args: { mechanism, device, event, start: hex(inv.start[i]!), end: hex(inv.end[i]!), bytes: Math.max(0, inv.end[i]! - inv.start[i]!), cost_ns: inv.costNs[i]! },
    })
  }

  for (const m of r.markers) {
    const { group, name } = m.lane ? laneTrack(m.lane) : { group: 'kernel' as Group, name: 'markers' }
    out.push({ name: m.label, cat: `marker,${m.kind}`, ph: 'i', s: 't', ts: us(m.t), ...tracks.thread(group, name), args: { kind: m.kind } })
  }

  const memPid = tracks.pid('memory')
  for (const name of Object.keys(run.series).sort()) {
    if (!name.startsWith('memory.') && !name.startsWith('leaked.')) continue
    const s = run.series[name]!
    for (let i = 0; i < s.t.length; i++) out.push({ name, cat: 'memory', ph: 'C', ts: us(s.t[i]!), pid: memPid, tid: 0, args: { bytes: s.v[i]! } })
    const last = s.t.length - 1
    if (last >= 0 && s.t[last]! < r.endTime) out.push({ name, cat: 'memory', ph: 'C', ts: us(r.endTime), pid: memPid, tid: 0, args: { bytes: s.v[last]! } })
  }
}

/** The document's runs as one Chrome trace-event JSON object. */
export function buildTrace(doc: ReportDocument): TraceFile {
  const traceEvents: TraceEventJson[] = []
  doc.runs.forEach((run, i) => runEvents(run, i, traceEvents))
  return {
    traceEvents,
    displayTimeUnit: 'ns',
    otherData: {
      producer: `HMM Lab ${doc.hmmlab.version}`,
      title: doc.title,
      generatedAt: doc.generatedAt,
      runs: doc.runs.map((r) => r.id).join(', '),
      droppedTraceEvents: doc.runs.reduce((s, r) => s + r.result.trace.dropped, 0),
      timeBase: 'simulated time; 1 µs in the trace = 1 µs simulated',
    },
  }
}

/** The trace as text. */
export function renderTrace(doc: ReportDocument): string {
  return JSON.stringify(buildTrace(doc))
}
