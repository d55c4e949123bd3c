/**
 * Maps `scenarios.validate` issues (1-based line/column, a field path, a message) to editor
 * ranges. Pure, so it is tested without an editor: CodeMirror's linter turns these into
 * diagnostics underlined at the line with the message.
 */
import type { ValidationIssue } from '../../shared/contracts'

export interface TextDiagnostic {
  from: number
  to: number
  line: number
  severity: 'error'
  message: string
}

/** Offsets of the start of every line (line 1 at index 0). */
export function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return starts
}

/**
 * One diagnostic per issue: from the column (or the first non-blank) to the end of its line; an
 * issue without a line marks line 1. The message names the field path when it has one.
 */
export function issuesToDiagnostics(text: string, issues: readonly ValidationIssue[]): TextDiagnostic[] {
  const starts = lineStarts(text)
  return issues.map((issue) => {
    const line = Math.min(Math.max(issue.line ?? 1, 1), starts.length)
    const lineStart = starts[line - 1]!
    const lineEnd = line < starts.length ? starts[line]! - 1 : text.length
    const content = text.slice(lineStart, lineEnd)
    const firstNonBlank = content.length - content.trimStart().length
    const col = issue.column !== undefined ? Math.min(issue.column - 1, content.length) : firstNonBlank
    const from = lineStart + col
    const to = Math.max(lineEnd, from)
    const message = issue.path && !issue.message.includes(issue.path) ? `${issue.path}: ${issue.message}` : issue.message
    return { from, to, line, severity: 'error' as const, message }
  })
}

/** Picks the editor language from a file name. */
export function languageOf(fileName: string): 'yaml' | 'json' {
  return /\.json$/i.test(fileName) ? 'json' : 'yaml'
}
