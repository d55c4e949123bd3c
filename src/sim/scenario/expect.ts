/**
 * `expect` steps: evaluates one expectation against the run's state and records its result.
 */
import type { MemType } from '../ledger/ledger'
import type { Task } from '../kernel/objects'
import { PTE_DEVPRIV, PTE_EXCL, PTE_PRESENT, PTE_SWAP } from '../kernel/pagetable'
import { peekData } from '../kernel/memory'
import { ESRCH } from '../kernel/errno'
import { PAGE_SIZE } from '../kernel/page'
import { parseErrno, parseSize, patternValue, errnoName, type CmpT, type ExpectT, type PatternT, type MARKER_KINDS } from '../../shared/scenario'
import type { Marker, MarkerKind } from '../kernel/types'
import { deviceByName, rangeOf, type Ctx } from './ctx'
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
  const items = order.map((o) => (typeof o === 'string' ? { marker: o, match: undefined } : o))
  const name = (it: { marker: string; match?: string | undefined }): string => (it.match !== undefined ? `${it.marker} "${it.match}"` : it.marker)
  const at = (m: Marker): string => `${m.label} at ${(m.t / 1e6).toFixed(3)} ms`
  const found = items.map((it) => markers.findIndex((m) => m.kind === it.marker && (it.match === undefined || m.label.includes(it.match))))
  let ok = true
  items.forEach((it, i) => {
    if ((found[i] as number) < 0) {
      ok = false
      details.push(`order: no ${name(it)} marker so far  ✗`)
    }
  })
  if (!ok) return false
  for (let i = 1; i < items.length; i++) {
    const a = found[i - 1] as number
    const b = found[i] as number
    if (b <= a) {
      ok = false
      const ma = markers[a] as Marker
      const mb = markers[b] as Marker
      details.push(
        b === a
          ? `order: ${name(items[i - 1] as { marker: string })} and ${name(items[i] as { marker: string })} are the same marker (${at(ma)})  ✗`
          : `order: ${name(items[i] as { marker: string })} (${at(mb)}) came before ${name(items[i - 1] as { marker: string })} (${at(ma)})  ✗`,
      )
    }
  }
  if (ok) details.push(`order: ${items.map(name).join(' → ')} as expected (${found.map((i) => at(markers[i] as Marker)).join('; ')})`)
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

/**
 * The name of an expect without a label, from its checks as a kernel engineer reads them:
 * `counter invalidate.CLEAR = 512`, `no leaks`, `ret = -EBADF, cpages = 16`, `mm of A freed`.
 * Stable (made from the scenario alone, never from what the run found), so an expect keeps its
 * name across designs and seeds.
 */
export function expectName(e: ExpectT): string {
  const parts: string[] = []
  if (e.ret !== undefined) parts.push(typeof e.ret === 'string' ? `ret = ${errnoName(parseErrno(e.ret))}` : `ret ${cmpWith(e.ret, errnoName)}`)
  if (e.cpages !== undefined) parts.push(`cpages ${cmpWith(e.cpages, String)}`)
  if (e.faults !== undefined) parts.push(`faults ${cmpWith(e.faults, String)}`)
  if (e.live) {
    const what = `live ${e.live.type ?? 'memory'}${e.live.owner ? ' of ' + e.live.owner : ''}`
    if (e.live.count !== undefined) parts.push(isZero(e.live.count) ? `no ${what}` : `${what} objects ${cmpWith(e.live.count, String)}`)
    if (e.live.bytes !== undefined) parts.push(isZero(e.live.bytes) ? `no ${what}` : `${what} ${cmpWith(e.live.bytes, bytesText)}`)
    if (e.live.count === undefined && e.live.bytes === undefined) parts.push(`${what} > 0`)
  }
  if (e.leaked) {
    const what = `leaked ${e.leaked.type ?? 'memory'}${e.leaked.owner ? ' of ' + e.leaked.owner : ''}`
    parts.push(isZero(e.leaked.bytes) ? `no ${what}` : `${what} ${cmpWith(e.leaked.bytes, bytesText)}`)
  }
  if (e.leaked_bytes !== undefined) parts.push(isZero(e.leaked_bytes) ? 'no leaks' : `leaked ${cmpWith(e.leaked_bytes, bytesText)}`)
  if (e.findings) {
    const f = e.findings
    const what = `${f.kind ?? ''}${f.invariant ? `${f.kind ? ' ' : ''}invariant ${f.invariant}` : ''} findings`.trim()
    if (f.count === undefined) parts.push(`a ${what.replace(/s$/, '')}`)
    else parts.push(isZero(f.count) ? `no ${what}` : `${what} ${cmpWith(f.count, String)}`)
  }
  if (e.device_pages) {
    const dp = e.device_pages
    const where = dp.region !== undefined ? ` in ${partText({ region: dp.region, offset: dp.offset, size: dp.size })}` : ''
    parts.push(`${dp.device} page-table entries for ${dp.task}${where} ${cmpWith(dp.count, String)}`)
  }
  if (e.mm) {
    const m = e.mm
    const fields = [
      m.phase !== undefined ? m.phase : '',
      m.mm_users !== undefined ? `mm_users ${cmpWith(m.mm_users, String)}` : '',
      m.mm_count !== undefined ? `mm_count ${cmpWith(m.mm_count, String)}` : '',
    ].filter((x) => x)
    parts.push(`mm of ${m.task}${fields.length ? ' ' + fields.join(', ') : ''}`)
  }
  if (e.snapshot !== undefined)
    parts.push(Array.isArray(e.snapshot) ? `snapshot of ${e.snapshot.length} bytes` : `snapshot all 0x${e.snapshot.all.toString(16)}`)
  if (e.counter) parts.push(`counter ${e.counter.name} ${cmpWith(e.counter.value, String)}`)
  if (e.memory) parts.push(`memory of ${e.memory.task} ${partText(e.memory)} holds ${patternText(e.memory.pattern)}`)
  if (e.buffer) parts.push(`buffer ${e.buffer.name} holds ${patternText(e.buffer.pattern)}`)
  if (e.hugetlb_free !== undefined) parts.push(`free huge pages ${cmpWith(e.hugetlb_free, String)}`)
  if (e.pagemap) {
    const pm = e.pagemap
    const bits = [
      pm.present !== undefined ? (pm.present ? 'present' : 'not present') : '',
      pm.swap !== undefined ? (pm.swap ? 'swap' : 'not swap') : '',
    ].filter((x) => x)
    parts.push(`pagemap of ${pm.task} ${partText(pm)}${bits.length ? ': ' + bits.join(', ') : ''}`)
  }
  if (e.order)
    parts.push(`order ${e.order.map((o) => (typeof o === 'string' ? o : o.match !== undefined ? `${o.marker} "${o.match}"` : o.marker)).join(' → ')}`)
  const name = parts.join(', ')
  const guard = e.if_ret !== undefined ? ` (if ret = ${errnoName(parseErrno(e.if_ret))})` : ''
  return name ? name + guard : 'expect with no checks'
}

export function evalExpect(ctx: Ctx, e: ExpectT, idx: number, line: number, round = 0): void {
  const w = ctx.w
  if (e.design !== undefined) {
    const ds = Array.isArray(e.design) ? e.design : [e.design]
    if (!ds.includes(ctx.design.id)) return
  }
  if (e.if_ret !== undefined && ctx.ret !== parseErrno(e.if_ret)) return
  const details: string[] = []
  let pass = true
  const check = (what: string, actual: number | null, c: CmpT, fmt: (n: number) => string = String): void => {
    if (actual === null) {
      pass = false
      details.push(`${what}: expected ${cmpText(c)}, but no previous step set it`)
      return
    }
    const ok = cmpOk(actual, c)
    if (!ok) pass = false
    details.push(`${what}: expected ${typeof c === 'number' ? '= ' + fmt(c) : cmpText(c)}, got ${fmt(actual)}${ok ? '' : '  ✗'}`)
  }
  const ownerId = (name: string | undefined): number | undefined => (name === undefined ? undefined : (w.tasks.get(name)?.owner ?? -1))
  if (e.ret !== undefined) {
    const c: CmpT = typeof e.ret === 'string' ? parseErrno(e.ret) : e.ret
    check('ret', ctx.ret, c, errnoName)
  }
  if (e.cpages !== undefined) check('cpages', ctx.cpages, e.cpages)
  if (e.faults !== undefined) check('faults', ctx.faults, e.faults)
  if (e.live) {
    const l = w.ledger.live(e.live.type as MemType | undefined, ownerId(e.live.owner))
    const what = `live ${e.live.type ?? 'memory'}${e.live.owner ? ' of ' + e.live.owner : ''}`
    if (e.live.count !== undefined) check(`${what} objects`, l.count, e.live.count)
    if (e.live.bytes !== undefined) check(`${what} bytes`, l.bytes, e.live.bytes)
    if (e.live.count === undefined && e.live.bytes === undefined) check(`${what} bytes`, l.bytes, { gt: 0 })
  }
  if (e.leaked)
    check(
      `leaked ${e.leaked.type ?? 'bytes'}${e.leaked.owner ? ' of ' + e.leaked.owner : ''}`,
      w.ledger.leaked(e.leaked.type as MemType | undefined, ownerId(e.leaked.owner)),
      e.leaked.bytes,
    )
  if (e.leaked_bytes !== undefined) check('leaked bytes', w.ledger.leaked(undefined, undefined), e.leaked_bytes)
  if (e.findings) {
    const f = e.findings
    const n = w.findings.filter((x) => (f.kind === undefined || x.kind === f.kind) && (f.invariant === undefined || x.invariant === f.invariant)).length
    check(`findings${f.kind ? ' ' + f.kind : ''}${f.invariant ? ' (invariant ' + f.invariant + ')' : ''}`, n, f.count ?? { ge: 1 })
  }
  if (e.device_pages) {
    const dp = e.device_pages
    const mm = ctx.mmOf.get(dp.task)
    let n = 0
    let where = ''
    if (mm) {
      // the whole address space, or one region (the range resolves even after the region was unmapped)
      let lo = 0
      let hi = -1
      if (dp.region !== undefined) {
        const r = rangeOf({ mm } as Task, { region: dp.region, offset: dp.offset, size: dp.size })
        if (typeof r === 'number') {
          pass = false
          details.push(`${dp.device} page-table entries for ${dp.task} ${dp.region}: no such region  ✗`)
          lo = hi = 0
        } else [lo, hi] = [r.start, r.end]
        where = ` in ${dp.region}${dp.offset !== undefined || dp.size !== undefined ? ` [+${dp.offset ?? 0}, ${dp.size ?? 'end'})` : ''}`
      }
      const count = (pt: { present: number; countPresent(s: number, e: number): number }): number =>
        hi < 0 ? pt.present : hi > lo ? pt.countPresent(lo, hi) : 0
      const d = deviceByName(w, dp.device)
      if (d) for (const m of devmemOps(w, d.idx)?.mirrors ?? []) if (m.mm === mm && m.alive) n += count(m.pt)
      if (d?.iommu && mm.iommu_mm && d.iommu.pasidTable.has(mm.iommu_mm.pasid) && mm.releasedAt === null) n += count(mm.pt)
    }
    check(`${dp.device} page-table entries for ${dp.task}${where}`, n, dp.count)
  }
  if (e.mm) {
    const mm = ctx.mmOf.get(e.mm.task)
    if (!mm) {
      pass = false
      details.push(`mm of ${e.mm.task}: the task has no mm`)
    } else {
      if (e.mm.mm_users !== undefined) check(`${mm.label} mm_users`, mm.mm_users, e.mm.mm_users)
      if (e.mm.mm_count !== undefined) check(`${mm.label} mm_count`, mm.mm_count, e.mm.mm_count)
      if (e.mm.phase !== undefined) {
        const ok = mm.phase === e.mm.phase
        if (!ok) pass = false
        details.push(`${mm.label} phase: expected ${e.mm.phase}, got ${mm.phase}${ok ? '' : '  ✗'}`)
      }
    }
  }
  if (e.snapshot !== undefined) {
    const snap = ctx.snapshot
    if (!snap) {
      pass = false
      details.push('snapshot: no previous SNAPSHOT')
    } else {
      const want = Array.isArray(e.snapshot) ? e.snapshot : snap.map(() => (e.snapshot as { all: number }).all)
      const bad = want.findIndex((v, i) => snap[i] !== v)
      const ok = bad < 0 && want.length === snap.length
      if (!ok) pass = false
      details.push(
        ok
          ? `snapshot: ${snap.length} bytes as expected`
          : `snapshot: byte ${bad < 0 ? want.length : bad} expected 0x${(want[bad] ?? 0).toString(16)}, got 0x${(snap[bad] ?? 0).toString(16)} (length ${snap.length})  ✗`,
      )
    }
  }
  if (e.counter) check(`counter ${e.counter.name}`, ctx.counters.get(e.counter.name), e.counter.value)
  if (e.memory) {
    const mm = ctx.mmOf.get(e.memory.task)
    const t = w.tasks.get(e.memory.task)
    const reg = mm?.regions.get(e.memory.region)
    const r = t && mm && mm.phase !== 'freed' ? rangeOf({ mm } as Task, e.memory) : ESRCH
    if (!mm || !reg || typeof r === 'number') {
      pass = false
      details.push(`memory of ${e.memory.task} ${e.memory.region}: not mapped`)
    } else {
      let bad = -1
      for (let pg = r.start; pg < r.end && bad < 0; pg++) if (peekData(w, mm, pg) !== patternValue(e.memory.pattern, pg - reg.start, round)) bad = pg
      if (bad >= 0) pass = false
      details.push(
        bad < 0
          ? `memory of ${e.memory.task} ${e.memory.region}: ${r.end - r.start} pages hold ${JSON.stringify(e.memory.pattern)}`
          : `memory of ${e.memory.task} ${e.memory.region}: page ${bad - reg.start} holds ${peekData(w, mm, bad)}, expected ${patternValue(e.memory.pattern, bad - reg.start, round)}  ✗`,
      )
    }
  }
  if (e.buffer) {
    const b = ctx.buffers.get(e.buffer.name)
    if (!b) {
      pass = false
      details.push(`buffer ${e.buffer.name}: no successful device_read filled it`)
    } else {
      const o0 = e.buffer.offset !== undefined ? parseSize(e.buffer.offset) / PAGE_SIZE : 0
      const len = e.buffer.size !== undefined ? parseSize(e.buffer.size) / PAGE_SIZE : b.data.length - o0
      const pat = e.buffer.pattern
      let bad = -1
      if (o0 + len > b.data.length) bad = b.data.length
      else for (let i = o0; i < o0 + len && bad < 0; i++) if (b.data[i] !== patternValue(pat, b.first + i, round)) bad = i
      if (bad >= 0) pass = false
      details.push(
        bad < 0
          ? `buffer ${e.buffer.name}: ${len} pages as expected`
          : bad >= b.data.length
            ? `buffer ${e.buffer.name}: holds ${b.data.length} pages, fewer than offset + size  ✗`
            : `buffer ${e.buffer.name}: page ${b.first + bad} holds ${b.data[bad]}, expected ${patternValue(pat, b.first + bad, round)}  ✗`,
      )
    }
  }
  if (e.hugetlb_free !== undefined) check('free huge pages', w.frames.hugetlbFree(), e.hugetlb_free)
  if (e.pagemap) {
    const pm = e.pagemap
    const mm = ctx.mmOf.get(pm.task)
    const reg = mm?.regions.get(pm.region)
    const r = mm && mm.phase !== 'freed' ? rangeOf({ mm } as Task, pm) : ESRCH
    if (!mm || !reg || typeof r === 'number') {
      pass = false
      details.push(`pagemap of ${pm.task} ${pm.region}: not mapped`)
    } else {
      // pte_to_pagemap_entry: PM_PRESENT for a present PTE; PM_SWAP for a swap-type entry (swap,
      // migration, device-private, device-exclusive); a huge leaf gives each of its pages the same bits
      let bad = -1
      let got = ''
      for (let pg = r.start; pg < r.end && bad < 0; pg++) {
        const f = mm.pt.get(pg)
        const present = (f & PTE_PRESENT) !== 0 && (f & PTE_EXCL) === 0
        const swap = (f & (PTE_DEVPRIV | PTE_EXCL | PTE_SWAP)) !== 0
        if ((pm.present !== undefined && present !== pm.present) || (pm.swap !== undefined && swap !== pm.swap)) {
          bad = pg
          got = `present ${present}, swap ${swap}`
        }
      }
      if (bad >= 0) pass = false
      const want = [pm.present !== undefined ? `present ${pm.present}` : '', pm.swap !== undefined ? `swap ${pm.swap}` : ''].filter((x) => x).join(', ')
      details.push(
        bad < 0
          ? `pagemap of ${pm.task} ${pm.region}: ${r.end - r.start} pages with ${want}`
          : `pagemap of ${pm.task} ${pm.region}: page ${bad - reg.start} has ${got}, expected ${want}  ✗`,
      )
    }
  }
  if (e.order && !checkOrder(w.markers, e.order, details)) pass = false
  ctx.expects.push({ step: idx, line, t: w.engine.now, label: e.label ?? expectName(e), pass, details })
}
