/**
 * Sweep throughput of the experiment service: the same 16-run sweep with 1 and with 2 worker
 * threads (issue: ≥ 1.8× on a 2-core machine). Uses the built worker when `out/` exists (as the
 * app does), else the TypeScript source through tsx. Threads are warmed up before timing.
 *
 * What limits the speed-up on 2 cores: V8's own background threads (JIT compilation, concurrent
 * GC) take CPU beside each run's thread, so one run already keeps more than one core partly busy;
 * runs of about a second, after a warm-up of every design, keep that share small.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { RunPool } from '../src/main/services/experiments/pool'
import { ExperimentService } from '../src/main/services/experiments/service'
import { runWorkerEntry } from '../src/main/services/experiments/worker-entry'
import { simBinding } from '../src/main/services/sim-binding'
import { RunStore } from '../src/main/services/store/run-store'
import { appRoot } from '../src/main/paths'

// A run heavy enough (about a second) that the sweep measures the pool, not per-run overhead.
const fileName = 'bench/scenarios/sweep-workload.yaml'
const text = readFileSync(join(appRoot(), fileName), 'utf8')
const built = existsSync(join(appRoot(), 'out/main/run-worker.js'))
const entry = runWorkerEntry(!built)
// 16 runs: four designs × four seeds.
const sweep = { axes: { design: ['D1', 'D2', 'D4', 'D5'], seed: [1, 2, 3, 4] } }

async function timeSweep(threads: number): Promise<{ ms: number; mainBusy: number; runs: number; failed: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-bench-'))
  const pool = new RunPool({ workerFile: entry.file, ...(entry.execArgv ? { execArgv: entry.execArgv } : {}), threads })
  const svc = new ExperimentService({ pool, store: new RunStore(dir), plan: simBinding.plan })
  // Warm-up: start every thread and let each compile the code paths of every design once.
  await (await svc.start({ scenarioText: text, fileName, sweep: { axes: { design: sweep.axes.design, seed: Array.from({ length: threads }, (_, i) => 100 + i) } } })).done
  const t0 = performance.now()
  const elu0 = performance.eventLoopUtilization()
  const summary = await (await svc.start({ scenarioText: text, fileName, sweep })).done
  const ms = performance.now() - t0
  const mainBusy = performance.eventLoopUtilization(elu0).utilization
  await pool.close()
  rmSync(dir, { recursive: true, force: true })
  return { ms, mainBusy, runs: summary.runs.length, failed: summary.runs.filter((r) => r.status !== 'ok').length }
}

const one = await timeSweep(1)
const two = await timeSweep(2)
console.log(`worker: ${built ? 'built out/main/run-worker.js' : 'TypeScript source via tsx'}; cores: ${availableParallelism()}`)
console.log(`16-run sweep, 1 worker : ${one.ms.toFixed(0)} ms (${one.runs} runs, ${one.failed} not ok; main thread busy ${(one.mainBusy * 100).toFixed(1)}%)`)
console.log(`16-run sweep, 2 workers: ${two.ms.toFixed(0)} ms (${two.runs} runs, ${two.failed} not ok; main thread busy ${(two.mainBusy * 100).toFixed(1)}%)`)
console.log(`speed-up: ${(one.ms / two.ms).toFixed(2)}× (target ≥ 1.8×)`)
