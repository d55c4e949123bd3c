/**
 * The event trace in Chrome trace-event JSON (the "JSON object format"), which Perfetto and
 * chrome://tracing open. For each run:
 *
 *   process "<run>: tasks"    one thread per task (its lane, or a track named after the task):
 *                             its lifetime (spawn or fork → exit) as a slice, its events inside
 *   process "<run>: devices"  one thread per device lane, plus "<device> invalidations"
 *   process "<run>: IOMMUs"   one thread per IOMMU lane, plus "<iommu> invalidations"
 *   process "<run>: kernel"   kernel lanes and the run's markers (fork, exit, close...)
 *   process "<run>: memory"   counters `memory.<type>` and `leaked.<type>` (bytes)
 *
 * A run recorded with a timeline (`record.timeline`) gives its lanes as the tracks, its slices
 * (steps, invalidation brackets, device TLB and IOMMU invalidations, SRCU grace periods, workqueue
 * items, faults) as complete ('X') slices and its cause → effect flows as flow events ('s' → 'f'),
 * so Perfetto shows the app's Timeline; its refcount tracks are counters in "<run>: memory". An
 * older record gives invalidations (from the columnar table) as slices lasting their cost, with
 * the mechanism, event and address range as args. The format requires slices on a thread to nest:
 * a slice that would cross another goes to an extra thread ("gpu0 invalidations (2)"). Timestamps are µs (the format's unit) with ns precision kept as fractions.
 */
import type { ReportDocument, ReportRun } from '../../../shared/report'

export interface TraceEventJson {
  name: string
  ph: 'X' | 'i' | 'C' | 'M' | 's' | 'f'
  /** Flow events ('s' → 'f'): their id, and 'e' to bind the end to the enclosing slice. */
  id?: number
  bp?: 'e'
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
  private threads = new Map<string, { pid: number; tid: number; open: { start: number; end: number }[] }[]>()
  private nextTid = new Map<number, number>()
  constructor(
    private readonly out: TraceEventJson[],
    private readonly basePid: number,
    label: string,
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

  /**
   * The thread for a track name. For a slice (`ts..end`, µs, offered in ascending `ts` order per
   * track) it picks the first thread of that name where the slice nests inside the open slices or
   * follows them, and opens a further thread (`name (2)`) when none does.
   */
  thread(group: Group, name: string, ts?: number, end?: number): { pid: number; tid: number } {
    const key = `${group}\u0000${name}`
    let list = this.threads.get(key)
    if (!list) this.threads.set(key, (list = []))
    let chosen: (typeof list)[number] | undefined
    if (ts === undefined || end === undefined) chosen = list[0]
    else
      chosen = list.find((t) => {
        while (t.open.length && t.open[t.open.length - 1]!.end <= ts) t.open.pop()
        const top = t.open[t.open.length - 1]
        return !top || (top.start <= ts && end <= top.end)
      })
    if (!chosen) {
      const pid = this.pid(group)
      const tid = (this.nextTid.get(pid) ?? 0) + 1
      this.nextTid.set(pid, tid)
      chosen = { pid, tid, open: [] }
      list.push(chosen)
      const threadName = list.length === 1 ? name : `${name} (${list.length})`
      this.out.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name: threadName } })
      this.out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid, args: { sort_index: tid } })
    }
    if (ts !== undefined && end !== undefined) chosen.open.push({ start: ts, end })
    return { pid: chosen.pid, tid: chosen.tid }
  }
}

interface Slice {
  group: Group
  track: string
  ts: number
  dur: number
  event: Omit<TraceEventJson, 'pid' | 'tid' | 'ts' | 'dur' | 'ph'>
}

/** Task names and lifetimes from the markers the simulator writes (`spawn` "A (pid 100)", `fork` "A → B (pid 101)", `exit` "A (pid 100)"). */
function taskLifetimes(r: ReportRun['result']): Map<string, { label: string; start: number; end: number | null }> {
  const tasks = new Map<string, { label: string; start: number; end: number | null }>()
  const nameOf = (label: string): string => label.trim().split(/\s+\(/)[0]!.trim()
  for (const m of [...r.markers.rows].sort((a, b) => a.t - b.t)) {
    if (m.kind === 'spawn' && /\(pid \d+\)\s*$/.test(m.label)) {
      const name = nameOf(m.label)
      if (!tasks.has(name)) tasks.set(name, { label: m.label.trim(), start: m.t, end: null })
    } else if (m.kind === 'fork') {
      const child = /→\s*(.+\(pid \d+\))\s*$/.exec(m.label)?.[1]
      if (child && !tasks.has(nameOf(child))) tasks.set(nameOf(child), { label: child.trim(), start: m.t, end: null })
    } else if (m.kind === 'exit') {
      const t = tasks.get(nameOf(m.label))
      if (t && t.end === null) t.end = m.t
    }
  }
  return tasks
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
  // Tasks: a task lane when the run has one for the task, else a track named after the task.
  const tasks = taskLifetimes(r)
  const taskTrack = (name: string): { group: Group; name: string } => {
    const tlLane = r.timeline?.lanes.find((l) => l.id === `task:${name}`)
    if (tlLane) return { group: 'tasks', name: tasks.get(name)?.label ?? tlLane.label }
    const lane = r.lanes.find((l) => l.kind === 'task' && (l.label === name || l.label.startsWith(`${name} `)))
    return lane ? { group: 'tasks', name: lane.label } : { group: 'tasks', name: tasks.get(name)?.label ?? name }
  }
  // Declare every lane's thread up front so empty lanes still show as tracks.
  for (const l of r.lanes) tracks.thread(GROUP_OF_KIND[l.kind] ?? 'kernel', l.label)

  const slices: Slice[] = []
  for (const [name, t] of tasks) {
    const end = t.end ?? r.outcome.simulatedNs
    const track = taskTrack(name)
    slices.push({
      ...track,
      track: track.name,
      ts: us(t.start),
      dur: us(Math.max(0, end - t.start)),
      event: { name: t.end === null ? `${t.label} (alive at the end)` : t.label, cat: 'task' },
    })
  }
  const tl = r.timeline
  const flowEnds = new Map<number, { ts: number; dur: number; pid: number; tid: number }>()
  const timelineSlices: Array<Slice & { index: number }> = []
  if (tl) {
    // task lanes carry the task's name and pid as its lifetime slice does ("A (pid 100)")
    const laneTrackOf = tl.lanes.map((l) =>
      l.kind === 'task' && l.id.startsWith('task:') ? taskTrack(l.id.slice('task:'.length)) : { group: GROUP_OF_KIND[l.kind] ?? 'kernel', name: l.label },
    )
    for (const l of laneTrackOf) tracks.thread(l.group, l.name)
    const n = Math.min(tl.slices.t0.length, tl.slices.t1.length, tl.slices.lane.length, tl.slices.name.length, tl.slices.cat.length, tl.slices.detail.length)
    for (let i = 0; i < n; i++) {
      const lane = laneTrackOf[tl.slices.lane[i]!] ?? { group: 'kernel' as Group, name: 'kernel' }
      const t0 = tl.slices.t0[i]!
      const step = tl.slices.step[i] ?? -1
      timelineSlices.push({
        index: i,
        group: lane.group,
        track: lane.name,
        ts: us(t0),
        dur: us(Math.max(0, tl.slices.t1[i]! - t0)),
        event: {
          name: tl.slices.dict.name[tl.slices.name[i]!] ?? 'slice',
          cat: tl.slices.dict.cat[tl.slices.cat[i]!] ?? 'slice',
          args: { detail: tl.slices.detail[i]!, ...(step >= 0 ? { step } : {}) },
        },
      })
    }
  }
  const inv = r.invalidations.rows
  // Columns of one table have one length by construction; a damaged table is cut to its shortest column.
  const rows = tl ? 0 : Math.min(inv.t.length, inv.event.length, inv.start.length, inv.end.length, inv.device.length, inv.mechanism.length, inv.costNs.length)
  for (let i = 0; i < rows; i++) {
    const device = inv.dict.device[inv.device[i]!] ?? `device ${inv.device[i]}`
    const mechanism = inv.dict.mechanism[inv.mechanism[i]!] ?? `mechanism ${inv.mechanism[i]}`
    const event = inv.dict.event[inv.event[i]!] ?? `event ${inv.event[i]}`
    const lane = laneByName.get(device)
    const group: Group = lane ? (GROUP_OF_KIND[lane.kind] ?? 'devices') : /iommu|dmar|ivhd|smmu|amd-vi/i.test(device) ? 'IOMMUs' : 'devices'
    slices.push({
      group,
      track: `${lane?.label ?? device} invalidations`,
      ts: us(inv.t[i]!),
      dur: us(Math.max(0, inv.costNs[i]!)),
      event: {
        name: `invalidate ${mechanism}`,
        cat: 'invalidation',
        args: {
          mechanism,
          device,
          event,
          start: hex(inv.start[i]!),
          end: hex(inv.end[i]!),
          bytes: Math.max(0, inv.end[i]! - inv.start[i]!),
          cost_ns: inv.costNs[i]!,
        },
      },
    })
  }
  // One pass in time order (longer first at equal starts) so that the packer sees each track in order.
  const all: Array<Slice & { index?: number }> = [...slices, ...timelineSlices]
  all.sort((a, b) => a.ts - b.ts || b.dur - a.dur)
  for (const s of all) {
    const at = tracks.thread(s.group, s.track, s.ts, s.ts + s.dur)
    out.push({ ...s.event, ph: 'X', ts: s.ts, dur: s.dur, ...at })
    if (s.index !== undefined) flowEnds.set(s.index, { ts: s.ts, dur: s.dur, ...at })
  }
  if (tl) {
    const base = (index + 1) * 1_000_000
    const n = Math.min(tl.flows.from.length, tl.flows.to.length)
    for (let k = 0; k < n; k++) {
      const a = flowEnds.get(tl.flows.from[k]!)
      const b = flowEnds.get(tl.flows.to[k]!)
      if (!a || !b) continue
      // the start lies inside the cause's slice, as close to the effect as it can
      const ts = Math.min(a.ts + a.dur, Math.max(a.ts, b.ts))
      out.push({ name: 'cause', cat: 'flow', ph: 's', id: base + k, ts, pid: a.pid, tid: a.tid })
      out.push({ name: 'cause', cat: 'flow', ph: 'f', bp: 'e', id: base + k, ts: b.ts, pid: b.pid, tid: b.tid })
    }
  }

  for (const ev of r.trace.rows) {
    const { group, name } = laneTrack(ev.cat)
    out.push({
      name: ev.name,
      cat: 'trace',
      ph: 'i',
      s: 't',
      ts: us(ev.t),
      ...tracks.thread(group, name),
      ...(ev.detail ? { args: { detail: ev.detail } } : {}),
    })
  }

  const TASK_MARKERS: Record<string, (label: string) => string | undefined> = {
    spawn: (l) => l.trim().split(/\s+\(/)[0],
    exit: (l) => l.trim().split(/\s+\(/)[0],
    fork: (l) => l.trim().split(/\s+→/)[0],
    open: (l) => l.trim().split(/\s+/)[0],
    close: (l) => l.trim().split(/\s+/)[0],
  }
  for (const m of r.markers.rows) {
    const taskName = TASK_MARKERS[m.kind]?.(m.label)
    const { group, name } = taskName && tasks.has(taskName) ? taskTrack(taskName) : { group: 'kernel' as Group, name: 'markers' }
    out.push({ name: m.label, cat: `marker,${m.kind}`, ph: 'i', s: 't', ts: us(m.t), ...tracks.thread(group, name), args: { kind: m.kind } })
  }

  const memPid = tracks.pid('memory')
  const rc = r.refcounts
  if (rc) {
    const n = Math.min(rc.rows.t.length, rc.rows.track.length, rc.rows.value.length)
    for (let i = 0; i < n; i++) {
      const tr = rc.tracks[rc.rows.track[i]!]
      if (!tr) continue
      out.push({
        name: `${tr.object} ${tr.counter}`,
        cat: 'refcount',
        ph: 'C',
        ts: us(rc.rows.t[i]!),
        pid: memPid,
        tid: 0,
        args: { [tr.counter]: rc.rows.value[i]! },
      })
    }
  }
  for (const name of Object.keys(run.series).sort()) {
    if (!name.startsWith('memory.') && !name.startsWith('leaked.')) continue
    const s = run.series[name]!
    for (let i = 0; i < s.t.length; i++) out.push({ name, cat: 'memory', ph: 'C', ts: us(s.t[i]!), pid: memPid, tid: 0, args: { bytes: s.v[i]! } })
    const last = s.t.length - 1
    if (last >= 0 && s.t[last]! < r.outcome.simulatedNs)
      out.push({ name, cat: 'memory', ph: 'C', ts: us(r.outcome.simulatedNs), pid: memPid, tid: 0, args: { bytes: s.v[last]! } })
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
      // the slices are the kept rows of each run's invalidation table; the totals are the records'
      droppedInvalidations: doc.runs.reduce((s, r) => s + r.result.invalidations.dropped, 0),
      invalidations: doc.runs
        .map(
          (r) =>
            `${r.label}: ${r.result.aggregates.invalidations.count} costing ${r.result.aggregates.invalidations.totalNs} ns (${r.result.invalidations.dropped} not in the trace)`,
        )
        .join('; '),
      timeBase: 'simulated time; 1 µs in the trace = 1 µs simulated',
    },
  }
}

/** The trace as text. */
export function renderTrace(doc: ReportDocument): string {
  return JSON.stringify(buildTrace(doc))
}
