/**
 * `reports.export` leaves this machine's probe out when asked (the app's "Include this machine's
 * probe" box, the CLI's --no-probe): a report shared outside the lab need not carry the host's
 * kernel command line and PCI list.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHandlers } from '../../src/main/api/handlers'
import { createRouter } from '../../src/main/api/router'
import { createLabServices } from '../../src/main/services'

const services = createLabServices({ workspace: mkdtempSync(join(tmpdir(), 'hmmlab-probe-optout-')), threads: 1 })
afterAll(() => services.close())
const fileName = 'selftests/anon_read.yaml'
const text = readFileSync(join(__dirname, '../../scenarios', fileName), 'utf8')

describe('reports.export probe option', () => {
  it('with probe: false the report says no probe was requested and carries no host details', async () => {
    const router = createRouter(createHandlers(services), { host: 'browser' })
    const summary = await (await services.experiments.start({ scenarioText: text, fileName, designs: ['D5'] })).done
    const target = { kind: 'run', runId: summary.runs[0]!.id }
    const without = (await router.invoke('reports.export', { target, format: 'json', probe: false })) as { content: string }
    expect(JSON.parse(without.content).probe).toEqual({ status: 'unavailable', reason: 'not requested' })
    const html = (await router.invoke('reports.export', { target, format: 'html', probe: false })) as { content: string }
    expect(html.content).toContain('not requested')
    const cmdline = readFileSync('/proc/cmdline', 'utf8').trim()
    if (cmdline.length > 8) expect(html.content).not.toContain(cmdline)
    const withProbe = (await router.invoke('reports.export', { target, format: 'json' })) as { content: string }
    expect(JSON.parse(withProbe.content).probe.status).not.toBe(undefined)
    expect(JSON.parse(withProbe.content).probe.reason).not.toBe('not requested')
    await expect(router.invoke('reports.export', { target, format: 'json', probe: 'no' })).rejects.toMatchObject({ code: 'bad_request' })
  }, 60_000)
})
