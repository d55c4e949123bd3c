/**
 * Issue 15, runs that did not pass, made by the built CLI itself on the experiment service
 * (`hmmlab run --workers 1 --workspace`) and then opened in the app:
 * - "a failing sweep_expect fails `hmmlab run --workers 1` and is shown failed in the app": three
 *   seeds of a scenario whose sweep_expect asks for a use-after-free in more than half of them,
 *   which never happens; the command exits 1 and the app shows the experiment failed, with the check;
 * - "a step-capped run is stored and shown as stopped with its reason": 400,000 steps, over the
 *   simulator's cap; the command exits 1 and the app's Results view says "stopped (step cap)".
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, ROOT } from './fixtures'
import { gotoHash, workspaceTest } from './ui-workspace'

const SCENARIO = `name: sweep_expect that fails
designs: [D1]
seeds: 3
steps:
  - spawn: { task: A }
  - exit: { task: A }
sweep_expect:
  - { design: D1, finding: use_after_free, fraction: { gt: 0.5 } }
`

const STEP_CAP = `name: step cap
steps:
  - spawn: { task: A }
  - repeat:
      times: 100000
      steps:
${'        - sleep: 1\n'.repeat(4)}  - exit: { task: A }
`

interface Cli {
  status: number | null
  stdout: string
  stderr: string
}
let sweep: Cli | undefined
let capped: Cli | undefined
let experimentId = ''

/** `hmmlab run FILE --workers 1 --workspace ROOT ...` with the built CLI. */
function hmmlab(root: string, name: string, text: string, ...args: string[]): Cli {
  const file = join(root, name)
  writeFileSync(file, text)
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'hmmlab.mjs'), 'run', file, '--workers', '1', '--workspace', root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HMMLAB_COSTS: 'default' },
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const test = workspaceTest((root) => {
  sweep = hmmlab(root, 'sweep-expect.yaml', SCENARIO)
  experimentId = readdirSync(join(root, 'experiments'))[0]!.replace(/\.json$/, '')
  capped = hmmlab(root, 'step-cap.yaml', STEP_CAP, '--design', 'D1')
})

test.beforeEach(({ hostKind }) => {
  test.skip(hostKind !== 'browser', 'needs a prepared workspace (browser host --workspace)')
})

test('a failing sweep_expect fails hmmlab run --workers 1 and the app shows the experiment failed', async ({ appPage: page }) => {
  // the CLI (through the experiment service) exits 1 and says which check failed
  expect(sweep!.status, sweep!.stderr).toBe(1)
  expect(sweep!.stdout).toContain('✗ sweep_expect D1: fraction of 3 seeds with use_after_free: 0.000 (expected > 0.5)')
  expect(sweep!.stdout).toContain('sweep failed')

  await gotoHash(page, `#/results?experiment=${experimentId}`)
  const view = page.getByTestId('experiment-result')
  await expect(view).toBeVisible()
  // every run passed, the experiment did not: its sweep_expect does not hold
  await expect(page.getByTestId('experiment-status')).toHaveText('failed')
  const summary = page.getByTestId('sweep-summary')
  await expect(summary.getByRole('heading')).toHaveText(/Sweep summary\s*failed/)
  await expect(summary.locator('ul.expects li')).toHaveText(['✗ sweep_expect D1: fraction of 3 seeds with use_after_free: 0.000 (expected > 0.5)'])
  await expect(summary.locator('ul.expects li.error')).toHaveCount(1)
})

test('a step-capped run: hmmlab run exits 1, and the app shows it stopped with its reason', async ({ appPage: page }) => {
  expect(capped!.status, capped!.stderr).toBe(1)
  const line = /■ D1 seed 1 {2}stopped \(step cap\) .*\(run stopped after 300000 steps \(step cap\)\) {2}\[(\S+)\]/.exec(capped!.stdout)
  expect(line, capped!.stdout).not.toBeNull()
  await gotoHash(page, `#/results?run=${line![1]}`)
  await expect(page.getByTestId('result-status')).toHaveText('stopped (step cap)')
  await expect(page.getByTestId('result-stop')).toHaveText('Stopped: run stopped after 300000 steps (step cap). The numbers below cover the part that ran.')
})
