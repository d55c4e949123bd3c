import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ImportError, importStrace } from '../../src/main/services/import/strace'
import { importProc, parseMaps } from '../../src/main/services/import/proc'
import { inAddressOrder, readProcFiles } from '../../src/main/services/import/proc-live'
import { parseScenario, runScenario } from '../../src/sim/index'
import type { StepT } from '../../src/shared/scenario'

const W = 'scenarios/workloads'
const fx = (f: string): string => readFileSync(join(__dirname, 'fixtures', f), 'utf8')
const ops = (steps: StepT[]): string[] => steps.map((s) => Object.keys(s)[0] as string)

/** Parses the YAML text an import wrote and runs it under one design. */
function runYaml(yaml: string, design: 'D1' | 'D4' | 'D6' = 'D4') {
  const sc = parseScenario(yaml, 'imported.yaml')
  const r = runScenario(sc, { design })
  // every step's row is in the table (a capped table could hide a failed step)
  expect(r.steps.dropped).toBe(0)
  return { sc, r, failedSteps: r.steps.rows.filter((s) => (s.ret ?? 0) < 0) }
}

const LOG = [
  '100 1.000000 execve("/usr/bin/prog", ["prog"], 0x7ffd /* 5 vars */) = 0',
  '100 1.000100 brk(NULL) = 0x555555559000',
  '100 1.000200 openat(AT_FDCWD, "/lib/libc.so.6", O_RDONLY|O_CLOEXEC) = 3',
  '100 1.000300 newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1922136, ...}, AT_EMPTY_PATH) = 0',
  '100 1.000400 mmap(NULL, 1970000, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7f0000000000',
  '100 1.000500 mmap(0x7f0000028000, 1396736, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x28000) = 0x7f0000028000',
  '100 1.000600 close(3) = 0',
  '100 1.000700 brk(0x55555557a000) = 0x55555557a000',
  '100 1.000800 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000',
  '100 1.000900 mprotect(0x7f1000000000, 65536, PROT_NONE) = 0',
  '100 1.001000 madvise(0x7f1000010000, 65536, MADV_DONTNEED) = 0',
  '100 1.001100 madvise(0x7f1000010000, 65536, MADV_DONTFORK) = 0',
  '100 1.001200 mremap(0x7f1000000000, 1048576, 2097152, MREMAP_MAYMOVE) = 0x7f2000000000',
  '100 1.001300 openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)',
  '100 1.001400 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, exit_signal=0, stack=0x7f3000000000, stack_size=0x7ffe80} => {parent_tid=[101]}, 88) = 101',
  '101 1.001500 mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f4000000000',
  '101 1.001600 munmap(0x7f4000000000, 67108864) = 0',
  '101 1.001700 exit(0) = ?',
  '101 1.001800 +++ exited with 0 +++',
  '100 1.001900 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f5) = 102',
  '102 1.002000 munmap(0x7f2000000000, 1048576) = 0',
  '100 1.002100 vfork( <unfinished ...>',
  '103 1.002200 execve("/bin/true", ["true"], 0x7ffd /* 5 vars */ <unfinished ...>',
  '100 1.002300 <... vfork resumed>) = 103',
  '103 1.002400 <... execve resumed>) = 0',
  '103 1.002500 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f6000000000',
  '103 1.002600 exit_group(0) = ?',
  '103 1.002700 +++ exited with 0 +++',
  '100 1.002800 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=103, si_uid=0, si_status=0} ---',
  '102 1.002900 exit_group(0) = ?',
  '102 1.003000 +++ exited with 0 +++',
  '100 1.003100 brk(0x555555569000) = 0x555555569000',
  '100 1.003200 frobnicate(1, 2) = 0',
  '100 1.003300 exit_group(0) = ?',
  '100 1.003400 +++ exited with 0 +++',
].join('\n')

describe('import strace', () => {
  const r = importStrace(LOG, { device: 'dmirror', iommu: 'intel', forkExit: true, designs: ['D1', 'D4', 'D6'] })

  it('makes one task per process image: execve spawns, fork forks, vfork+execve spawns, a thread is no task', () => {
    expect(r.stats.tasks).toEqual(['prog-100', 'prog-102', 'true-103', 'prog-100-heir'])
    const spawnsAndForks = r.scenario.steps.filter((s) => 'spawn' in s || 'fork' in s || 'exit' in s)
    expect(spawnsAndForks).toEqual([
      { spawn: { task: 'prog-100' } },
      { fork: { task: 'prog-100', child: 'prog-102' } },
      { spawn: { task: 'true-103' } },
      { exit: { task: 'true-103' } },
      { exit: { task: 'prog-102' } },
      { fork: { task: 'prog-100', child: 'prog-100-heir' } },
      { exit: { task: 'prog-100' } },
      { exit: { task: 'prog-100-heir' } },
    ])
  })

  it('maps memory calls to regions at their addresses, MAP_FIXED over a mapping as munmap + mmap', () => {
    const s = r.scenario.steps
    const i = s.findIndex((x) => 'mmap' in x && x.mmap.region === 'libc.so.6-7f0000028000')
    expect(s[i - 1]).toEqual({ munmap: { task: 'prog-100', region: 'libc.so.6-7f0000000000', offset: '160K', size: '1364K' } })
    expect(s[i]).toMatchObject({ mmap: { prot: 'rx', fd: 'libc.so.6.fd3', size: '1364K' } })
    // the file is sized by the larger of its fstat and its mappings
    expect(s.find((x) => 'open_tmpfile' in x)).toEqual({ open_tmpfile: { task: 'prog-100', fd: 'libc.so.6.fd3', size: '1924K' } })
    // brk growth is a heap region; the shrink unmaps its tail
    expect(s.find((x) => 'mmap' in x && x.mmap.region.startsWith('heap'))).toMatchObject({ mmap: { region: 'heap-555555559000', size: '132K', prot: 'rw' } })
    expect(s).toContainEqual({ munmap: { task: 'prog-100', region: 'heap-555555559000', offset: '64K', size: '68K' } })
    expect(s).toContainEqual({ mprotect: { task: 'prog-100', region: 'anon-7f1000000000', size: '64K', prot: 'none' } })
    expect(s).toContainEqual({ madvise: { task: 'prog-100', region: 'anon-7f1000000000', offset: '64K', size: '64K', advice: 'dontneed' } })
    // the thread's mmap acts on the process's mm
    expect(s).toContainEqual({ munmap: { task: 'prog-100', region: 'anon-7f4000000000', size: '64M' } })
    // mremap moves the old range region by region and maps the grown tail
    const moves = s.filter((x) => 'mremap' in x)
    expect(moves.length).toBe(2)
    expect(s).toContainEqual(expect.objectContaining({ mmap: expect.objectContaining({ region: 'anon-7f2000100000', size: '1M' }) }))
  })

  it('keeps 2 MiB alignment and distances inside a 1 GiB window when it moves addresses below 16 TiB', () => {
    const at = (region: string): number => (r.scenario.steps.find((x) => 'mmap' in x && x.mmap.region === region) as { mmap: { at: number } }).mmap.at
    expect(at('libc.so.6-7f0000028000') - at('libc.so.6-7f0000000000')).toBe(0x28000)
    expect(at('anon-7f1000000000') % (2 << 20)).toBe(0)
    expect(at('anon-7f4000000000') + 128 * 2 ** 20).toBeLessThanOrEqual(2 ** 44)
  })

  it('lists what it did not map with its line: failed calls, threads, vfork, signals, advice, unknown calls', () => {
    const byLine = new Map(r.unmapped.map((u) => [u.line, u]))
    expect(byLine.get(12)?.reason).toMatch(/VM_DONTCOPY/)
    expect(byLine.get(14)?.reason).toMatch(/^failed \(ENOENT\)/)
    expect(byLine.get(15)?.reason).toMatch(/no threads/)
    expect(byLine.get(22)?.reason).toMatch(/vfork/)
    expect(byLine.get(29)?.what).toBe('--- SIGCHLD ---')
    expect(byLine.get(33)?.reason).toMatch(/not a memory, process or file call the importer knows/)
    expect(r.yaml).toMatch(/# frobnicate ×1: .*line 33/)
    expect(byLine.has(23)).toBe(false)
  })

  it('writes YAML that parses and runs without a failed step, and shows the D1 fork-and-exit pin', () => {
    for (const d of ['D1', 'D4', 'D6'] as const) {
      const { r: res, failedSteps } = runYaml(r.yaml, d)
      expect(failedSteps).toEqual([])
      expect(res.outcome.status).toBe('passed')
      expect(res.expects.rows.length).toBeGreaterThan(0)
    }
    const d1 = runYaml(r.yaml, 'D1').r
    expect(d1.metrics.leaked_bytes_peak?.value).toBeGreaterThan(0)
    expect(d1.metrics.invalidation_count?.value).toBeGreaterThan(0)
  })

  it('turns timestamps into sleeps that add up to the log span', () => {
    const total = r.scenario.steps
      .filter((s) => 'sleep' in s && typeof s.sleep === 'string' && s.sleep.endsWith('us'))
      .reduce((a, s) => a + parseFloat((s as { sleep: string }).sleep), 0)
    expect(total).toBeGreaterThan(2000)
    expect(total).toBeLessThanOrEqual(3400)
  })

  it('gives every error of a malformed log with its line', () => {
    const bad = LOG.replace('mmap(NULL, 1048576, PROT_READ', 'mmap(NULL, 1048576, "PROT_READ').replace('+++ exited with 0 +++', '+++ exited oddly +++')
    try {
      importStrace(bad)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ImportError)
      expect((e as ImportError).issues.map((i) => i.line)).toEqual([9, 19])
      expect((e as Error).message).toMatch(/line 9, column \d+: a string without its closing quote/)
    }
    expect(() => importStrace('')).toThrow(/no syscall lines/)
  })

  const issuesOf = (log: string): { line: number; reason: string }[] => {
    try {
      importStrace(log)
    } catch (e) {
      expect(e).toBeInstanceOf(ImportError)
      return (e as ImportError).issues
    }
    throw new Error('expected an ImportError')
  }
  const MAP1 = '1234 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000'
  const TAIL = ['1234 fork() = 1235', '1235 exit_group(0) = ?']

  it('a length past user space is blamed on its own line and call, for munmap and mmap alike', () => {
    const un = issuesOf([MAP1, '1234 munmap(0x7f0000000000, 99999999999999999999999) = 0', ...TAIL].join('\n'))
    expect(un).toHaveLength(1)
    expect(un[0]?.line).toBe(2)
    expect(un[0]?.reason).toMatch(/^munmap\(\) length 99999999999999999999999 is larger than all of user space/)
    expect(un[0]?.reason).toContain('do_vmi_munmap')
    const mm = issuesOf([MAP1, '1234 mmap(NULL, 18446744073709551615, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000100000', ...TAIL].join('\n'))
    expect(mm.map((i) => i.line)).toEqual([2])
    expect(mm[0]?.reason).toMatch(/^mmap\(\) length 18446744073709551615 is larger than all of user space.*do_mmap/)
    // a call that failed in the log is what the kernel does: nothing to refuse
    expect(() => importStrace([MAP1, '1234 munmap(0x7f0000000000, 99999999999999999999999) = -1 EINVAL (Invalid argument)', ...TAIL].join('\n'))).not.toThrow()
  })

  it('a wide munmap of nothing is not a mapping: it reserves no simulated address space', () => {
    // 64 TiB from 64 KiB: valid on x86-64 (below TASK_SIZE), unmaps nothing the log mapped
    const r = importStrace([MAP1, '1234 munmap(0x10000, 70368744177664) = 0', ...TAIL].join('\n'))
    expect(r.scenario.steps.filter((s) => 'mmap' in s)).toHaveLength(1)
    expect(r.unmapped.some((u) => u.line === 2 && u.what === 'munmap')).toBe(true)
  })

  it('mappings that do not fit below 16 TiB: the line of the mapping that overflows, and a message that adds up', () => {
    const is = issuesOf(
      [MAP1, '1234 mmap(NULL, 17592186044416, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x600000000000', ...TAIL].join('\n'),
    )
    expect(is.map((i) => i.line)).toEqual([2])
    expect(is[0]?.reason).toContain('make 2 windows, 16386 GiB in all with the 1 GiB gaps between them')
    expect(is[0]?.reason).toContain('the window 0x600000000000-0x700000000000, mapped on this line, is the first that does not fit')
    const one = issuesOf(['1234 mmap(NULL, 17592186044416, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x600000000000', ...TAIL].join('\n'))
    expect(one[0]?.line).toBe(1)
    expect(one[0]?.reason).toContain('make one window of 16384 GiB')
    expect(one[0]?.reason).not.toMatch(/1 separate|1 windows/)
  })

  it('never throws anything but ImportError on mutated logs, and what it returns parses', () => {
    const lines = LOG.split('\n')
    fc.assert(
      fc.property(fc.array(fc.nat({ max: lines.length - 1 }), { maxLength: 8 }), fc.array(fc.nat({ max: lines.length - 1 }), { maxLength: 3 }), (drop, dup) => {
        const ls = lines.filter((_, i) => !drop.includes(i))
        for (const d of dup) ls.splice(d % (ls.length + 1), 0, lines[d] as string)
        try {
          const out = importStrace(ls.join('\n'), { device: 'dmirror' })
          parseScenario(out.yaml, 'mutated.yaml')
        } catch (e) {
          expect(e).toBeInstanceOf(ImportError)
        }
      }),
      { numRuns: 150 },
    )
  })
})

describe('the shipped workloads', () => {
  for (const name of ['python-imports', 'node-script', 'gcc-build']) {
    it(`${name}: the log converts to the shipped scenario's steps, which run without a failed step`, { timeout: 120_000 }, () => {
      const shipped = parseScenario(readFileSync(`${W}/${name}.yaml`, 'utf8'), `${name}.yaml`)
      const again = importStrace(readFileSync(`${W}/${name}.strace.log`, 'utf8'), {
        device: 'dmirror',
        iommu: 'intel',
        forkExit: true,
        designs: ['D1', 'D2', 'D3', 'D4', 'D5', 'D6'],
        ...(name === 'gcc-build' ? { mirror: 'all' as const } : {}),
      })
      expect(again.scenario.steps).toEqual(JSON.parse(JSON.stringify(shipped.steps)))
      const res = runScenario(shipped, { design: 'D4' })
      expect(res.steps.dropped).toBe(0)
      expect(res.steps.rows.filter((s) => (s.ret ?? 0) < 0)).toEqual([])
      expect(res.outcome.status).toBe('passed')
      expect(res.metrics.invalidation_count?.value).toBeGreaterThan(100)
    })
  }
})

describe('import proc', () => {
  it('reads a saved smaps: one mmap per VMA but the vDSO/vsyscall, touches adding up to Rss', () => {
    const text = fx('bash.smaps')
    const { vmas } = parseMaps(text)
    const r = importProc(text, { comm: 'bash', pid: 1 })
    const special = vmas.filter((v) => /^\[(vdso|vvar|vvar_vclock|vsyscall)\]$/.test(v.path)).length
    expect(ops(r.scenario.steps).filter((o) => o === 'mmap').length).toBe(vmas.length - special)
    const rss = vmas
      .filter((v) => !/^\[(vdso|vvar|vvar_vclock|vsyscall)\]$/.test(v.path) && v.perms[0] !== '-')
      .reduce((a, v) => a + (v.fields.get('Rss') ?? 0), 0)
    expect(r.stats.residentBytes).toBe(rss)
    const { r: res, failedSteps } = runYaml(r.yaml, 'D4')
    expect(failedSteps).toEqual([])
    expect(res.outcome.status).toBe('passed')
    // the simulated address space holds the resident pages the smaps lists (file + anonymous)
    expect(res.aggregates.peakBytes.pages).toBeGreaterThanOrEqual(rss)
  })
  it('reads a saved maps without resident pages and says so', () => {
    const r = importProc(fx('bash.maps'))
    expect(ops(r.scenario.steps)).not.toContain('touch')
    expect(r.unmapped.some((u) => u.what === 'resident pages')).toBe(true)
    expect(runYaml(r.yaml).failedSteps).toEqual([])
  })
  it('gives malformed maps lines with their line numbers', () => {
    const bad = fx('bash.maps').split('\n')
    bad[3] = 'zzzz-0000 r--p nonsense'
    bad[6] = '00001000-00000000 r--p 00000000 00:00 0'
    expect(() => importProc(bad.join('\n'))).toThrow(/line 4, column 1: expected a "Field[^\n]*\n\s+line 7, column 1: the range/)
    expect(() => importProc('')).toThrow(ImportError)
  })
  it('tells a torn live smaps (a VMA repeated or overlapping after a re-read) from one in address order', () => {
    const text = fx('bash.smaps')
    expect(inAddressOrder(text)).toBe(true)
    const headers = text.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l))
    expect(headers.length).toBeGreaterThan(3)
    // what m_start resuming at a merged VMA's old vm_start looks like: the second VMA again, after the third
    expect(inAddressOrder([...headers.slice(0, 3), headers[1]].join('\n'))).toBe(false)
  })
  it('imports this test process live', () => {
    const f = readProcFiles(process.pid)
    const r = importProc(f.smaps, { comm: f.comm, pid: process.pid, device: 'dmirror', forkExit: true })
    expect(r.stats.vmas).toBeGreaterThan(10)
    expect(r.stats.residentBytes).toBeGreaterThan(1 << 20)
    const sc = parseScenario(r.yaml, 'live.yaml')
    expect(sc.steps.length).toBeGreaterThan(10)
    expect(() => readProcFiles(2 ** 30)).toThrow(/no process/)
  })
  it('hmmlab import proc PID works from the command line', { timeout: 180_000 }, () => {
    const sleeper = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' })
    expect(sleeper.status).toBe(0)
    const r = spawnSync(join('node_modules', '.bin', 'tsx'), ['src/main/cli/index.ts', 'import', 'proc', String(process.pid), '--device', 'dmirror', '-q'], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(parseScenario(r.stdout, 'stdout.yaml').steps.length).toBeGreaterThan(10)
    const bad = spawnSync(join('node_modules', '.bin', 'tsx'), ['src/main/cli/index.ts', 'import', 'strace', 'test/import/fixtures/bash.maps'], {
      encoding: 'utf8',
    })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/line 1, column \d+: /)
  })
  it('hmmlab import strace writes the scenario and lists what it did not map on stderr; saved maps and smaps must agree', { timeout: 180_000 }, () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hmmlab-import-')), 'gcc.yaml')
    const tsx = join('node_modules', '.bin', 'tsx')
    const r = spawnSync(tsx, ['src/main/cli/index.ts', 'import', 'strace', `${W}/gcc-build.strace.log`, '-o', out, '--device', 'dmirror', '--mirror', 'all'], {
      encoding: 'utf8',
    })
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/^hmmlab import strace: 2481 lines, 2460 calls → \d+ steps, tasks gcc-14843, cc1-14845, as-14847, collect2-14848, ld-14849/)
    expect(r.stderr).toMatch(/vfork ×4: .*; lines 64, 652, 852, 1016/)
    expect(parseScenario(readFileSync(out, 'utf8'), out).steps.filter((s) => 'mirror' in s).length).toBe(5)
    const maps = fx('bash.maps').split('\n')
    maps[0] = maps[0]?.replace('r--p', 'rw-p') ?? ''
    const other = join(mkdtempSync(join(tmpdir(), 'hmmlab-import-')), 'other.maps')
    writeFileSync(other, maps.join('\n'))
    const mismatch = spawnSync(tsx, ['src/main/cli/index.ts', 'import', 'proc', '--maps', other, '--smaps', 'test/import/fixtures/bash.smaps'], {
      encoding: 'utf8',
    })
    expect(mismatch.status).toBe(2)
    expect(mismatch.stderr).toMatch(/do not describe the same address space: maps line 1 /)
  })
})

describe('import strace: one munmap call, one step', () => {
  it('a munmap across several mappings and a hole is one UNMAP range, as unmap_vmas makes it', () => {
    const log = [
      '1 1.0 execve("/bin/x", ["x"], 0x1 /* 1 var */) = 0',
      '1 1.1 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      '1 1.2 mmap(0x7f0000002000, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x7f0000002000',
      '1 1.3 mmap(0x7f0000004000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x7f0000004000',
      '1 1.4 munmap(0x7f0000000000, 20480) = 0',
      '1 1.5 exit_group(0) = ?',
    ].join('\n')
    const r = importStrace(log)
    expect(r.scenario.steps.filter((s) => 'munmap' in s)).toEqual([{ munmap: { task: 'x-1', region: 'anon-7f0000000000', size: '20K' } }])
    const res = runScenario(parseScenario(r.yaml, 'x.yaml'), { design: 'D4' })
    expect(res.steps.dropped).toBe(0)
    expect(res.steps.rows.filter((s) => (s.ret ?? 0) < 0)).toEqual([])
    expect(res.aggregates.counters['invalidate.UNMAP']).toBe(1)
  })
})

describe('import strace: addresses', () => {
  it('a heap that grows across 1 GiB boundaries stays one window: nothing mapped beyond it lands inside it', () => {
    const log = [
      '1 1.0 execve("/bin/x", ["x"], 0x1 /* 1 var */) = 0',
      '1 1.1 brk(NULL) = 0x3fff0000',
      '1 1.2 brk(0xc0010000) = 0xc0010000',
      '1 1.3 mmap(0xc0020000, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0xc0020000',
      '1 1.4 exit_group(0) = ?',
    ].join('\n')
    const r = importStrace(log)
    const maps = r.scenario.steps.filter((s) => 'mmap' in s).map((s) => (s as { mmap: { at: number; size: string } }).mmap)
    expect(maps.map((m) => m.size)).toEqual([`${(0xc0010000 - 0x3fff0000) / 1024}K`, '64K'])
    expect((maps[1]?.at ?? 0) - (maps[0]?.at ?? 0)).toBe(0xc0020000 - 0x3fff0000)
    const res = runScenario(parseScenario(r.yaml, 'x.yaml'), { design: 'D4' })
    expect(res.steps.dropped).toBe(0)
    expect(res.steps.rows.filter((s) => (s.ret ?? 0) < 0)).toEqual([])
  })
})
