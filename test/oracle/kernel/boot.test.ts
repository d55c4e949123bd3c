/**
 * The real guest, when the cached kernel exists (`npx tsx scripts/oracle-kernel-fixtures.ts` or
 * `hmmlab oracle build` makes it; minutes): anon_read's READ returns cpages 1024, a munmap is an
 * UNMAP over the region, and the executor's data checks pass. Skipped, saying why, without one.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../../src/sim/index'
import { findCachedKernel, runScenariosOnKernel, checkHostTools } from '../../../src/main/services/oracle/kernel/index'

const root = join(__dirname, '../../..')
const kernel = await findCachedKernel({}).catch(() => null)
const tools = checkHostTools()
const why = !kernel
  ? 'no cached oracle kernel (build it: npx tsx scripts/oracle-kernel-fixtures.ts)'
  : !tools.ok
    ? `missing host tools: ${tools.missing.join(', ')}`
    : null
if (why) console.log(`[oracle boot test skipped] ${why}`)

describe.skipIf(why !== null)('the real kernel in a QEMU guest', () => {
  it('runs anon_read and a munmap scenario and traces their invalidations', { timeout: 600_000 }, async () => {
    const anonRead = parseScenario(readFileSync(join(root, 'scenarios/selftests/anon_read.yaml'), 'utf8'), 'scenarios/selftests/anon_read.yaml')
    const unmap = parseScenario(
      `name: unmap
machine:
  devices:
    - { name: d, kind: dmirror }
steps:
  - spawn: { task: p }
  - open: { task: p, device: d, fd: f }
  - mmap: { task: p, region: buf, size: 64K }
  - write_data: { task: p, region: buf, pattern: { index_plus: 7 } }
  - expect: { memory: { task: p, region: buf, pattern: { index_plus: 7 } } }
  - munmap: { task: p, region: buf, offset: 16K, size: 32K }
  - exit: { task: p }
`,
      'unmap.yaml',
    )
    const res = await runScenariosOnKernel(
      [
        { scenario: anonRead, design: 'D5' },
        { scenario: unmap, design: 'D5' },
      ],
      { kernel: kernel as NonNullable<typeof kernel> },
    )
    expect(res.release).toMatch(/^\d+\.\d+/)
    const [a, u] = res.outcomes
    if (!a?.ok) throw new Error(`anon_read: ${JSON.stringify(a)}`)
    if (!u?.ok) throw new Error(`unmap: ${JSON.stringify(u)}`)
    const read = a.side.steps.find((s) => s.op === 'device_read')
    expect(read).toMatchObject({ ret: 0, cpages: 1024, faults: 1 })
    // every data check of anon_read holds on the real kernel
    const checks = a.side.steps.flatMap((s) => s.data)
    expect(checks.length).toBeGreaterThanOrEqual(3)
    expect(checks.filter((c) => !c.ok)).toEqual([])
    const mun = u.side.steps.find((s) => s.op === 'munmap')
    expect(mun?.ret).toBe(0)
    const unmaps = mun?.invalidations.filter((i) => i.event === 'UNMAP' && i.via === 'range_start') ?? []
    expect(unmaps.length).toBeGreaterThanOrEqual(1)
    expect(unmaps[0]).toMatchObject({ task: 'p', whole: false, slices: [{ region: 'buf', first: 4, pages: 8 }], outside_pages: 0, owner: null })
    // the mirror's interval subscription received it too
    expect(mun?.invalidations.some((i) => i.via === 'interval' && i.event === 'UNMAP')).toBe(true)
    // the exit releases the whole mm
    const ex = u.side.steps.find((s) => s.op === 'exit')
    expect(ex?.invalidations.some((i) => i.event === 'RELEASE' && i.whole)).toBe(true)
    expect(u.side.steps.find((s) => s.op === 'expect')?.data).toEqual([{ what: 'memory p buf', ok: true, first_bad_page: null }])
  })
})
