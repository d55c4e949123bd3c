/**
 * Simulator benchmarks (printed, never failing). Targets from issue 3: fork-after-mirror on 1 GiB
 * of 4 KiB pages with four devices behind an IOMMU ≤ 200 ms and ≤ 32 bytes per page per mirror;
 * 64 GiB of 2 MiB pages with eight devices < 1 s. Reports wall and CPU time per phase (the machine
 * may be shared: CPU time is the steadier figure), simulated events/s, and heap + ArrayBuffer bytes.
 */
import { runScenario, type Scenario, type DesignId } from '../src/sim/index'
import type { StepT } from '../src/shared/scenario'

function machine(n: number): Scenario['machine'] {
  return {
    iommus: [{ name: 'iommu0', vendor: 'intel' }],
    devices: Array.from({ length: n }, (_, i) => ({ name: `gpu${i}`, kind: 'gpu' as const, iommu: 'iommu0', ats: true, vram: '1G' })),
  }
}

function setup(size: string, huge: boolean, n: number): StepT[] {
  const s: StepT[] = [{ spawn: { task: 'A' } }, { mmap: { task: 'A', region: 'buf', size, huge } }, { touch: { task: 'A', region: 'buf', write: true } }]
  for (let i = 0; i < n; i++) {
    s.push(
      { open: { task: 'A', device: `gpu${i}`, fd: `f${i}` } },
      { mirror: { task: 'A', fd: `f${i}` } },
      { device_read: { task: 'A', fd: `f${i}`, region: 'buf' } },
    )
  }
  return s
}

function mem(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) g()
}

const cpuMs = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

interface Phase {
  wall: number
  cpu: number
}

interface Measure {
  wall: number
  cpu: number
  events: number
  bytes: number
  simNs: number
  phases: Map<string, Phase>
  clean: boolean
}

/** Runs a scenario; `phaseOf(op)` names the phase each top-level step belongs to. */
function measure(sc: Scenario, design: DesignId, phaseOf: (op: string) => string): Measure {
  gc()
  const before = mem()
  let peak = before
  const phases = new Map<string, Phase>()
  let lw = performance.now()
  let lc = cpuMs()
  const w0 = lw
  const c0 = lc
  const r = runScenario(sc, {
    design,
    onStepDone: (_i, op) => {
      const w = performance.now()
      const c = cpuMs()
      const m = mem()
      if (m > peak) peak = m
      const k = phaseOf(op)
      const p = phases.get(k) ?? { wall: 0, cpu: 0 }
      p.wall += w - lw
      p.cpu += c - lc
      phases.set(k, p)
      lw = w
      lc = c
    },
  })
  const wall = performance.now() - w0
  const cpu = cpuMs() - c0
  const after = mem()
  if (after > peak) peak = after
  const clean = r.outcome.status === 'passed' && r.steps.rows.every((s) => s.ret === null || s.ret === 0)
  return { wall, cpu, events: r.outcome.events, bytes: Math.max(0, peak - before), simNs: r.outcome.simulatedNs, phases, clean }
}

function show(label: string, m: Measure): void {
  const evs = m.cpu > 0 ? Math.round(m.events / (m.cpu / 1000)) : 0
  console.log(
    `  ${label}: ${m.wall.toFixed(0)} ms wall, ${m.cpu.toFixed(0)} ms CPU, ${m.events} events (${evs} simulated events/s of CPU), heap+buffers +${(m.bytes / 2 ** 20).toFixed(1)} MiB, simulated ${(m.simNs / 1e6).toFixed(2)} ms${m.clean ? '' : '  [run not clean]'}`,
  )
  for (const [k, p] of m.phases) console.log(`      ${k.padEnd(22)} ${p.wall.toFixed(1).padStart(8)} ms wall ${p.cpu.toFixed(1).padStart(8)} ms CPU`)
}

const phase = (op: string): string =>
  op === 'touch' ? 'touch (CPU faults)' : op === 'device_read' ? 'device mirroring' : op === 'fork' ? 'fork' : op === 'exit' ? 'exit' : 'other'

/** Median by CPU time of `n` measurements (the first run also warms the JIT up). */
function median(n: number, f: () => Measure): Measure {
  const ms = Array.from({ length: n }, f).sort((a, b) => a.cpu - b.cpu)
  return ms[Math.floor(ms.length / 2)] as Measure
}

console.log('fork-after-mirror: 1 GiB of 4 KiB pages, 4 devices behind an IOMMU (D4), median of 5 runs')
const pages = 2 ** 30 / 4096
const sc1: Scenario = { name: 'fork 1G', machine: machine(4), steps: [...setup('1G', false, 4), { fork: { task: 'A', child: 'B' } }] }
const m1 = median(5, () => measure(sc1, 'D4', phase))
show('1 GiB × 4 devices', m1)
const fork = m1.phases.get('fork')
console.log(
  `  → fork: ${fork?.wall.toFixed(1)} ms wall / ${fork?.cpu.toFixed(1)} ms CPU (target ≤ 200 ms); ${(m1.bytes / pages / 4).toFixed(1)} bytes per page per mirror incl. CPU tables and frames of parent and child (target ≤ 32)`,
)

console.log('64 GiB of 2 MiB pages, 8 devices (D4), median of 3 runs')
const sc64: Scenario = { name: 'fork 64G', machine: machine(8), steps: [...setup('64G', true, 8), { fork: { task: 'A', child: 'B' } }] }
const m64 = median(3, () => measure(sc64, 'D4', phase))
show('64 GiB × 8 devices, touch + mirror + fork (target < 1000 ms)', m64)

console.log('1 GiB case through exit of both tasks, per design')
for (const d of ['D1', 'D2', 'D3', 'D4', 'D5', 'D6'] as DesignId[]) {
  const m = measure(
    {
      name: 'exit',
      machine: machine(4),
      steps: [...setup('1G', false, 4), { fork: { task: 'A', child: 'B' } }, { exit: { task: 'A' } }, { exit: { task: 'B' } }, { sleep: '10ms' }],
    },
    d,
    phase,
  )
  const f = m.phases.get('fork')
  const e = m.phases.get('exit')
  console.log(
    `  ${d}: total ${m.cpu.toFixed(0)} ms CPU; fork ${f?.cpu.toFixed(1)} ms CPU; exits ${e?.cpu.toFixed(1)} ms CPU; ${m.events} events${m.clean ? '' : '  [run not clean]'}`,
  )
}
