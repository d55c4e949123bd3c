import { describe, expect, it } from 'vitest'
import { scenarioJsonSchema } from '../../src/sim/index'
import { STEP_NAMES } from '../../src/shared/scenario'
import { stepCatalogue, stepHoverText, stepKeyAt, stepNameAt } from '../../src/renderer/lib/step-docs'

const schema = scenarioJsonSchema()

describe('step documentation from the scenario JSON Schema', () => {
  it('lists every step the language has, with its description and fields', () => {
    const cat = stepCatalogue(schema)
    expect(cat.map((s) => s.name).sort()).toEqual([...STEP_NAMES].sort())
    const mmap = cat.find((s) => s.name === 'mmap')!
    expect(mmap.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['task', 'region', 'size']))
    expect(mmap.fields.find((f) => f.name === 'region')!.required).toBe(true)
    expect(stepHoverText(cat.find((s) => s.name === 'spawn')!)).toMatch(/^spawn: a new process with a fresh mm\nfields:\n {2}task — /)
  })
  it('is empty for anything that is not such a schema', () => {
    expect(stepCatalogue(undefined)).toEqual([])
    expect(stepCatalogue({ properties: { steps: { $ref: '#/nowhere' } } })).toEqual([])
  })
})

describe('where a step key is typed', () => {
  const doc = 'name: x\nsteps:\n  - spawn: { task: a }\n  - mm'
  it('finds the key of a steps list item with its prefix', () => {
    expect(stepKeyAt(doc, doc.length)).toEqual({ from: doc.length - 2, prefix: 'mm' })
    const empty = 'steps:\n  - '
    expect(stepKeyAt(empty, empty.length)).toEqual({ from: empty.length, prefix: '' })
  })
  it('also inside repeat, background and when', () => {
    const nested = 'steps:\n  - repeat:\n      times: 2\n      steps:\n        - to'
    expect(stepKeyAt(nested, nested.length)).toEqual({ from: nested.length - 2, prefix: 'to' })
  })
  it('not in other lists or in a step body', () => {
    const designs = 'designs:\n  - D'
    expect(stepKeyAt(designs, designs.length)).toBeNull()
    const devices = 'machine:\n  devices:\n    - na'
    expect(stepKeyAt(devices, devices.length)).toBeNull()
    const body = 'steps:\n  - mmap: { ta'
    expect(stepKeyAt(body, body.length)).toBeNull()
  })
  it('finds the step name under the pointer for hover', () => {
    const text = 'steps:\n  - mprotect: { task: a, region: b, prot: r }\n'
    const at = text.indexOf('prot') + 2
    expect(stepNameAt(text, at)).toEqual({ name: 'mprotect', from: text.indexOf('mprotect'), to: text.indexOf('mprotect') + 8 })
    expect(stepNameAt(text, text.indexOf('region'))).toBeNull()
    expect(stepNameAt('designs:\n  - D1: x', 14)).toBeNull()
  })
})
