/**
 * A parser for strace's output (`strace -f -ttt -o FILE`): the line prefix (pid, timestamp), the
 * four kinds of line (a call, `<unfinished ...>` / `<... resumed>` halves, `--- SIG… ---` signals,
 * `+++ exited with N +++` exits) and strace's argument syntax: strings with C escapes and a `...`
 * truncation mark, numbers (decimal, hex, octal), flag sets `A|B|0644`, structs `{k=v, ...}`,
 * arrays `[a, b]` and signal sets `~[RTMIN RT_1]`, calls such as `makedev(0x1, 0x3)`, expressions
 * (`WIFEXITED(s) && WEXITSTATUS(s) == 0`), `/* comments *\/`, `x => y` in/out values and `3</path>`
 * fd decorations (-y).
 *
 * Pure TypeScript (no Node imports): the app's main process and tests use it alike. Every error
 * carries the line number (1-based) and the column in the line.
 */

/** A value in a syscall's argument list or a struct field. */
export type SValue =
  | { t: 'num'; v: number; text: string; path?: string }
  | { t: 'str'; v: string; truncated: boolean }
  | { t: 'ident'; v: string }
  | { t: 'flags'; parts: SValue[] }
  | { t: 'struct'; fields: Array<{ key: string | null; value: SValue }> }
  | { t: 'array'; items: SValue[]; negated: boolean }
  | { t: 'call'; name: string; args: SValue[] }
  | { t: 'expr'; text: string }
  | { t: 'more' }
  | { t: 'inout'; in: SValue; out: SValue }
  | { t: 'named'; key: string; value: SValue }

/** A syscall's return: a number (an address, a count, an fd), `?`, or -1 with an errno name. */
export interface SReturn {
  /** the value, or null for `?` (exit_group, a killed call) */
  value: number | null
  /** errno name when the call failed (`-1 ENOENT (…)`), also for `? ERESTARTSYS` */
  errno: string | null
  text: string
}

export type StraceEvent =
  | { kind: 'call'; line: number; pid: number; time: number | null; name: string; args: SValue[]; ret: SReturn; raw: string; endLine: number }
  | { kind: 'signal'; line: number; pid: number; time: number | null; signal: string; raw: string }
  | { kind: 'exited'; line: number; pid: number; time: number | null; status: number; raw: string }
  | { kind: 'killed'; line: number; pid: number; time: number | null; signal: string; raw: string }
  | { kind: 'superseded'; line: number; pid: number; time: number | null; by: number; raw: string }
  | { kind: 'unfinished_at_end'; line: number; pid: number; time: number | null; name: string; raw: string }

export class StraceParseError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}${column > 0 ? `, column ${column}` : ''}: ${reason}`)
    this.name = 'StraceParseError'
  }
}

// ---------------------------------------------------------------- tokens

type Tok =
  | { k: 'str'; v: string; truncated: boolean; at: number }
  | { k: 'num'; v: number; text: string; at: number; path?: string }
  | { k: 'id'; v: string; at: number }
  | { k: 'p'; v: string; at: number } // punctuation / operator
  | { k: 'more'; at: number } // ...
  | { k: 'end'; at: number }

const PUNCT = [
  '=>',
  '&&',
  '||',
  '==',
  '!=',
  '<<',
  '>>',
  '<=',
  '>=',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  '=',
  '|',
  '&',
  '+',
  '-',
  '*',
  '/',
  '~',
  '!',
  '<',
  '>',
  '@',
  ':',
  '?',
  '%',
  '^',
  ';',
  '.',
]

/** Splits an argument text into tokens; `line` is for errors, `col0` the column of text[0]. */
export function tokenize(text: string, line: number, col0 = 1): Tok[] {
  const out: Tok[] = []
  let i = 0
  const n = text.length
  const err = (at: number, why: string): never => {
    throw new StraceParseError(line, col0 + at, why)
  }
  while (i < n) {
    const c = text[i] as string
    if (c === ' ' || c === '\t' || c === '\r') {
      i++
      continue
    }
    if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2)
      if (e < 0) err(i, 'a comment "/*" without "*/"')
      i = e + 2
      continue
    }
    if (c === '"') {
      const at = i
      let s = ''
      i++
      for (;;) {
        if (i >= n) err(at, 'a string without its closing quote')
        const d = text[i] as string
        if (d === '"') {
          i++
          break
        }
        if (d === '\\') {
          const e = text[i + 1]
          if (e === undefined) err(i, 'a backslash at the end of the line')
          i += 2
          switch (e) {
            case 'n':
              s += '\n'
              break
            case 't':
              s += '\t'
              break
            case 'r':
              s += '\r'
              break
            case 'v':
              s += '\v'
              break
            case 'f':
              s += '\f'
              break
            case 'a':
              s += '\x07'
              break
            case 'b':
              s += '\b'
              break
            case 'e':
              s += '\x1b'
              break
            case '\\':
              s += '\\'
              break
            case '"':
              s += '"'
              break
            case "'":
              s += "'"
              break
            case 'x': {
              const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i, i + 2))
              if (!m) err(i, 'a "\\x" escape without hex digits')
              s += String.fromCharCode(parseInt((m as RegExpExecArray)[0], 16))
              i += (m as RegExpExecArray)[0].length
              break
            }
            default:
              if (e !== undefined && e >= '0' && e <= '7') {
                const m = /^[0-7]{1,3}/.exec(text.slice(i - 1, i + 2)) as RegExpExecArray
                s += String.fromCharCode(parseInt(m[0], 8) & 0xff)
                i += m[0].length - 1
              } else err(i - 2, `an unknown escape "\\${e}"`)
          }
          continue
        }
        s += d
        i++
      }
      let truncated = false
      if (text.startsWith('...', i)) {
        truncated = true
        i += 3
      }
      out.push({ k: 'str', v: s, truncated, at })
      continue
    }
    if (c === '.' && text.startsWith('...', i)) {
      out.push({ k: 'more', at: i })
      i += 3
      continue
    }
    if (c >= '0' && c <= '9') {
      const at = i
      const m = /^(0[xX][0-9a-fA-F]+|\d+(\.\d+)?)/.exec(text.slice(i)) as RegExpExecArray
      const t = m[0]
      i += t.length
      let v: number
      if (/^0[xX]/.test(t)) v = parseInt(t.slice(2), 16)
      else if (t.length > 1 && t[0] === '0' && /^[0-7]+$/.test(t)) v = parseInt(t, 8)
      else v = Number(t)
      const tok: Tok = { k: 'num', v, text: t, at }
      // -y decoration: 3</usr/lib/libc.so.6>, 5<pipe:[1234]>, 3<socket:[99]>
      if (text[i] === '<' && !text.startsWith('<<', i)) {
        const e = text.indexOf('>', i)
        if (e > i) {
          tok.path = text.slice(i + 1, e)
          i = e + 1
        }
      }
      out.push(tok)
      continue
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i)) as RegExpExecArray
      out.push({ k: 'id', v: m[0], at: i })
      i += m[0].length
      // -y decoration of a directory fd: AT_FDCWD</home/user>
      if (text[i] === '<' && text[i + 1] === '/') {
        const e = text.indexOf('>', i)
        if (e > i) i = e + 1
      }
      continue
    }
    const p = PUNCT.find((q) => text.startsWith(q, i))
    if (!p) err(i, `an unexpected character ${JSON.stringify(c)}`)
    out.push({ k: 'p', v: p as string, at: i })
    i += (p as string).length
  }
  out.push({ k: 'end', at: n })
  return out
}

// ---------------------------------------------------------------- values

/**
 * How deeply values may nest (structs, arrays, calls, parentheses, prefix operators). strace's own
 * output nests a few levels; the parser recurses once per level, so a hostile line of 100,000
 * openers would overflow the stack (and a second overflow in one process can abort it).
 */
export const MAX_VALUE_DEPTH = 64

class ValueParser {
  pos = 0
  private depth = 0
  constructor(
    readonly toks: Tok[],
    readonly text: string,
    readonly line: number,
    readonly col0: number,
  ) {}

  peek(): Tok {
    return this.toks[this.pos] as Tok
  }
  next(): Tok {
    return this.toks[this.pos++] as Tok
  }
  isP(v: string): boolean {
    const t = this.peek()
    return t.k === 'p' && t.v === v
  }
  err(t: Tok, why: string): never {
    throw new StraceParseError(this.line, this.col0 + t.at, why)
  }
  expectP(v: string): void {
    const t = this.next()
    if (t.k !== 'p' || t.v !== v) this.err(t, `expected "${v}", found ${describe(t)}`)
  }

  /** A comma-separated list up to (not including) `close`. */
  list(close: string | null): SValue[] {
    const items: SValue[] = []
    const atClose = (): boolean => (close === null ? this.peek().k === 'end' : this.isP(close))
    if (atClose()) return items
    for (;;) {
      const k = this.peek()
      const after = this.toks[this.pos + 1] as Tok
      if (k.k === 'id' && after.k === 'p' && after.v === '=') {
        // clone(child_stack=NULL, flags=…): named arguments
        this.next()
        this.next()
        items.push({ t: 'named', key: k.v, value: this.value() })
      } else items.push(this.value())
      if (this.isP(',')) {
        this.next()
        continue
      }
      if (atClose()) return items
      this.err(
        this.peek(),
        close === null
          ? `expected "," or the end of the arguments, found ${describe(this.peek())}`
          : `expected "," or "${close}", found ${describe(this.peek())}`,
      )
    }
  }

  /** value := unary (binop unary)* ( '=>' value )? */
  value(): SValue {
    const start = this.peek()
    const first = this.unary()
    const parts: SValue[] = [first]
    let onlyOr = true
    while (this.peek().k === 'p' && BINOPS.has((this.peek() as { v: string }).v)) {
      const op = this.next() as { v: string }
      if (op.v !== '|') onlyOr = false
      parts.push(this.unary())
    }
    let v: SValue
    if (parts.length === 1) v = first
    else if (onlyOr) v = { t: 'flags', parts }
    else v = { t: 'expr', text: this.text.slice(start.at, this.peek().at).trim() }
    if (this.isP('=>')) {
      const arrow = this.next()
      // `a => b => c …` recurses here, not through unary(): it counts as nesting too
      if (this.depth >= MAX_VALUE_DEPTH) this.err(arrow, `values nested deeper than ${MAX_VALUE_DEPTH} levels`)
      this.depth++
      try {
        v = { t: 'inout', in: v, out: this.value() }
      } finally {
        this.depth--
      }
    }
    return v
  }

  unary(): SValue {
    if (this.depth >= MAX_VALUE_DEPTH) this.err(this.peek(), `values nested deeper than ${MAX_VALUE_DEPTH} levels`)
    this.depth++
    try {
      return this.unaryAt()
    } finally {
      this.depth--
    }
  }

  private unaryAt(): SValue {
    const t = this.peek()
    if (t.k === 'p' && (t.v === '-' || t.v === '!' || t.v === '&' || t.v === '*' || t.v === '@')) {
      this.next()
      if (t.v === '-' && this.peek().k === 'num') {
        const n = this.next() as Extract<Tok, { k: 'num' }>
        return { t: 'num', v: -n.v, text: '-' + n.text }
      }
      const inner = this.unary()
      return { t: 'expr', text: this.text.slice(t.at, this.peek().at).trim() || describeValue(inner) }
    }
    if (t.k === 'p' && t.v === '~') {
      this.next()
      if (this.isP('[')) {
        const a = this.array()
        return { ...a, negated: true }
      }
      const inner = this.unary()
      return { t: 'expr', text: '~' + describeValue(inner) }
    }
    return this.atom()
  }

  array(): Extract<SValue, { t: 'array' }> {
    this.expectP('[')
    const items: SValue[] = []
    // signal sets separate their members with spaces: [RTMIN RT_1]
    while (!this.isP(']')) {
      if (this.peek().k === 'end') this.err(this.peek(), 'a "[" without its "]"')
      items.push(this.value())
      if (this.isP(',')) this.next()
    }
    this.next()
    return { t: 'array', items, negated: false }
  }

  atom(): SValue {
    const t = this.peek()
    switch (t.k) {
      case 'str':
        this.next()
        return { t: 'str', v: t.v, truncated: t.truncated }
      case 'num': {
        this.next()
        const v: SValue = { t: 'num', v: t.v, text: t.text }
        if (t.path !== undefined) v.path = t.path
        return v
      }
      case 'more':
        this.next()
        return { t: 'more' }
      case 'id': {
        this.next()
        if (this.isP('(')) {
          this.next()
          const args = this.list(')')
          this.next()
          return { t: 'call', name: t.v, args }
        }
        return { t: 'ident', v: t.v }
      }
      case 'p':
        if (t.v === '{') {
          this.next()
          const fields: Array<{ key: string | null; value: SValue }> = []
          while (!this.isP('}')) {
            if (this.peek().k === 'end') this.err(t, 'a "{" without its "}"')
            const k = this.peek()
            const after = this.toks[this.pos + 1] as Tok
            if (k.k === 'id' && after.k === 'p' && after.v === '=') {
              this.next()
              this.next()
              fields.push({ key: k.v, value: this.value() })
            } else fields.push({ key: null, value: this.value() })
            if (this.isP(',')) this.next()
            else if (!this.isP('}')) this.err(this.peek(), `expected "," or "}", found ${describe(this.peek())}`)
          }
          this.next()
          return { t: 'struct', fields }
        }
        if (t.v === '[') return this.array()
        if (t.v === '(') {
          this.next()
          const inner = this.value()
          this.expectP(')')
          return inner
        }
        return this.err(t, `expected a value, found ${describe(t)}`)
      case 'end':
        return this.err(t, 'expected a value, found the end of the line')
    }
  }
}

const BINOPS = new Set(['|', '&&', '||', '==', '!=', '<<', '>>', '+', '*', '/', '&', '^', '<', '>', '<=', '>=', '%', '-'])

function describe(t: Tok): string {
  switch (t.k) {
    case 'end':
      return 'the end of the line'
    case 'str':
      return 'a string'
    case 'num':
      return `the number ${t.text}`
    case 'id':
      return `"${t.v}"`
    case 'more':
      return '"..."'
    case 'p':
      return `"${t.v}"`
  }
}

/** A short text of a value (for messages and YAML comments). */
export function describeValue(v: SValue): string {
  switch (v.t) {
    case 'num':
      return v.text
    case 'str':
      return JSON.stringify(v.v) + (v.truncated ? '...' : '')
    case 'ident':
      return v.v
    case 'flags':
      return v.parts.map(describeValue).join('|')
    case 'struct':
      return `{${v.fields.map((f) => (f.key === null ? '' : f.key + '=') + describeValue(f.value)).join(', ')}}`
    case 'array':
      return `${v.negated ? '~' : ''}[${v.items.map(describeValue).join(', ')}]`
    case 'call':
      return `${v.name}(${v.args.map(describeValue).join(', ')})`
    case 'expr':
      return v.text
    case 'more':
      return '...'
    case 'inout':
      return `${describeValue(v.in)} => ${describeValue(v.out)}`
    case 'named':
      return `${v.key}=${describeValue(v.value)}`
  }
}

/** Parses an argument list text (without the parentheses). */
export function parseArgs(text: string, line: number, col0 = 1): SValue[] {
  const p = new ValueParser(tokenize(text, line, col0), text, line, col0)
  const items = p.list(null)
  if (p.peek().k !== 'end') p.err(p.peek(), `unexpected ${describe(p.peek())} after the arguments`)
  return items
}

// ---------------------------------------------------------------- lines

const PREFIX_RE = /^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+(?=\d|[A-Za-z_<+-]))?(?:(\d+\.\d+|\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s+)?/

/** Seconds from a -ttt (epoch), -tt or -t (time of day) timestamp. */
function parseTime(s: string): number {
  if (s.includes(':')) {
    const [h, m, sec] = s.split(':') as [string, string, string]
    return Number(h) * 3600 + Number(m) * 60 + Number(sec)
  }
  return Number(s)
}

/**
 * Finds the ")" that closes a call's argument list opened before `text` (depth 1 at the start),
 * skipping strings and comments; -1 if the text ends first.
 */
function closingParen(text: string): number {
  let depth = 1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      i++
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
      continue
    }
    if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2)
      if (e < 0) return -1
      i = e + 1
      continue
    }
    if (c === '(' || c === '{' || c === '[') depth++
    else if (c === ')' || c === '}' || c === ']') {
      depth--
      if (depth === 0) return c === ')' ? i : -1
    }
  }
  return -1
}

function parseReturn(text: string, line: number, col: number): SReturn {
  const t = text.trim()
  const m = /^(\?|-?\d+|0x[0-9a-fA-F]+)(?:<[^>]*>)?(?:\s+([A-Z][A-Z0-9_]+))?(?:\s.*)?$/.exec(t)
  if (!m) throw new StraceParseError(line, col, `expected a return value after "=", found ${JSON.stringify(t.slice(0, 40))}`)
  const raw = m[1] as string
  const value = raw === '?' ? null : raw.startsWith('0x') ? parseInt(raw.slice(2), 16) : Number(raw)
  const errno = m[2] !== undefined && (value === -1 || value === null) ? m[2] : null
  return { value, errno, text: t }
}

interface Pending {
  line: number
  time: number | null
  name: string
  argsText: string
  argsCol: number
  raw: string
}

export interface ParseOptions {
  /** stop after this many errors (default 20) */
  maxErrors?: number
}

export interface ParsedLog {
  events: StraceEvent[]
  errors: StraceParseError[]
  /** whether the lines carried timestamps */
  timed: boolean
  lines: number
}

/**
 * Parses a whole log. Unfinished/resumed halves are joined into one `call` event placed at the
 * unfinished line (where the call started); lines that cannot be parsed become errors (parsing
 * goes on so that one run reports several).
 */
export function parseStraceLog(text: string, opts: ParseOptions = {}): ParsedLog {
  const maxErrors = opts.maxErrors ?? 20
  const lines = text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const events: Array<StraceEvent | null> = []
  const errors: StraceParseError[] = []
  const pending = new Map<number, { ev: Pending; slot: number }>()
  let firstPid: number | null = null
  let timed: boolean | null = null
  for (let li = 0; li < lines.length && errors.length < maxErrors; li++) {
    const lineNo = li + 1
    const raw = (lines[li] as string).replace(/\r$/, '')
    if (raw.trim() === '') continue
    try {
      const pm = PREFIX_RE.exec(raw) as RegExpExecArray
      const pidText = pm[1] ?? pm[2]
      const pid: number = pidText !== undefined ? Number(pidText) : (firstPid ?? 0)
      if (firstPid === null) firstPid = pid
      const time = pm[3] !== undefined ? parseTime(pm[3]) : null
      if (timed === null) timed = time !== null
      else if (timed !== (time !== null))
        throw new StraceParseError(lineNo, 1, timed ? 'a line without a timestamp in a log with timestamps' : 'a timestamp in a log whose first line had none')
      const body = raw.slice(pm[0].length)
      const bodyCol = pm[0].length + 1
      if (body.startsWith('---')) {
        const m = /^---\s+(SIG[A-Z0-9]+|\S+)/.exec(body)
        if (!m || !body.trimEnd().endsWith('---')) throw new StraceParseError(lineNo, bodyCol, 'a signal line must look like "--- SIGNAME {...} ---"')
        events.push({ kind: 'signal', line: lineNo, pid, time, signal: m[1] as string, raw })
        continue
      }
      if (body.startsWith('+++')) {
        let m: RegExpExecArray | null
        if ((m = /^\+\+\+ exited with (\d+) \+\+\+\s*$/.exec(body))) events.push({ kind: 'exited', line: lineNo, pid, time, status: Number(m[1]), raw })
        else if ((m = /^\+\+\+ killed by (SIG[A-Z0-9]+)(?: \(core dumped\))? \+\+\+\s*$/.exec(body)))
          events.push({ kind: 'killed', line: lineNo, pid, time, signal: m[1] as string, raw })
        else if ((m = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+\s*$/.exec(body)))
          events.push({ kind: 'superseded', line: lineNo, pid, time, by: Number(m[1]), raw })
        else
          throw new StraceParseError(
            lineNo,
            bodyCol,
            'an exit line must be "+++ exited with N +++", "+++ killed by SIG… +++" or "+++ superseded by execve in pid N +++"',
          )
        continue
      }
      let name: string
      let argsText: string
      let argsCol: number
      let startLine = lineNo
      let startTime = time
      let startRaw = raw
      let slot: number
      const rm = /^<\.\.\. ([A-Za-z0-9_?]+) resumed>/.exec(body)
      if (rm) {
        name = rm[1] as string
        const p = pending.get(pid)
        if (!p || p.ev.name !== name)
          throw new StraceParseError(lineNo, bodyCol, `"<... ${name} resumed>" of pid ${pid} without an earlier "${name}(… <unfinished ...>" of that pid`)
        pending.delete(pid)
        const rest = body.slice(rm[0].length)
        if (/<unfinished \.\.\.>\s*$/.test(rest)) {
          // resumed and interrupted again: keep waiting
          pending.set(pid, { ev: { ...p.ev, argsText: p.ev.argsText + rest.replace(/\s*<unfinished \.\.\.>\s*$/, '') }, slot: p.slot })
          continue
        }
        argsText = p.ev.argsText + rest
        argsCol = p.ev.argsCol
        startLine = p.ev.line
        startTime = p.ev.time
        startRaw = p.ev.raw
        slot = p.slot
      } else {
        const cm = /^([A-Za-z_][A-Za-z0-9_]*|\?\?\?)\(/.exec(body)
        if (!cm)
          throw new StraceParseError(
            lineNo,
            bodyCol,
            `expected a syscall "name(", a "<... name resumed>", "--- SIG… ---" or "+++ … +++", found ${JSON.stringify(body.slice(0, 30))}`,
          )
        name = cm[1] as string
        const rest = body.slice(cm[0].length)
        if (/<unfinished \.\.\.>\s*$/.test(rest)) {
          if (pending.has(pid))
            throw new StraceParseError(
              lineNo,
              bodyCol,
              `pid ${pid} starts "${name}" while its "${pending.get(pid)?.ev.name}" of line ${pending.get(pid)?.ev.line} is unfinished`,
            )
          events.push(null)
          pending.set(pid, {
            ev: { line: lineNo, time, name, argsText: rest.replace(/\s*<unfinished \.\.\.>\s*$/, ''), argsCol: bodyCol + cm[0].length, raw },
            slot: events.length - 1,
          })
          continue
        }
        argsText = rest
        argsCol = bodyCol + cm[0].length
        events.push(null)
        slot = events.length - 1
      }
      const close = closingParen(argsText)
      if (close < 0) {
        tokenize(argsText, lineNo, argsCol) // an unterminated string or comment says so, with its column
        throw new StraceParseError(lineNo, argsCol, `the arguments of "${name}" have no closing ")"`)
      }
      const args = parseArgs(argsText.slice(0, close), startLine, argsCol)
      const after = argsText.slice(close + 1)
      const em = /^\s*=\s*/.exec(after)
      if (!em) throw new StraceParseError(lineNo, 0, `"${name}(…)" is not followed by " = RESULT"`)
      const ret = parseReturn(after.slice(em[0].length), lineNo, 0)
      events[slot] = {
        kind: 'call',
        line: startLine,
        endLine: lineNo,
        pid,
        time: startTime,
        name,
        args,
        ret,
        raw: startLine === lineNo ? raw : `${startRaw} … ${body}`,
      }
    } catch (e) {
      if (e instanceof StraceParseError) errors.push(e)
      else throw e
    }
  }
  // calls still unfinished at the end (a trimmed log, or a process killed mid-call)
  for (const [pid, p] of pending) events[p.slot] = { kind: 'unfinished_at_end', line: p.ev.line, pid, time: p.ev.time, name: p.ev.name, raw: p.ev.raw }
  return { events: events.filter((e): e is StraceEvent => e !== null), errors, timed: timed ?? false, lines: lines.length }
}

// ---------------------------------------------------------------- accessors for the converter

/** The number of a value, or null. */
export function numOf(v: SValue | undefined): number | null {
  if (!v) return null
  if (v.t === 'named') return numOf(v.value)
  if (v.t === 'num') return v.v
  if (v.t === 'ident' && v.v === 'NULL') return 0
  return null
}

/** The names in a flag set (`PROT_READ|PROT_WRITE` → both; a number gives its text). */
export function flagsOf(v: SValue | undefined): string[] {
  if (!v) return []
  if (v.t === 'named') return flagsOf(v.value)
  if (v.t === 'ident') return [v.v]
  if (v.t === 'num') return v.v === 0 ? [] : [v.text]
  if (v.t === 'flags') return v.parts.flatMap((p) => flagsOf(p))
  return []
}

/** A struct field by key (first match). */
export function fieldOf(v: SValue | undefined, key: string): SValue | undefined {
  if (!v) return undefined
  if (v.t === 'inout') return fieldOf(v.in, key) ?? fieldOf(v.out, key)
  if (v.t === 'named') return fieldOf(v.value, key)
  if (v.t !== 'struct') return undefined
  return v.fields.find((f) => f.key === key)?.value
}

/** A named argument (`flags=…` of clone) from an argument list. */
export function namedArg(args: SValue[], key: string): SValue | undefined {
  for (const a of args) if (a.t === 'named' && a.key === key) return a.value
  return undefined
}
