/**
 * "Electron child exits on parent kill" (issue 18): a parent killed with SIGKILL runs no cleanup,
 * yet none of its children may outlive it. A real parent (parent.ts) starts each kind of child
 * the app starts; the test kills it with SIGKILL and waits, with a generous bound that only turns
 * a survivor into a failure, until every child has ended.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/** True while `pid` runs (a zombie waiting for its new parent to reap it has ended). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

describe.skipIf(process.platform !== 'linux')('children of a parent killed with SIGKILL (issue 18)', () => {
  it('a run process as a utility process, a Node child and a native program all end', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'parent.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
    const pids = await new Promise<Record<string, number>>((resolve, reject) => {
      let out = ''
      parent.stdout.on('data', (b: Buffer) => {
        out += b.toString()
        const m = /PIDS (\{.*\})\n/.exec(out)
        if (m) resolve(JSON.parse(m[1]!) as Record<string, number>)
      })
      parent.on('exit', (code) => reject(new Error(`the parent exited (${code}) before starting its children`)))
    })
    expect(Object.keys(pids).sort()).toEqual(['native', 'node', 'utility'])
    for (const pid of Object.values(pids)) expect(running(pid)).toBe(true)

    parent.kill('SIGKILL')
    // generous: the mechanism, not the speed, is under test (a child checks twice a second)
    let left = Object.entries(pids).filter(([, pid]) => running(pid))
    for (let i = 0; i < 1200 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      left = left.filter(([, pid]) => running(pid))
    }
    for (const [, pid] of left) process.kill(pid, 'SIGKILL')
    expect(left.map(([kind]) => kind)).toEqual([])
  })
})
