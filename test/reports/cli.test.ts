/** `hmmlab report` over a fixture workspace, through the CLI's own `main`. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/main/cli/index'
import { pickFormat } from '../../src/main/cli/commands/report'
import { ReportDocument } from '../../src/shared/report'
import { fixtureWorkspace, type FixtureWorkspace } from './helpers'

let ws: FixtureWorkspace
let stderr = ''
let stdout = ''
beforeAll(async () => {
  ws = await fixtureWorkspace()
})
afterAll(async () => {
  await ws.dispose()
})
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

async function cli(...args: string[]): Promise<number> {
  stderr = ''
  stdout = ''
  process.exitCode = undefined
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true))
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true))
  const code = await main(['node', 'hmmlab', 'report', '--workspace', ws.dir, '--no-probe', ...args])
  vi.restoreAllMocks()
  return code
}

describe('hmmlab report', () => {
  it('writes a run report as HTML to -o', async () => {
    const out = join(ws.dir, 'run.html')
    expect(await cli(ws.runIds[0]!, '-o', out)).toBe(0)
    expect(stderr).toMatch(/wrote .*run\.html \(html, 1 run\(s\), [\d.]+ KiB, [\d.]+ m?s, [\d.]+ m?s CPU\)/)
    expect(await readFile(out, 'utf8')).toMatch(/^<!DOCTYPE html>/)
  })

  it('takes an experiment id and infers the format from the file name', async () => {
    const out = join(ws.dir, 'exp.report.json')
    expect(await cli(ws.experimentId, '-o', out)).toBe(0)
    const doc = ReportDocument.parse(JSON.parse(await readFile(out, 'utf8')))
    expect(doc.kind).toBe('experiment')
    expect(doc.runs).toHaveLength(6)
  })

  it('compares runs and writes a trace to stdout', async () => {
    expect(await cli('--compare', ws.runIds[0]!, ws.runIds[1]!, '--format', 'trace', '-o', '-')).toBe(0)
    expect(Array.isArray(JSON.parse(stdout).traceEvents)).toBe(true)
  })

  it('exits 2 with a message for an unknown id, a bad format, or --compare with one run', async () => {
    expect(await cli('nothing-here', '-o', '-')).toBe(2)
    expect(stderr).toContain('no run or experiment nothing-here')
    expect(await cli(ws.runIds[0]!, '--format', 'pdf')).toBe(2)
    expect(stderr).toContain('the format must be one of')
    expect(await cli('--compare', ws.runIds[0]!)).toBe(2)
    expect(stderr).toContain('two or more')
  })

  it('picks the format from the output name', () => {
    expect(pickFormat(undefined, 'a.trace.json')).toBe('trace')
    expect(pickFormat(undefined, 'a.json')).toBe('json')
    expect(pickFormat(undefined, 'a.csv')).toBe('csv')
    expect(pickFormat(undefined, 'a.html')).toBe('html')
    expect(pickFormat(undefined, 'a.HTM')).toBe('html')
    expect(pickFormat('trace', 'a.json')).toBe('trace')
    expect(pickFormat('csv', 'a.data')).toBe('csv')
    expect(pickFormat('json', '-')).toBe('json')
    expect(pickFormat(undefined, undefined)).toBe('html')
  })

  it('refuses a name that contradicts --format or says no format, and writes nothing (exit 2)', async () => {
    const cases: [string[], string, RegExp][] = [
      [[], 'x.pdf', /x\.pdf: reports are written as html, json, csv or trace, not PDF/],
      [['-f', 'html'], 'x.pdf', /not PDF/],
      [['-f', 'json'], 'y.csv', /y\.csv: the name ends in \.csv \(csv\) but the format asked for is json; name the file \.json, or drop --format to write csv/],
      [['-f', 'csv'], 'z.html', /the name ends in \.html \(html\) but the format asked for is csv/],
      [['-f', 'json'], 't.trace.json', /the name ends in \.trace\.json \(trace\) but the format asked for is json/],
      [[], 'notes.txt', /notes\.txt: the name ends in \.txt, which says no report format; end it in \.html, \.json, \.csv or \.trace\.json, or give --format/],
      [[], 'report', /report: the name has no extension, which says no report format/],
    ]
    for (const [flags, name, message] of cases) {
      const out = join(ws.dir, name)
      expect(await cli(ws.runIds[0]!, ...flags, '-o', out), `${flags.join(' ')} -o ${name}`).toBe(2)
      expect(stderr).toMatch(message)
      expect(stderr).not.toContain('wrote')
      await expect(readFile(out)).rejects.toThrow(/ENOENT/)
    }
    // with --format, a name that says no format is taken as asked
    const data = join(ws.dir, 'run.data')
    expect(await cli(ws.runIds[0]!, '-f', 'json', '-o', data)).toBe(0)
    expect(ReportDocument.parse(JSON.parse(await readFile(data, 'utf8'))).kind).toBe('run')
  })
})
