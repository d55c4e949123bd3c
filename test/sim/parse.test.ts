import { describe, expect, it } from 'vitest'
import { parseScenario, ScenarioError } from '../../src/sim/index'
import { parseSize } from '../../src/shared/scenario'

function err(text: string): ScenarioError {
  try {
    parseScenario(text, 'bad.yaml')
  } catch (e) {
    if (e instanceof ScenarioError) return e
    throw e
  }
  throw new Error('expected a ScenarioError')
}

describe('scenario errors name file, line and field', () => {
  it('a wrong type in a step field', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - mmap: { task: A, region: buf, size: 4K, prot: rwz }', ''].join('\n'))
    expect(e.line).toBe(4)
    expect(e.message).toContain('bad.yaml:4:')
    expect(e.message).toContain('steps[1].mmap.prot')
    expect(e.message).toMatch(/expected one of .*"rw"/)
  })

  it('an unknown kernel version in machine.kernel, with the versions the model knows', () => {
    const e = err(['name: x', 'machine:', '  cpus: 2', '  kernel: "6.11"', 'steps:', '  - spawn: { task: A }', ''].join('\n'))
    expect(e.line).toBe(4)
    expect(e.message).toContain('bad.yaml:4:')
    expect(e.message).toContain('machine.kernel')
    expect(e.message).toMatch(/expected one of "6\.12", "6\.13", .*"6\.19", "mainline"/)
    // a number is not a version name either (YAML reads 6.12 unquoted as a number)
    expect(err(['name: x', 'machine: { kernel: 6.12 }', 'steps: []', ''].join('\n')).message).toMatch(/bad\.yaml:2:.*machine\.kernel/)
    // a known one parses
    expect(parseScenario(['name: x', 'machine: { kernel: "6.12" }', 'steps: []', ''].join('\n'), 'ok.yaml').machine?.kernel).toBe('6.12')
  })

  it('an unknown step', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '', '  - frobnicate: { task: A }'].join('\n'))
    expect(e.line).toBe(5)
    expect(e.message).toContain('unknown step "frobnicate"')
  })

  it('an unknown field', () => {
    const e = err(['name: x', 'steps:', '  - spawn:', '      task: A', '      colour: red'].join('\n'))
    expect(e.line).toBe(5)
    expect(e.message).toContain('steps[0].spawn.colour')
    expect(e.message).toContain('unknown field "colour"')
  })

  it('a missing required field', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - open: { task: A, fd: f }'].join('\n'))
    expect(e.line).toBe(4)
    expect(e.message).toContain('steps[1].open.device')
    expect(e.message).toContain('expected string')
  })

  it('a reference to an undeclared task', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - exit: { task: B }'].join('\n'))
    expect(e.line).toBe(4)
    expect(e.message).toContain('steps[1].exit.task: unknown task "B"')
  })

  it('an unaligned size', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - mmap: { task: A, region: r, size: 1000 }'].join('\n'))
    expect(e.message).toContain('steps[1].mmap.size')
    expect(e.message).toContain('multiple of the 4 KiB page size')
  })

  it('a size or duration string beyond what a number field takes', () => {
    // the string forms used to skip the bound: "99999999999999999999s" ran 1e20 ns of simulated time
    const dur = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - sleep: "99999999999999999999s"'].join('\n'))
    expect(dur.line).toBe(4)
    expect(dur.message).toContain('bad.yaml:4: steps[1].sleep: duration "99999999999999999999s" is more than 9007199254740991 ns')
    const size = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - mmap: { task: A, region: r, size: 99999999999999999999T }'].join('\n'))
    expect(size.line).toBe(4)
    expect(size.message).toContain('bad.yaml:4: steps[1].mmap.size: size "99999999999999999999T" is more than 9007199254740991 bytes')
    const nested = err(['name: x', 'machine:', '  swap: 9000T', 'steps: []'].join('\n'))
    expect(nested.message).toContain('bad.yaml:3: machine.swap: size "9000T" is more than')
    // the numeric forms name the same bound
    expect(err(['name: x', 'steps:', '  - sleep: 99999999999999999999'].join('\n')).message).toMatch(/bad\.yaml:3: steps\[0\]\.sleep: .*9007199254740991/)
    // the bound itself and anything below it parse
    expect(parseScenario(['name: x', 'steps:', '  - sleep: "9007199254740991ns"', '  - sleep: 100s'].join('\n'), 'ok.yaml').steps).toHaveLength(2)
  })

  it('P is PiB (as memparse reads it); a page is "page" or "pages"', () => {
    const sizes = (v: string) => {
      const sc = parseScenario(['name: x', 'steps:', '  - spawn: { task: A }', `  - mmap: { task: A, region: r, size: ${v} }`].join('\n'), 'ok.yaml')
      return parseSize((sc.steps[1] as { mmap: { size: string } }).mmap.size)
    }
    expect(sizes('1P')).toBe(2 ** 50)
    expect(sizes('2PiB')).toBe(2 ** 51)
    expect(sizes('"1 PB"')).toBe(2 ** 50)
    expect(sizes('"16 pages"')).toBe(16 * 4096)
    expect(sizes('"1 page"')).toBe(4096)
    expect(sizes('2T')).toBe(2 ** 41)
  })

  it('invalid YAML', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A', '  - exit: [}'].join('\n'))
    expect(e.message).toMatch(/^bad\.yaml:\d+: \(document\): not valid YAML\/JSON/)
  })

  it('a top-level field of the wrong type, in JSON', () => {
    const text = '{\n  "name": "x",\n  "seed": "one",\n  "steps": []\n}'
    const e = err(text)
    expect(e.line).toBe(3)
    expect(e.message).toContain('seed: expected number')
  })

  it('nested repeat steps keep their lines', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - repeat:', '      times: 2', '      steps:', '        - sleep: 10 parsecs'].join('\n'))
    expect(e.line).toBe(7)
    expect(e.message).toContain('steps[1].repeat.steps[0].sleep')
  })

  it('an unknown device and an unknown IOMMU', () => {
    const e = err(
      [
        'name: x',
        'machine:',
        '  devices:',
        '    - { name: gpu0, iommu: nope }',
        'steps:',
        '  - spawn: { task: A }',
        '  - open: { task: A, device: gpu9, fd: f }',
      ].join('\n'),
    )
    expect(e.message).toContain('bad.yaml:4: machine.devices[0].iommu: unknown IOMMU "nope"')
    expect(e.message).toContain('bad.yaml:7: steps[1].open.device: unknown device "gpu9"')
  })

  it('not a mapping', () => {
    expect(err('- 1\n- 2\n').message).toContain('expected a mapping')
  })

  it('valid input parses, with JSON too', () => {
    const sc = parseScenario('{"name":"ok","steps":[{"spawn":{"task":"A"}},{"exit":{"task":"A"}}]}', 'ok.json')
    expect(sc.steps.length).toBe(2)
    expect(sc.source?.file).toBe('ok.json')
  })
})

describe('one pass reports every problem', () => {
  const multi = (sleep: string): string =>
    [
      'name: bad',
      'steps:',
      '  - spawn: { task: A }',
      '  - mmap: { task: A, region: r, size: 3K }',
      '  - touch: { task: B, region: r }',
      `  - sleep: ${sleep}`,
      '',
    ].join('\n')

  it('an out-of-range duration does not hide the cross-step errors before it', () => {
    for (const sleep of ['"99999999999999999999s"', '"abc"']) {
      const e = err(multi(sleep))
      expect(e.line).toBe(4)
      expect(e.message).toContain('bad.yaml:4: steps[1].mmap.size: expected a multiple of the 4 KiB page size, got 3072')
      expect(e.message).toContain('bad.yaml:5: steps[2].touch.task: unknown task "B"; declared: A')
      expect(e.message).toContain('bad.yaml:6: steps[3].sleep:')
      expect(e.message.split('\n')).toHaveLength(3)
    }
  })

  it('a step that fails its schema still declares its names: no cascade of unknown-name errors', () => {
    const e = err(
      [
        'name: bad',
        'steps:',
        '  - spawn: { task: A, bogus: 1 }',
        '  - mmap: { task: A, region: r, size: 4K, prot: rwz }',
        '  - touch: { task: A, region: r }',
        '  - touch: { task: C, region: r }',
        '',
      ].join('\n'),
    )
    expect(e.message).toContain('bad.yaml:3: steps[0].spawn')
    expect(e.message).toContain('bad.yaml:4: steps[1].mmap.prot')
    expect(e.message).toContain('bad.yaml:6: steps[3].touch.task: unknown task "C"')
    expect(e.message).not.toContain('unknown task "A"')
    expect(e.message).not.toContain('unknown region "r"')
  })

  it('an invalid machine section still lets the steps be checked (device names are not guessed)', () => {
    const e = err(
      [
        'name: x',
        'machine: { cpus: -1, devices: [{ name: gpu0 }] }',
        'steps:',
        '  - touch: { task: Z, region: r }',
        '  - open: { task: Z, device: gpu0, fd: f }',
        '',
      ].join('\n'),
    )
    expect(e.message).toContain('bad.yaml:2: machine.cpus')
    expect(e.message).toContain('bad.yaml:4: steps[0].touch.task: unknown task "Z"')
    expect(e.message).not.toContain('unknown device')
  })
})

describe('when: design-specific steps', () => {
  it('rejects an unknown design in when', () => {
    const e = err(['name: x', 'steps:', '  - spawn: { task: A }', '  - when:', '      design: D9', '      steps: [ { exit: { task: A } } ]'].join('\n'))
    expect(e.message).toContain('bad.yaml:5: steps[1].when.design')
  })
})
