import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  describeValue,
  fieldOf,
  flagsOf,
  MAX_VALUE_DEPTH,
  namedArg,
  numOf,
  parseArgs,
  parseStraceLog,
  StraceParseError,
  type SValue,
} from '../../src/main/services/import/strace-parse'

const call = (line: string) => {
  const r = parseStraceLog(line)
  expect(r.errors.map((e) => e.message)).toEqual([])
  const e = r.events[0]
  if (!e || e.kind !== 'call') throw new Error('not a call')
  return e
}

describe('strace argument syntax', () => {
  it('reads strings with C escapes and the truncation mark', () => {
    const [a, b] = parseArgs('"\\177ELF\\2\\1\\1\\0\\x41\\n\\"q\\\\"..., "plain"', 1)
    expect(a).toEqual({ t: 'str', v: '\x7fELF\x02\x01\x01\x00A\n"q\\', truncated: true })
    expect(b).toEqual({ t: 'str', v: 'plain', truncated: false })
  })
  it('reads numbers in decimal, hex and octal, negative ones, and fd decorations (-y)', () => {
    const xs = parseArgs('42, 0x7f93af7ec000, 0644, -1, 3</usr/lib/libc.so.6>', 1)
    expect(xs.map(numOf)).toEqual([42, 0x7f93af7ec000, 0o644, -1, 3])
    expect(xs[4]).toMatchObject({ path: '/usr/lib/libc.so.6' })
    expect(parseArgs('AT_FDCWD</tmp/wl>, "/etc/ld.so.cache", O_RDONLY', 1).map(describeValue)).toEqual(['AT_FDCWD', '"/etc/ld.so.cache"', 'O_RDONLY'])
  })
  it('reads flag sets, structs with nested calls, arrays, signal sets and comments', () => {
    const [flags, st, arr, sigs, env] = parseArgs(
      'PROT_READ|PROT_WRITE, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}, [4, 5], ~[RTMIN RT_1], 0x7ffe1415d380 /* 39 vars */',
      1,
    )
    expect(flagsOf(flags)).toEqual(['PROT_READ', 'PROT_WRITE'])
    expect(flagsOf(fieldOf(st, 'st_mode'))).toEqual(['S_IFCHR', '0666'])
    expect(fieldOf(st, 'st_rdev')).toMatchObject({ t: 'call', name: 'makedev' })
    expect(arr).toMatchObject({ t: 'array', items: [{ v: 4 }, { v: 5 }] })
    expect(sigs).toMatchObject({ t: 'array', negated: true, items: [{ v: 'RTMIN' }, { v: 'RT_1' }] })
    expect(numOf(env)).toBe(0x7ffe1415d380)
  })
  it('reads clone named arguments, clone3 in/out structs and wait status expressions', () => {
    const c = call('7 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f2) = 8')
    expect(flagsOf(namedArg(c.args, 'flags'))).toEqual(['CLONE_CHILD_CLEARTID', 'CLONE_CHILD_SETTID', 'SIGCHLD'])
    const c3 = call('7 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0, stack=0x7fbc8fa1d000} => {parent_tid=[14804]}, 88) = 14804')
    expect(flagsOf(fieldOf(c3.args[0], 'flags'))).toEqual(['CLONE_VM', 'CLONE_THREAD'])
    const w = call('7 wait4(8, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 8')
    expect(w.args[1]).toMatchObject({
      t: 'array',
      items: [{ t: 'struct', fields: [{ key: null, value: { t: 'expr', text: 'WIFEXITED(s) && WEXITSTATUS(s) == 0' } }] }],
    })
  })
  it('reads return values: addresses, errors with their errno, "?" and annotated results', () => {
    expect(call('1 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f93af7ec000').ret).toMatchObject({ value: 0x7f93af7ec000, errno: null })
    expect(call('1 openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)').ret).toMatchObject({ value: -1, errno: 'ENOENT' })
    expect(call('1 exit_group(0) = ?').ret).toMatchObject({ value: null })
    expect(call('1 fcntl(0, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)').ret).toMatchObject({ value: 0x8000, errno: null })
  })
})

describe('strace lines', () => {
  it('joins unfinished and resumed halves at the line where the call started', () => {
    const log = [
      '10 1.000000 vfork( <unfinished ...>',
      '11 1.000100 execve("/bin/true", ["true"], 0x1 /* 3 vars */ <unfinished ...>',
      '10 1.000200 <... vfork resumed>) = 11',
      '11 1.000300 <... execve resumed>) = 0',
      '11 1.000400 exit_group(0)             = ?',
      '11 1.000500 +++ exited with 0 +++',
      '10 1.000600 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=11} ---',
      '10 1.000700 +++ killed by SIGKILL (core dumped) +++',
    ].join('\n')
    const r = parseStraceLog(log)
    expect(r.errors).toEqual([])
    expect(r.events.map((e) => `${e.kind}:${e.line}:${e.pid}`)).toEqual(['call:1:10', 'call:2:11', 'call:5:11', 'exited:6:11', 'signal:7:10', 'killed:8:10'])
    const vf = r.events[0] as Extract<(typeof r.events)[0], { kind: 'call' }>
    expect(vf).toMatchObject({ name: 'vfork', endLine: 3, ret: { value: 11 }, time: 1 })
  })
  it('reads lines without pids or timestamps, [pid N] prefixes and -tt times', () => {
    expect(parseStraceLog('brk(NULL) = 0x1000\n').events[0]).toMatchObject({ name: 'brk', time: null })
    expect(parseStraceLog('[pid  42] 12:00:01.500000 brk(NULL) = 0x1000\n').events[0]).toMatchObject({ pid: 42, time: 43201.5 })
  })
  it('reports a call left unfinished at the end of the log', () => {
    const r = parseStraceLog('5 1.0 read(0,  <unfinished ...>\n')
    expect(r.events).toMatchObject([{ kind: 'unfinished_at_end', line: 1, name: 'read' }])
  })
  it('gives malformed lines as errors with their line and column, and keeps going', () => {
    const log = [
      '1 1.0 brk(NULL) = 0x1000',
      '1 1.1 mmap(NULL, 4096',
      '1 1.2 read(3, "abc, 3) = 3',
      '1 1.3 <... mmap resumed>) = 0x2000',
      '1 1.4 garbage here',
      '1 1.5 close(3) = 0',
    ].join('\n')
    const r = parseStraceLog(log)
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4, 5])
    expect(r.errors[1]?.message).toMatch(/^line 3, column \d+: a string without its closing quote/)
    expect(r.errors[2]?.message).toMatch(/without an earlier "mmap\(… <unfinished \.\.\.>"/)
    expect(r.events.filter((e) => e.kind === 'call').map((e) => e.line)).toEqual([1, 6])
  })
})

/** strace's escaping of a byte string (print_quoted_string). */
function straceQuote(s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string
    const c = ch.charCodeAt(0)
    const digitNext = /[0-7]/.test(s[i + 1] ?? '')
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (ch === '\n') out += '\\n'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || c >= 0x7f) out += '\\' + (digitNext ? c.toString(8).padStart(3, '0') : c.toString(8))
    else out += ch
  }
  return out + '"'
}

const valueArb: fc.Arbitrary<SValue> = fc.letrec<{ v: SValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.nat({ max: 2 ** 47 }).map((n): SValue => ({ t: 'num', v: n, text: '0x' + n.toString(16) })),
    fc.string({ unit: 'binary-ascii', maxLength: 12 }).map((s): SValue => ({ t: 'str', v: s.replace(/[\u0100-\uffff]/g, ''), truncated: false })),
    fc.constantFrom('NULL', 'PROT_READ', 'MAP_PRIVATE', 'AT_FDCWD').map((v): SValue => ({ t: 'ident', v })),
    fc
      .array(fc.constantFrom('O_RDONLY', 'O_CLOEXEC', 'MAP_FIXED'), { minLength: 2, maxLength: 3 })
      .map((xs): SValue => ({ t: 'flags', parts: xs.map((v) => ({ t: 'ident', v })) })),
    fc
      .array(fc.tuple(fc.constantFrom('st_size', 'flags', 'fd'), tie('v')), { maxLength: 3 })
      .map((fs): SValue => ({ t: 'struct', fields: fs.map(([key, value]) => ({ key, value })) })),
    fc.array(tie('v'), { maxLength: 3 }).map((items): SValue => ({ t: 'array', items, negated: false })),
  ),
})).v

function render(v: SValue): string {
  switch (v.t) {
    case 'str':
      return straceQuote(v.v)
    case 'struct':
      return `{${v.fields.map((f) => `${f.key}=${render(f.value)}`).join(', ')}}`
    case 'array':
      return `[${v.items.map(render).join(', ')}]`
    case 'flags':
      return v.parts.map(render).join('|')
    default:
      return describeValue(v)
  }
}

describe('strace parser properties', () => {
  it('strings survive strace escaping', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (s) => {
        const [v] = parseArgs(straceQuote(s), 1)
        expect(v).toEqual({ t: 'str', v: s, truncated: false })
      }),
    )
  })
  it('any argument tree rendered as strace prints it parses back to the same tree', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 5 }), (args) => {
        const back = parseArgs(args.map(render).join(', '), 1)
        expect(back.map(describeValue)).toEqual(args.map(describeValue))
      }),
    )
  })
  it('refuses values nested deeper than 64 levels with the column, however they nest (issue 18)', () => {
    const deep = (open: string, close: string, n: number) => open.repeat(n) + '1' + close.repeat(n)
    expect(parseArgs(deep('[', ']', MAX_VALUE_DEPTH - 1), 1)).toHaveLength(1)
    for (const [open, close] of [
      ['[', ']'],
      ['{', '}'],
      ['(', ')'],
      ['f(', ')'],
      ['-', ''],
      ['~', ''],
      ['{k=', '}'],
      ['1 => ', ''],
    ]) {
      for (const n of [MAX_VALUE_DEPTH + 1, 100_000]) {
        let err: unknown
        try {
          parseArgs(deep(open!, close!, n), 7, 10)
        } catch (e) {
          err = e
        }
        expect(err, `${open} × ${n}`).toBeInstanceOf(StraceParseError)
        expect(err).toMatchObject({ line: 7, reason: `values nested deeper than ${MAX_VALUE_DEPTH} levels` })
        expect((err as StraceParseError).column).toBeGreaterThan(10)
      }
    }
  })
  it('random text gives events or errors with a line number, never another exception', () => {
    const pieces = fc.constantFrom(
      '1 ',
      '1.5 ',
      'mmap(',
      ')',
      ' = ',
      '0x10',
      '-1 ENOENT',
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ' <unfinished ...>',
      '<... mmap resumed>',
      '+++ ',
      '--- ',
      '\n',
      'x',
      '\\',
      '/*',
      '|',
    )
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 60 }), (ps) => {
        const text = ps.join('')
        const r = parseStraceLog(text)
        for (const e of r.errors) {
          expect(e).toBeInstanceOf(StraceParseError)
          expect(e.line).toBeGreaterThanOrEqual(1)
          expect(e.line).toBeLessThanOrEqual(text.split('\n').length)
        }
      }),
      { numRuns: 500 },
    )
  })
})
