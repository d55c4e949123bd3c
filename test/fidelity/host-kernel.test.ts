/**
 * The simulator checked against this machine's kernel (issue 13): every pattern of
 * native/hostcheck/patterns.c runs natively and as a scenario; each number is compared (see
 * host-kernel.ts for which and how). A difference must be declared in host-kernel.known.ts; a
 * declared one that no longer occurs fails too, so fixing the model forces removing its entry.
 * Without a C compiler (or off Linux / x86-64) the native half is SKIPPED, with the reason printed.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { KNOWN } from './host-kernel.known'
import {
  buildHelper,
  compare,
  docTable,
  DOC,
  DOC_BEGIN,
  DOC_END,
  formatRows,
  hostFacts,
  judge,
  knownTable,
  PATTERNS,
  patternSkip,
  runNative,
  simulate,
  type HostEnv,
  type Known,
  type Row,
} from './host-kernel'

const LIMIT = 180_000

/** A THP pattern whose first write got no THP (fragmentation, defrag policy): not comparable. */
function thpMissing(p: (typeof PATTERNS)[number], cps: ReturnType<typeof runNative>['cps']): string | null {
  if (!(p.needs ?? []).includes('thp') || (p.needs ?? []).includes('huge_zero_page_read')) return null
  // the parent's writes before fork each fault in one THP in the scenario: the kernel must have too
  for (const c of cps) {
    if (c.task !== 'self' || c.phase === 'fork') break
    const want = c.phase === 'write_one_page_first_pmd' ? 2048 : 4096
    const got = c.regions.thp?.anon_huge_kb ?? 0
    if (got < want)
      return `the kernel gave the MADV_HUGEPAGE region ${got} KiB of THP after ${c.phase}, the scenario ${want} (no free 2 MiB block: fragmentation or the defrag policy)`
  }
  return null
}

describe('host-kernel patterns in the simulator', () => {
  it(
    'every pattern runs as a scenario with one checkpoint per phase',
    () => {
      for (const p of PATTERNS) {
        const cps = simulate(p)
        expect(cps.map((c) => `${c.task} ${c.phase}`)).toEqual(p.phases.map((ph) => `${ph.task} ${ph.name}`))
      }
    },
    LIMIT,
  )

  it('every declared disagreement names a pattern, phase and metric that exist', () => {
    const bad: string[] = []
    for (const k of KNOWN) {
      const p = PATTERNS.find((x) => x.name === k.pattern)
      const ph = p?.phases.find((x) => x.task === k.task && x.name === k.phase)
      const [a, b] = k.metric.split('.')
      const metricOk = b === undefined ? ['pt_bytes', 'minflt'].includes(a as string) : p !== undefined && a !== undefined && a in p.regions
      if (!p || !ph || !metricOk) bad.push(`${k.pattern} ${k.task} ${k.phase} ${k.metric}`)
      if (k.kernel === k.sim) bad.push(`${k.pattern} ${k.task} ${k.phase} ${k.metric}: kernel and simulator values are equal`)
    }
    expect(bad).toEqual([])
  })

  it(`${DOC} carries the table of declared disagreements`, () => {
    const t = docTable(readFileSync(DOC, 'utf8'))
    const want = knownTable(KNOWN)
    if (t !== want) console.log(`expected between ${DOC_BEGIN} and ${DOC_END} in ${DOC}:\n${want}`)
    expect(t).toBe(want)
  })

  it('the verdict fails on an undeclared difference and on a declared one that stopped', () => {
    const env = { pt_reclaim: true } as HostEnv
    const row = (metric: string, kernel: number, sim: number): Row => ({
      pattern: 'p',
      task: 'self',
      phase: 'x',
      metric,
      kernel,
      sim,
      status: kernel === sim ? 'agree' : 'differ',
    })
    const k = (metric: string, kernel: number, sim: number, when?: Known['when']): Known => ({
      pattern: 'p',
      task: 'self',
      phase: 'x',
      metric,
      kernel,
      sim,
      decided_by: 'f',
      item: '9',
      ...(when ? { when } : {}),
    })
    const v = judge(
      [row('a', 1, 2), row('b', 3, 3), row('c', 5, 6), row('d', 7, 8)],
      [k('b', 3, 4), k('c', 5, 6), k('d', 7, 9), k('e', 1, 2, { pt_reclaim: false })],
      env,
    )
    expect(v.undeclared.map((r) => r.metric)).toEqual(['a'])
    expect(v.stale.map((s) => s.known.metric)).toEqual(['b', 'd'])
    expect(v.declared.map((s) => s.known.metric)).toEqual(['c'])
  })
})

const build = buildHelper()

describe("the simulator against this machine's kernel", () => {
  if (!build.ok && build.kind === 'error') {
    it('builds native/hostcheck/patterns.c', () => {
      throw new Error(build.why)
    })
    return
  }
  if (!build.ok) {
    const why = `host-kernel comparison SKIPPED: ${build.why}`
    console.warn(why)
    it.skip(why, () => {})
    return
  }
  const facts = hostFacts()
  const all: Row[] = []
  let env: HostEnv | null = null
  const notes: string[] = []

  for (const p of PATTERNS) {
    it(
      `pattern ${p.name}`,
      (ctx) => {
        const nat = runNative(build.binary, p.name)
        const e = nat.env
        env = {
          ...facts,
          page_size: Number(e.page_size),
          root: e.root === 1,
          pfn_visible: e.pfn_visible === true,
          kpageflags: e.kpageflags === true,
          zero_page_read: e.zero_page_read === true,
          huge_zero_page_read: e.huge_zero_page_read === null || e.huge_zero_page_read === undefined ? null : e.huge_zero_page_read === true,
        }
        if (env.page_size !== 4096) {
          const why = `SKIPPED ${p.name}: page size ${env.page_size}, the model has 4 KiB pages`
          console.warn(why)
          notes.push(why)
          ctx.skip(why)
          return
        }
        const skip = patternSkip(p, env) ?? thpMissing(p, nat.cps)
        if (skip) {
          const why = `SKIPPED ${p.name}: ${skip}`
          console.warn(why)
          notes.push(why)
          ctx.skip(why)
          return
        }
        // noise: the helper's own page tables must not change while it runs (start and end
        // baselines of the parent equal); if they do, page-table comparisons allow that much
        const tol = Math.abs(nat.noise.self ?? 0)
        if (tol > 0) notes.push(`${p.name}: the helper's own page tables changed by ${nat.noise.self} bytes during the run: pt_bytes compared within ±${tol}`)
        const rows = compare(p, env, nat.cps, simulate(p), tol)
        all.push(...rows)
        const v = judge(
          rows,
          KNOWN.filter((k) => k.pattern === p.name),
          env,
        )
        const msg = [
          ...v.undeclared.map(
            (r) =>
              `undeclared: ${r.pattern} ${r.task} ${r.phase} ${r.metric}: kernel ${r.kernel}, simulator ${r.sim} (declare it in test/fidelity/host-kernel.known.ts or fix the model)`,
          ),
          ...v.stale.map((s) => `stale declaration: ${s.known.pattern} ${s.known.task} ${s.known.phase} ${s.known.metric}: ${s.why}`),
        ]
        if (msg.length > 0) console.log(formatRows(rows))
        expect(msg).toEqual([])
      },
      LIMIT,
    )
  }

  it('summary: kernel vs simulator, every pattern × number', () => {
    const e = env as HostEnv | null
    if (e) {
      console.log(
        `host: ${e.release}, THP ${e.thp_enabled ?? '?'} (use_zero_page ${String(e.thp_use_zero_page)}), CONFIG_PT_RECLAIM ${e.pt_reclaim === null ? 'unknown' : e.pt_reclaim ? 'y' : 'n'}, page size ${e.page_size}, root ${e.root}, PFNs ${e.pfn_visible ? 'visible' : 'hidden'}, zero page on read fault ${e.zero_page_read}, huge zero page ${String(e.huge_zero_page_read)}`,
      )
    }
    for (const n of notes) console.log(n)
    console.log(formatRows(all))
    const skipped = all.filter((r) => r.status === 'skipped')
    const reasons = [...new Set(skipped.map((r) => r.why))]
    for (const r of reasons) console.log(`not compared (${skipped.filter((x) => x.why === r).length} numbers): ${r}`)
    const counts = { agree: all.filter((r) => r.status === 'agree').length, differ: all.filter((r) => r.status === 'differ').length, skipped: skipped.length }
    console.log(`${counts.agree} numbers agree, ${counts.differ} differ (all declared), ${counts.skipped} not compared`)
    // the comparison compared something whenever a pattern ran
    if (all.length > 0) expect(counts.agree + counts.differ).toBeGreaterThan(0)
  })
})
