/**
 * A host killed while it saves runs (SIGKILL at any point: while a file is half written, between
 * a write and its rename, or between two runs) leaves no half-written run: every run the store
 * lists reads back whole, and nothing is reported as damaged.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RunStore } from '../../../src/main/services/store/run-store'

async function killWhileSaving(dir: string, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'save-loop.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => resolve())
    child.on('exit', (code) => reject(new Error(`save loop exited early (${code})`)))
  })
  await new Promise((r) => setTimeout(r, afterMs))
  const exited = new Promise((r) => child.on('exit', r))
  child.kill('SIGKILL')
  await exited
}

describe('a crash while saving runs', () => {
  it.each([0, 37, 113, 251])(
    'killed %i ms after the first save: every listed run is whole',
    async (afterMs) => {
      const dir = mkdtempSync(join(tmpdir(), 'hmmlab-crash-'))
      await killWhileSaving(dir, afterMs)
      const store = new RunStore(dir)
      const listing = await store.listRuns()
      expect(listing.problems).toEqual([])
      expect(listing.items.length).toBeGreaterThan(0)
      for (const m of listing.items) {
        const run = await store.getRun(m.id)
        expect((run.result as { values: number[] }).values).toHaveLength(200_000)
        expect((run.series['memory.pages'] as { v: number[] }).v).toHaveLength(200_000)
      }
    },
    60_000,
  )
})
