/**
 * The guest's time limits: QEMU's CPU time, so a loaded host that gives a healthy guest little CPU
 * does not stop it, and a much larger wall-clock backstop for a QEMU that gets none. Fake QEMUs
 * (shell scripts) that burn CPU, wait, or end without output; the error says which limit fired
 * and carries the console's tail.
 */
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bootGuest, parseStatCpuMs, processCpuMs, wallBackstopMs, type BootOptions } from '../../../src/main/services/oracle/kernel/qemu'

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-fakeqemu-'))
function fakeQemu(name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\n${body}\n`)
  chmodSync(p, 0o755)
  return p
}

const base: BootOptions = {
  bzImage: '/nonexistent/bzImage',
  initramfs: '/nonexistent/initramfs',
  mode: 'scenarios',
  input: '',
  accel: 'tcg',
  cpuLimitMs: 1000,
  outputBytes: 1 << 20,
}
const proc = existsSync('/proc/self/stat')

describe('reading QEMU CPU time', () => {
  it('adds utime and stime of /proc/PID/stat, after a comm that holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    const line = '4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 9 20 0 3 0 1000 1 1\n'
    expect(parseStatCpuMs(line, 100)).toBe(3000)
    expect(parseStatCpuMs(line, 1000)).toBe(300)
    expect(parseStatCpuMs('garbage', 100)).toBeNull()
    expect(parseStatCpuMs('1 (x) S 1', 100)).toBeNull()
  })

  it.skipIf(!proc)('reads this process, and nothing for one that does not exist', () => {
    expect(processCpuMs(process.pid)).toBeGreaterThan(0)
    expect(processCpuMs(2 ** 30)).toBeNull()
  })

  it('keeps the wall-clock backstop far above the CPU limit', () => {
    expect(wallBackstopMs(1000)).toBe(600_000)
    expect(wallBackstopMs(570_000)).toBe(8 * 570_000)
  })
})

describe.skipIf(!proc)('a guest stopped by a time limit', () => {
  it('stops a guest that burns its CPU budget, saying so, with the console tail', { timeout: 300_000 }, async () => {
    const qemu = fakeQemu('burn', 'echo "fake guest: spinning"\nwhile :; do :; done')
    const r = await bootGuest({ ...base, qemu, cpuLimitMs: 1000, wallLimitMs: 280_000 })
    r.cleanup()
    expect(r.ok).toBe(false)
    expect(r.limit).toBe('cpu')
    expect(r.message).toMatch(/^the guest used up its CPU-time limit: QEMU ran \d+\.\d s of CPU \(limit 1\.0 s\) in \d+\.\d s \(tcg\)$/)
    expect(r.cpuSeconds).toBeGreaterThan(1)
    expect(r.consoleTail).toContain('fake guest: spinning')
  })

  it('ends a guest that gets no CPU at the wall-clock backstop, saying so', { timeout: 300_000 }, async () => {
    const qemu = fakeQemu('wait', 'echo "fake guest: waiting"\nexec sleep 600')
    const r = await bootGuest({ ...base, qemu, cpuLimitMs: 60_000, wallLimitMs: 5000 })
    r.cleanup()
    expect(r.ok).toBe(false)
    expect(r.limit).toBe('wall')
    expect(r.message).toMatch(/^the guest did not finish within the wall-clock backstop of 5 s \(tcg\); QEMU had used \d+\.\d s of its 60\.0 s CPU-time limit/)
    expect(r.consoleTail).toContain('fake guest: waiting')
  })

  it('lets a guest run longer than its CPU budget when it does not use the CPU', { timeout: 300_000 }, async () => {
    // waits 3 s, uses next to no CPU, then powers off without output: no limit fires
    const qemu = fakeQemu('slow', 'echo "fake guest: slow"\nsleep 3\necho "hmmlab: done"\nexit 0')
    const r = await bootGuest({ ...base, qemu, cpuLimitMs: 1000 })
    r.cleanup()
    expect(r.limit).toBeNull()
    expect(r.ok).toBe(false)
    expect(r.message).toBe("the guest's output archive is empty")
    expect(r.cpuSeconds).not.toBeNull()
    expect(r.cpuSeconds as number).toBeLessThan(1)
  })

  it('names the binary when QEMU cannot be started', async () => {
    const r = await bootGuest({ ...base, qemu: join(dir, 'no-such-qemu') })
    r.cleanup()
    expect(r).toMatchObject({ ok: false, limit: null })
    expect(r.message).toMatch(/no-such-qemu: spawn .*ENOENT/)
  })
})
