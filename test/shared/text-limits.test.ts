/**
 * Limits on untrusted text (issue 18 #1, #8, #9): checked without recursion before any parser
 * recurses, each failure a clear error naming the line.
 */
import { describe, expect, it } from 'vitest'
import { ScenarioError, parseScenario } from '../../src/sim'
import { SCENARIO_LIMITS, TextLimitError, checkTextLimits, jsonDepth } from '../../src/shared/text-limits'

describe('scenario text limits', () => {
  it('1,000 and 100,000 nested [ or { are refused at their line, never a stack overflow', () => {
    for (const n of [1000, 100_000]) {
      for (const [open, close] of [
        ['[', ']'],
        ['{a: ', '}'],
      ] as const) {
        const text = `name: deep\nsteps:\n  - spawn: ${open.repeat(n)}${close.repeat(n)}\n`
        expect(() => checkTextLimits(text, 'deep.yaml')).toThrow(TextLimitError)
        expect(() => checkTextLimits(text, 'deep.yaml')).toThrow(`deep.yaml:3: (document): nested deeper than ${SCENARIO_LIMITS.maxDepth} levels`)
      }
    }
  })

  it('deep block nesting (indentation and "- - -") is refused too', () => {
    let block = ''
    for (let i = 0; i < 200; i++) block += `${' '.repeat(i)}k${i}:\n`
    expect(() => checkTextLimits(block, 'b.yaml')).toThrow(/^b\.yaml:\d+: \(document\): nested deeper/)
    expect(() => checkTextLimits(`${'- '.repeat(500)}x\n`, 's.yaml')).toThrow(/nested deeper/)
  })

  it('size, node and alias counts', () => {
    expect(() => checkTextLimits('#'.repeat(SCENARIO_LIMITS.maxChars + 1), 'big.yaml')).toThrow(/characters; the limit is/)
    expect(() => checkTextLimits(`a: [${'1,'.repeat(50)}1]`, 'n.yaml', { ...SCENARIO_LIMITS, maxNodes: 20 })).toThrow(
      /n\.yaml:1: \(document\): more than 20 values/,
    )
    const aliases = `a: &x 1\nb: [${Array.from({ length: 101 }, () => '*x').join(', ')}]\n`
    expect(() => checkTextLimits(aliases, 'a.yaml')).toThrow(/a\.yaml:2: \(document\): more than 100 aliases/)
  })

  it('every shipped-size scenario passes; text within the limits is left to the parser', () => {
    expect(() => checkTextLimits('name: x\nsteps:\n  - spawn: { task: A }\n', 'ok.yaml')).not.toThrow()
    expect(() => checkTextLimits(`a: ${'['.repeat(40)}${']'.repeat(40)}`, 'ok.yaml')).not.toThrow()
    expect(() => checkTextLimits('a: [unclosed', 'syntax.yaml')).not.toThrow()
  })

  it('parseScenario reports the limit as a ScenarioError with file and line, twice in a row (the second overflow was fatal)', () => {
    const deep = '['.repeat(1000) + ']'.repeat(1000)
    for (let i = 0; i < 2; i++) {
      try {
        parseScenario(deep, 'deep.json')
        expect.unreachable()
      } catch (err) {
        expect(err).toBeInstanceOf(ScenarioError)
        expect((err as ScenarioError).line).toBe(1)
        expect((err as ScenarioError).message).toMatch(/^deep\.json:1: \(document\): nested deeper than/)
      }
    }
  })

  it('step keys __proto__ and constructor are unknown steps with their line (issue 18 #9)', () => {
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(() => parseScenario(`name: x\nsteps:\n  - spawn: { task: A }\n  - ${key}: { task: A }\n`, 'k.yaml'), key).toThrow(
        `k.yaml:4: steps[1].${key}: unknown step "${key}"`,
      )
    }
  })
})

describe('JSON body depth', () => {
  it('is exact outside strings and names the line', () => {
    expect(jsonDepth('{"a": [1, {"b": "[[[["}]}', 64)).toEqual({ depth: 3, overAtLine: 0 })
    expect(jsonDepth('"\\"[[["', 1)).toEqual({ depth: 0, overAtLine: 0 })
    expect(jsonDepth('{\n"a":\n[[[[', 3)).toEqual({ depth: 4, overAtLine: 3 })
    expect(jsonDepth('['.repeat(100_000), 64).overAtLine).toBe(1)
  })
})
