/** The scenario library: built-in and workspace files, ids that cannot leave their folder, a cache that follows edits. */
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createLabServices } from '../../src/main/services'

const workspace = mkdtempSync(join(tmpdir(), 'hmmlab-library-'))
const services = createLabServices({ workspace })
afterAll(() => services.close())
const scenario = (name: string) => `name: ${name}\ndesigns: [D4]\nsteps:\n  - spawn: { task: A }\n  - exit: { task: A }\n`

describe('scenario library', () => {
  it('lists built-in scenarios by folder and the workspace ones, and follows edits of a file', async () => {
    const id = await services.scenarios.save('mine/first.yaml', scenario('first version'))
    expect(id).toBe('workspace:mine/first.yaml')
    const before = await services.scenarios.list()
    expect(before.find((e) => e.id === id)).toMatchObject({ source: 'workspace', group: 'mine', name: 'first version' })
    expect(before.some((e) => e.id === 'builtin:thread-2014/a-fork-after-mirror.yaml' && e.group === 'thread-2014')).toBe(true)
    const path = join(workspace, 'scenarios', 'mine', 'first.yaml')
    writeFileSync(path, scenario('second version, longer'))
    utimesSync(path, new Date(), new Date(Date.now() + 5000))
    expect((await services.scenarios.list()).find((e) => e.id === id)?.name).toBe('second version, longer')
  })

  it('lists a broken file with its error instead of hiding it', async () => {
    await services.scenarios.save('broken.yaml', 'name: broken\nsteps: 3\n')
    const entry = (await services.scenarios.list()).find((e) => e.id === 'workspace:broken.yaml')
    expect(entry?.error).toMatch(/broken\.yaml:\d+: steps/)
  })

  it('refuses ids and file names that would leave their folder', async () => {
    for (const id of ['builtin:../package.json', 'workspace:/etc/passwd.yaml', 'workspace:a/../../b.yaml', 'other:x.yaml']) {
      expect(() => services.scenarios.resolveId(id), id).toThrow()
    }
    await expect(services.scenarios.save('../escape.yaml', 'x')).rejects.toThrow()
  })
})
