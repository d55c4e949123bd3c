/**
 * An experiment of many seeds (the 2014 (b) scenario: B1, B2, D4, seeds 1–8) reads the same in
 * the CLI and in its HTML report: the fraction of seeds with each finding and every
 * `sweep_expect` verdict, in the CLI's very words; and the report's conclusion states each design
 * once, its seeds summarised, with no sentence per seed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { runExperiments } from '../../src/main/cli/commands/run-experiment'
import { escapeHtml } from '../../src/main/services/reports/escape'

const file = join(import.meta.dirname, '../../scenarios/thread-2014/b-release-free-and-deferred-job.yaml')
const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-sweep-report-'))
afterAll(() => rmSync(workspace, { recursive: true, force: true }))

/** The section of the HTML between an opening tag with `id` and its `</section>`, tags removed. */
function sectionText(html: string, id: string): string {
  const m = new RegExp(`<section[^>]* id="${id}"[^>]*>(.*?)</section>`, 's').exec(html)
  expect(m, `the report has a section #${id}`).not.toBeNull()
  return m![1]!
}

describe('the sweep summary of an experiment report', () => {
  it('shows the fractions and the sweep_expect verdicts in the words the CLI prints', async () => {
    const scenario = join(workspace, 'b8.yaml')
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('seeds: 64\n')
    writeFileSync(scenario, text.replace('seeds: 64\n', 'seeds: 8\n'))
    const report = join(workspace, 'b8.html')
    let out = ''
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      await runExperiments([scenario], { workers: '2', workspace, report })
    } finally {
      spy.mockRestore()
      err.mockRestore()
    }
    // what the CLI printed: a line per design with its fractions, a line per verdict
    const groups = [...out.matchAll(/^ {2}sweep (B1|B2|D4): 8 seeds from 1: (.+)$/gm)].map((m) => ({ design: m[1]!, words: m[2]! }))
    expect(groups.map((g) => g.design)).toEqual(['B1', 'B2', 'D4'])
    expect(groups[0]!.words).toBe('double_free in 8/8 seeds (100%), use_after_free in 8/8 seeds (100%)')
    const verdicts = [...out.matchAll(/^ {4}([✓✗] sweep_expect .+)$/gm)].map((m) => m[1]!)
    expect(verdicts).toHaveLength(3)
    const outcome = /^ {2}sweep (passed|failed)$/m.exec(out)![1]!

    const html = readFileSync(report, 'utf8')
    const sweep = sectionText(html, 'sweep')
    expect(sweep).toContain(`Sweep summary: <span class="${outcome === 'passed' ? 'pass' : 'fail'}">${outcome}</span>`)
    for (const g of groups) {
      const row = new RegExp(`<tr><td>${g.design}</td><td>—</td><td class="num">8 from 1</td><td>(.*?)</td>`).exec(sweep)
      expect(row, `a row for ${g.design}`).not.toBeNull()
      expect(row![1], `${g.design}: the CLI's fractions`).toBe(g.words === 'no findings' ? '<span class="muted">no findings</span>' : escapeHtml(g.words))
    }
    for (const v of verdicts) expect(sweep, v).toContain(`>${escapeHtml(v)}</li>`)

    // the conclusion: each design once, seeds summarised, never one sentence per seed
    const said = [...sectionText(html, 'conclusion').matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]!)
    for (const d of ['B1', 'B2', 'D4']) expect(said.some((s) => s.startsWith(`${d} `) || s.startsWith(`${d},`) || s.startsWith(`${d}:`))).toBe(true)
    expect(said.length).toBeLessThan(16)
    expect(said.join('\n')).not.toMatch(/seed 1, .*seed 2, .*seed 3/)
    expect(said.join('\n')).not.toMatch(/over 0\)/)
    // B2's deferred job loses the race in 2 of these 8 seeds: the conclusion says so in the summary's words
    expect(groups[1]!.words).toBe('use_after_free in 2/8 seeds (25%)')
    expect(said).toContain('B2: use_after_free in 2/8 seeds (25%).')
    expect(said.filter((s) => /^B2, seed \d+ /.test(s)).length).toBeLessThanOrEqual(3)
  }, 120_000)
})
