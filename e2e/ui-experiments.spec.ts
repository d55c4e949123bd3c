import { expect } from './fixtures'
import { chartSummary, workspaceTest } from './ui-workspace'

// An empty temporary workspace: runs started here never land in the user's default workspace.
const test = workspaceTest(() => undefined)

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a temporary workspace (browser host --workspace)')
})

/** The built-in scenario the flow uses (scenarios/thread-2014/a-fork-after-mirror.yaml). */
const FORK = 'builtin:thread-2014/a-fork-after-mirror.yaml'

test.describe('Experiments', () => {
  test('the library is grouped and searchable, each scenario with its description', async ({ appPage: page }) => {
    const library = page.getByRole('complementary', { name: 'Scenario library' })
    // the first view of a fresh host lists the library: slow on a busy machine
    await expect(library.getByRole('group', { name: 'Built-in · thread-2014' })).toBeVisible({ timeout: 30_000 })
    await expect(page.getByTestId(`scenario-${FORK}`)).toContainText('fork')
    await page.getByTestId('library-search').fill('per-mm shared')
    await expect(library.getByRole('button', { name: /one per-mm object shared/ })).toBeVisible()
    await expect(page.getByTestId(`scenario-${FORK}`)).toHaveCount(0)
    await page.getByTestId('library-search').fill('')
    await expect(page.getByTestId(`scenario-${FORK}`)).toBeVisible()
  })

  test('open a built-in scenario, see it valid, break it and see the error at the right line', async ({ appPage: page }) => {
    await page.getByTestId(`scenario-${FORK}`).click()
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    await expect(editor).toContainText('A opens, mirrors, forks B')
    await expect(page.getByTestId('validation')).toHaveText('valid')

    // Add an unknown field on a new last line; the host's validation marks that line. (The editor
    // renders only the lines in view, so the line number is read from the active line's gutter.)
    await editor.click()
    await page.keyboard.press('Control+End')
    const text = await editor.innerText()
    if (!text.endsWith('\n')) await page.keyboard.press('Enter')
    await page.keyboard.type('bogus_field: 1')
    const lineNo = Number(await page.locator('.cm-lineNumbers .cm-activeLineGutter').textContent())
    expect(lineNo).toBeGreaterThan(20)
    const issue = page.getByTestId('validation-issue').first()
    await expect(issue).toContainText(`line ${lineNo}`)
    await expect(issue).toContainText('bogus_field')
    // The editor underlines it too (a lint marker in the gutter).
    await expect(page.locator('.cm-lint-marker-error')).toHaveCount(1)
  })

  test('import a maps file or a log: the scenario opens in the editor; a malformed log shows its lines', async ({ appPage: page }) => {
    await page.getByTestId('import').locator('summary').first().click()
    await page.getByTestId('import-kind').selectOption('proc')
    await page.getByTestId('import-file').setInputFiles('test/import/fixtures/bash.smaps')
    await expect(page.getByTestId('import-summary')).toContainText('VMAs')
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    await expect(editor).toContainText('Imported by `hmmlab import proc`')
    await expect(page.getByTestId('file-name')).toHaveValue('bash.yaml')
    await expect(page.getByTestId('validation')).toHaveText('valid', { timeout: 30_000 })

    await page.getByTestId('import-kind').selectOption('strace')
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'bad.log', mimeType: 'text/plain', buffer: Buffer.from('1 1.0 brk(NULL) = 0x1000\n1 1.1 mmap(NULL, "x) = 3\n') })
    await expect(page.getByTestId('import-issues')).toContainText('line 2')
    await expect(page.getByTestId('import-issues')).toContainText('closing quote')
  })

  test('the sweep builder says how many runs it makes', async ({ appPage: page }) => {
    await page.getByTestId(`scenario-${FORK}`).click()
    await expect(page.getByTestId('run-count')).toContainText('1 run')
    await page.getByTestId('design-D1').check()
    await page.getByTestId('design-D4').check()
    await expect(page.getByTestId('run-count')).toContainText('2 runs')
    await page.getByTestId('sweep-param-0').fill('seed')
    await page.getByTestId('sweep-values-0').fill('1..3')
    await expect(page.getByTestId('run-count')).toContainText('6 runs')
    await page.getByRole('button', { name: 'Add parameter' }).click()
    await page.getByTestId('sweep-param-1').fill('machine.devices.0.ats')
    await page.getByTestId('sweep-values-1').fill('true,false')
    await expect(page.getByTestId('run-count')).toContainText('12 runs')
    await page.getByTestId('sweep-values-1').fill('1,,2')
    await expect(page.getByRole('alert').filter({ hasText: 'empty value in the list' })).toBeVisible()
    await expect(page.getByTestId('sweep-values-1')).toHaveAttribute('aria-invalid', 'true')
    await expect(page.getByTestId('run')).toBeDisabled()
  })

  test('run a built-in scenario, watch its progress, and see its results without a reload', async ({ appPage: page }, testInfo) => {
    test.setTimeout(180_000) // real runs on a busy two-core machine
    await page.getByTestId(`scenario-${FORK}`).click()
    await expect(page.getByTestId('validation')).toHaveText('valid')
    await page.getByTestId('design-D1').check()
    await page.getByTestId('design-D4').check()
    await page.getByTestId('run').click()
    await expect(page.getByTestId('run-error')).toHaveCount(0)
    await expect(page.getByRole('heading', { name: 'Runs', level: 2 })).toBeVisible()

    const progress = page.getByTestId('experiment-progress').first()
    await expect(progress).toHaveAttribute('max', '2')
    await expect(progress).toHaveAttribute('value', '2', { timeout: 60_000 })
    const rows = page.locator('[data-testid^="live-run-"]')
    await expect(rows).toHaveCount(2)
    for (const row of await rows.all()) await expect(row).not.toContainText(/queued|running/)
    // Rows keep the plan's order (they never move as runs finish) and show design and seed whole.
    const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.slice('live-run-'.length)))
    expect(ids).toEqual([...ids].sort())
    await expect(rows.first().locator('code')).toHaveText(/^001-d1-s\d+$/)
    await expect(page.getByRole('progressbar', { name: /^run .* progress$/ }).first()).toBeVisible()
    // Design and Seed columns, and each finished run's own steps and simulated time (never "0/0 steps · 0 ns")
    const card = page.getByRole('article', { name: /^experiment / })
    await expect(card.getByRole('columnheader', { name: 'Design' })).toBeVisible()
    await expect(card.getByRole('columnheader', { name: 'Seed' })).toBeVisible()
    await expect(rows.getByTestId('run-design')).toHaveText(['D1', 'D4'])
    await expect(rows.getByTestId('run-seed')).toHaveText(['1', '1'])
    for (const row of await rows.all()) {
      const steps = /^(\d+)\/(\d+) steps$/.exec((await row.getByTestId('run-steps').textContent())!.trim())
      expect(steps, 'a finished run shows its steps').not.toBeNull()
      expect(Number(steps![2])).toBeGreaterThan(0)
      expect(steps![1]).toBe(steps![2])
      await expect(row.getByTestId('run-simtime')).not.toHaveText(/^(0 ns|—)$/)
      await expect(row.getByRole('progressbar')).toHaveAttribute('value', '100')
    }

    // Finished runs are in Results without a reload.
    await page
      .getByRole('article', { name: /^experiment / })
      .getByRole('link', { name: 'results', exact: true })
      .first()
      .click()
    await expect(page.getByTestId('experiment-result')).toBeVisible()
    await expect(page.getByTestId('experiment-result').getByRole('link', { name: /-d1-/ })).toBeVisible()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Results' }).click()
    const options = page.getByTestId('pick-run').locator('option')
    await expect(options).toHaveCount(3)
    const first = await options.nth(1).getAttribute('value')
    await page.getByTestId('pick-run').selectOption(first!)
    await expect(page.getByTestId('findings')).toBeVisible()
    await expect.poll(async () => (await chartSummary(page, 'memory'))?.datasets.length ?? 0).toBeGreaterThan(0)
    const mem = (await chartSummary(page, 'memory'))!
    expect(mem.axes.y!.title).toMatch(/^memory live \((B|KiB|MiB|GiB)\)$/)
    // the fork run's events sit in its first 121 ms and near its 10 s end: it opens on events only
    expect(mem.axes.x!.title).toBe('simulated time (events only, not to scale)')
    // Bands are object types of the ledger, in its order.
    const labels = mem.datasets.map((d) => d.label)
    const order = ['mm_struct', 'vma', 'cpu_pagetable', 'pages', 'gpu_pagetable', 'iommu_pagetable', 'vram', 'driver_object', 'notifier', 'pasid', 'file']
    const known = labels.filter((l) => order.includes(l))
    expect(known).toEqual([...known].sort((a, b) => order.indexOf(a) - order.indexOf(b)))
    expect(known.length).toBeGreaterThan(0)
    const path = testInfo.outputPath('real-run-results.png')
    await page.screenshot({ path, fullPage: true, mask: [page.getByTestId('app-version')] })
    await testInfo.attach('real-run-results.png', { path, contentType: 'image/png' })
  })

  test('the broken variants B1 and B2 can be chosen, apart from the designs, and B1 shows its use-after-free', async ({ appPage: page }) => {
    test.setTimeout(180_000) // real runs on a busy two-core machine
    await page.getByTestId(`scenario-${FORK}`).click()
    await expect(page.getByTestId('validation')).toHaveText('valid')
    const broken = page.getByTestId('broken-designs')
    await expect(broken.locator('summary')).toContainText('B1, B2')
    await expect(page.getByTestId('design-B1')).toBeHidden()
    await broken.locator('summary').click()
    await expect(broken).toContainText('B2')
    await page.getByTestId('design-B1').check()
    await page.getByTestId('run').click()
    await expect(page.getByTestId('run-error')).toHaveCount(0)
    const progress = page.getByTestId('experiment-progress').first()
    await expect(progress).toHaveAttribute('max', '1')
    await expect(progress).toHaveAttribute('value', '1', { timeout: 60_000 })
    await page
      .getByRole('article', { name: /^experiment / })
      .getByRole('link', { name: 'results', exact: true })
      .first()
      .click()
    await expect(page.getByTestId('experiment-result').getByRole('link', { name: /-b1-/ })).toBeVisible()
    await page.getByTestId('experiment-result').getByRole('link', { name: /-b1-/ }).click()
    await expect(page.getByTestId('findings')).toContainText(/use.after.free/i)
  })

  test('cancel a running experiment: the cancelled runs stay listed and nothing looks finished', async ({ appPage: page }) => {
    test.setTimeout(180_000)
    // Runs of several seconds each: the sweep is still running when Cancel is clicked on any machine.
    await page.getByTestId('scenario-builtin:examples/mirror-under-load.yaml').click()
    await expect(page.getByTestId('validation')).toHaveText('valid')
    await page.getByTestId('sweep-param-0').fill('seed')
    await page.getByTestId('sweep-values-0').fill('1..30')
    await expect(page.getByTestId('run-count')).toContainText('60 runs')
    await page.getByTestId('run').click()
    await expect(page.getByRole('heading', { name: 'Runs', level: 2 })).toBeVisible({ timeout: 30_000 })
    const exp = page.getByRole('article', { name: /^experiment / }).first()
    await exp.getByRole('button', { name: /^cancel experiment/ }).click()
    await expect(exp.getByRole('button', { name: /^cancel experiment/ })).toHaveCount(0, { timeout: 60_000 })
    await expect(exp.getByTestId('experiment-status')).toHaveText('cancelled')
    // not "60 / 60 runs" with a full bar: the runs that ran, and how many were cancelled
    const stats = (await exp.getByTestId('experiment-stats').textContent())!
    const m = /^(\d+) \/ 60 runs.*, (\d+) cancelled/.exec(stats.trim())
    expect(m, stats).not.toBeNull()
    const ran = Number(m![1])
    expect(ran + Number(m![2])).toBeLessThanOrEqual(60)
    expect(ran).toBeLessThan(60)
    await expect(exp.getByTestId('experiment-progress')).toHaveAttribute('value', String(ran))
    // every run keeps its row, the queued ones too (none vanishes); a cancelled run has no results link
    await expect(exp.locator('table.runs-live')).toHaveAttribute('aria-rowcount', '61')
    const cancelled = exp.locator('[data-testid^="live-run-"]').filter({ hasText: 'cancelled' })
    await expect(cancelled.first()).toBeVisible()
    for (const row of (await cancelled.all()).slice(0, 5)) {
      await expect(row.getByRole('link', { name: 'results' })).toHaveCount(0)
      await expect(row.getByRole('progressbar')).not.toHaveAttribute('value', '100')
    }
    // a run cancelled in the queue says so instead of "0/0 steps · 0 ns"
    const last = exp.locator('[data-testid^="live-run-"]').last()
    await exp.locator('.live-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight))
    await expect(last).toContainText('cancelled')
    await expect(last.getByTestId('run-steps')).toHaveText('never started')
    await expect(last.getByTestId('run-simtime')).toHaveText('—')
  })

  test('edit a built-in scenario, save it to the workspace, and run the edited text', async ({ appPage: page }) => {
    test.setTimeout(180_000) // real runs on a busy two-core machine
    await page.getByTestId(`scenario-${FORK}`).click()
    await expect(page.getByTestId('validation')).toHaveText('valid')
    const editor = page.getByRole('textbox', { name: 'Scenario text' })
    // Change the name on line 1: select the line and type a new one.
    await editor.click()
    await page.keyboard.press('Control+Home')
    await page.keyboard.press('Shift+End')
    await page.keyboard.type('name: my fork variant')
    await expect(page.getByRole('heading', { name: /Editor/ })).toContainText('edited')
    await expect(page.getByTestId('validation')).toHaveText('valid')
    await page.getByTestId('file-name').fill('variants/my-fork.yaml')
    await page.getByRole('button', { name: 'Save to workspace' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'saved as workspace:variants/my-fork.yaml' })).toBeVisible()
    const library = page.getByRole('complementary', { name: 'Scenario library' })
    await expect(library.getByRole('group', { name: 'Workspace · variants' })).toContainText('my fork variant')

    await page.getByTestId('design-D5').check()
    await page.getByTestId('run').click()
    await expect(page.getByRole('heading', { name: 'Runs', level: 2 })).toBeVisible({ timeout: 30_000 })
    const exp = page.getByRole('article', { name: 'experiment my fork variant' })
    await expect(exp.getByTestId('experiment-progress')).toHaveAttribute('value', '1', { timeout: 60_000 })
    await expect(exp.locator('[data-testid^="live-run-"]')).toContainText(/passed/)
  })
})
