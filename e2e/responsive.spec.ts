import { expect, test } from './fixtures'

test.describe('a sweep in the browser host', () => {
  test('the page keeps answering clicks while the sweep runs', async ({ appPage: page, hostKind, browserHost, request }) => {
    test.skip(hostKind !== 'browser', 'browser host only (the sweep is started through its HTTP API)')
    const api = (route: string, data: unknown) =>
      request.post(`${browserHost!.origin}/api/invoke/${route}`, { headers: { 'X-HMMLab-Token': browserHost!.token }, data })
    // Runs of several seconds each, 64 of them: no machine finishes the sweep before the clicks
    // below are done, however many cores it has.
    const started = await api('experiments.start', {
      scenarioId: 'builtin:examples/mirror-under-load.yaml',
      sweep: { axes: { seed: { from: 1, to: 64, step: 1 } } },
      designs: ['D4'],
      name: 'responsiveness sweep',
    })
    expect(started.ok()).toBe(true)
    const { result } = (await started.json()) as { result: { experimentId: string; runIds: string[] } }
    expect(result.runIds.length).toBe(64)

    const nav = page.getByRole('navigation', { name: 'Main' })
    for (const view of ['Results', 'Hardware', 'Runs', 'Compare', 'Reports', 'Experiments']) {
      await nav.getByRole('link', { name: view }).click()
      await expect(page.getByRole('heading', { name: view, level: 2 })).toBeVisible()
    }
    // The clicks above were answered while the sweep was still running.
    const listed = await api('experiments.list', {})
    const { result: list } = (await listed.json()) as { result: { active: { experimentId: string; finished: boolean; done: number; total: number }[] } }
    const mine = list.active.find((e) => e.experimentId === result.experimentId)
    expect(mine).toBeDefined()
    expect(mine!.finished).toBe(false)
    await api('experiments.cancel', { experimentId: result.experimentId })
  })
})
