/**
 * Inputs the parser fuzzing found (parsers.fuzz.test.ts), each as a plain example: what came out
 * wrong, and what it must give now.
 */
import { describe, expect, it } from 'vitest'
import { ScenarioError, parseScenario } from '../../src/sim'
import { packSeries, readSeriesBlock } from '../../src/shared/contracts/series-block'
import { ImportError } from '../../src/main/services/import/strace'
import { importProc } from '../../src/main/services/import/proc'

function scenarioError(text: string): ScenarioError {
  try {
    parseScenario(text, 'f.yaml')
  } catch (err) {
    if (err instanceof ScenarioError) return err
    throw err
  }
  throw new Error('parsed')
}

describe('scenario errors', () => {
  it('quote a huge name in part (a 200 KB task name made a 2.4 MB error), still naming field and line', () => {
    const big = 'z'.repeat(200_000)
    const text = `name: x\nsteps:\n  - spawn: {task: ${big}}\n${'  - open: {task: A, device: dev0, fd: d}\n'.repeat(12)}`
    const err = scenarioError(text)
    expect(err.message.length).toBeLessThan(30_000)
    expect(err.message).toMatch(/^f\.yaml:4: steps\[1\]\.open\.task: unknown task "A"; declared: z+… \(\d+ more characters\)/)
    for (const line of err.message.split('\n')) expect(line.length).toBeLessThan(2_400)
  })

  it('list 200 problems and count the rest', () => {
    const err = scenarioError(`name: x\nsteps:\n${'  - 1\n'.repeat(300)}`)
    const lines = err.message.split('\n')
    expect(lines).toHaveLength(201)
    expect(lines[0]).toMatch(/^f\.yaml:3: steps\[0\]: /)
    expect(lines[200]).toBe('f.yaml:302: (document): and 100 more problems')
  })
})

describe('the series block', () => {
  it('reads back a series named __proto__ (assigning it set the prototype and lost the series)', () => {
    const { series, bytes } = packSeries({ ['__proto__']: { t: [1, 2], v: [3, 4] }, a: { t: [5], v: [6] } })
    const back = readSeriesBlock(series, bytes)
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'a'])
    expect(Object.hasOwn(back, '__proto__')).toBe(true)
    expect(Array.from(Object.getOwnPropertyDescriptor(back, '__proto__')!.value.t as Float64Array)).toEqual([1, 2])
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
  })

  it('refuses a listed length that is not a whole number (0.5 gave 0 times and 1 value)', () => {
    expect(() => readSeriesBlock([{ name: ' ', length: 0.5 }], new Uint8Array(16))).toThrow(/length 0.5/)
    expect(() =>
      readSeriesBlock(
        [
          { name: 'a', length: -1 },
          { name: 'b', length: 1 },
        ],
        new Uint8Array(0),
      ),
    ).toThrow(/length -1/)
  })
})

describe('proc maps import', () => {
  const vma = '7f0000001000-7f0000002000 r-xp 00000000 fd:01 0 '

  it('refuses an Rss that is not whole pages or more than the VMA, naming the line (it wrote a touch the language refuses)', () => {
    for (const [field, why] of [
      ['Rss: 693429537 kB', /line 2, column 1: Rss: 693429537 kB is not a whole number of 4 KiB pages/],
      ['Rss: 8 kB', /line 2, column 1: Rss: 8 kB is more than the VMA's 4 kB/],
      ['Anonymous: 6 kB', /line 2, column 1: Anonymous: 6 kB is not a whole number/],
      [`Rss: ${'9'.repeat(400)} kB`, /line 2, column 1: Rss: 9{24}… kB is too large a number/],
    ] as const) {
      let err: unknown
      try {
        importProc(`${vma}\n${field}\n${vma.replace('1000-7f0000002000', '3000-7f0000004000')}\n`)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ImportError)
      expect((err as ImportError).message).toMatch(why)
    }
  })

  it('still imports whole pages within the VMA, and what it writes parses', () => {
    const out = importProc(`${vma}\nRss: 4 kB\nAnonymous: 4 kB\n`)
    expect(() => parseScenario(out.yaml, 'imported.yaml')).not.toThrow()
    expect(out.stats.residentBytes).toBe(4096)
  })
})
