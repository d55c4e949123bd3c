/**
 * The simulator side of the oracle: runs a scenario in the simulator with the oracle hooks and
 * produces an `OracleSide` in the same normalised form as the kernel side (src/shared/oracle.ts).
 *
 * - Steps: every step the interpreter begins (the `step` hook; repeats unrolled, `expect`, `when`
 *   and `sleep` steps included), numbered as the interpreter numbers them.
 * - A step's outcome (return code, cpages/faults, SNAPSHOT bytes) and the state after it (pagemap,
 *   VmPTE, RssAnon of the step's task) are read from the interpreter's read-only view when the next
 *   step begins or the top-level step ends: nothing runs in between.
 * - Data checks are taken where the scenario asks for them (`expect.memory`, `expect.buffer`), on
 *   the same state the simulator's own expect reads.
 * - Invalidations: every `__mmu_notifier_invalidate_range_start` call (`notifierRange`) and every
 *   interval subscription callback (`intervalInvalidate`), tagged with the step that was running,
 *   cut against the step's regions (regions.ts).
 *
 * Fields the simulator does not model are named in `notes` as `not observed: FIELD: why`; the
 * comparison skips those fields and lists them.
 */
import {
  runScenario,
  type DesignId,
  type LoadedScenario,
  type RunStepBegin,
  type StepView,
  type NotifierRangeCall,
  type IntervalInvalidateCall,
} from '../../../sim/index'
import { lineOf } from '../../../sim/scenario/parse'
import type { KernelVersionT } from '../../../sim/kernel/version'
import { PTE_DEVPRIV, PTE_EXCL, PTE_FILE, PTE_PRESENT, PTE_ZERO } from '../../../sim/kernel/pagetable'
import { peekData } from '../../../sim/kernel/memory'
import type { MmStruct } from '../../../sim/kernel/objects'
import { parseSize, patternValue, parseErrno, type StepT, type ExpectT } from '../../../shared/scenario'
import { ORACLE_FORMAT, type OracleSide, type OracleStep, type PagemapSummary } from '../../../shared/oracle'
import { APP_VERSION } from '../../../shared/version'
import { attributionRegions, cloneTable, normaliseRange, type LiveRegion, type RawRange, type RegionTable } from './regions'

/** Fields this side never observes, with why (the comparison skips them and says so). */
export const SIMULATOR_UNOBSERVED: ReadonlyArray<{ field: string; why: string }> = [
  { field: 'pagemap.soft_dirty', why: 'the simulator keeps no soft-dirty bits (clear_refs only raises the SOFT_DIRTY invalidation)' },
  { field: 'pagemap.exclusive', why: 'the simulator keeps no per-page mapcount (PM_MMAP_EXCLUSIVE needs folio_precise_page_mapcount() == 1)' },
]

const NO_RET = new Set(['expect', 'repeat', 'when', 'background', 'sleep'])
const DEVICE_OPS = new Set([
  'device_read',
  'device_write',
  'migrate_to_device',
  'migrate_to_system',
  'snapshot',
  'exclusive',
  'check_exclusive',
  'release_device_memory',
])

interface Pending {
  step: OracleStep
  body: Record<string, unknown>
  raw: RawRange[]
  before: RegionTable
  snapshotBefore: number[] | null
}

/** Every step of the scenario (nested ones too) by its line, to find a step's arguments from the step hook. */
function stepsByLine(steps: readonly StepT[], out = new Map<number, StepT[]>()): Map<number, StepT[]> {
  for (const s of steps) {
    const l = lineOf(s)
    out.set(l, [...(out.get(l) ?? []), s])
    if ('repeat' in s) stepsByLine(s.repeat.steps, out)
    else if ('when' in s) stepsByLine(s.when.steps, out)
    else if ('background' in s) stepsByLine(s.background.steps, out)
  }
  return out
}

export interface SimulatorSideOptions {
  design: DesignId
  seed?: number
  /** The kernel version whose rules to follow (the guest's, kernel/version.ts); default: the scenario's. */
  kernel?: KernelVersionT
}

/**
 * Per step index, per task: the regions an invalidation of that step may be attributed to (those
 * live when it began and those it created). The comparison confines both sides to them: a side
 * that keeps unmapped regions in its table (the guest may reuse their addresses) is not credited
 * with slices of a region the scenario already unmapped.
 */
export type RegionLiveness = Map<number, Map<string, Set<string>>>

/** Per step index, per task: the regions live after the step (what pagemap may read). */
export type RegionsAfter = Map<number, Map<string, Set<string>>>

/** Runs `sc` in the simulator and returns its oracle observations. */
export function runSimulatorSide(sc: LoadedScenario, opts: SimulatorSideOptions): OracleSide {
  return runSimulatorSideWithRegions(sc, opts).side
}

/** runSimulatorSide, with the region liveness per step (see RegionLiveness). */
export function runSimulatorSideWithRegions(sc: LoadedScenario, opts: SimulatorSideOptions): { side: OracleSide; live: RegionLiveness; after: RegionsAfter } {
  const notes: string[] = SIMULATOR_UNOBSERVED.map((u) => `not observed: ${u.field}: ${u.why}`)
  const steps: OracleStep[] = []
  const trailing: RawRange[] = []
  const table: RegionTable = new Map()
  let placed = 0
  let pending: Pending | null = null
  let view: StepView | null = null
  let afterLast = false
  let ambiguous = false
  const byLine = stepsByLine(sc.steps)

  const taskOfMm = (mm: MmStruct): string | null => {
    if (!view) return null
    for (const [name, m] of view.mmOf) if (m === mm) return name
    return null
  }
  const ownerName = (owner: number): string | null => (owner < 0 || !view ? null : (view.w.devices[owner]?.name ?? `device ${owner}`))

  const record = (r: RawRange): void => {
    if (pending && !afterLast) pending.raw.push(r)
    else trailing.push(r)
  }

  const live: RegionLiveness = new Map()
  const after: RegionsAfter = new Map()
  const finish = (v: StepView): void => {
    const p = pending
    if (!p) return
    pending = null
    const s = p.step
    const op = s.op
    if (!NO_RET.has(op)) s.ret = v.ret
    if (DEVICE_OPS.has(op)) {
      s.cpages = v.cpages
      s.faults = v.faults
    }
    if (op === 'snapshot' && v.snapshot !== null && v.snapshot !== p.snapshotBefore) s.snapshot = [...v.snapshot]
    updateTable(table, op, p.body, v, s.ret, () => ++placed)
    // invalidations: cut against the regions of the mm's task before the step and those the step made
    s.invalidations = p.raw.map((r) => normaliseRange(r, r.task === null ? [] : attributionRegions(p.before.get(r.task) ?? [], table.get(r.task) ?? [])))
    const tasks = new Set([...p.before.keys(), ...table.keys()])
    live.set(s.index, new Map([...tasks].map((t) => [t, new Set(attributionRegions(p.before.get(t) ?? [], table.get(t) ?? []).map((g) => g.name))])))
    after.set(s.index, new Map([...table].map(([t, regs]) => [t, new Set(regs.map((g) => g.name))])))
    if (s.task !== null) {
      const t = v.w.tasks.get(s.task)
      const mm = v.mmOf.get(s.task)
      if (t && t.state === 'running' && mm && mm.phase !== 'freed') {
        s.pagemap = pagemapOf(mm, table.get(s.task) ?? [])
        s.vm_pte_kb = mm.pt.tables * 4
        s.rss_anon_kb = rssAnonPages(mm) * 4
      }
    }
  }

  const hooks = {
    step: (b: RunStepBegin) => {
      view = b.view
      finish(b.view)
      const candidates = (byLine.get(b.line) ?? []).filter((x) => Object.keys(x)[0] === b.op)
      const found = candidates[0]
      const body = (found ? (found as Record<string, unknown>)[b.op] : {}) as Record<string, unknown>
      if (candidates.length !== 1 && !ambiguous) {
        ambiguous = true
        notes.push(
          `step ${b.index} (line ${b.line}, ${b.op}): ${candidates.length} steps of the scenario share that line; the first one's arguments are used (regions and data checks may be wrong; write one step per line)`,
        )
      }
      const step: OracleStep = {
        index: b.index,
        line: b.line,
        op: b.op,
        task: b.task,
        ret: null,
        cpages: null,
        faults: null,
        snapshot: null,
        data: [],
        pagemap: [],
        vm_pte_kb: null,
        rss_anon_kb: null,
        invalidations: [],
      }
      if (b.op === 'expect') step.data = dataChecks(body as ExpectT, b.view, opts.design, b.round)
      steps.push(step)
      pending = { step, body: body ?? {}, raw: [], before: cloneTable(table), snapshotBefore: b.view.snapshot }
    },
    notifierRange: (r: NotifierRangeCall) =>
      record({ via: 'range_start', event: r.event, task: taskOfMm(r.mm), start: r.start, end: r.end, owner: ownerName(r.owner) }),
    intervalInvalidate: (r: IntervalInvalidateCall) =>
      record({ via: 'interval', event: r.event, task: taskOfMm(r.mm), start: r.start, end: r.end, owner: ownerName(r.owner) }),
  }
  const total = sc.steps.length
  const result = runScenario(sc, {
    design: opts.design,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.kernel !== undefined ? { kernel: opts.kernel } : {}),
    hooks,
    onStepDone: (i) => {
      if (view) finish(view)
      if (i === total - 1) afterLast = true
    },
  })
  // a step still pending here began and never completed: the task stayed in it to the end of the
  // run (a livelock the model reported, or a wait nothing ended). It has no return code.
  const unfinished = pending as Pending | null
  if (view) finish(view)
  if (unfinished) {
    const s = unfinished.step
    const livelock = result.findings.rows.find((f) => f.kind === 'livelock')
    s.ret = null
    s.cpages = null
    s.faults = null
    s.unfinished = livelock ? 'livelock' : 'blocked'
    notes.push(`step ${s.index} (line ${s.line}, ${s.op}) did not return: ${livelock ? livelock.message : 'its task was still waiting when the run ended'}`)
  }
  if (result.outcome.status === 'stopped')
    notes.push(
      `the simulator stopped the run early: ${
        result.outcome.stop?.message ||
        result.findings.rows
          .filter((f) => f.kind === 'warn')
          .map((f) => f.message)
          .join('; ') ||
        'stopped'
      }`,
    )
  const finalTable = table
  const side: OracleSide = {
    format: ORACLE_FORMAT,
    side: 'simulator',
    scenario: { name: sc.name, file: sc.source?.file ?? '', hash: sc.source?.hash ?? '' },
    design: opts.design,
    version: { hmmlab: APP_VERSION, seed: String(result.meta.seed) },
    steps,
    trailing: trailing.map((r) => normaliseRange(r, r.task === null ? [] : (finalTable.get(r.task) ?? []))),
    notes,
  }
  live.set(-1, new Map([...finalTable].map(([t, regs]) => [t, new Set(regs.map((g) => g.name))])))
  return { side, live, after }
}

/** Applies a finished step to the region table (see regions.ts for the rules). */
function updateTable(table: RegionTable, op: string, body: Record<string, unknown>, v: StepView, ret: number | null, nextSeq: () => number): void {
  const task = typeof body.task === 'string' ? body.task : null
  if (task === null) return
  const regs = table.get(task) ?? []
  const mm = v.mmOf.get(task)
  const place = (name: string): LiveRegion | null => {
    const r = mm?.regions.get(name)
    return r ? { name, start: r.start, pages: r.pages, seq: nextSeq() } : null
  }
  const without = (name: string) => regs.filter((r) => r.name !== name)
  switch (op) {
    case 'spawn':
      if (ret === 0) table.set(task, [])
      return
    case 'fork': {
      const child = typeof body.child === 'string' ? body.child : null
      if (ret === 0 && child)
        table.set(
          child,
          regs.map((r) => ({ ...r })),
        )
      return
    }
    case 'mmap': {
      const name = String(body.region)
      const r = ret === 0 ? place(name) : null
      if (r) table.set(task, [...without(name), r])
      return
    }
    case 'munmap': {
      if (ret !== 0) return
      const name = String(body.region)
      const cur = regs.find((r) => r.name === name)
      if (!cur) return
      const off = body.offset === undefined ? 0 : parseSize(body.offset as string | number) / 4096
      const size = body.size === undefined ? cur.pages - off : parseSize(body.size as string | number) / 4096
      if (off <= 0 && off + size >= cur.pages) table.set(task, without(name))
      return
    }
    case 'mremap': {
      if (ret !== 0) return
      const from = String(body.region)
      const to = typeof body.to_region === 'string' ? body.to_region : from
      const moved = place(to)
      // the old region goes only when all of it moved (a partial mremap leaves the rest mapped)
      const cur = regs.find((r) => r.name === from)
      const off = body.offset === undefined ? 0 : parseSize(body.offset as string | number) / 4096
      const size = body.size === undefined && cur ? cur.pages - off : parseSize((body.size ?? 0) as string | number) / 4096
      const whole = cur !== undefined && off <= 0 && off + size >= cur.pages
      let next = to === from || body.dontunmap === true || !whole ? without(to) : without(to).filter((r) => r.name !== from)
      if (moved) next = [...next, moved]
      table.set(task, next)
      return
    }
    default:
      return
  }
}

/** /proc/self/pagemap of each region, summarised (pte_to_pagemap_entry's bits, as the simulator's PTEs give them). */
function pagemapOf(mm: MmStruct, regions: readonly LiveRegion[]): PagemapSummary[] {
  return [...regions]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((g) => {
      let present = 0
      let swapped = 0
      let zero = 0
      for (let pg = g.start; pg < g.start + g.pages; pg++) {
        const f = mm.pt.get(pg)
        if (f & PTE_EXCL || f & PTE_DEVPRIV) swapped++
        else if (f & PTE_PRESENT) {
          present++
          if (f & PTE_ZERO) zero++
        }
      }
      return { region: g.name, pages: g.pages, present, swapped, exclusive: 0, soft_dirty: 0, zero_page: zero }
    })
}

/**
 * MM_ANONPAGES as the simulator's page table gives it: private anonymous pages mapped, in RAM or
 * device memory. Counted as the kernel counts them:
 * - a private file mapping's COW copies are anonymous pages (do_cow_fault → folio_add_new_anon_rmap,
 *   inc_mm_counter(MM_ANONPAGES)); its page-cache pages mapped read-only (PTE_FILE) are MM_FILEPAGES;
 * - hugetlb folios are not counted at all (hugetlb_no_page / hugetlb_wp never call add_mm_counter;
 *   /proc/PID/status shows them as HugetlbPages);
 * - shared mappings (shmem) are MM_SHMEMPAGES, the zero page is not counted, a device file's
 *   inserted pages (vm_insert_page) are MM_FILEPAGES.
 */
function rssAnonPages(mm: MmStruct): number {
  let n = 0
  for (const v of mm.vmas) {
    if (v.shared || v.hugetlb || v.file !== null) continue
    mm.pt.forEach(v.start, v.end, (_pg, f, _pfn, huge) => {
      if (f & PTE_FILE || f & PTE_ZERO) return
      if (f & (PTE_PRESENT | PTE_DEVPRIV | PTE_EXCL)) n += huge ? 512 : 1
    })
  }
  return n
}

/** The data checks of an `expect` step, on the state the simulator's own expect reads. */
function dataChecks(e: ExpectT, v: StepView, design: string, round: number): OracleStep['data'] {
  if (!e || typeof e !== 'object') return []
  if (e.design !== undefined) {
    const ds = Array.isArray(e.design) ? e.design : [e.design]
    if (!ds.includes(design as (typeof ds)[number])) return []
  }
  if (e.if_ret !== undefined && v.ret !== parseErrno(e.if_ret)) return []
  const out: OracleStep['data'] = []
  if (e.memory) {
    const m = e.memory
    const what = `memory ${m.task} ${m.region}`
    const mm = v.mmOf.get(m.task)
    const reg = mm?.regions.get(m.region)
    if (!mm || !reg || mm.phase === 'freed') out.push({ what, ok: false, first_bad_page: null })
    else {
      const off = m.offset === undefined ? 0 : parseSize(m.offset) / 4096
      const size = m.size === undefined ? reg.pages - off : parseSize(m.size) / 4096
      let bad: number | null = null
      for (let i = 0; i < size && bad === null; i++) if (peekData(v.w, mm, reg.start + off + i) !== patternValue(m.pattern, off + i, round)) bad = i
      out.push({ what, ok: bad === null, first_bad_page: bad })
    }
  }
  if (e.buffer) {
    const b = e.buffer
    const what = `buffer ${b.name}`
    const buf = v.buffers.get(b.name)
    if (!buf) out.push({ what, ok: false, first_bad_page: null })
    else {
      const o0 = b.offset !== undefined ? parseSize(b.offset) / 4096 : 0
      const len = b.size !== undefined ? parseSize(b.size) / 4096 : buf.data.length - o0
      let bad: number | null = null
      for (let i = 0; i < len && bad === null; i++) {
        const at = o0 + i
        if (at >= buf.data.length || buf.data[at] !== patternValue(b.pattern, buf.first + at, round)) bad = i
      }
      out.push({ what, ok: bad === null, first_bad_page: bad })
    }
  }
  return out
}
