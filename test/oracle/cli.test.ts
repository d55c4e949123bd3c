import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { oracleBuildCommand, oracleCommand, oracleFidelityCommand, oracleHmmTestsCommand, registerOracleCommand } from '../../src/main/cli/commands/oracle'
import { decodeResults, OracleResultsDocumentSchema } from '../../src/main/services/oracle/results'
import { BEGIN_MARK, END_MARK, tableFiles } from '../../src/main/services/oracle/fidelity-table'
import { runSimulatorSide } from '../../src/main/services/oracle/simulator-side'
import { asKernel, captureDeps, fakeKernel } from './helpers'

const tmp = mkdtempSync(join(tmpdir(), 'hmmlab-oracle-cli-'))
const OPEN_CLOSE = 'scenarios/selftests/open_close.yaml'
const MIGRATE = 'scenarios/selftests/migrate.yaml'

/** A kernel whose munmap raises one more UNMAP than the simulator's (as mremap's second UNMAP). */
const extraUnmap = fakeKernel({
  sides: (sc) => {
    const k = asKernel(runSimulatorSide(sc, { design: 'D5', kernel: '6.12' }))
    const s = k.steps.find((x) => x.op === 'munmap')
    if (s) s.invalidations.push({ ...s.invalidations.find((i) => i.event === 'UNMAP')! })
    return k
  },
})

describe('hmmlab oracle FILE...', () => {
  it('exits 0 when every scenario agrees, and says which kernel ran', async () => {
    const d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE, MIGRATE], { design: 'D5' }, d)).toBe(0)
    expect(d.stdout()).toContain('kernel 6.12.118-test (tcg, fixture)')
    expect(d.stdout()).toMatch(/✓ agree\s+hmm\.open_close/)
    expect(d.stdout()).toContain('summary: 2 agree')
    expect(d.stderr()).toContain('kernel: cached build 6.12.118-test')
    // the simulator followed the guest's release, and the report says so
    expect(d.stdout()).toMatch(/simulated under kernel 6\.12 rules \(release 6\.12\.118-test\): without pt_reclaim \(6\.14\), .*device_private_thp \(6\.19\)/)
  })

  it("simulates under the guest's version: a 6.12 guest disagrees with the mainline rules the scenario asks for, and its rules are recorded", async () => {
    // the fake guest behaves as the model under mainline; the oracle must still simulate 6.12
    // (the release it reports), so the MIGRATE chunks differ (64 pages against 512)
    const mainlineGuest = fakeKernel({ sides: (sc) => asKernel(runSimulatorSide(sc, { design: 'D5', kernel: 'mainline' })) })
    const json = join(tmp, 'rules.json')
    const none = join(tmp, 'no-known.yaml')
    writeFileSync(none, 'known_differences: []\n')
    const d = captureDeps(mainlineGuest)
    expect(await oracleCommand([MIGRATE], { report: json, known: none }, d)).toBe(1)
    const doc = decodeResults(JSON.parse(readFileSync(json, 'utf8')))
    expect(doc.simulator.kernel).toMatchObject({ version: '6.12', release: '6.12.118-test', note: null })
    expect(doc.simulator.kernel?.rules.find((r) => r.id === 'device_private_thp')).toMatchObject({ since: '6.19', has: false })
    expect(d.stdout()).toMatch(/MIGRATE pages 0\.\.511 .*\n.*simulator: .*MIGRATE pages 0\.\.63/)
  })

  it("says what the guests reported of khugepaged's background scan", async () => {
    const parked = fakeKernel({
      sides: (sc) => {
        const k = asKernel(runSimulatorSide(sc, { design: 'D5' }))
        return { ...k, version: { ...k.version, khugepaged: 'off (background scan parked; no collapse during the boot)' } }
      },
    })
    const d = captureDeps(parked)
    expect(await oracleCommand([OPEN_CLOSE], {}, d)).toBe(0)
    expect(d.stdout().split('\n')[0]).toContain('kernel 6.12.118-test (tcg, fixture); khugepaged off (background scan parked; no collapse during the boot)')
    // a kernel side that does not say (a recording from before) adds nothing
    const plain = captureDeps(fakeKernel({}))
    await oracleCommand([OPEN_CLOSE], {}, plain)
    expect(plain.stdout()).not.toContain('khugepaged')
  })

  it('exits 1 on a new difference and prints the first one with step, line, kernel and simulator', async () => {
    const d = captureDeps(extraUnmap)
    expect(await oracleCommand([MIGRATE], {}, d)).toBe(1)
    const out = d.stdout()
    expect(out).toMatch(/✗ differ\s+hmm\.migrate/)
    expect(out).toMatch(/first difference: step \d+, line \d+ \(munmap, task self\): invalidations self\/buf/)
    expect(out).toMatch(/kernel: {4}no item|kernel: {4}item/)
    expect(out).toContain('simulator: ')
  })

  it('exits 0 when the only differences are declared known, and lists them as known', async () => {
    const known = join(tmp, 'known.yaml')
    writeFileSync(
      known,
      'known_differences:\n  - { id: munmap-twice, field: invalidations, match: { event: UNMAP }, applies: { scenarios: ["hmm.migrate"], ops: [munmap] }, kernel: "unmap_region", evidence: "crafted", why: "test" }\n',
    )
    const d = captureDeps(extraUnmap)
    expect(await oracleCommand([MIGRATE], { known }, d)).toBe(0)
    expect(d.stdout()).toMatch(/~ known\s+hmm\.migrate/)
    expect(d.stdout()).toContain('known (munmap-twice)')
  })

  it('exits 2 naming the step, line and why when the kernel cannot run a scenario; --skip-inexpressible lists it instead', async () => {
    const k = fakeKernel({
      unsupported: (sc) => (sc.name === 'hmm.migrate' ? { index: 4, line: 17, op: 'alloc_bo', why: 'a KFD buffer object has no test_hmm equivalent' } : null),
    })
    const d = captureDeps(k)
    expect(await oracleCommand([OPEN_CLOSE, MIGRATE], {}, d)).toBe(2)
    expect(d.stdout()).toContain('the kernel cannot run step 4, line 17 (alloc_bo): a KFD buffer object has no test_hmm equivalent')
    // the others still run and are reported (hmmlab oracle scenarios/selftests/*.yaml shows them all)
    expect(d.stdout()).toMatch(/✓ agree\s+hmm\.open_close/)
    expect(k.calls).toEqual(['findCachedKernel', 'run 1'])
    expect(d.stderr()).toContain('some scenarios cannot run on the kernel')
    const d2 = captureDeps(k)
    expect(await oracleCommand([OPEN_CLOSE, MIGRATE], { skipInexpressible: true }, d2)).toBe(0)
    expect(d2.stdout()).toContain('1 agree')
    expect(d2.stdout()).toContain('1 not expressible')
  })

  it('exits 2 with the apt command when QEMU or tools are missing', async () => {
    const d = captureDeps(fakeKernel({ missingTools: true }))
    expect(await oracleCommand([OPEN_CLOSE], {}, d)).toBe(2)
    expect(d.stderr()).toContain('missing host tools: qemu-system-x86_64')
    expect(d.stderr()).toContain('apt-get install -y qemu-system-x86')
  })

  it("asks for Debian's linux-source-6.12 only when the guest is built from it", async () => {
    const k = fakeKernel({})
    await oracleCommand([OPEN_CLOSE], {}, captureDeps(k))
    await oracleCommand([OPEN_CLOSE], { kernelTree: '/src/linux' }, captureDeps(k))
    expect(k.toolChecks).toEqual([{ debianSource: true }, { debianSource: false }])
    const b = fakeKernel({})
    await oracleBuildCommand({ tree: '/src/linux' }, captureDeps(b))
    await oracleBuildCommand({}, captureDeps(b))
    expect(b.toolChecks).toEqual([{ debianSource: false }, { debianSource: true }])
  })

  it('exits 2 for an invalid scenario, naming the file and line', async () => {
    const bad = join(tmp, 'bad.yaml')
    writeFileSync(bad, 'name: bad\nsteps:\n  - spawn: { task: a }\n  - mmap: { task: a, region: r, size: lots }\n')
    const k = fakeKernel({})
    const d = captureDeps(k)
    expect(await oracleCommand([bad, OPEN_CLOSE], {}, d)).toBe(2)
    expect(d.stdout()).toContain(`${bad}:4`)
    // an invalid file stops the run before anything boots
    expect(k.calls).toEqual([])
    expect(d.stderr()).toContain('nothing ran on the kernel because of the invalid scenarios above')
  })

  it('exits 2 for an unknown design, for both --kernel and --kernel-tree, for no files, and when a guest fails', async () => {
    expect(await oracleCommand([OPEN_CLOSE], { design: 'D9' }, captureDeps(fakeKernel({})))).toBe(2)
    expect(await oracleCommand([OPEN_CLOSE], { kernel: 'a', kernelTree: 'b' }, captureDeps(fakeKernel({})))).toBe(2)
    expect(await oracleCommand([], {}, captureDeps(fakeKernel({})))).toBe(2)
    const d = captureDeps(fakeKernel({ guestFails: true }))
    expect(await oracleCommand([OPEN_CLOSE], {}, d)).toBe(2)
    expect(d.stdout()).toContain('the guest did not finish within 120 s')
    expect(d.stdout()).toContain('| Kernel panic')
  })

  it('--json prints both sides, the kernel release and the diff; --report writes HTML and JSON', async () => {
    const d = captureDeps(extraUnmap)
    const html = join(tmp, 'r.html')
    expect(await oracleCommand([MIGRATE], { json: true, report: html }, d)).toBe(1)
    const doc = decodeResults(JSON.parse(d.stdout()))
    expect(doc.kernel?.release).toBe('6.12.118-test')
    const o = doc.scenarios[0]!
    expect(o.status).toBe('compared')
    if (o.status === 'compared') {
      expect(o.kernel.side).toBe('kernel')
      expect(o.simulator.side).toBe('simulator')
      expect(o.kernel.steps.length).toBe(o.simulator.steps.length)
      expect(o.comparison.differences[0]?.field).toBe('invalidations')
    }
    const page = readFileSync(html, 'utf8')
    expect(page).toContain('<meta http-equiv="Content-Security-Policy"')
    expect(page).not.toMatch(/<script|https?:\/\//)
    expect(page).toContain('hmm.migrate')
    const json = join(tmp, 'r.json')
    await oracleCommand([MIGRATE], { report: json }, captureDeps(extraUnmap))
    expect(OracleResultsDocumentSchema.safeParse(JSON.parse(readFileSync(json, 'utf8'))).success).toBe(true)
  })
})

describe('hmmlab oracle --kernel-results RECORDED.json', () => {
  const FIXTURE = 'test/fixtures/oracle/selftests__open_close.kernel.json'

  it('compares a recorded results document again without booting, for the files given or all it holds', async () => {
    const json = join(tmp, 'recorded.json')
    expect(await oracleCommand([OPEN_CLOSE, MIGRATE], { report: json }, captureDeps(extraUnmap))).toBe(1)
    const k = fakeKernel({})
    const d = captureDeps(k)
    expect(await oracleCommand([MIGRATE], { kernelResults: [json] }, d)).toBe(1)
    expect(k.calls).toEqual([]) // nothing built, nothing booted
    expect(d.stdout()).toContain(`kernel 6.12.118-test (tcg, fixture (recorded in ${json}))`)
    expect(d.stdout()).toMatch(/first difference: step \d+, line \d+ \(munmap, task self\): invalidations self\/buf/)
    const all = captureDeps(k)
    expect(await oracleCommand([], { kernelResults: [json], json: true }, all)).toBe(1)
    const doc = decodeResults(JSON.parse(all.stdout()))
    expect(doc.scenarios.map((o) => [o.name, o.status === 'compared' ? o.comparison.verdict : o.status])).toEqual([
      ['hmm.open_close', 'agree'],
      ['hmm.migrate', 'differ'],
    ])
    expect(k.calls).toEqual([])
  })

  it('compares one recorded kernel side (a 6.12.118 guest run kept as a fixture)', async () => {
    const k = fakeKernel({})
    const d = captureDeps(k)
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [FIXTURE], json: true }, d)).toBe(0)
    const doc = decodeResults(JSON.parse(d.stdout()))
    expect(doc.kernel).toMatchObject({ release: '6.12.118', accel: 'tcg' })
    const o = doc.scenarios[0]!
    expect(o.status).toBe('compared')
    if (o.status === 'compared') expect(o.kernel).toEqual(JSON.parse(readFileSync(FIXTURE, 'utf8')))
    expect(k.calls).toEqual([])
  })

  it('exits 2 for a truncated, corrupt or foreign file, naming the file and where', async () => {
    const text = readFileSync(FIXTURE, 'utf8')
    const truncated = join(tmp, 'truncated.json')
    writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)))
    let d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [truncated] }, d)).toBe(2)
    expect(d.stderr()).toContain(`${truncated}: the JSON ends early after ${Math.floor(text.length / 2)} bytes: truncated`)
    const corrupt = join(tmp, 'corrupt.json')
    writeFileSync(corrupt, text.replace('"steps":[', '"steps":[\n  }'))
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [corrupt] }, d)).toBe(2)
    expect(d.stderr()).toMatch(new RegExp(`${corrupt}: not valid JSON at line 2, column 3`))
    const wrongField = join(tmp, 'wrong-field.json')
    writeFileSync(wrongField, text.replace('"ret":0', '"ret":"zero"'))
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [wrongField] }, d)).toBe(2)
    expect(d.stderr()).toMatch(/wrong-field\.json: not a valid kernel side: steps\.0\.ret: /)
    const foreign = join(tmp, 'foreign.json')
    writeFileSync(foreign, '{"name": "not ours"}')
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [foreign] }, d)).toBe(2)
    expect(d.stderr()).toContain('its "format" is missing; expected "hmmlab-oracle-results/2" or "hmmlab-oracle-results/1"')
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [join(tmp, 'absent.json')] }, d)).toBe(2)
    expect(d.stderr()).toContain('cannot read')
  })

  it('exits 2 for a scenario the recording lacks, another design, or a kernel option next to it', async () => {
    let d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([MIGRATE], { kernelResults: [FIXTURE] }, d)).toBe(2)
    expect(d.stdout()).toContain(`no kernel side of "hmm.migrate" was recorded in ${FIXTURE} (it holds hmm.open_close)`)
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [FIXTURE], design: 'D1' }, d)).toBe(2)
    expect(d.stderr()).toContain(`${FIXTURE} was recorded under design D5; this run compares D1`)
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([OPEN_CLOSE], { kernelResults: [FIXTURE], kernel: '/boot/bzImage' }, d)).toBe(2)
    expect(d.stderr()).toContain('does not go with --kernel')
    const other = join(tmp, 'other-kernel.json')
    writeFileSync(other, readFileSync('test/fixtures/oracle/selftests__migrate.kernel.json', 'utf8').replace('"release":"6.12.118"', '"release":"6.13.0-mine"'))
    d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([], { kernelResults: [FIXTURE, other] }, d)).toBe(2)
    expect(d.stderr()).toContain('the recordings come from different kernels')
  })

  it('says on stderr when a scenario changed since its kernel side was recorded, and compares what still lines up', async () => {
    const edited = join(tmp, 'open_close.yaml')
    writeFileSync(edited, readFileSync(OPEN_CLOSE, 'utf8') + '# edited after the recording\n')
    const d = captureDeps(fakeKernel({}))
    expect(await oracleCommand([edited], { kernelResults: [FIXTURE] }, d)).toBe(0)
    expect(d.stderr()).toMatch(/note: hmm\.open_close: .*open_close\.yaml changed since the kernel side was recorded \(hash 1c7a54abd250f45a → [0-9a-f]+\)/)
  })
})

describe('hmmlab oracle fidelity RESULTS.json', () => {
  it("rewrites docs/fidelity.md's marked section from the results, and nothing else", async () => {
    const json = join(tmp, 'f.json')
    await oracleCommand([OPEN_CLOSE, MIGRATE], { report: json }, captureDeps(extraUnmap))
    const doc = join(tmp, 'fidelity.md')
    writeFileSync(doc, `# Fidelity\n\nbefore\n\n${BEGIN_MARK}\nold table\n${END_MARK}\n\nafter\n`)
    expect(oracleFidelityCommand(json, { doc }, captureDeps(extraUnmap))).toBe(0)
    const text = readFileSync(doc, 'utf8')
    expect(text).toMatch(/^# Fidelity\n\nbefore\n\n/)
    expect(text).toMatch(/\nafter\n$/)
    expect(text).not.toContain('old table')
    expect(text).toMatch(/\| hmm\.open_close \| `scenarios\/selftests\/open_close\.yaml` \| agrees \|/)
    expect(text).toMatch(/\| hmm\.migrate \| `scenarios\/selftests\/migrate\.yaml` \| \*\*differs\*\* \| 1 new, 0 known; first: step \d+, line \d+ \(munmap\)/)
    // a second run changes nothing
    const d = captureDeps(extraUnmap)
    expect(oracleFidelityCommand(json, { doc }, d)).toBe(0)
    expect(d.stdout()).toContain('already up to date')
  })
  it('exits 2 for a document without markers or a file that is not a results document', () => {
    const doc = join(tmp, 'nomark.md')
    writeFileSync(doc, '# no markers\n')
    const json = join(tmp, 'junk.json')
    writeFileSync(json, '{"format": "something else"}')
    const d = captureDeps(fakeKernel({}))
    expect(oracleFidelityCommand(json, { doc }, d)).toBe(2)
    expect(d.stderr()).toContain('format')
    expect(oracleFidelityCommand(join(tmp, 'missing.json'), { doc }, captureDeps(fakeKernel({})))).toBe(2)
  })
  it('refuses results that miss scenarios the table lists or name files outside the repository, unless --force (review 8 #10)', async () => {
    // the table as it is: two shipped scenarios
    const both = join(tmp, 'both.json')
    await oracleCommand([OPEN_CLOSE, MIGRATE], { report: both }, captureDeps(fakeKernel({})))
    const doc = join(tmp, 'fidelity-guard.md')
    writeFileSync(doc, `# Fidelity\n\n${BEGIN_MARK}\nold table\n${END_MARK}\n`)
    expect(oracleFidelityCommand(both, { doc }, captureDeps(fakeKernel({})))).toBe(0)
    const table = readFileSync(doc, 'utf8')
    expect(tableFiles(table)).toEqual([OPEN_CLOSE, MIGRATE])

    // results of one of them would drop the other's row: refused, the document untouched
    const one = join(tmp, 'one.json')
    await oracleCommand([OPEN_CLOSE], { report: one }, captureDeps(fakeKernel({})))
    let d = captureDeps(fakeKernel({}))
    expect(oracleFidelityCommand(one, { doc }, d)).toBe(2)
    expect(d.stderr()).toContain(`covers 1 of the 2 scenarios ${doc}'s table lists: rewriting would drop ${MIGRATE}`)
    expect(d.stderr()).toContain('--force')
    expect(readFileSync(doc, 'utf8')).toBe(table)

    // results for a scenario outside the repository: refused, whatever they cover
    const outsideFile = join(tmp, 'outside.yaml')
    writeFileSync(outsideFile, readFileSync(OPEN_CLOSE, 'utf8'))
    const outside = join(tmp, 'outside.json')
    await oracleCommand([OPEN_CLOSE, MIGRATE, outsideFile], { report: outside }, captureDeps(fakeKernel({})))
    d = captureDeps(fakeKernel({}))
    expect(oracleFidelityCommand(outside, { doc }, d)).toBe(2)
    expect(d.stderr()).toContain(`has results for 1 file outside the repository (${outsideFile})`)
    expect(readFileSync(doc, 'utf8')).toBe(table)

    // --force replaces the table all the same
    d = captureDeps(fakeKernel({}))
    expect(oracleFidelityCommand(one, { doc, force: true }, d)).toBe(0)
    expect(tableFiles(readFileSync(doc, 'utf8'))).toEqual([OPEN_CLOSE])
  })

  it("reads the shipped table's files, every one inside the repository", () => {
    const files = tableFiles(readFileSync('docs/fidelity.md', 'utf8'))
    expect(files.length).toBeGreaterThan(50)
    expect(files).toContain('scenarios/selftests/anon_read.yaml')
    expect(files.every((f) => f.startsWith('scenarios/'))).toBe(true)
  })

  it('the shipped docs/fidelity.md has the markers', () => {
    const text = readFileSync('docs/fidelity.md', 'utf8')
    expect(text.indexOf(BEGIN_MARK)).toBeGreaterThan(0)
    expect(text.indexOf(END_MARK)).toBeGreaterThan(text.indexOf(BEGIN_MARK))
  })
})

describe('hmmlab oracle build / hmm-tests', () => {
  it('build prints the cached kernel; exits 2 without the tools', async () => {
    const d = captureDeps(fakeKernel({}))
    expect(await oracleBuildCommand({}, d)).toBe(0)
    expect(d.stdout()).toContain('kernel 6.12.118-test from fixture')
    const d2 = captureDeps(fakeKernel({ missingTools: true }))
    expect(await oracleBuildCommand({}, d2)).toBe(2)
    expect(d2.stderr()).toContain('apt-get install')
  })
  it("puts the kernel's TAP results next to the simulator's replay and says where each test comes from", async () => {
    const d = captureDeps(fakeKernel({}))
    expect(await oracleHmmTestsCommand({ json: true }, d)).toBe(0)
    const rows = JSON.parse(d.stdout()) as Array<{ test: string; fixture: string; kernel: string; simulator: string; source: string; agree: boolean | null }>
    expect(rows.find((r) => r.test === 'anon_read' && r.fixture.includes('private'))).toMatchObject({
      kernel: 'pass',
      simulator: 'passed',
      source: 'both',
      agree: true,
    })
    expect(rows.find((r) => r.test === 'anon_read' && r.fixture.includes('coherent'))).toMatchObject({ kernel: 'skip', agree: null })
    // tests our scenarios have and this (fake) kernel's file does not
    expect(rows.filter((r) => r.source === 'scenarios only').length).toBeGreaterThan(30)
  })
})

describe('the command line', () => {
  it('dispatches oracle FILE..., oracle build and oracle fidelity', async () => {
    const seen: string[] = []
    const program = new Command().exitOverride()
    const k = fakeKernel({})
    registerOracleCommand(program, () => {
      const d = captureDeps(k)
      return { ...d, out: (s) => seen.push(s), err: () => {} }
    })
    await program.parseAsync(['node', 'hmmlab', 'oracle', OPEN_CLOSE, '--design', 'D5'])
    expect(seen.join('')).toContain('1 agree')
    await program.parseAsync(['node', 'hmmlab', 'oracle', 'build', '--tree', '/src/linux'])
    expect(seen.join('')).toContain('kernel 6.12.118-test')
    expect(k.calls).toContain('buildKernel')
    // a subcommand's own --kernel is not taken by the parent command
    // (the image is checked before a guest starts: a file with the x86 boot header stands for one)
    const image = join(tmp, 'bzImage')
    const head = Buffer.alloc(0x400)
    head.write('HdrS', 0x202, 'latin1')
    writeFileSync(image, head)
    await program.parseAsync(['node', 'hmmlab', 'oracle', 'hmm-tests', '--kernel', image, '--json'])
    expect(k.calls).toContain(`hmm-tests ${image}`)
    process.exitCode = 0
  })
})
