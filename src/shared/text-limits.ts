/**
 * Limits on untrusted text, checked before anything recurses over it. A YAML/JSON document nested
 * a thousand levels deep overflows the stack of the recursive parts of a parser (yaml's composer,
 * `toJS`, the schema checks); in V8 a second stack overflow in one process can be fatal. So a
 * scenario is first read by yaml's own lexer and CST parser, which are iterative (an explicit
 * stack), and refused when it is too large, nested too deep, has too many nodes or too many
 * aliases, with the line where the limit was passed. Request bodies (JSON) get a cheap exact scan.
 *
 * Pure: used by the simulator's parser (src/sim/scenario/parse.ts), the services and the hosts.
 */
import { CST, LineCounter, Lexer, Parser } from 'yaml'

export interface TextLimits {
  /** Characters (UTF-16 code units) of the whole text. */
  maxChars: number
  /** Nesting of collections (block and flow). */
  maxDepth: number
  /** Scalars, aliases and collections together. */
  maxNodes: number
  /** `*alias` references. */
  maxAliases: number
}

/**
 * Scenario files. The largest shipped scenario is 28 KB with nesting under 12; a 1 MiB file
 * parses in about 2 s, so the cap is well above real files and well below a denial of service.
 */
export const SCENARIO_LIMITS: Readonly<TextLimits> = { maxChars: 1 << 20, maxDepth: 64, maxNodes: 200_000, maxAliases: 100 }

/**
 * The most bytes read of a scenario file before its characters are counted: UTF-8 takes at most
 * three bytes per UTF-16 code unit, and a request's scenario text is capped at 4 MiB too.
 */
export const SCENARIO_FILE_MAX_BYTES = 4 << 20

/** A limit passed: the message names the line and the limit. */
export class TextLimitError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
    this.name = 'TextLimitError'
  }
}

/**
 * Checks a YAML or JSON text against the limits without recursing; throws `TextLimitError`
 * (or what `makeError` builds from the message and line) at the first limit passed.
 * Syntax errors are left to the real parser, which reports them with their line.
 */
export function checkTextLimits<E extends Error = TextLimitError>(
  text: string,
  fileName: string,
  limits: Readonly<TextLimits> = SCENARIO_LIMITS,
  makeError?: (message: string, line: number) => E,
): void {
  const fail = (line: number, what: string): never => {
    const message = `${fileName}:${line}: (document): ${what}`
    throw makeError ? makeError(message, line) : new TextLimitError(message, line)
  }
  if (typeof text !== 'string') fail(1, 'expected text')
  if (text.length > limits.maxChars) fail(1, `the file has ${text.length} characters; the limit is ${limits.maxChars}`)
  const lines = new LineCounter()
  const parser = new Parser(lines.addNewLine)
  lines.addNewLine(0)
  let nodes = 0
  let aliases = 0
  const lineAt = (): number => Math.max(1, lines.linePos(Math.min(parser.offset, text.length)).line)
  for (const lexeme of new Lexer().lex(text)) {
    for (const _token of parser.next(lexeme)) {
      // whole documents: nothing to count here
    }
    const type = CST.tokenType(lexeme)
    if (type === 'alias') {
      if (++aliases > limits.maxAliases) fail(lineAt(), `more than ${limits.maxAliases} aliases (*name)`)
    }
    if (
      type === 'scalar' ||
      type === 'single-quoted-scalar' ||
      type === 'double-quoted-scalar' ||
      type === 'block-scalar-header' ||
      type === 'alias' ||
      type === 'flow-map-start' ||
      type === 'flow-seq-start' ||
      type === 'seq-item-ind' ||
      type === 'map-value-ind'
    ) {
      if (++nodes > limits.maxNodes) fail(lineAt(), `more than ${limits.maxNodes} values`)
    }
    // The parser's stack holds the document, then one entry per open collection or scalar.
    if (parser.stack.length - 2 > limits.maxDepth) fail(lineAt(), `nested deeper than ${limits.maxDepth} levels`)
  }
  for (const _token of parser.end()) {
    // flush
  }
}

/** Limits of a JSON request body (the body size itself is capped by the host). */
export const JSON_BODY_MAX_DEPTH = 64

/**
 * The deepest nesting of a JSON text (exact outside strings; no recursion), and the line where
 * `maxDepth` is first passed (0 when it is not).
 */
export function jsonDepth(text: string, maxDepth: number): { depth: number; overAtLine: number } {
  let depth = 0
  let max = 0
  let line = 1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10) line++
    if (inString) {
      if (c === 92)
        i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) max = depth
      if (depth > maxDepth) return { depth, overAtLine: line }
    } else if (c === 93 || c === 125) depth--
  }
  return { depth: max, overAtLine: 0 }
}

/** Keys that must never be used as a path segment or an own key built from user input. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** The first forbidden segment of a dotted path, if any. */
export function forbiddenSegment(path: string): string | undefined {
  return path.split('.').find((s) => FORBIDDEN_KEYS.has(s))
}

/**
 * What JSON.parse said about a text, without the excerpt of the text V8 puts in some messages
 * (a file's contents are never echoed): "not valid JSON (line N)" when V8 gives a position.
 */
export function jsonSyntaxMessage(err: unknown, text: string): string {
  const m = /at position (\d+)/.exec(err instanceof Error ? err.message : String(err))
  if (!m) return /Unexpected end of JSON input/.test(String(err)) ? 'not valid JSON (it ends too early)' : 'not valid JSON'
  const pos = Math.min(Number(m[1]), text.length)
  let line = 1
  for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === 10) line++
  return `not valid JSON (line ${line})`
}
