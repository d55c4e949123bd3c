/**
 * Parsers of untrusted input, fuzzed by structure: scenario files whose values are replaced by
 * values of any type and size (deep, huge, wrong), the series block a run's series travel in,
 * and /proc/PID/maps or smaps text. Each must end in a result that is whole (the series read back
 * are the series packed; an imported scenario parses) or in its own error that names where and
 * why, in a message of bounded size; never another exception, a hang (`bounded`) or a message that
 * echoes a megabyte of input.
 */
import fc from 'fast-check'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { describe, expect, it } from 'vitest'
import { ScenarioError, parseScenario } from '../../src/sim'
import { SeriesBlock, base64ToBytes, packSeries, readSeriesBlock } from '../../src/shared/contracts/series-block'
import { ImportError } from '../../src/main/services/import/strace'
import { importProc, parseMaps } from '../../src/main/services/import/proc'
import { bounded } from './bounded'
import { FUZZ_RUNS, fuzzParams } from './fuzz-runs'

/** No error message may carry more than this: a huge value is quoted in part, not whole. */
const MESSAGE_MAX = 64 * 1024

const root = join(__dirname, '../../scenarios')
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
const shipped = walk(root)
  .map((path) => ({ name: relative(root, path), doc: parseYaml(readFileSync(path, 'utf8')) as unknown }))
  .filter((s) => s.doc !== null && typeof s.doc === 'object')

/** Every path to a node of a JSON-like value (objects and arrays), root excluded. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  const children: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : v !== null && typeof v === 'object' ? Object.entries(v) : []
  for (const [k, x] of children) {
    out.push([...at, k])
    paths(x, [...at, k], out)
  }
  return out
}

function replaced(doc: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>
  let node = copy
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>
  node[path[path.length - 1]!] = value
  return copy
}

/** Values of every type and size: deep nesting, huge and odd numbers, long strings, keys of the prototype. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53 + 1, 1.5, '1e400', '64T', '-4K', '0x', 'D9', '', '__proto__', 'constructor', null, true, [], {}),
  fc.integer({ min: 1, max: 400 }).map((d) => {
    let v: unknown = 'x'
    for (let i = 0; i < d; i++) v = i % 2 ? { k: v } : [v]
    return v
  }),
  fc.constant('z'.repeat(200_000)),
  fc.constant(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}') as unknown),
)

describe('fuzz: scenario values of any type and size', () => {
  it('parse, or a ScenarioError of file:line: field: reason lines, short, whatever value replaces any node', () => {
    expect(shipped.length).toBeGreaterThan(0)
    fc.assert(
      fc.property(fc.constantFrom(...shipped), fc.nat(), hostileValue, fc.constantFrom('yaml', 'json'), ({ name, doc }, pick, value, format) => {
        const all = paths(doc)
        const path = all[pick % all.length]!
        const mutated = replaced(doc, path, value)
        const text = format === 'json' ? JSON.stringify(mutated) : stringifyYaml(mutated, { aliasDuplicateObjects: false })
        try {
          bounded(`parseScenario(${name} with ${path.join('.')} replaced)`, () => parseScenario(text, name))
        } catch (err) {
          if (!(err instanceof ScenarioError)) throw new Error(`${name}, ${path.join('.')} replaced: ${String(err)}`, { cause: err })
          expect(err.message.length).toBeLessThanOrEqual(MESSAGE_MAX)
          for (const line of err.message.split('\n'))
            expect(line.startsWith(`${name}:`) && /^[^:]+(?: \(.*\))?:\d+: \S/.test(line), line.slice(0, 200)).toBe(true)
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      fuzzParams(Math.max(30, Math.floor(FUZZ_RUNS / 4))),
    )
  })
})

/** Series as a store may hold them: any names (prototype keys too), any numbers, malformed ones. */
const storedSeries = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'memory.pages', '')),
  fc.oneof(
    fc
      .integer({ min: 0, max: 50 })
      .chain((n) => fc.record({ t: fc.array(fc.double(), { minLength: n, maxLength: n }), v: fc.array(fc.double(), { minLength: n, maxLength: n }) })),
    fc.anything(),
  ),
  { maxKeys: 8 },
)

describe('fuzz: the series block (shared/contracts/series-block.ts)', () => {
  it('packs and reads back every well-formed series exactly, under any name; the malformed ones are named', () => {
    fc.assert(
      fc.property(storedSeries, (raw) => {
        const { series, bytes, bad } = packSeries(raw)
        expect(series.length + bad.length).toBe(Object.keys(raw).length)
        const block = SeriesBlock.parse({ encoding: 'f64le', series, byteLength: bytes.byteLength, data: bytes, bad })
        const back = readSeriesBlock(block.series, bytes)
        expect(Object.keys(back).sort()).toEqual(series.map((s) => s.name).sort())
        for (const { name } of series) {
          const want = raw[name] as { t: number[]; v: number[] }
          expect(Object.hasOwn(back, name)).toBe(true)
          expect(Array.from(back[name]!.t)).toEqual(want.t)
          expect(Array.from(back[name]!.v)).toEqual(want.v)
        }
      }),
      fuzzParams(),
    )
  })

  it('a block whose bytes or list do not agree is refused with an Error, never read out of bounds', () => {
    const entry = fc.record({
      name: fc.string({ minLength: 1, maxLength: 8 }),
      length: fc.oneof(fc.nat({ max: 20 }), fc.constantFrom(-1, 0.5, NaN, Infinity, 2 ** 53)),
    })
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.uint8Array({ maxLength: 400 }), fc.nat({ max: 7 }), (entries, raw, offset) => {
        const bytes = raw.subarray(Math.min(offset, raw.length))
        let out: Record<string, { t: Float64Array; v: Float64Array }>
        try {
          out = readSeriesBlock(entries, bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(Error)
          return
        }
        for (const e of entries) {
          const s = out[e.name]
          if (!s) continue
          expect(s.t.length).toBe(s.v.length)
        }
      }),
      fuzzParams(),
    )
  })

  it('base64 text of any kind decodes to bytes or an Error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.uint8Array().map((b) => Buffer.from(b).toString('base64')),
        ),
        (text) => {
          try {
            const bytes = bounded('base64ToBytes', () => base64ToBytes(text))
            expect(bytes.length).toBeLessThanOrEqual(Math.ceil((text.length * 3) / 4))
            if (Buffer.from(text, 'base64').toString('base64') === text) expect(Buffer.from(bytes).toString('base64')).toBe(text)
          } catch (err) {
            expect(err).toBeInstanceOf(Error)
          }
        },
      ),
      fuzzParams(),
    )
  })
})

/** A maps/smaps line: plausible, extreme or broken fields. */
const hex = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }).map((n) => ((n >> 12n) << 12n).toString(16)),
  fc.constantFrom('0', '1000', 'ffffffffffff', 'fffffffffffff000', 'ffffffffffffffffffff000', '1'.repeat(400) + '000', '7ffff7dd1000'),
)
const vmaLine = fc
  .tuple(
    hex,
    hex,
    fc.constantFrom('r-xp', 'rw-p', 'r--s', '---p', 'rwxs'),
    hex,
    fc.constantFrom('00:00', 'fd:01', '08:02'),
    fc.constantFrom('0', '1', '12345678901234567890'),
    fc.constantFrom('', '[heap]', '[stack]', '[vdso]', '/usr/lib/libc.so.6', '/dev/zero', '/SYSV00000000 (deleted)', '[anon:x]', '/x (deleted)'),
  )
  .map(([a, b, p, o, d, i, path]) => `${a}-${b} ${p} ${o} ${d} ${i} ${path}`)
const smapsField = fc
  .tuple(
    fc.constantFrom('Rss', 'Anonymous', 'AnonHugePages', 'Swap', 'Private_Hugetlb', 'Size', 'THPeligible'),
    fc.oneof(fc.nat(), fc.constantFrom('0', '4', '99999999999999999999', '9'.repeat(400))),
  )
  .map(([k, v]) => `${k}: ${v} kB`)
/** A well-formed smaps (VMAs in address order) with extreme field values: the importer's success path. */
const plausibleSmaps = fc
  .array(
    fc.tuple(
      fc.integer({ min: 1, max: 1 << 20 }),
      fc.integer({ min: 1, max: 1 << 16 }),
      fc.constantFrom('r-xp', 'rw-p', 'r--p', 'rw-s', '---p'),
      fc.constantFrom('', '[heap]', '[stack]', '[vdso]', '/usr/lib/libc.so.6', '/dev/zero', '/memfd:x (deleted)', '[anon:y]'),
      fc.array(smapsField, { maxLength: 5 }),
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((vmas) => {
    let page = 0x7f0000000
    return vmas
      .map(([gap, pages, perms, path, fields]) => {
        const start = (page += gap)
        const end = (page += pages)
        return [`${(start * 4096).toString(16)}-${(end * 4096).toString(16)} ${perms} 00000000 fd:01 ${path.startsWith('/') ? 42 : 0} ${path}`, ...fields]
      })
      .flat()
  })
const mapsText = fc.oneof(
  plausibleSmaps,
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: vmaLine },
      { weight: 4, arbitrary: smapsField },
      fc.constantFrom('VmFlags: rd wr mr mw me ac ht', 'VmFlags: hg', ''),
      fc.string({ maxLength: 30 }),
    ),
    { maxLength: 30 },
  ),
)

describe('fuzz: /proc/PID/maps and smaps text (main/services/import/proc.ts)', () => {
  it('imports into a scenario that parses, or an ImportError naming lines; never another exception', () => {
    let imported = 0
    fc.assert(
      fc.property(mapsText, fc.constantFrom(undefined, 'dmirror' as const, 'gpu' as const), (lines, device) => {
        const text = lines.join('\n')
        let out: ReturnType<typeof importProc>
        try {
          out = bounded('importProc', () => importProc(text, { comm: 'fuzz', device }))
        } catch (err) {
          if (!(err instanceof ImportError)) throw new Error(`importProc threw ${String(err)}`, { cause: err })
          expect(err.issues.length).toBeGreaterThan(0)
          for (const i of err.issues) expect(i.line).toBeGreaterThanOrEqual(1)
          expect(err.message.length).toBeLessThanOrEqual(MESSAGE_MAX)
          return
        }
        // what the importer wrote is a scenario: nothing it read turned into a value the language refuses
        try {
          parseScenario(out.yaml, 'imported.yaml')
        } catch (err) {
          throw new Error(`imported YAML does not parse: ${(err as Error).message}\n--- input:\n${text.slice(0, 2000)}`, { cause: err })
        }
        imported++
        const { vmas } = parseMaps(text)
        for (const v of vmas) expect(Number.isFinite(v.start) && Number.isFinite(v.end) && v.end > v.start).toBe(true)
      }),
      fuzzParams(),
    )
    // the success path was exercised, not only the refusals
    expect(imported).toBeGreaterThan(0)
  })
})
