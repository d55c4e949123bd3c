/**
 * The step interpreter: runs scenario steps as the "main thread" process of the simulation (and
 * `background` / storm steps as concurrent processes). Control steps (expect, sleep, repeat,
 * background, when) are handled here; every other step is dispatched to its handler in the table
 * of steps.ts. The interpreter's state and shared helpers are in ctx.ts, expectations in expect.ts.
 */
import { sleep, type Proc } from '../engine/engine'
import type { DeviceOpResult } from '../drivers/dmirror'
import { lineOf } from './parse'
import { parseDuration, type StepT } from '../../shared/scenario'
import { Ctx, logStep, setResult, MAX_STEPS, type StepSequence } from './ctx'
import { evalExpect } from './expect'
import { dispatchStep, isStepOp, stepName, stepTaskName } from './steps'
import { waitForVforkDone } from '../kernel/task'

export { Ctx } from './ctx'

/** Starts the scenario's main sequence as the engine's `main` process; `done` runs when its last step did. */
export function startMain(ctx: Ctx, steps: StepT[], done: () => void): StepSequence {
  const seq: StepSequence = { kind: 'main', line: 0, at: null, proc: null }
  ctx.sequences.push(seq)
  seq.proc = ctx.w.engine.spawn('main', runSteps(ctx, steps, true, 0, seq), done)
  return seq
}

/**
 * Runs a list of steps in order; `round` is the iteration of the innermost `repeat` (patterns'
 * per_round); `seq` is the sequence they belong to (which step it is in, when a run blocks).
 */
export function* runSteps(ctx: Ctx, steps: StepT[], top: boolean, round = 0, seq?: StepSequence): Proc<void> {
  for (const s of steps) {
    if (ctx.stopped) return
    yield* execStep(ctx, s, round, seq)
    if (top) {
      ctx.onStepDone?.(ctx.topDone, stepName(s))
      ctx.topDone++
    }
  }
}

function* execStep(ctx: Ctx, s: StepT, round: number, seq: StepSequence | undefined): Proc<void> {
  const w = ctx.w
  const op = stepName(s)
  const line = lineOf(s)
  const t0 = w.engine.now
  const idx = ctx.nextIndex()
  if (idx >= MAX_STEPS) {
    if (!ctx.stopped) w.finding({ kind: 'warn', message: `run stopped after ${MAX_STEPS} steps (step cap)` })
    ctx.stopped = true
    return
  }
  const path = [`step ${op} (line ${line})`]
  w.log('step', op, `line ${line}`)
  if (w.hooks.has('step')) {
    w.hooks.emit('step', { index: idx, line, op, task: stepTaskName(s), round, t: t0, view: ctx })
  }
  if ('expect' in s) {
    evalExpect(ctx, s.expect, idx, line, round)
    return
  }
  if ('repeat' in s) {
    for (let i = 0; i < s.repeat.times && !ctx.stopped; i++) yield* runSteps(ctx, s.repeat.steps, false, i, seq)
    return
  }
  if ('background' in s) {
    const bg: StepSequence = { kind: 'background', line, at: null, proc: null }
    ctx.sequences.push(bg)
    bg.proc = w.engine.spawn('background', runSteps(ctx, s.background.steps, false, round, bg))
    return
  }
  if ('when' in s) {
    const ds = Array.isArray(s.when.design) ? s.when.design : [s.when.design]
    if (ds.includes(ctx.design.id)) yield* runSteps(ctx, s.when.steps, false, round, seq)
    return
  }
  if (seq) seq.at = { op, line, task: stepTaskName(s) }
  if ('sleep' in s) {
    yield sleep(parseDuration(s.sleep))
    logStep(ctx, op, line, t0, null)
    if (seq) seq.at = null
    return
  }
  // a task blocked in vfork runs its next step once the child exec'd or exited
  const taskName = stepTaskName(s)
  const blocked = taskName === null ? undefined : w.tasks.get(taskName)
  if (blocked?.vforkWait) yield* waitForVforkDone(w, blocked)
  yield sleep(w.costs.syscall)
  let ret = 0
  let dev: DeviceOpResult | undefined
  if (isStepOp(op)) {
    const r = yield* dispatchStep({ ctx, w, path, round }, op, s)
    if (typeof r === 'number') ret = r
    else {
      ret = r.ret
      dev = r
    }
  }
  setResult(ctx, ret, dev)
  logStep(ctx, op, line, t0, ret, dev)
  if (seq) seq.at = null
}
