/**
 * The results document's format 2: every side's invalidation lists run-length encoded, lossless
 * (real guest sides come back identical), much smaller, and still read next to format 1 by
 * `oracle fidelity` and `--kernel-results`. A packed run that would expand without bound or below
 * page 0 is refused, naming where.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { OracleInvalidation, OracleSide } from '../../src/shared/oracle'
import { readKernelResults, readResultsDocument } from '../../src/main/services/oracle/recorded'
import {
  decodeResults,
  encodeResults,
  MAX_UNPACKED_INVALIDATIONS,
  ORACLE_RESULTS_FORMAT,
  ORACLE_RESULTS_FORMAT_V1,
  packInvalidations,
  packSide,
  resultsJson,
  unpackInvalidations,
  unpackSide,
  type OracleResults,
} from '../../src/main/services/oracle/results'

const tmp = mkdtempSync(join(tmpdir(), 'hmmlab-results-'))
const fixtures = 'test/fixtures/oracle'

const inv = (o: Partial<OracleInvalidation> & { first?: number; pages?: number; region?: string }): OracleInvalidation => ({
  via: o.via ?? 'range_start',
  event: o.event ?? 'CLEAR',
  task: o.task === undefined ? 'self' : o.task,
  whole: o.whole ?? false,
  slices: o.slices ?? (o.whole ? [] : [{ region: o.region ?? 'buf', first: o.first ?? 0, pages: o.pages ?? 1 }]),
  outside_pages: o.outside_pages ?? 0,
  owner: o.owner === undefined ? null : o.owner,
})

describe('packing an invalidation list', () => {
  it('makes a per-page pair of range_start and interval one run of two items', () => {
    const list = Array.from({ length: 1024 }, (_, p) => [inv({ event: 'EXCLUSIVE', first: p }), inv({ via: 'interval', event: 'EXCLUSIVE', first: p })]).flat()
    const runs = packInvalidations(list)
    expect(runs).toEqual([{ n: 1024, d: 1, items: [list[0], list[1]] }])
    expect(unpackInvalidations(runs, 'x')).toEqual(list)
  })

  it('packs a walk downwards, equal repeats, and keeps what does not repeat as it is', () => {
    const evict = Array.from({ length: 512 }, (_, k) => inv({ first: 1023 - k, owner: null }))
    const whole = [inv({ event: 'RELEASE', whole: true }), inv({ event: 'RELEASE', whole: true }), inv({ event: 'UNMAP', whole: true })]
    const mixed = [
      inv({ event: 'UNMAP', first: 4, pages: 8 }),
      inv({
        event: 'UNMAP',
        slices: [
          { region: 'a', first: 0, pages: 2 },
          { region: 'b', first: 0, pages: 3 },
        ],
        outside_pages: 7,
      }),
      inv({ event: 'MIGRATE', first: 0, pages: 64, owner: 'd0' }),
      inv({ event: 'MIGRATE', first: 64, pages: 64, owner: 'd0' }),
      inv({ event: 'MIGRATE', first: 128, pages: 64, owner: 'd1' }),
    ]
    const list = [...evict, ...whole, ...mixed]
    const runs = packInvalidations(list)
    expect(runs[0]).toEqual({ n: 512, d: -1, items: [evict[0]] })
    expect(runs[1]).toEqual({ n: 2, items: [whole[0]] })
    // the owner differs on the third MIGRATE: a run of two, then a lone item
    expect(runs.slice(2)).toEqual([
      { items: [whole[2]] },
      { items: [mixed[0]] },
      { items: [mixed[1]] },
      { n: 2, d: 64, items: [mixed[2]] },
      { items: [mixed[4]] },
    ])
    expect(unpackInvalidations(runs, 'x')).toEqual(list)
    expect(packInvalidations([])).toEqual([])
  })

  it('gives back every real guest side it packs, identical', () => {
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.kernel.json'))
    expect(files.length).toBeGreaterThan(10)
    for (const f of files) {
      const side = JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as OracleSide
      const packed = packSide(side)
      expect(unpackSide(JSON.parse(JSON.stringify(packed)) as typeof packed, f)).toEqual(side)
    }
  })

  it('refuses a run that expands without bound or below page 0, naming where', () => {
    const one = inv({ first: 3 })
    expect(() => unpackInvalidations([{ items: [one] }, { n: 5, d: -1, items: [one] }], 'scenarios.0.kernel.steps.2.invalidations')).toThrow(
      'scenarios.0.kernel.steps.2.invalidations.1: repeating slice buf/3 5 times by -1 pages goes below page 0',
    )
    expect(() => unpackInvalidations([{ n: MAX_UNPACKED_INVALIDATIONS, items: [one, one] }], 'w')).toThrow(
      `w.0: expands past ${MAX_UNPACKED_INVALIDATIONS} invalidations`,
    )
  })
})

/** A results document with one compared scenario: a real kernel side, and the same as simulator. */
function results(): OracleResults {
  const kernel = JSON.parse(readFileSync(join(fixtures, 'selftests__exclusive_cow.kernel.json'), 'utf8')) as OracleSide
  const simulator: OracleSide = { ...kernel, side: 'simulator', version: { app: '0.1.0' } }
  return {
    format: ORACLE_RESULTS_FORMAT,
    created: '2026-12-06T21:00:00.000Z',
    design: 'D5',
    kernel: { release: '6.12.118', accel: 'tcg', source: 'linux-source-6.12 (Debian)', image: '/cache/bzImage' },
    simulator: { version: '0.1.0' },
    declarations: { files: { tolerances: 't.yaml', known: 'k.yaml' }, tolerances: [], known: [] },
    scenarios: [
      {
        status: 'compared',
        file: kernel.scenario.file,
        name: kernel.scenario.name,
        comparison: {
          scenario: { name: kernel.scenario.name, file: kernel.scenario.file },
          design: 'D5',
          verdict: 'agree',
          differences: [],
          tolerated: [],
          skipped: [],
          counts: { steps: kernel.steps.length, kernel: { items: 0, outside: 0 }, simulator: { items: 0, outside: 0 } },
        },
        kernel,
        simulator,
      },
      { status: 'inexpressible', file: 'x.yaml', name: 'x', unsupported: { index: 1, line: 3, op: 'alloc_bo', why: 'KFD' } },
    ],
    hmm_tests: null,
    summary: { agree: 1, known: 0, differ: 0, inexpressible: 1, invalid: 0, guest_failed: 0 },
  }
}

describe('the results document', () => {
  it('writes format 2, smaller, and reads it back to the same results', () => {
    const r = results()
    const text = resultsJson(r)
    expect(JSON.parse(text).format).toBe(ORACLE_RESULTS_FORMAT)
    const v1 = JSON.stringify({ ...r, format: ORACLE_RESULTS_FORMAT_V1 })
    expect(text.length * 5).toBeLessThan(v1.length)
    expect(decodeResults(JSON.parse(text))).toEqual(r)
    expect(encodeResults(r).scenarios[1]).toEqual(r.scenarios[1])
  })

  it('reads format 1 and format 2 alike for fidelity and --kernel-results', () => {
    const r = results()
    const f1 = join(tmp, 'v1.json')
    const f2 = join(tmp, 'v2.json')
    writeFileSync(f1, JSON.stringify({ ...r, format: ORACLE_RESULTS_FORMAT_V1 }))
    writeFileSync(f2, resultsJson(r))
    expect(readResultsDocument(f1)).toEqual(r)
    expect(readResultsDocument(f2)).toEqual(r)
    const k1 = readKernelResults(f1)
    const k2 = readKernelResults(f2)
    expect(k2.entries).toEqual(k1.entries)
    expect(k1.entries[0]).toMatchObject({ kind: 'side', name: r.scenarios[0]?.name })
  })

  it('names the field of a packed document that does not fit', () => {
    const doc = JSON.parse(resultsJson(results())) as { scenarios: Array<{ kernel: { steps: Array<{ invalidations: Array<Record<string, unknown>> }> } }> }
    const step = doc.scenarios[0]?.kernel.steps.find((s) => s.invalidations.length > 0)
    if (!step) throw new Error('no invalidations in the fixture')
    step.invalidations[0] = { ...step.invalidations[0], n: 1 }
    const f = join(tmp, 'bad.json')
    writeFileSync(f, JSON.stringify(doc))
    expect(() => readResultsDocument(f)).toThrow(
      new RegExp(`${f}: not an oracle results document: scenarios\\.0\\.kernel\\.steps\\.\\d+\\.invalidations\\.0\\.n: `),
    )
    expect(() => readKernelResults(f)).toThrow(/not a valid oracle results document: scenarios\.0\.kernel\.steps\.\d+\.invalidations\.0\.n: /)
  })
})
