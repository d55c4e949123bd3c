import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { countRuns, expandSweep, parseSweepArg, setScenarioParam } from '../../src/shared/sweep'

describe('sweep expansion', () => {
  it('makes the cartesian product of lists and ranges', () => {
    const sets = expandSweep({ axes: { design: ['D1', 'D4'], seed: { from: 1, to: 3, step: 1 } } })
    expect(sets).toEqual([
      { design: 'D1', seed: 1 },
      { design: 'D1', seed: 2 },
      { design: 'D1', seed: 3 },
      { design: 'D4', seed: 1 },
      { design: 'D4', seed: 2 },
      { design: 'D4', seed: 3 },
    ])
    expect(countRuns({ axes: { design: ['D1', 'D4'], seed: { from: 1, to: 3, step: 1 } } })).toBe(6)
  })

  it('zips axes of equal length and refuses uneven ones', () => {
    expect(expandSweep({ mode: 'zip', axes: { a: [1, 2], b: ['x', 'y'] } })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ])
    expect(() => expandSweep({ mode: 'zip', axes: { a: [1, 2], b: ['x'] } })).toThrow('equal length')
  })

  it('uses an explicit list when given, and one empty set for no sweep', () => {
    expect(expandSweep({ list: [{ design: 'D2' }, { design: 'D5', seed: 9 }] })).toEqual([{ design: 'D2' }, { design: 'D5', seed: 9 }])
    expect(expandSweep({})).toEqual([{}])
  })

  it('handles fractional steps without float drift', () => {
    expect(expandSweep({ axes: { 'cost.x': { from: 0.1, to: 0.5, step: 0.1 } } }).map((s) => s['cost.x'])).toEqual([0.1, 0.2, 0.3, 0.4, 0.5])
  })

  it('refuses sweeps that would make too many runs', () => {
    expect(() => expandSweep({ axes: { seed: { from: 1, to: 1e6, step: 1 } } })).toThrow(/limit/)
    expect(() => expandSweep({ axes: { a: { from: 1, to: 200, step: 1 }, b: { from: 1, to: 200, step: 1 } } })).toThrow(/40000 runs/)
  })

  it('count equals the expansion length (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('design', 'seed', 'a', 'b.c'), fc.array(fc.integer(), { minLength: 1, maxLength: 4 }), { maxKeys: 3 }),
        (axes) => {
          expect(expandSweep({ axes })).toHaveLength(countRuns({ axes }))
        },
      ),
    )
  })
})

describe('--sweep arguments', () => {
  it('parses lists, ranges and typed values', () => {
    expect(parseSweepArg('design=D1,D4')).toEqual(['design', ['D1', 'D4']])
    expect(parseSweepArg('seed=1..4')).toEqual(['seed', { from: 1, to: 4, step: 1 }])
    expect(parseSweepArg('machine.iommu.psi=true,false')).toEqual(['machine.iommu.psi', [true, false]])
    expect(parseSweepArg('cost.x=0.5..2:0.5')).toEqual(['cost.x', { from: 0.5, to: 2, step: 0.5 }])
  })

  it('says what was expected', () => {
    expect(() => parseSweepArg('design')).toThrow('expected key=v1,v2')
    expect(() => parseSweepArg('bad key=1')).toThrow('dotted scenario path')
    expect(() => parseSweepArg('seed=5..1')).toThrow('the range goes down (5..1)')
    expect(() => parseSweepArg('seed=1,,2')).toThrow('empty value')
  })
})

describe('scenario parameters', () => {
  it('sets a value at a path whose parent exists', () => {
    const scenario = { machine: { devices: [{ count: 1 }], iommu: { mode: 'sva' } } }
    setScenarioParam(scenario, 'machine.iommu.mode', 'mirrored')
    setScenarioParam(scenario, 'machine.devices.0.count', 4)
    expect(scenario).toEqual({ machine: { devices: [{ count: 4 }], iommu: { mode: 'mirrored' } } })
  })

  it('names the path when the scenario has no such parent', () => {
    expect(() => setScenarioParam({ machine: {} }, 'machine.iomu.mode', 'x')).toThrow('the scenario has nothing at machine.iomu')
    expect(() => setScenarioParam({ a: {} }, 'a.__proto__', 1)).toThrow('not a scenario field')
  })
})

describe('pollution keys in sweep paths (issue 18 #2)', () => {
  const KEYS = ['__proto__', 'constructor', 'prototype']
  it('refuses __proto__, constructor and prototype in any segment, in every entry point', () => {
    for (const bad of KEYS) {
      for (const path of [bad, `${bad}.error`, `machine.${bad}`, `machine.${bad}.x`, `steps.0.${bad}`]) {
        expect(() => expandSweep({ axes: { [path]: [1] } }), path).toThrow()
        expect(() => expandSweep({ list: [{ [path]: 1 }] }), path).toThrow()
        expect(() => parseSweepArg(`${path}=1`), path).toThrow(/not a scenario field/)
        expect(() => setScenarioParam({ machine: { x: {} }, steps: [{}] }, path, 1), path).toThrow(/not a scenario field/)
      }
    }
    expect(({} as Record<string, unknown>).error).toBeUndefined()
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('never follows an inherited property while walking a path', () => {
    expect(() => setScenarioParam({}, 'toString.x', 1)).toThrow(/nothing at toString/)
    expect(() => setScenarioParam({ a: {} }, 'a.hasOwnProperty.b', 1)).toThrow(/nothing at a\.hasOwnProperty/)
  })

  it('parameter sets have no prototype', () => {
    for (const set of [
      ...expandSweep({ axes: { seed: [1, 2], a: [3] } }),
      ...expandSweep({ mode: 'zip', axes: { a: [1] } }),
      ...expandSweep({ list: [{ a: 1 }] }),
      ...expandSweep({}),
    ]) {
      expect(Object.getPrototypeOf(set)).toBeNull()
    }
  })
})
