/**
 * `expect` steps: one small check per expect field, in a table keyed like the field list of
 * ExpectSchema (src/shared/scenario.ts), as the step handlers are keyed like LEAF_STEPS (steps.ts).
 * Each entry names its check as a kernel engineer reads it (for an expect without a label) and
 * checks it against the run's state; `evalExpect` runs the fields an expect has, in the schema's
 * order, and records the result.
 */
import type { World } from '../world'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT, PTE_SWAP } from '../kernel/pagetable'
import { peekData } from '../kernel/memory'
import { ESRCH } from '../kernel/errno'
import { PAGE_SIZE } from '../kernel/page'
import { ExpectSchema, parseErrno, parseSize, patternValue, errnoName, type CmpT, type ExpectT, type PatternT, type MARKER_KINDS } from '../../shared/scenario'
import type { Marker, MarkerKind } from '../kernel/types'
import { deviceByName, regionRange, type Ctx } from './ctx'
import { devmemOps } from '../drivers/mirror'

function cmpOk(actual: number, c: CmpT): boolean {
  if (typeof c === 'number') return actual === c
  if (c.eq !== undefined && !(actual === c.eq)) return false
  if (c.ne !== undefined && !(actual !== c.ne)) return false
  if (c.gt !== undefined && !(actual > c.gt)) return false
  if (c.ge !== undefined && !(actual >= c.ge)) return false
  if (c.lt !== undefined && !(actual < c.lt)) return false
  if (c.le !== undefined && !(actual <= c.le)) return false
  return true
}

function cmpText(c: CmpT): string {
  if (typeof c === 'number') return `= ${c}`
  return Object.entries(c)
    .map(([k, v]) => `${{ eq: '=', ne: '≠', gt: '>', ge: '≥', lt: '<', le: '≤' }[k] ?? k} ${v}`)
    .join(' and ')
}

/** The schema's marker kinds are the model's (a compile error when one list gains a kind alone). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const markerKindsAgree: Same<MarkerKind, (typeof MARKER_KINDS)[number]> = true
void markerKindsAgree

/** `expect.order`: each item is the first marker of its kind (and match) so far; all exist, in order. */
function checkOrder(markers: readonly Marker[], order: NonNullable<ExpectT['order']>, details: string[]): boolean {
  type Item = { marker: string; match?: string | undefined }
  const name = (it: Item): string => (it.match !== undefined ? `${it.marker} "${it.match}"` : it.marker)
  const at = (m: Marker): string => `${m.label} at ${(m.t / 1e6).toFixed(3)} ms`
  const items: Item[] = order.map((o) => (typeof o === 'string' ? { marker: o } : o))
  const hits: { it: Item; i: number; m: Marker }[] = []
  for (const it of items) {
    const i = markers.findIndex((m) => m.kind === it.marker && (it.match === undefined || m.label.includes(it.match)))
    const m = markers[i]
    if (m) hits.push({ it, i, m })
    else details.push(`order: no ${name(it)} marker so far  ✗`)
  }
  if (hits.length < items.length) return false
  let ok = true
  let prev: (typeof hits)[number] | undefined
  for (const cur of hits) {
    if (prev && cur.i <= prev.i) {
      ok = false
      details.push(
        cur.i === prev.i
          ? `order: ${name(prev.it)} and ${name(cur.it)} are the same marker (${at(prev.m)})  ✗`
          : `order: ${name(cur.it)} (${at(cur.m)}) came before ${name(prev.it)} (${at(prev.m)})  ✗`,
      )
    }
    prev = cur
  }
  if (ok) details.push(`order: ${items.map(name).join(' → ')} as expected (${hits.map((h) => at(h.m)).join('; ')})`)
  return ok
}

/** Bytes as a kernel engineer writes them: "64 MiB", "4 KiB", "256 B". */
function bytesText(n: number): string {
  if (n === 0) return '0'
  for (const [u, m] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const)
    if (n >= m && n % m === 0) return `${n / m} ${u}`
  return `${n} B`
}

/** A comparison with its values formatted: "= 0", "≥ 64 MiB", "> 0 and < 16". */
function cmpWith(c: CmpT, fmt: (n: number) => string): string {
  if (typeof c === 'number') return `= ${fmt(c)}`
  return Object.entries(c)
    .map(([k, v]) => `${{ eq: '=', ne: '≠', gt: '>', ge: '≥', lt: '<', le: '≤' }[k] ?? k} ${fmt(v)}`)
    .join(' and ')
}

/** "= 0" in a name reads better as "no …": `leaked pages of A = 0` → `no leaked pages of A`. */
function isZero(c: CmpT): boolean {
  return c === 0 || (typeof c === 'object' && Object.keys(c).length === 1 && c.eq === 0)
}

function patternText(p: PatternT): string {
  if (typeof p === 'string') return p
  const base = 'index_plus' in p ? `index + ${p.index_plus}` : `const ${p.const}`
  return p.per_round ? `${base} (+${p.per_round} per round)` : base
}

type Part = { region: string; offset?: number | string | undefined; size?: number | string | undefined }
/** "buf", "buf [+8K, +4K)" (the offset and size as the user wrote them). */
function partText(r: Part): string {
  const part = r.offset !== undefined || r.size !== undefined ? ` [+${r.offset ?? 0}, ${r.size !== undefined ? `+${r.size}` : 'end'})` : ''
  return `${r.region}${part}`
}

/** The fields of an expect that check something (label, design and if_ret only select or name it). */
export type ExpectKind = Exclude<keyof ExpectT, 'label' | 'design' | 'if_ret'>
/** The typed value of field `K` when the expect has it. */
export type ExpectArg<K extends ExpectKind> = NonNullable<ExpectT[K]>

/** Where checks report: every detail line in order, and whether all passed. */
export class ExpectReport {
  pass = true
  readonly details: string[] = []
  constructor(
    readonly ctx: Ctx,
    readonly round: number,
  ) {}

  get w(): World {
    return this.ctx.w
  }

  /** A detail line; a failed check also fails the expect. */
  push(ok: boolean, detail: string): void {
    if (!ok) this.pass = false
    this.details.push(detail)
  }

  /** A number compared with `c` (null: no previous step set it). */
  cmp(what: string, actual: number | null, c: CmpT, fmt: (n: number) => string = String): void {
    if (actual === null) {
      this.push(false, `${what}: expected ${cmpText(c)}, but no previous step set it`)
      return
    }
    const ok = cmpOk(actual, c)
    this.push(ok, `${what}: expected ${typeof c === 'number' ? '= ' + fmt(c) : cmpText(c)}, got ${fmt(actual)}${ok ? '' : '  ✗'}`)
  }

  /** The ledger owner of a task by name (-1: no such task; undefined: any owner). */
  ownerId(name: string | undefined): number | undefined {
    return name === undefined ? undefined : (this.w.tasks.get(name)?.owner ?? -1)
  }
}

/** One expect field: its name for an unlabelled expect, and its check. */
export interface ExpectEntry<K extends ExpectKind> {
  name(a: ExpectArg<K>): string
  check(r: ExpectReport, a: ExpectArg<K>): void
}

/** Every expect field, keyed like ExpectSchema (a field without an entry is a compile error). */
export const EXPECT_CHECKS: { readonly [K in ExpectKind]: ExpectEntry<K> } = {
  ret: {
    name: (c) => (typeof c === 'string' ? `ret = ${errnoName(parseErrno(c))}` : `ret ${cmpWith(c, errnoName)}`),
    check: (r, c) => r.cmp('ret', r.ctx.ret, typeof c === 'string' ? parseErrno(c) : c, errnoName),
  },
  cpages: {
    name: (c) => `cpages ${cmpWith(c, String)}`,
    check: (r, c) => r.cmp('cpages', r.ctx.cpages, c),
  },
  faults: {
    name: (c) => `faults ${cmpWith(c, String)}`,
    check: (r, c) => r.cmp('faults', r.ctx.faults, c),
  },
  live: {
    name: (l) => {
      const what = `live ${l.type ?? 'memory'}${l.owner ? ' of ' + l.owner : ''}`
      const parts: string[] = []
      if (l.count !== undefined) parts.push(isZero(l.count) ? `no ${what}` : `${what} objects ${cmpWith(l.count, String)}`)
      if (l.bytes !== undefined) parts.push(isZero(l.bytes) ? `no ${what}` : `${what} ${cmpWith(l.bytes, bytesText)}`)
      if (l.count === undefined && l.bytes === undefined) parts.push(`${what} > 0`)
      return parts.join(', ')
    },
    check: (r, l) => {
      const got = r.w.ledger.live(l.type, r.ownerId(l.owner))
      const what = `live ${l.type ?? 'memory'}${l.owner ? ' of ' + l.owner : ''}`
      if (l.count !== undefined) r.cmp(`${what} objects`, got.count, l.count)
      if (l.bytes !== undefined) r.cmp(`${what} bytes`, got.bytes, l.bytes)
      if (l.count === undefined && l.bytes === undefined) r.cmp(`${what} bytes`, got.bytes, { gt: 0 })
    },
  },
  leaked: {
    name: (l) => {
      const what = `leaked ${l.type ?? 'memory'}${l.owner ? ' of ' + l.owner : ''}`
      return isZero(l.bytes) ? `no ${what}` : `${what} ${cmpWith(l.bytes, bytesText)}`
    },
    check: (r, l) => r.cmp(`leaked ${l.type ?? 'bytes'}${l.owner ? ' of ' + l.owner : ''}`, r.w.ledger.leaked(l.type, r.ownerId(l.owner)), l.bytes),
  },
  leaked_bytes: {
    name: (c) => (isZero(c) ? 'no leaks' : `leaked ${cmpWith(c, bytesText)}`),
    check: (r, c) => r.cmp('leaked bytes', r.w.ledger.leaked(undefined, undefined), c),
  },
  findings: {
    name: (f) => {
      const what = `${f.kind ?? ''}${f.invariant ? `${f.kind ? ' ' : ''}invariant ${f.invariant}` : ''} findings`.trim()
      if (f.count === undefined) return `a ${what.replace(/s$/, '')}`
      return isZero(f.count) ? `no ${what}` : `${what} ${cmpWith(f.count, String)}`
    },
    check: (r, f) => {
      const n = r.w.findings.filter((x) => (f.kind === undefined || x.kind === f.kind) && (f.invariant === undefined || x.invariant === f.invariant)).length
      r.cmp(`findings${f.kind ? ' ' + f.kind : ''}${f.invariant ? ' (invariant ' + f.invariant + ')' : ''}`, n, f.count ?? { ge: 1 })
    },
  },
  device_pages: {
    name: (dp) => {
      const where = dp.region !== undefined ? ` in ${partText({ region: dp.region, offset: dp.offset, size: dp.size })}` : ''
      return `${dp.device} page-table entries for ${dp.task}${where} ${cmpWith(dp.count, String)}`
    },
    check: (r, dp) => {
      const w = r.w
      const mm = r.ctx.mmOf.get(dp.task)
      let n = 0
      let where = ''
      if (mm) {
        // the whole address space, or one region (the range resolves even after the region was unmapped)
        let lo = 0
        let hi = -1
        if (dp.region !== undefined) {
          const rg = regionRange(mm, { region: dp.region, offset: dp.offset, size: dp.size })
          if (typeof rg === 'number') {
            r.push(false, `${dp.device} page-table entries for ${dp.task} ${dp.region}: no such region  ✗`)
            lo = hi = 0
          } else [lo, hi] = [rg.start, rg.end]
          where = ` in ${dp.region}${dp.offset !== undefined || dp.size !== undefined ? ` [+${dp.offset ?? 0}, ${dp.size ?? 'end'})` : ''}`
        }
        const count = (pt: { present: number; countPresent(s: number, e: number): number }): number =>
          hi < 0 ? pt.present : hi > lo ? pt.countPresent(lo, hi) : 0
        const d = deviceByName(w, dp.device)
        if (d) for (const m of devmemOps(w, d.idx)?.mirrors ?? []) if (m.mm === mm && m.alive) n += count(m.pt)
        if (d?.iommu && mm.iommu_mm && d.iommu.pasidTable.has(mm.iommu_mm.pasid) && mm.releasedAt === null) n += count(mm.pt)
      }
      r.cmp(`${dp.device} page-table entries for ${dp.task}${where}`, n, dp.count)
    },
  },
  mm: {
    name: (m) => {
      const fields = [
        m.phase !== undefined ? m.phase : '',
        m.mm_users !== undefined ? `mm_users ${cmpWith(m.mm_users, String)}` : '',
        m.mm_count !== undefined ? `mm_count ${cmpWith(m.mm_count, String)}` : '',
      ].filter((x) => x)
      return `mm of ${m.task}${fields.length ? ' ' + fields.join(', ') : ''}`
    },
    check: (r, m) => {
      const mm = r.ctx.mmOf.get(m.task)
      if (!mm) {
        r.push(false, `mm of ${m.task}: the task has no mm`)
        return
      }
      if (m.mm_users !== undefined) r.cmp(`${mm.label} mm_users`, mm.mm_users, m.mm_users)
      if (m.mm_count !== undefined) r.cmp(`${mm.label} mm_count`, mm.mm_count, m.mm_count)
      if (m.phase !== undefined) {
        const ok = mm.phase === m.phase
        r.push(ok, `${mm.label} phase: expected ${m.phase}, got ${mm.phase}${ok ? '' : '  ✗'}`)
      }
    },
  },
  snapshot: {
    name: (s) => (Array.isArray(s) ? `snapshot of ${s.length} bytes` : `snapshot all 0x${s.all.toString(16)}`),
    check: (r, s) => {
      const snap = r.ctx.snapshot
      if (!snap) {
        r.push(false, 'snapshot: no previous SNAPSHOT')
        return
      }
      const want = Array.isArray(s) ? s : snap.map(() => s.all)
      const bad = want.findIndex((v, i) => snap[i] !== v)
      const ok = bad < 0 && want.length === snap.length
      r.push(
        ok,
        ok
          ? `snapshot: ${snap.length} bytes as expected`
          : `snapshot: byte ${bad < 0 ? want.length : bad} expected 0x${(want[bad] ?? 0).toString(16)}, got 0x${(snap[bad] ?? 0).toString(16)} (length ${snap.length})  ✗`,
      )
    },
  },
  counter: {
    name: (c) => `counter ${c.name} ${cmpWith(c.value, String)}`,
    check: (r, c) => r.cmp(`counter ${c.name}`, r.ctx.counters.get(c.name), c.value),
  },
  memory: {
    name: (m) => `memory of ${m.task} ${partText(m)} holds ${patternText(m.pattern)}`,
    check: (r, m) => {
      const w = r.w
      const mm = r.ctx.mmOf.get(m.task)
      const reg = mm?.regions.get(m.region)
      const rg = w.tasks.get(m.task) && mm && mm.phase !== 'freed' ? regionRange(mm, m) : ESRCH
      if (!mm || !reg || typeof rg === 'number') {
        r.push(false, `memory of ${m.task} ${m.region}: not mapped`)
        return
      }
      let bad = -1
      for (let pg = rg.start; pg < rg.end && bad < 0; pg++) if (peekData(w, mm, pg) !== patternValue(m.pattern, pg - reg.start, r.round)) bad = pg
      r.push(
        bad < 0,
        bad < 0
          ? `memory of ${m.task} ${m.region}: ${rg.end - rg.start} pages hold ${JSON.stringify(m.pattern)}`
          : `memory of ${m.task} ${m.region}: page ${bad - reg.start} holds ${peekData(w, mm, bad)}, expected ${patternValue(m.pattern, bad - reg.start, r.round)}  ✗`,
      )
    },
  },
  buffer: {
    name: (b) => `buffer ${b.name} holds ${patternText(b.pattern)}`,
    check: (r, e) => {
      const b = r.ctx.buffers.get(e.name)
      if (!b) {
        r.push(false, `buffer ${e.name}: no successful device_read filled it`)
        return
      }
      const o0 = e.offset !== undefined ? parseSize(e.offset) / PAGE_SIZE : 0
      const len = e.size !== undefined ? parseSize(e.size) / PAGE_SIZE : b.data.length - o0
      let bad = -1
      if (o0 + len > b.data.length) bad = b.data.length
      else for (let i = o0; i < o0 + len && bad < 0; i++) if (b.data[i] !== patternValue(e.pattern, b.first + i, r.round)) bad = i
      r.push(
        bad < 0,
        bad < 0
          ? `buffer ${e.name}: ${len} pages as expected`
          : bad >= b.data.length
            ? `buffer ${e.name}: holds ${b.data.length} pages, fewer than offset + size  ✗`
            : `buffer ${e.name}: page ${b.first + bad} holds ${b.data[bad]}, expected ${patternValue(e.pattern, b.first + bad, r.round)}  ✗`,
      )
    },
  },
  hugetlb_free: {
    name: (c) => `free huge pages ${cmpWith(c, String)}`,
    check: (r, c) => r.cmp('free huge pages', r.w.frames.hugetlbFree(), c),
  },
  pagemap: {
    name: (pm) => {
      const bits = [
        pm.present !== undefined ? (pm.present ? 'present' : 'not present') : '',
        pm.swap !== undefined ? (pm.swap ? 'swap' : 'not swap') : '',
      ].filter((x) => x)
      return `pagemap of ${pm.task} ${partText(pm)}${bits.length ? ': ' + bits.join(', ') : ''}`
    },
    check: (r, pm) => {
      const mm = r.ctx.mmOf.get(pm.task)
      const reg = mm?.regions.get(pm.region)
      const rg = mm && mm.phase !== 'freed' ? regionRange(mm, pm) : ESRCH
      if (!mm || !reg || typeof rg === 'number') {
        r.push(false, `pagemap of ${pm.task} ${pm.region}: not mapped`)
        return
      }
      // pte_to_pagemap_entry: PM_PRESENT for a present PTE; PM_SWAP for a swap-type entry (swap,
      // migration, device-private, device-exclusive); a huge leaf gives each of its pages the same bits
      let bad = -1
      let got = ''
      for (let pg = rg.start; pg < rg.end && bad < 0; pg++) {
        const f = mm.pt.get(pg)
        const present = (f & PTE_PRESENT) !== 0 && (f & PTE_EXCL) === 0
        const swap = (f & (PTE_DEVPRIV | PTE_EXCL | PTE_SWAP)) !== 0
        if ((pm.present !== undefined && present !== pm.present) || (pm.swap !== undefined && swap !== pm.swap)) {
          bad = pg
          got = `present ${present}, swap ${swap}`
        }
      }
      const want = [pm.present !== undefined ? `present ${pm.present}` : '', pm.swap !== undefined ? `swap ${pm.swap}` : ''].filter((x) => x).join(', ')
      r.push(
        bad < 0,
        bad < 0
          ? `pagemap of ${pm.task} ${pm.region}: ${rg.end - rg.start} pages with ${want}`
          : `pagemap of ${pm.task} ${pm.region}: page ${bad - reg.start} has ${got}, expected ${want}  ✗`,
      )
    },
  },
  order: {
    name: (o) => `order ${o.map((x) => (typeof x === 'string' ? x : x.match !== undefined ? `${x.marker} "${x.match}"` : x.marker)).join(' → ')}`,
    check: (r, o) => {
      if (!checkOrder(r.w.markers, o, r.details)) r.pass = false
    },
  },
}

function isExpectKind(k: string): k is ExpectKind {
  return Object.hasOwn(EXPECT_CHECKS, k)
}

/** The checking fields in the schema's order (which is the order of names and detail lines). */
const EXPECT_KINDS: readonly ExpectKind[] = Object.keys(ExpectSchema.shape).filter(isExpectKind)

function nameOf<K extends ExpectKind>(e: ExpectT, k: K): string | null {
  const a = e[k]
  return a === undefined ? null : EXPECT_CHECKS[k].name(a)
}

function checkOf<K extends ExpectKind>(r: ExpectReport, e: ExpectT, k: K): void {
  const a = e[k]
  if (a !== undefined) EXPECT_CHECKS[k].check(r, a)
}

/**
 * The name of an expect without a label, from its checks as a kernel engineer reads them:
 * `counter invalidate.CLEAR = 512`, `no leaks`, `ret = -EBADF, cpages = 16`, `mm of A freed`.
 * Stable (made from the scenario alone, never from what the run found), so an expect keeps its
 * name across designs and seeds.
 */
export function expectName(e: ExpectT): string {
  const parts: string[] = []
  for (const k of EXPECT_KINDS) {
    const n = nameOf(e, k)
    if (n !== null) parts.push(n)
  }
  const name = parts.join(', ')
  const guard = e.if_ret !== undefined ? ` (if ret = ${errnoName(parseErrno(e.if_ret))})` : ''
  return name ? name + guard : 'expect with no checks'
}

/** Runs one `expect` step (unless its design or if_ret deselects it) and records its result. */
export function evalExpect(ctx: Ctx, e: ExpectT, idx: number, line: number, round = 0): void {
  if (e.design !== undefined) {
    const ds = Array.isArray(e.design) ? e.design : [e.design]
    if (!ds.includes(ctx.design.id)) return
  }
  if (e.if_ret !== undefined && ctx.ret !== parseErrno(e.if_ret)) return
  const r = new ExpectReport(ctx, round)
  for (const k of EXPECT_KINDS) checkOf(r, e, k)
  ctx.expects.push({ step: idx, line, t: ctx.w.engine.now, label: e.label ?? expectName(e), pass: r.pass, details: r.details })
}
