/**
 * Hostile input classes of issue 18, fuzzed: nested documents, pollution keys, FIFOs, symlinks,
 * huge and sparse files, archives declaring huge entries. Each must end in a clear error or a
 * result: never a crash, a hang, a polluted prototype, a leaked file or a leftover folder.
 * A few hundred cases in `npm test` (fewer for the file-system ones), 10,000 with `npm run fuzz`.
 */
import fc from 'fast-check'
import { execFileSync } from 'node:child_process'
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar'
import { afterAll, describe, expect, it } from 'vitest'
import { ScenarioError, parseScenario } from '../../src/sim'
import { expandSweep, parseSweepArg, setScenarioParam } from '../../src/shared/sweep'
import { jsonDepth } from '../../src/shared/text-limits'
import { machineRef } from '../../src/main/services/machine-ref'
import { checkOutputPath, readRegularFile, readRegularFileSync, writeRegularFileSync } from '../../src/main/services/safe-read'
import { ImportError, importStrace } from '../../src/main/services/import/strace'
import { CalibrationFileError, parseCalibration } from '../../src/main/services/calibration/store'
import { checkKernelImage } from '../../src/main/services/oracle/run'
import { RunStore } from '../../src/main/services/store/run-store'
import { removeStaleTempsSync } from '../../src/main/services/store/atomic'
import { DirectoryFs } from '../../src/main/services/probe/sysroot'
import { probeSysroot } from '../../src/main/services/probe'
import { openArchiveSysroot } from '../../src/main/services/probe/capture'
import { FUZZ_RUNS } from './fuzz-runs'

const FS_RUNS = Math.max(20, Math.floor(FUZZ_RUNS / 10))
const root = mkdtempSync(join(tmpdir(), 'hmmlab-hostile-fuzz-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const SECRET = 'OUTSIDE-SECRET-7f3a'
const outside = join(root, 'outside.json')
writeFileSync(outside, JSON.stringify({ format: 'hmmlab.capture', version: 1, devices: {}, errors: { '/proc/cmdline': SECRET }, secret: SECRET }))

/** A document nested by random openers: flow [ and {, block "- " and indented keys. */
const nested = fc.array(fc.constantFrom('[', '{a: ', '- ', 'k:\n', ' '), { minLength: 1, maxLength: 3000 }).map((parts) => {
  let text = ''
  let indent = 0
  const closers: string[] = []
  for (const p of parts) {
    if (p === '[') {
      text += '['
      closers.push(']')
    } else if (p === '{a: ') {
      text += '{a: '
      closers.push('}')
    } else if (p === '- ') text += '- '
    else if (p === 'k:\n') text += `k${indent}:\n${' '.repeat(++indent)}`
    else text += ' '
  }
  return text + 'x' + closers.reverse().join('')
})

describe('nested documents', () => {
  it('parseScenario and machineRef never overflow the stack: a result or a ScenarioError with a line', () => {
    fc.assert(
      fc.property(nested, (text) => {
        try {
          parseScenario(text, 'n.yaml')
        } catch (err) {
          expect(err).toBeInstanceOf(ScenarioError)
          expect((err as ScenarioError).line).toBeGreaterThanOrEqual(1)
        }
        expect(machineRef(text)).toBeUndefined()
      }),
      { numRuns: FUZZ_RUNS },
    )
  })

  it('strace argument values nested any way end in a result or an ImportError with the line, never a stack overflow', () => {
    const OPEN: Record<string, string> = { '[': ']', '{': '}', '(': ')', 'f(': ')', '-': '', '~': '', '1 => ': '', '{k=': '}' }
    const value = fc.array(fc.constantFrom(...Object.keys(OPEN)), { minLength: 1, maxLength: 3000 }).map(
      (opens) =>
        opens.join('') +
        '1' +
        opens
          .map((o) => OPEN[o])
          .reverse()
          .join(''),
    )
    fc.assert(
      fc.property(value, fc.boolean(), (v, balanced) => {
        const text = `100 1700000000.000001 mmap(${balanced ? v : v.slice(0, Math.ceil(v.length / 2))}, 4096) = 0x7f0000000000\n`
        try {
          importStrace(text, {})
        } catch (err) {
          expect(err).toBeInstanceOf(ImportError)
          expect((err as ImportError).issues[0]?.line).toBe(1)
        }
      }),
      { numRuns: FUZZ_RUNS },
    )
  })

  it('calibration text nested deep or keyed __proto__ is a Calibration or a CalibrationFileError; nothing is polluted', () => {
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort()
    const good = readFileSync('test/fixtures/calibration/lab-vm-quick.json', 'utf8')
    const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'fault_anon', 'toString', 'polluted')
    const doc = fc.oneof(
      // a real calibration with a hostile key in params or fits, or a hostile `from`
      fc.tuple(fc.constantFrom('params', 'fits', 'from'), key).map(([where, k]) => {
        const cal = JSON.parse(good) as { params: Record<string, { from: string[] }>; fits: Record<string, unknown> }
        const first = Object.keys(cal.params)[0]!
        if (where === 'from') cal.params[first]!.from = [k]
        else Object.defineProperty(cal[where as 'params' | 'fits'], k, { value: where === 'params' ? cal.params[first] : { polluted: 1 }, enumerable: true })
        return JSON.stringify(cal)
      }),
      // nesting: inside a known field and at the top
      fc.integer({ min: 1, max: 100_000 }).map((d) => `{"format": "hmmlab.calibration", "params": ${'['.repeat(d)}${']'.repeat(d)}}`),
      fc.json({ depthSize: 'large' }),
    )
    fc.assert(
      fc.property(doc, (text) => {
        try {
          parseCalibration(text, 'c.json')
        } catch (err) {
          expect(err).toBeInstanceOf(CalibrationFileError)
          expect((err as Error).message).toMatch(/^c\.json/)
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: FUZZ_RUNS },
    )
  })

  it('the JSON depth scan agrees with JSON.parse on what it counts', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'large' }), (text) => {
        const scan = jsonDepth(text, 1_000_000)
        const depth = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depth)) : 0)
        expect(scan.depth).toBe(depth(JSON.parse(text)))
      }),
      { numRuns: FUZZ_RUNS },
    )
  })
})

describe('pollution keys', () => {
  const segment = fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'machine',
    'devices',
    'steps',
    '0',
    '1',
    'polluted',
    'x',
  )
  const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('.'))
  it('no path of any shape reaches Object.prototype, through any entry point', () => {
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort()
    fc.assert(
      fc.property(path, fc.oneof(fc.integer(), fc.string(), fc.boolean()), (p, value) => {
        const target = JSON.parse('{"machine": {"devices": [{}, {}]}, "steps": [{}], "__proto__": {"x": {}}}') as unknown
        for (const attempt of [
          () => expandSweep({ axes: { [p]: [value] } }),
          () => expandSweep({ list: [{ [p]: value }] }),
          () => parseSweepArg(`${p}=${String(value)}`),
          () => setScenarioParam(target, p, value),
        ]) {
          try {
            attempt()
          } catch {
            // refused: fine
          }
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(({} as Record<string, unknown>).x).toBeUndefined()
      }),
      { numRuns: FUZZ_RUNS },
    )
  })
})

type Kind = 'small' | 'sparse' | 'fifo' | 'zero' | 'outside' | 'dir' | 'dangling' | 'inside'
const kind = fc.constantFrom<Kind>('small', 'sparse', 'fifo', 'zero', 'outside', 'dir', 'dangling', 'inside')
let n = 0
/** Makes `path` a file of the given kind. */
function make(path: string, k: Kind, content = '{}'): void {
  if (k === 'small') writeFileSync(path, content)
  else if (k === 'sparse') {
    const fd = openSync(path, 'w')
    ftruncateSync(fd, 2 ** 31)
    closeSync(fd)
  } else if (k === 'fifo') execFileSync('mkfifo', [path])
  else if (k === 'zero') symlinkSync('/dev/zero', path)
  else if (k === 'outside') symlinkSync(outside, path)
  else if (k === 'dir') mkdirSync(path)
  else if (k === 'dangling') symlinkSync(join(root, 'no-such-file'), path)
  else {
    writeFileSync(`${path}.real`, content)
    symlinkSync(`${path}.real`, path)
  }
}

describe('FIFOs, symlinks, huge and sparse files where the app reads', () => {
  it('a confined bounded read ends with the bytes or a reason, never the outside contents', async () => {
    await fc.assert(
      fc.asyncProperty(kind, async (k) => {
        const dir = join(root, `read-${n++}`)
        mkdirSync(dir)
        make(join(dir, 'f.json'), k)
        try {
          const bytes = await readRegularFile(join(dir, 'f.json'), { maxBytes: 1 << 20, roots: [dir] })
          expect(['small', 'inside']).toContain(k)
          expect(bytes.toString()).toBe('{}')
        } catch (err) {
          expect(['small', 'inside']).not.toContain(k)
          expect(String(err)).not.toContain(SECRET)
        }
      }),
      { numRuns: FS_RUNS },
    )
  })

  it('a file named on the command line is read, written or taken as a kernel image only when it is a regular file', () => {
    // a stand-in for a bzImage: the boot protocol's "HdrS" at 0x202
    const IMAGE = '\0'.repeat(0x202) + 'HdrS' + '\0'.repeat(64)
    fc.assert(
      fc.property(kind, (k) => {
        const dir = join(root, `cli-${n++}`)
        mkdirSync(dir)
        const file = join(dir, 'f')
        make(file, k, IMAGE)
        const outcome = (fn: () => unknown): 'ok' | 'refused' => {
          try {
            fn()
            return 'ok'
          } catch (err) {
            expect(String(err)).toContain(file)
            expect(String(err)).not.toContain(SECRET)
            return 'refused'
          }
        }
        // a read and a write never follow a last-component link; a kernel image may be one
        expect(
          outcome(() => readRegularFileSync(file, { maxBytes: 1 << 20, what: 'file' })),
          k,
        ).toBe(k === 'small' ? 'ok' : 'refused')
        expect(
          outcome(() => checkOutputPath(file)),
          k,
        ).toBe(k === 'small' || k === 'sparse' ? 'ok' : 'refused')
        expect(
          outcome(() => checkKernelImage(file)),
          k,
        ).toBe(k === 'small' || k === 'inside' ? 'ok' : 'refused')
        expect(
          outcome(() => writeRegularFileSync(file, 'x')),
          k,
        ).toBe(k === 'small' || k === 'sparse' ? 'ok' : 'refused')
      }),
      { numRuns: FS_RUNS },
    )
  })

  it('a run store lists whatever its manifests are, and never blocks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(kind, { minLength: 1, maxLength: 4 }), async (kinds) => {
        const ws = join(root, `store-${n++}`)
        kinds.forEach((k, i) => {
          mkdirSync(join(ws, 'runs', `r${i}`), { recursive: true })
          make(join(ws, 'runs', `r${i}`, 'manifest.json'), k)
        })
        const listing = await new RunStore(ws).listRuns()
        expect(listing.items).toEqual([])
        expect(listing.problems).toHaveLength(kinds.length)
        expect(JSON.stringify(listing)).not.toContain(SECRET)
      }),
      { numRuns: FS_RUNS },
    )
  })

  it('a sysroot with any kind of file at the probed paths and as its manifest probes without a hang or a leak', async () => {
    await fc.assert(
      fc.asyncProperty(kind, kind, kind, async (cmdline, release, manifest) => {
        const sysroot = join(root, `sysroot-${n++}`)
        mkdirSync(join(sysroot, 'proc', 'sys', 'kernel'), { recursive: true })
        make(join(sysroot, 'proc', 'cmdline'), cmdline, 'quiet')
        make(join(sysroot, 'proc', 'sys', 'kernel', 'osrelease'), release, '6.12.0')
        make(join(sysroot, '.hmmlab-capture.json'), manifest, JSON.stringify({ format: 'hmmlab.capture', version: 1, devices: {}, errors: {} }))
        const { report } = probeSysroot(new DirectoryFs(sysroot))
        expect(JSON.stringify(report)).not.toContain(SECRET)
      }),
      { numRuns: FS_RUNS },
    )
  })
})

describe('leftovers of killed atomic writes', () => {
  it('a write removes only regular temporary files of its own target whose process is dead, never what a link points to', () => {
    // above Linux's PID_MAX_LIMIT: never a running process
    const DEAD = 2 ** 22 + 1
    // each part is mostly the one a stale temporary file has, so most cases mix both
    const mostly = <T>(right: T, ...others: T[]): fc.Arbitrary<T> =>
      fc.oneof({ arbitrary: fc.constant(right), weight: 3 }, { arbitrary: fc.constantFrom(...others), weight: 1 })
    const name = fc.record({
      dot: mostly(true, false),
      target: mostly('out.yaml', 'out.yam', 'xout.yaml', 'out.yaml.tmp-1-00000000'),
      pid: mostly(DEAD, process.pid, 1, 0),
      hex: fc.oneof(
        { arbitrary: fc.stringMatching(/^[0-9a-f]{8}$/), weight: 3 },
        { arbitrary: fc.constantFrom('0123ABCD', '0123abc', '0123abcd0', ''), weight: 1 },
      ),
      tail: mostly('', '.bak', '/'),
    })
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, kind), { minLength: 1, maxLength: 6, selector: ([x]) => JSON.stringify(x) }), (files) => {
        const dir = join(root, `temps-${n++}`)
        mkdirSync(dir)
        const expected: string[] = []
        for (const [f, k] of files) {
          const file = `${f.dot ? '.' : ''}${f.target}.tmp-${f.pid}-${f.hex}${f.tail === '/' ? '' : f.tail}`
          if (readdirSync(dir).includes(file)) continue
          make(join(dir, file), f.tail === '/' ? 'dir' : k, 'half-written')
          if (f.dot && f.target === 'out.yaml' && f.pid === DEAD && /^[0-9a-f]{8}$/.test(f.hex) && f.tail === '' && (k === 'small' || k === 'sparse'))
            expected.push(join(dir, file))
        }
        const before = readdirSync(dir).length
        expect(removeStaleTempsSync(join(dir, 'out.yaml')).sort()).toEqual(expected.sort())
        expect(readdirSync(dir)).toHaveLength(before - expected.length)
        expect(readFileSync(outside, 'utf8')).toContain(SECRET)
      }),
      { numRuns: FS_RUNS },
    )
  })
})

describe('archives declaring huge or odd entries', () => {
  it('extraction resolves or rejects with a reason, and leaves no folder behind', async () => {
    const entry = fc.record({
      path: fc.constantFrom('sys/a', 'sys/b/c', '../escape', '/abs', 'proc/cmdline'),
      type: fc.constantFrom('File', 'Directory', 'SymbolicLink', 'FIFO', 'CharacterDevice'),
      size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4096 }), fc.constant(600 * 2 ** 20), fc.constant(2 ** 33 - 1)),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 4 }), async (entries) => {
        const blocks: Buffer[] = []
        for (const e of entries) {
          const h = new tar.Header({
            path: e.path,
            type: e.type,
            size: e.type === 'File' ? e.size : 0,
            mode: 0o644,
            mtime: new Date(0),
            ...(e.type === 'SymbolicLink' ? { linkpath: '/etc/passwd' } : {}),
          })
          h.encode()
          blocks.push(h.block!)
          if (e.type === 'File') blocks.push(Buffer.alloc(Math.min(e.size, 8192) + ((512 - (Math.min(e.size, 8192) % 512)) % 512)))
        }
        const file = join(root, `archive-${n++}.tar.gz`)
        writeFileSync(file, gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)])))
        const before = readdirSync(tmpdir()).filter((x) => x.startsWith(`hmmlab-sysroot-${process.pid}-`)).length
        try {
          const s = await openArchiveSysroot(file)
          s.dispose()
        } catch (err) {
          expect((err as Error).message).toMatch(/^cannot read capture /)
        }
        expect(readdirSync(tmpdir()).filter((x) => x.startsWith(`hmmlab-sysroot-${process.pid}-`)).length).toBe(before)
      }),
      { numRuns: FS_RUNS },
    )
  })
})
