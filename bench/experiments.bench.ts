/**
 * Sweep throughput of the experiment service: the same 16-run sweep with 1 and with 2 workers,
 * through the service and pool the app uses, with their default isolation (a worker thread for
 * one run at a time, run processes when runs go side by side; see docs/architecture.md). Target
 * from issue 5: 2 workers at least 1.8× faster than 1 on a 2-core machine.
 *
 * The machine may be shared, so each timing waits (up to BENCH_QUIET_WAIT_S, default 20 s) for
 * the CPUs to be idle, retries a timing during which other processes used the CPUs (up to
 * BENCH_RETRIES, default 2, keeping the cleanest), alternates 1- and 2-worker timings, and takes
 * the median of BENCH_REPEAT (default 3) rounds. Every timing reports the load average and how
 * many cores other processes used meanwhile ("others"): a figure taken while others used the
 * CPUs says little about the pool.
 *
 * It also splits the speed-up into the cores kept busy (the pool's parallelism) and the CPU time
 * per run: on this VM the same run's CPU time drifts by ±20% from minute to minute even with no
 * other process running, which moves the ratio between about 1.7× and 2.1× from one bench to the next.
 *
 * BENCH_ISOLATION=all also times both isolations at both sizes (thread/thread, process/process).
 * Uses the built bundle (out/main/run-worker.js, run-process.js) when present, as the app does.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { RunPool, type Isolation } from '../src/main/services/experiments/pool'
import { ExperimentService } from '../src/main/services/experiments/service'
import { runProcessHostEntry, runWorkerEntry } from '../src/main/services/experiments/worker-entry'
import { simBinding } from '../src/main/services/sim-binding'
import { RunStore } from '../src/main/services/store/run-store'
import { appRoot } from '../src/main/paths'

const fileName = 'bench/scenarios/sweep-workload.yaml'
const text = readFileSync(join(appRoot(), fileName), 'utf8')
const built = existsSync(join(appRoot(), 'out/main/run-worker.js')) && existsSync(join(appRoot(), 'out/main/run-process.js'))
const entry = runWorkerEntry(!built)
const hostEntry = runProcessHostEntry(!built)
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3))
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S ?? 20)
const RETRIES = Math.max(0, Number(process.env.BENCH_RETRIES ?? 2))
/** Other processes' CPU (cores) below which a timing counts as taken on an idle machine. */
const CLEAN_OTHERS = 0.15
const TARGET = 1.8
// 16 runs: four designs × four seeds.
const sweep = { axes: { design: ['D1', 'D2', 'D4', 'D5'], seed: [1, 2, 3, 4] } }

/** Busy and total CPU time of the whole machine (Linux /proc/stat), in clock ticks. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }
  } catch {
    return undefined
  }
}

/** CPU time of a process (user + system), ms, from /proc (Linux); 0 when unknown. */
function processCpuMs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100
  } catch {
    return 0
  }
}

/** Waits until the machine has been at least 90% idle for a second (at most `maxS` seconds). */
async function waitForQuiet(maxS: number): Promise<void> {
  const until = Date.now() + maxS * 1000
  for (;;) {
    const a = machineTicks()
    await new Promise((r) => setTimeout(r, 1000))
    const b = machineTicks()
    if (!a || !b || (b.busy - a.busy) / Math.max(1, b.total - a.total) <= 0.1 || Date.now() >= until) return
  }
}

interface Timing {
  ms: number
  /** CPU of this process and its run processes during the sweep, ms. */
  ownCpuMs: number
  /** Cores used by other processes meanwhile (0 to the core count). */
  others: number
  load: number
  runs: number
  notOk: number
}

interface Bench {
  workers: number
  isolation: Isolation
  time(): Promise<Timing>
  close(): Promise<void>
}

async function bench(workers: number, isolation?: Isolation): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-bench-'))
  const pool = new RunPool({
    workerFile: entry.file,
    ...(entry.execArgv ? { execArgv: entry.execArgv } : {}),
    processHostFile: hostEntry.file,
    threads: workers,
    ...(isolation ? { isolation } : {}),
  })
  const svc = new ExperimentService({ pool, store: new RunStore(dir), plan: simBinding.plan })
  // Warm-up: start every thread / run process and let each compile the code of every design.
  await (
    await svc.start({ scenarioText: text, fileName, sweep: { axes: { design: sweep.axes.design, seed: Array.from({ length: workers }, (_, i) => 100 + i) } } })
  ).done
  const ownCpu = (): number => {
    const c = process.cpuUsage()
    return (c.user + c.system) / 1000 + pool.runProcesses.reduce((a, p) => a + (p.pid ? processCpuMs(p.pid) : 0), 0)
  }
  return {
    workers,
    isolation: pool.isolation,
    async time() {
      // A timing during which other processes used the CPUs is retried (up to BENCH_RETRIES
      // times); the cleanest one is kept.
      let best: Timing | undefined
      for (let attempt = 0; attempt <= RETRIES; attempt++) {
        const t = await timeOnce()
        if (!best || t.others < best.others) best = t
        if (t.others < CLEAN_OTHERS) break
      }
      return best!
    },
    async close() {
      await pool.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }

  async function timeOnce(): Promise<Timing> {
    await waitForQuiet(QUIET_WAIT_S)
    const load = loadavg()[0]!
    const m0 = machineTicks()
    const c0 = ownCpu()
    const t0 = performance.now()
    const summary = await (await svc.start({ scenarioText: text, fileName, sweep })).done
    const ms = performance.now() - t0
    const ownCpuMs = ownCpu() - c0
    const m1 = machineTicks()
    // /proc/stat ticks are 10 ms.
    const others = m0 && m1 ? Math.max(0, ((m1.busy - m0.busy) * 10 - ownCpuMs) / ms) : NaN
    return { ms, ownCpuMs, others, load, runs: summary.runs.length, notOk: summary.runs.filter((r) => r.status !== 'passed').length }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

function line(b: Bench, t: Timing): string {
  return `${b.workers} worker${b.workers > 1 ? 's' : ' '} (${b.isolation.padEnd(7)}): ${t.ms.toFixed(0).padStart(6)} ms, CPU ${(t.ownCpuMs / t.runs).toFixed(0)} ms per run, others ${t.others.toFixed(2)} cores, load ${t.load.toFixed(2)}${t.notOk ? `, ${t.notOk} of ${t.runs} runs not ok` : ''}`
}

/** Times a 1-worker and a 2-worker pool in alternation; returns the median wall times. */
async function compare(label: string, one: Bench, two: Bench): Promise<{ one: number; two: number; ratio: number; maxOthers: number; loads: number[] }> {
  console.log(`${label}: median of ${REPEAT}`)
  const t1: Timing[] = []
  const t2: Timing[] = []
  for (let i = 0; i < REPEAT; i++) {
    const a = await one.time()
    console.log(`  round ${i + 1}  ${line(one, a)}`)
    const b = await two.time()
    console.log(`  round ${i + 1}  ${line(two, b)}`)
    t1.push(a)
    t2.push(b)
  }
  const m1 = median(t1.map((t) => t.ms))
  const m2 = median(t2.map((t) => t.ms))
  const all = [...t1, ...t2]
  // The speed-up is (cores kept busy with 2 / with 1) × (CPU per run with 1 / with 2): the first
  // factor is the pool's parallelism, the second what running side by side costs each run.
  const busy = (ts: Timing[]): number => median(ts.map((t) => t.ownCpuMs / t.ms))
  const cpuPerRun = (ts: Timing[]): number => median(ts.map((t) => t.ownCpuMs / t.runs))
  console.log(
    `  cores busy: ${busy(t1).toFixed(2)} with 1 worker, ${busy(t2).toFixed(2)} with 2; CPU per run: ${cpuPerRun(t1).toFixed(0)} ms with 1, ${cpuPerRun(t2).toFixed(0)} ms with 2 (${(((cpuPerRun(t2) - cpuPerRun(t1)) / cpuPerRun(t1)) * 100).toFixed(0)}%)`,
  )
  return { one: m1, two: m2, ratio: m1 / m2, maxOthers: Math.max(...all.map((t) => t.others)), loads: all.map((t) => t.load) }
}

console.log(
  `worker: ${built ? 'built out/main/run-worker.js + run-process.js' : 'TypeScript sources via tsx'}; cores: ${availableParallelism()}; sweep: 16 runs of ${fileName}`,
)
const one = await bench(1)
const two = await bench(2)
const main = await compare('16-run sweep, default isolation', one, two)
await Promise.all([one.close(), two.close()])
console.log(`  1 worker : ${main.one.toFixed(0)} ms (median)`)
console.log(`  2 workers: ${main.two.toFixed(0)} ms (median)`)
console.log(`  speed-up : ${main.ratio.toFixed(2)}×`)
const quiet = main.maxOthers < CLEAN_OTHERS
console.log(
  `  TARGET ≥ ${TARGET}×: ${main.ratio >= TARGET ? 'MET' : 'NOT MET'} (${main.ratio.toFixed(2)}×); load average ${Math.min(...main.loads).toFixed(2)}–${Math.max(...main.loads).toFixed(2)}, other processes used up to ${main.maxOthers.toFixed(2)} cores${quiet ? '' : ' — the machine was shared, so this figure is skewed; rerun when it is idle'}`,
)

if (process.env.BENCH_ISOLATION === 'all') {
  for (const isolation of ['thread', 'process'] as const) {
    const a = await bench(1, isolation)
    const b = await bench(2, isolation)
    const r = await compare(`16-run sweep, ${isolation} isolation at both sizes`, a, b)
    await Promise.all([a.close(), b.close()])
    console.log(
      `  ${isolation}: 1 worker ${r.one.toFixed(0)} ms, 2 workers ${r.two.toFixed(0)} ms, speed-up ${r.ratio.toFixed(2)}× (others up to ${r.maxOthers.toFixed(2)} cores)`,
    )
  }
}
