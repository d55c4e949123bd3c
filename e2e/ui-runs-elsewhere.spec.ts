/**
 * An experiment started elsewhere (here through the HTTP API, as a script or another page would)
 * shows in Runs under its own name with a row per run, not as its id over an empty table: the
 * store takes the name and the runs from `experiments.list` and the stored runs.
 */
import { expect } from './fixtures'
import { workspaceTest, writeWorkspace } from './ui-workspace'
import { statusWords, type RunStatus } from '../src/shared/record'

const test = workspaceTest((root) => writeWorkspace(root, []))

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'browser host only (the experiment is started through its HTTP API)')
})

interface Listed {
  experiments: { id: string; name: string; runIds: string[] }[]
  active: { experimentId: string; finished: boolean }[]
}

test('an experiment started through the API shows its name and its runs in Runs', async ({ appPage: page, browserHost, request }) => {
  const invoke = async <T>(route: string, data: unknown): Promise<T> => {
    const res = await request.post(`${browserHost!.origin}/api/invoke/${route}`, { headers: { 'X-HMMLab-Token': browserHost!.token }, data })
    expect(res.ok(), `${route}: ${await res.text()}`).toBe(true)
    return ((await res.json()) as { result: T }).result
  }
  const started = await invoke<{ experimentId: string; runIds: string[] }>('experiments.start', {
    scenarioId: 'builtin:thread-2014/a-fork-after-mirror.yaml',
    designs: ['D1', 'D5'],
  })
  expect(started.runIds).toHaveLength(2)
  // it finishes before the page looks: no event of it reaches the page
  await expect
    .poll(async () => (await invoke<Listed>('experiments.list', {})).active.find((a) => a.experimentId === started.experimentId)?.finished, { timeout: 60_000 })
    .toBe(true)
  const listed = (await invoke<Listed>('experiments.list', {})).experiments.find((x) => x.id === started.experimentId)!
  expect(listed.name).not.toBe(started.experimentId)

  const stored = (await invoke<{ runs: { id: string; status: RunStatus }[] }>('runs.list', {})).runs

  await page.reload()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
  const card = page.getByTestId(`experiment-${started.experimentId}`)
  await expect(card.locator('header strong')).toHaveText(listed.name)
  await expect(card).toHaveAttribute('aria-label', `experiment ${listed.name}`)
  await expect(card.getByTestId('experiment-stats')).toContainText('2 / 2 runs')
  // one row per run, each in its stored status, its design and seed from its id
  for (const [i, runId] of started.runIds.entries()) {
    const row = card.getByTestId(`live-run-${runId}`)
    await expect(row.getByTestId('run-design')).toHaveText(['D1', 'D5'][i]!)
    await expect(row.getByTestId('run-seed')).toHaveText('1')
    const status = stored.find((r) => r.id === runId)!.status
    expect(status === 'passed' || status === 'expects_failed', `${runId} ran to its end`).toBe(true)
    await expect(row.getByTestId('run-status')).toHaveText(statusWords(status))
    await expect(row.getByTestId('run-simtime')).not.toHaveText('—')
    await expect(row.getByRole('link', { name: 'results' })).toBeVisible()
  }
  await expect(card.locator('tr.live-row')).toHaveCount(2)
})
