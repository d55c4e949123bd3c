/** Tick placement for the chart axes (pure, so it is unit-tested without a DOM). */

/** Powers of `base` between min and max, thinned to at most about eight ticks. */
export function logTicks(min: number, max: number, base: 2 | 10): number[] {
  // an infinite max would count powers for ever
  if (!(min > 0) || !(max > min) || !Number.isFinite(max)) return []
  const lo = Math.ceil(Math.log(min) / Math.log(base) - 1e-9)
  const hi = Math.floor(Math.log(max) / Math.log(base) + 1e-9)
  const every = Math.max(1, Math.ceil((hi - lo + 1) / 8))
  const out: number[] = []
  // base ** k <= max: log(max) / log(base) rounds up to 1024 near 1.8e308, and 2 ** 1024 is Infinity
  for (let k = lo; k <= hi; k++) if ((k - lo) % every === 0 && base ** k <= max) out.push(base ** k)
  return out.length >= 2 ? out : [min, max]
}

/** A 1/2/5 × 10^k step that cuts `range` into about `parts` parts. */
export function niceStep(range: number, parts = 6): number {
  if (!(range > 0) || !Number.isFinite(range)) return 1
  const raw = range / parts
  const mag = 10 ** Math.floor(Math.log10(raw))
  const f = raw / mag
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag
  // at the ends of the doubles (a denormal range, or 10 × mag past 1.8e308) no round step
  // exists: 0 or Infinity would give Chart.js no ticks or endless ones; the range is a step
  return step > 0 && Number.isFinite(step) ? step : range
}

/**
 * The step of a linear axis whose ticks are labelled in a unit `scale` times the raw one (MiB of
 * bytes, µs of ns): a round step in the unit shown, as raw units (100 MiB·s, where Chart.js alone
 * chooses 10^8 byte-seconds and labels 95.37 MiB·s); never below `min` (1 for counts).
 */
export function unitStep(max: number, scale: number, min = 0): number | undefined {
  if (!(max > 0) || !(scale > 0)) return undefined
  const step = Math.max(min, niceStep(max / scale) * scale)
  // an infinite scale (or one that overflows the step) leaves the step to Chart.js
  return Number.isFinite(step) && step > 0 ? step : undefined
}
