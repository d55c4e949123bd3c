/**
 * What the timeline collector (src/sim/metrics/timeline.ts: the record's `refcounts` and
 * `timeline`) costs the shipped storm scenarios. Each scenario runs three ways, interleaved round
 * by round so that a drift of the shared machine hits all three alike:
 *
 * - `without`: `runScenario(…, { timeline: false })`, no collector and no listener of the
 *   `step`, `span`, `notifier_range`, `range_end` hooks or the ledger's refcount changes (models
 *   then skip building those payloads);
 * - `emit only`: no collector, but a listener that does nothing on each of those hooks: what the
 *   models spend emitting them (spans, range payloads, fault descriptions not built);
 * - `with`: the collector, as every run has it.
 *
 * Printed per scenario: the median CPU time of each (min–max over the rounds), simulated events per
 * CPU second, and the ratio with / without, split into emitting and collecting. Then the collector
 * alone: one run's hook events recorded and replayed into a fresh collector, less the same replay
 * into listeners that do nothing (the loop's own cost). The option `timeline: false` exists for this
 * benchmark (a narrow switch in runScenario, tested in test/sim/timeline.test.ts); the replay gives
 * the steadier figure, since whole runs on the shared machine vary by ±10-20% between rounds.
 * CPU time (process.cpuUsage) is the figure; wall time is not shown. Never fails on time.
 * BENCH_REPEAT sets the rounds (default 7; 3 for mirror-under-load, ~10 s a run, not replayed: it
 * has four million hook events); BENCH_HEAVY=0 leaves mirror-under-load out.
 *
 * Figures, `BENCH_HEAVY=0 npm run bench timeline`, 2-core machine shared with other sessions (load
 * average 7-13 while measured, so CPU times are inflated), median CPU ms per run:
 *
 *                                     before (26ea104)            after (that series)
 *   storm D2  without / with          240 / 317 (×1.32)           225 / 298 (×1.33)
 *             collector alone         25.3                        6.8
 *   storm D4  without / with          204 / 229 (×1.12)           186 / 198 (×1.06)
 *             collector alone         25.2                        7.6
 *   storm D5  without / with          167 / 206 (×1.23)           152 / 159 (×1.05)
 *             collector alone         24.1                        7.9
 *   kfd D4    without / with          139 / 130 (noise)           98 / 124 (noise)
 *             collector alone         8.2                         3.3
 *   mirror-under-load D4 (full run)   7077 / 7861 (×1.11)         7026 / 7466 (×1.06)
 *
 * Slice details spelled by timeline() (ad7bc08), both benches at once, load average ~28:
 *
 *                                     before (3f95c98)            after
 *   storm D2  without / with          252 / 361 (×1.43)           255 / 308 (×1.20)
 *             collector alone         9.2                         6.9
 *   storm D4  without / with          207 / 228 (×1.10)           218 / 221 (×1.02)
 *             collector alone         8.7                         5.1
 *   storm D5  without / with          170 / 186 (×1.09)           174 / 191 (×1.10)
 *             collector alone         11.9                        7.7
 *   kfd D4    collector alone         3.6                         3.3
 *
 * (storm: fault-vs-invalidation-race.yaml; kfd: kfd-eviction-storm.yaml.) The whole-run ratios move
 * by ±0.1-0.2 from one bench to the next. Read the whole-run figures with care: the full collection
 * before each timing frees the previous run's world, and V8 then throws away the optimised code that
 * embedded its objects ("weak objects" deoptimisations, tens of functions), so a timed run re-warms
 * the JIT; a storm run timed that way costs ~200 ms, the same run in a warm loop ~50 ms, where the
 * collector adds ~×1.2 (runs timed one by one in a warm loop, outside this bench).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseScenario, runScenario, type DesignId, type LoadedScenario } from '../src/sim/index'
import type { World } from '../src/sim/world'
import type { Engine } from '../src/sim/engine/engine'
import type { Ledger } from '../src/sim/ledger/ledger'
import { Hooks } from '../src/sim/engine/hooks'
import { TimelineCollector } from '../src/sim/metrics/timeline'
import type { HookChannels } from '../src/sim/kernel/types'
import type { Refcounts, Timeline } from '../src/shared/record'

const root = join(import.meta.dirname, '..')
const REPEAT = process.env.BENCH_REPEAT !== undefined ? Math.max(1, Number(process.env.BENCH_REPEAT)) : undefined
const HEAVY = process.env.BENCH_HEAVY !== '0'

type Variant = 'without' | 'emit only' | 'with'
const VARIANTS: readonly Variant[] = ['without', 'emit only', 'with']

interface Case {
  file: string
  designs: DesignId[]
  /** Timed rounds, and runs per timing (short runs are timed several at a time). */
  rounds: number
  batch: number
  /** Also replay the run's hooks into the collector alone (keeps every hook event of one run). */
  replay: boolean
}

const CASES: Case[] = [
  // "device faults racing an invalidation storm": MADV_DONTNEED bursts against faulting readers
  { file: 'scenarios/examples/fault-vs-invalidation-race.yaml', designs: ['D2', 'D4', 'D5'], rounds: 7, batch: 3, replay: true },
  // KFD userptr evictions: mprotect bursts, queue evictions, restore workers
  { file: 'scenarios/examples/kfd-eviction-storm.yaml', designs: ['D4'], rounds: 7, batch: 3, replay: true },
  ...(HEAVY ? [{ file: 'scenarios/examples/mirror-under-load.yaml', designs: ['D4'] as DesignId[], rounds: 3, batch: 1, replay: false }] : []),
]

const cpuMs = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

// a full collection before each timing (not counted), so that one timing's garbage is not the next one's cost
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const nop = (): void => {}

/** `batch` runs of one variant: CPU ms per run, and the events of one run. */
function timed(sc: LoadedScenario, design: DesignId, v: Variant, batch: number): { cpu: number; events: number } {
  gc()
  let events = 0
  const c0 = cpuMs()
  for (let i = 0; i < batch; i++) {
    const r =
      v === 'with'
        ? runScenario(sc, { design })
        : runScenario(sc, {
            design,
            timeline: false,
            ...(v === 'emit only'
              ? {
                  hooks: {
                    step: nop,
                    notifierRange: nop,
                    world: (w: World) => {
                      w.hooks.on('span', nop)
                      w.hooks.on('range_end', nop)
                      w.ledger.refListeners.push(nop)
                    },
                  },
                }
              : {}),
          })
    events = r.outcome.events
  }
  return { cpu: (cpuMs() - c0) / batch, events }
}

/**
 * The collector alone: one run's hook events (payloads copied, with the engine's time, process and
 * cause at each) fed again to a fresh collector. Returns a replay function (`empty`: the same loop
 * into listeners that do nothing, the harness's own cost); it checks once that the replay builds
 * the run's own `refcounts` and `timeline`.
 */
function recorder(sc: LoadedScenario, design: DesignId): (empty: boolean) => void {
  // a refcount change carries its object as the ledger had it then (a file changes owner at exit)
  type Ev = { ch: keyof HookChannels | 'ref'; p: unknown; now: number; running: string; cause: number; obj?: unknown }
  const evs: Ev[] = []
  let world: World | undefined
  const rec = runScenario(sc, {
    design,
    hooks: {
      world: (w: World) => {
        world = w
        // subscribed after the collector: engine.cause is already the one it set
        const push = (ch: Ev['ch'], p: unknown): void => void evs.push({ ch, p, now: w.engine.now, running: w.engine.running, cause: w.engine.cause })
        w.hooks.on('step', (e) => push('step', { ...e, view: null }))
        w.hooks.on('span', (e) => push('span', { ...e }))
        w.hooks.on('notifier_range', (e) => push('notifier_range', { ...e }))
        w.hooks.on('range_end', (e) => push('range_end', { range: { ...e.range }, path: e.path }))
        w.hooks.on('invalidation', (e) => push('invalidation', { ...e }))
        w.ledger.refListeners.push((e) => {
          push('ref', { ...e })
          const o = w.ledger.objects[e.id]
          ;(evs[evs.length - 1] as Ev).obj = o ? { ...o } : undefined
        })
      },
    },
  })
  const w = world as World
  const machine = { devices: w.devices.map((d) => ({ name: d.name, iommu: d.spec.iommu?.name ?? null })), iommus: w.iommus.map((io) => io.name) }
  const replay = (empty: boolean): { refcounts: Refcounts; timeline: Timeline } | null => {
    const hooks = new Hooks<HookChannels>()
    const engine = { now: 0, running: '', cause: -1 }
    const ledger = { objects: [] as unknown[], owners: w.ledger.owners, refListeners: [] as Array<(e: unknown) => void> }
    if (empty) {
      for (const ch of ['step', 'span', 'notifier_range', 'range_end', 'invalidation'] as const) hooks.on(ch, nop)
      ledger.refListeners.push(nop)
    }
    const tl = empty ? null : new TimelineCollector(hooks, engine as unknown as Engine, ledger as unknown as Ledger, machine)
    const onRef = ledger.refListeners[0] as (e: unknown) => void
    for (const e of evs) {
      engine.now = e.now
      engine.running = e.running
      if (e.ch !== 'step') engine.cause = e.cause
      if (e.ch === 'ref') {
        ledger.objects[(e.p as { id: number }).id] = e.obj
        onRef(e.p)
      } else hooks.emit(e.ch, e.p as never)
    }
    return tl ? { refcounts: tl.refcounts(), timeline: tl.timeline(rec.steps.rows, rec.outcome.simulatedNs) } : null
  }
  if (JSON.stringify(replay(false)) !== JSON.stringify({ refcounts: rec.refcounts, timeline: rec.timeline }))
    console.log("  [the replay does not rebuild the run's record: its figure is not the collector's]")
  return (empty) => void replay(empty)
}

function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const fmt = (xs: readonly number[]): string => `${median(xs).toFixed(1).padStart(8)} ms CPU (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`

for (const c of CASES) {
  const sc = parseScenario(readFileSync(join(root, c.file), 'utf8'), c.file)
  const rounds = REPEAT ?? c.rounds
  for (const design of c.designs) {
    const cpu = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]))
    let events = 0
    // warm the JIT up on the short scenarios (a long one warms up within its first run)
    if (c.batch > 1) for (const v of VARIANTS) timed(sc, design, v, 1)
    for (let i = 0; i < rounds; i++) {
      // each round starts with another variant: no variant always follows the same one
      for (let j = 0; j < VARIANTS.length; j++) {
        const v = VARIANTS[(i + j) % VARIANTS.length] as Variant
        const m = timed(sc, design, v, c.batch)
        cpu.get(v)?.push(m.cpu)
        events = m.events
      }
    }
    const med = new Map(VARIANTS.map((v) => [v, median(cpu.get(v) ?? [])]))
    const base = med.get('without') as number
    console.log(`${c.file.split('/').pop()} ${design}: ${events} events; median of ${rounds} timings of ${c.batch} run(s), min–max`)
    for (const v of VARIANTS) {
      const m = med.get(v) as number
      console.log(
        `  ${v.padEnd(10)} ${fmt(cpu.get(v) ?? [])}  ${Math.round(events / (m / 1000))
          .toString()
          .padStart(9)} events/s  ×${(m / base).toFixed(2)}`,
      )
    }
    const emit = (med.get('emit only') as number) - base
    const collect = (med.get('with') as number) - (med.get('emit only') as number)
    console.log(
      `  → with / without ×${((med.get('with') as number) / base).toFixed(2)}: emitting ${emit.toFixed(1)} ms, collecting ${collect.toFixed(1)} ms per run`,
    )
    // the collector's own handlers, without the run around them: a steadier figure than the difference
    if (!c.replay) {
      console.log('  (not replayed: millions of hook events would have to be kept)')
      continue
    }
    const replay = recorder(sc, design)
    for (let i = 0; i < 3; i++) {
      replay(false)
      replay(true)
    }
    // enough replays for ~300 ms of CPU per timing
    const r0 = cpuMs()
    replay(false)
    const reps = Math.max(1, Math.round(300 / Math.max(0.1, cpuMs() - r0)))
    const alone: number[] = []
    const harness: number[] = []
    for (let i = 0; i < rounds; i++) {
      for (const empty of i % 2 ? [true, false] : [false, true]) {
        gc()
        const c0 = cpuMs()
        for (let k = 0; k < reps; k++) replay(empty)
        ;(empty ? harness : alone).push((cpuMs() - c0) / reps)
      }
    }
    console.log(`  its hooks replayed into it:           ${fmt(alone)} per run`)
    console.log(`  the same into listeners doing nothing: ${fmt(harness)} → collector alone ${(median(alone) - median(harness)).toFixed(1)} ms per run`)
  }
}
