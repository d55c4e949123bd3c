/**
 * Seeded PRNG (sfc32 seeded through splitmix32): identical sequences for identical seeds on every
 * JavaScript engine. The only source of randomness in the simulator.
 */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    let s = seed >>> 0
    const sm = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = sm()
    this.b = sm()
    this.c = sm()
    this.d = sm()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    if (hi <= lo) return lo
    return lo + Math.floor(this.float() * (hi - lo + 1))
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p
  }
}
