/**
 * From what the guest left behind (the executor's records and the ftrace buffer) to one
 * OracleSide document: events are tagged with the step whose "hmmlab step N" marker precedes
 * them, mm pointers become tasks (the whole-mm interval insert of dmirror_fops_open names the
 * opener's mm), addresses become (region, page offset) with the task's regions around the step,
 * owner pointers become device names (learned by a calibration MIGRATE per device at boot).
 */
import {
  MMU_NOTIFY_EVENTS,
  ORACLE_FORMAT,
  OracleSideSchema,
  type OracleInvalidation,
  type OracleSide,
  type OracleStep,
  type PagemapSummary,
  type RegionSlice,
} from '../../../../shared/oracle'
import { cutPages } from '../regions'
import type { CompiledProgram } from './program'

export type TraceEvent =
  | { kind: 'marker'; pid: number; ts: number; text: string }
  | { kind: 'irs' | 'ii' | 'rel' | 'ins' | 'rm'; pid: number; ts: number; comm: string; f: Record<string, bigint> }

const LINE_RE = /^\s*(.*)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+):\s+([A-Za-z0-9_]+):\s?(.*)$/

/** Parses the text of /sys/kernel/tracing/trace (comment lines and other events are skipped). */
export function parseTrace(text: string): { events: TraceEvent[]; skipped: number } {
  const events: TraceEvent[] = []
  let skipped = 0
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE_RE.exec(line)
    if (!m) {
      skipped++
      continue
    }
    const comm = (m[1] as string).trim()
    const pid = Number(m[2])
    const ts = Number(m[4])
    const name = m[5] as string
    const rest = m[6] as string
    if (name === 'tracing_mark_write') {
      events.push({ kind: 'marker', pid, ts, text: rest.trim() })
      continue
    }
    if (name !== 'irs' && name !== 'ii' && name !== 'rel' && name !== 'ins' && name !== 'rm') {
      skipped++
      continue
    }
    const f: Record<string, bigint> = {}
    for (const kv of rest.matchAll(/(\w+)=(0x[0-9a-fA-F]+|-?\d+)/g)) {
      const v = kv[2] as string
      f[kv[1] as string] = v.startsWith('-') ? BigInt.asUintN(64, BigInt(v)) : BigInt(v)
    }
    events.push({ kind: name, pid, ts, comm, f })
  }
  return { events, skipped }
}

export interface StepRecords {
  ret: Map<number, { ret: number | null; cpages: number | null; faults: number | null }>
  pids: Map<string, number>
  /** Task and step → its regions after the step (seq: placement order, decides overlaps). */
  regions: Array<{ index: number; task: string; region: string; addr: bigint; pages: number; seq: number }>
  /** Steps after which a task listed its regions (an empty list too: every region unmapped). */
  listed: Array<{ index: number; task: string }>
  pagemap: Map<number, PagemapSummary[]>
  pagemapTask: Map<number, string>
  status: Map<number, { task: string; vmPte: number | null; rssAnon: number | null }>
  snapshot: Map<number, number[]>
  data: Map<number, Array<{ what: string; ok: boolean; first_bad_page: number | null }>>
  notes: Array<{ index: number; text: string }>
  forks: Array<{ index: number; child: string }>
}

const num = (s: string | undefined): number | null => (s === undefined || s === '-' ? null : Number(s))

/** Parses the executor's steps.txt (format in oracle/guest/executor.c). */
export function parseRecords(text: string): StepRecords {
  const r: StepRecords = {
    ret: new Map(),
    pids: new Map(),
    regions: [],
    listed: [],
    pagemap: new Map(),
    pagemapTask: new Map(),
    status: new Map(),
    snapshot: new Map(),
    data: new Map(),
    notes: [],
    forks: [],
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    const p = line.split(' ')
    const kind = p[0]
    const idx = Number(p[1])
    switch (kind) {
      case 'R':
        r.ret.set(idx, { ret: num(p[2]), cpages: num(p[3]), faults: num(p[4]) })
        break
      case 'T':
        r.pids.set(p[2] as string, Number(p[3]))
        r.forks.push({ index: idx, child: p[2] as string })
        break
      case 'L':
        r.listed.push({ index: idx, task: p[2] as string })
        break
      case 'G':
        if (p.length !== 7 || !/^[0-9a-f]+$/.test(p[4] ?? '') || !/^\d+$/.test(p[5] ?? '') || !/^\d+$/.test(p[6] ?? ''))
          throw new Error(`steps.txt: malformed region record "${line}" (expected G idx task region hexaddr pages seq)`)
        r.regions.push({
          index: idx,
          task: p[2] as string,
          region: p[3] as string,
          addr: BigInt('0x' + (p[4] as string)),
          pages: Number(p[5]),
          seq: Number(p[6]),
        })
        break
      case 'M': {
        const list = r.pagemap.get(idx) ?? []
        list.push({
          region: p[3] as string,
          pages: Number(p[4]),
          present: Number(p[5]),
          swapped: Number(p[6]),
          exclusive: Number(p[7]),
          soft_dirty: Number(p[8]),
          zero_page: num(p[9]),
        })
        r.pagemap.set(idx, list)
        r.pagemapTask.set(idx, p[2] as string)
        break
      }
      case 'V': {
        const pte = Number(p[3])
        const rss = Number(p[4])
        r.status.set(idx, { task: p[2] as string, vmPte: pte >= 0 ? pte : null, rssAnon: rss >= 0 ? rss : null })
        break
      }
      case 'N': {
        const hex = p[2] ?? ''
        const bytes: number[] = []
        for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16))
        r.snapshot.set(idx, bytes)
        break
      }
      case 'D': {
        const list = r.data.get(idx) ?? []
        const ok = p[2] === '1'
        list.push({ what: p.slice(4).join(' '), ok, first_bad_page: ok ? null : num(p[3]) })
        r.data.set(idx, list)
        break
      }
      case 'X':
        r.notes.push({ index: idx, text: p.slice(2).join(' ') })
        break
      default:
        break
    }
  }
  return r
}

/** Owner pointers of the devices, from the calibration trace ("hmmlab calibrate DEV" then its MIGRATE). */
export function parseCalibration(text: string): Map<bigint, string> {
  const out = new Map<bigint, string>()
  let dev: string | null = null
  for (const e of parseTrace(text).events) {
    if (e.kind === 'marker') {
      const m = /^hmmlab calibrate (\S+)/.exec(e.text)
      dev = m ? (m[1] as string) : null
      continue
    }
    if (dev && e.kind === 'irs' && e.f.event === 6n && e.f.owner !== undefined && e.f.owner !== 0n) {
      out.set(e.f.owner, dev)
      dev = null
    }
  }
  return out
}

/**
 * khugepaged in one boot, from the guest's `khugepaged.txt`: the line executor.c's
 * `khugepaged park` printed before anything ran, then `state` after the run.
 */
export interface KhugepagedState {
  /** The background scan was stopped before the first scenario (scan_sleep_millisecs UINT_MAX). */
  parked: boolean
  /** Why it was not, when not. */
  why: string | null
  /** `pages_collapsed` (khugepaged_scan_mm_slot's collapses only, one per PMD) when parked and after the run. */
  collapsedBefore: number | null
  collapsedAfter: number | null
}

export function parseKhugepaged(text: string | null): KhugepagedState {
  if (text === null || text.trim() === '')
    return { parked: false, why: 'the guest image does not stop it (built before the guest parked khugepaged)', collapsedBefore: null, collapsedAfter: null }
  const num = (line: string | undefined, key: string): number | null => {
    const m = line === undefined ? null : new RegExp(`\\b${key}=(-?\\d+)`).exec(line)
    return m ? Number(m[1]) : null
  }
  const lines = text.split('\n').map((l) => l.trim())
  const parked = lines.find((l) => l.startsWith('parked '))
  const state = lines.find((l) => l.startsWith('state '))
  if (!parked) {
    const why = lines.find((l) => l.startsWith('not-parked '))?.slice('not-parked '.length) ?? lines.find((l) => l !== '') ?? 'no answer'
    return { parked: false, why, collapsedBefore: null, collapsedAfter: num(state, 'pages_collapsed') }
  }
  return { parked: true, why: null, collapsedBefore: num(parked, 'pages_collapsed'), collapsedAfter: num(state, 'pages_collapsed') }
}

/** The kernel side's `version.khugepaged` and, when the background scan may have run, a note. */
export function describeKhugepaged(s: KhugepagedState): { version: string; note: string | null } {
  if (!s.parked)
    return {
      version: `on (${s.why ?? 'not stopped'})`,
      note: `khugepaged's background scan ran during this boot (${s.why ?? 'not stopped'}): a collapse between two steps changes what the next one meets`,
    }
  if (s.collapsedBefore === null || s.collapsedAfter === null)
    return { version: 'off (background scan parked; pages_collapsed not read after the run)', note: null }
  const n = s.collapsedAfter - s.collapsedBefore
  if (n === 0) return { version: 'off (background scan parked; no collapse during the boot)', note: null }
  return {
    version: `parked, but pages_collapsed grew by ${n} during the boot`,
    note: `khugepaged's pages_collapsed grew by ${n} during this boot although its scan was parked`,
  }
}

const ULONG_MAX = (1n << 64n) - 1n
const PAGE_MASK_MAX = ULONG_MAX & ~0xfffn

interface Region {
  name: string
  start: bigint
  pages: number
  seq: number
}

/**
 * Splits [start, end) into slices inside the regions and pages outside, with the simulator side's
 * rules (regions.ts cutPages: address order, a page two regions cover belongs to the newer one).
 */
export function sliceRange(start: bigint, end: bigint, regions: readonly Region[]): { slices: RegionSlice[]; outside: number } {
  const first = start >> 12n
  const last = (end + 0xfffn) >> 12n
  // user addresses are below 2^57 (five-level paging): page numbers fit a double exactly
  const { slices, inside } = cutPages(
    Number(first),
    Number(last),
    regions.map((r) => ({ name: r.name, start: Number(r.start >> 12n), pages: r.pages, seq: r.seq })),
  )
  return { slices, outside: Math.max(0, Number(last - first) - inside) }
}

export interface BuildSideInput {
  program: CompiledProgram
  scenario: { name: string; file: string; hash: string }
  design: string
  version: Record<string, string>
  records: string
  trace: string
  /** Owner pointer → guest device name (hmm_dmirrorN). */
  owners: Map<bigint, string>
  /** Extra notes (lost events, guest messages). */
  notes?: string[]
}

/** Builds the kernel side's OracleSide for one program run. */
export function buildSide(inp: BuildSideInput): OracleSide {
  const rec = parseRecords(inp.records)
  const { events, skipped } = parseTrace(inp.trace)
  const notes: string[] = [...(inp.notes ?? [])]
  if (skipped > 0) notes.push(`${skipped} trace lines not understood`)
  const guestToScenario = new Map<string, string>()
  for (const [sc, g] of Object.entries(inp.program.devices)) guestToScenario.set(g, sc)
  const ownerName = (p: bigint | undefined): string | null => {
    if (p === undefined || p === 0n) return null
    const g = inp.owners.get(p)
    if (g === undefined) return `unknown:0x${p.toString(16)}`
    return guestToScenario.get(g) ?? g
  }
  const taskOfPid = new Map<number, string>()
  for (const [t, pid] of rec.pids) taskOfPid.set(pid, t)
  // regions of each task after each step, in step order
  const regionsAfter = new Map<string, Map<number, Region[]>>()
  const listOf = (task: string, index: number): Region[] => {
    const byStep = regionsAfter.get(task) ?? new Map<number, Region[]>()
    regionsAfter.set(task, byStep)
    const list = byStep.get(index) ?? []
    byStep.set(index, list)
    return list
  }
  for (const l of rec.listed) listOf(l.task, l.index)
  for (const g of rec.regions) listOf(g.task, g.index).push({ name: g.region, start: g.addr, pages: g.pages, seq: g.seq })
  // a forked child starts with its parent's regions as of the fork
  const parentOf = new Map<string, { parent: string; index: number }>()
  for (const s of inp.program.steps) {
    if (s.op === 'fork' && s.task !== null) {
      const f = rec.forks.find((x) => x.index === s.index && x.child !== s.task)
      if (f) parentOf.set(f.child, { parent: s.task, index: s.index })
    }
  }
  const latestBefore = (task: string, index: number, inclusive: boolean): Region[] => {
    const byStep = regionsAfter.get(task)
    let best: number | null = null
    if (byStep) for (const k of byStep.keys()) if ((inclusive ? k <= index : k < index) && (best === null || k > best)) best = k
    if (best !== null) return byStep?.get(best) ?? []
    const p = parentOf.get(task)
    return p && p.index <= index ? latestBefore(p.parent, p.index, true) : []
  }
  const regionsAround = (task: string, index: number | 'trailing'): Region[] => {
    if (index === 'trailing') return latestBefore(task, Number.MAX_SAFE_INTEGER, true)
    const before = latestBefore(task, index, false)
    const after = latestBefore(task, index, true)
    const out = [...before]
    for (const r of after) if (!out.some((x) => x.name === r.name && x.start === r.start && x.seq === r.seq)) out.push(r)
    return out
  }

  const mmTask = new Map<bigint, string>()
  const perStep = new Map<number, OracleInvalidation[]>()
  const trailing: OracleInvalidation[] = []
  let cur: number | 'trailing' | null = null
  let before = 0
  let started = false
  const push = (inv: OracleInvalidation): void => {
    if (cur === null) {
      before++
      return
    }
    if (cur === 'trailing') trailing.push(inv)
    else {
      const l = perStep.get(cur) ?? []
      l.push(inv)
      perStep.set(cur, l)
    }
  }
  const mkInv = (via: 'range_start' | 'interval', f: Record<string, bigint>, eventName: string): OracleInvalidation => {
    const mm = f.mm ?? 0n
    const task = mmTask.get(mm) ?? null
    const start = f.start ?? 0n
    const end = f.end ?? 0n
    const whole = start === 0n && end >= PAGE_MASK_MAX
    let slices: RegionSlice[] = []
    let outside = 0
    if (!whole) {
      const regs = task !== null && cur !== null ? regionsAround(task, cur) : []
      const s = sliceRange(start, end, regs)
      slices = s.slices
      outside = s.outside
    }
    return { via, event: eventName as OracleInvalidation['event'], task, whole, slices, outside_pages: outside, owner: ownerName(f.owner) }
  }
  const eventName = (v: bigint | undefined): string => {
    const n = Number(v ?? -1n)
    const name = MMU_NOTIFY_EVENTS[n]
    if (!name) throw new Error(`trace: unknown mmu_notifier_event ${n}`)
    return name
  }
  for (const e of events) {
    if (e.kind === 'marker') {
      const step = /^hmmlab step (\d+)$/.exec(e.text)
      if (step) cur = Number(step[1])
      else if (e.text === 'hmmlab trailing') cur = 'trailing'
      else if (/^hmmlab program /.test(e.text)) started = true
      else if (/^hmmlab end /.test(e.text)) cur = null
      continue
    }
    if (!started) {
      before++
      continue
    }
    switch (e.kind) {
      case 'ins': {
        // dmirror_fops_open: the whole address space of current->mm
        const task = taskOfPid.get(e.pid)
        if (task !== undefined && e.f.start === 0n && e.f.len === PAGE_MASK_MAX && e.f.mm !== undefined) mmTask.set(e.f.mm, task)
        break
      }
      case 'rm':
        break
      case 'irs':
        push(mkInv('range_start', e.f, eventName(e.f.event)))
        break
      case 'ii':
        push(mkInv('interval', e.f, eventName(e.f.event)))
        break
      case 'rel':
        // __mmu_notifier_release: RELEASE over the whole mm (the simulator routes it through its range start)
        push({ via: 'range_start', event: 'RELEASE', task: mmTask.get(e.f.mm ?? 0n) ?? null, whole: true, slices: [], outside_pages: 0, owner: null })
        break
    }
  }
  if (before > 0) notes.push(`${before} trace events before the program's first step (left over from earlier work) were not counted`)

  const steps: OracleStep[] = inp.program.steps.map((s) => {
    const r = rec.ret.get(s.index)
    const st = rec.status.get(s.index)
    return {
      index: s.index,
      line: s.line,
      op: s.op,
      task: s.task,
      ret: r?.ret ?? null,
      cpages: r?.cpages ?? null,
      faults: r?.faults ?? null,
      snapshot: rec.snapshot.get(s.index) ?? null,
      data: rec.data.get(s.index) ?? [],
      pagemap: rec.pagemap.get(s.index) ?? [],
      vm_pte_kb: st?.vmPte ?? null,
      rss_anon_kb: st?.rssAnon ?? null,
      invalidations: perStep.get(s.index) ?? [],
    }
  })
  for (const n of rec.notes) notes.push(n.index >= 0 ? `step ${n.index}: ${n.text}` : n.text)
  const side: OracleSide = {
    format: ORACLE_FORMAT,
    side: 'kernel',
    scenario: inp.scenario,
    design: inp.design,
    version: inp.version,
    steps,
    trailing,
    notes,
  }
  return OracleSideSchema.parse(side)
}
