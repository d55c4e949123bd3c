/**
 * Issue 18 on the files the command line reads or writes for a user: a FIFO, /dev/zero, a
 * symlink (to /dev/zero), a sparse file one byte over the limit and a folder, given to
 * `hmmlab run`, `--costs`, `hmmlab calibrate -o`, `hmmlab import strace|proc` (and `-o`) and
 * `hmmlab oracle` (`FILE`, `--kernel`, `--tolerances`, `oracle fidelity`). Each must end at once
 * with exit 2 and an error naming the file; nothing may wait on the FIFO or read /dev/zero.
 * Outputs (`hmmlab report -o`, `run --out DIR`, `run --report FILE`): a FIFO, /dev/full, a folder,
 * a link, a path through a dangling link or a file, an unwritable folder and a write cut short by
 * the file size limit are refused with the path and why, and never leave a half-written file.
 * The cases run in one child process (cli-files-main.ts): a read that blocked would stop it, and
 * the test names the case that never ended.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

interface Case {
  name: string
  code: number
  out: string
  err: string
}

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cli-files-'))
const cases = new Map<string, Case>()
let unfinished: string | undefined
let childStderr = ''

beforeAll(() => {
  // A generous bound: it only turns a hang into a failure (each case takes milliseconds).
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'cli-files-main.ts'), join(dir, 'files')], {
    encoding: 'utf8',
    timeout: 480_000,
    maxBuffer: 64 << 20,
  })
  childStderr = r.stderr
  let started: string | undefined
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('START ')) started = line.slice(6)
    else if (line.startsWith('CASE ')) {
      const c = JSON.parse(line.slice(5)) as Case
      cases.set(c.name, c)
      started = undefined
    }
  }
  unfinished = started
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function get(name: string): Case {
  expect(unfinished, `case "${unfinished}" never ended (blocked?); child stderr: ${childStderr.slice(-2000)}`).toBeUndefined()
  const c = cases.get(name)
  expect(c, `case "${name}" did not run; child stderr: ${childStderr.slice(-2000)}`).toBeDefined()
  return c!
}

const HOSTILE = ['fifo', 'devzero', 'link'] as const
const path = (kind: string): RegExp =>
  new RegExp(
    { fifo: '/pipe', devzero: '/dev/zero', link: '/zero-link', huge: '/huge', folder: '/folder', missing: '/missing', 'not-image': '/not-a-bzImage' }[
      kind
    ]!.replace(/[/.]/g, '\\$&'),
  )
const WHY: Record<string, RegExp> = {
  fifo: /not a regular file/,
  devzero: /not a regular file/,
  link: /is a symbolic link|a link to \/dev\/zero\): not a regular file/,
  huge: /over the limit|more than the/,
  folder: /is a folder/,
}

describe('files named on the command line (issue 18)', () => {
  it('hmmlab run FILE: a FIFO, /dev/zero, a link and a file over 4 MiB are refused with the path', () => {
    for (const kind of [...HOSTILE, 'huge']) {
      const c = get(`run ${kind}`)
      expect(c.code, kind).toBe(2)
      expect(c.err, kind).toMatch(/hmmlab run: cannot read scenario /)
      expect(c.err, kind).toMatch(path(kind))
      expect(c.err, kind).toMatch(WHY[kind]!)
    }
  })

  it('--costs FILE: the calibration is read bounded, a regular file only', () => {
    for (const kind of [...HOSTILE, 'huge']) {
      const c = get(`costs ${kind}`)
      expect(c.code, kind).toBe(2)
      expect(c.err, kind).toMatch(/hmmlab run: calibration /)
      expect(c.err, kind).toMatch(path(kind))
      expect(c.err, kind).toMatch(WHY[kind]!)
    }
  })

  it('hmmlab calibrate -o FILE: a FIFO, a device, a link or a folder is refused before measuring', () => {
    for (const kind of [...HOSTILE, 'folder']) {
      const c = get(`calibrate-o ${kind}`)
      expect(c.code, kind).toBe(2)
      expect(c.err, kind).toMatch(/^hmmlab calibrate: calibration /)
      expect(c.err, kind).toMatch(path(kind))
      expect(c.err, kind).not.toMatch(/calibrate: (compile|fault)/)
    }
    expect(get('calibrate-o devzero').err).toMatch(/not a regular file/)
  })

  it('hmmlab import strace|proc FILE: refused with the path; -o into a FIFO or through a link is refused', () => {
    for (const cmd of ['strace', 'proc']) {
      for (const kind of [...HOSTILE, 'huge']) {
        const c = get(`import-${cmd} ${kind}`)
        expect(c.code, `${cmd} ${kind}`).toBe(2)
        expect(c.err, `${cmd} ${kind}`).toMatch(new RegExp(`^hmmlab import ${cmd}: (strace log|smaps) `))
        expect(c.err, `${cmd} ${kind}`).toMatch(path(kind))
        expect(c.err, `${cmd} ${kind}`).toMatch(WHY[kind]!)
      }
    }
    expect(get('import-strace-o fifo')).toMatchObject({ code: 2, err: expect.stringMatching(/output file .*\/pipe: exists and is not a regular file/) })
    expect(get('import-strace-o link')).toMatchObject({ code: 2, err: expect.stringMatching(/output file .*\/zero-link: is a symbolic link/) })
    expect(get('import-strace-o ok').code).toBe(0)
  })

  it('hmmlab oracle FILE --kernel BZIMAGE: the image is checked before a guest starts', () => {
    for (const kind of [...HOSTILE, 'huge', 'not-image', 'missing']) {
      const c = get(`oracle-kernel ${kind}`)
      expect(c.code, kind).toBe(2)
      expect(c.err, kind).toMatch(/^hmmlab oracle: kernel image /)
      expect(c.err, kind).toMatch(path(kind))
    }
    expect(get('oracle-kernel not-image').err).toMatch(/not an x86 bzImage \(no "HdrS" boot header at offset 0x202\)/)
    expect(get('oracle-kernel missing').err).toMatch(/no such file/)
    // a link to a real image (a kernel tree's arch/x86_64/boot/bzImage is one) is followed
    expect(get('oracle-kernel image-link').code).toBe(0)
  })

  it('hmmlab oracle: scenario files, --tolerances and oracle fidelity read bounded, regular files only', () => {
    for (const kind of HOSTILE) {
      const c = get(`oracle-file ${kind}`)
      expect(c.code, kind).toBe(2)
      expect(c.out, kind).toMatch(/cannot read scenario /)
      expect(c.out, kind).toMatch(path(kind))
    }
    expect(get('oracle-tolerances fifo')).toMatchObject({ code: 2, err: expect.stringMatching(/declarations .*\/pipe: not a regular file/) })
    expect(get('oracle-fidelity fifo')).toMatchObject({ code: 2, err: expect.stringMatching(/results .*\/pipe: not a regular file/) })
  })

  const BAD_OUTPUT: Record<string, [RegExp, RegExp]> = {
    fifo: [/\/pipe/, /exists and is not a regular file \(a FIFO\); not written/],
    devfull: [/\/dev\/full/, /exists and is not a regular file \(a character device\); not written/],
    folder: [/\/folder/, /is a folder, not a file; not written/],
    link: [/\/zero-link/, /is a symbolic link \(to \/dev\/zero\)/],
    dangling: [/\/dangling/, /is a symbolic link \(to .*\/nowhere\/at-all\)/],
    'through-dangling': [/\/dangling\/out\.html/, /the folder .*\/dangling is a symbolic link to nothing/],
    'through-file': [/\/regular\/out\.html/, /a part of the path is not a folder/],
  }
  /** Every case of BAD_OUTPUT given to one command: exit 2, the command's prefix, the path and why. */
  function expectBadOutputsRefused(command: string, prefix: RegExp): void {
    for (const [kind, [where, why]] of Object.entries(BAD_OUTPUT)) {
      const c = get(`${command} ${kind}`)
      expect(c.code, kind).toBe(2)
      expect(c.err, kind).toMatch(prefix)
      expect(c.err, kind).toMatch(where)
      expect(c.err, kind).toMatch(why)
    }
  }

  it('hmmlab report -o FILE: a FIFO, /dev/full, a folder, links and impossible folders are refused with the path and why', () => {
    expectBadOutputsRefused('report-o', /^hmmlab report: report /)
    // a real report replaces an old file whole
    expect(get('report-o ok').code).toBe(0)
    expect(readFileSync(join(dir, 'files', 'old.html'), 'utf8')).toMatch(/^<!doctype html>[\s\S]*<\/html>\s*$/i)
  })

  it('hmmlab run --report FILE: a bad report path is refused before any run starts; scenario inputs are read safely', () => {
    expectBadOutputsRefused('run-report', /^hmmlab run: report /)
    expect(get('run-report folder-input').err).toMatch(/cannot read scenario .*\/folder: is a folder, not a file/)
    expect(get('run-report fifo-input').err).toMatch(/cannot read scenario .*\/pipe: not a regular file \(a FIFO\)/)
    expect(get('run folder')).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read scenario .*\/folder: is a folder, not a file/) })
    // only the good case made a run: every refusal came first
    expect(get('run-report ok').code).toBe(0)
    expect(readdirSync(join(dir, 'files', 'ws', 'runs')).filter((n) => !n.startsWith('.'))).toHaveLength(1)
    expect(readFileSync(join(dir, 'files', 'run-report.html'), 'utf8')).toMatch(/<\/html>\s*$/i)
  })

  it('hmmlab run --out DIR: a file, a link to nothing or a FIFO in the folder is refused with the path, nothing half-written', () => {
    expect(get('run-out file')).toMatchObject({ code: 2, err: expect.stringMatching(/--out folder .*\/regular is not a folder/) })
    expect(get('run-out dangling')).toMatchObject({ code: 2, err: expect.stringMatching(/--out folder .*\/dangling is a symbolic link to nothing/) })
    expect(get('run-out fifo-inside')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/result file .*\/out\/ok\.D1\.seed1\.json: exists and is not a regular file/),
    })
    expect(get('run-out ok').code).toBe(0)
    expect(readdirSync(join(dir, 'files', 'out-ok'))).toEqual(['ok.D1.seed1.json'])
    expect(JSON.parse(readFileSync(join(dir, 'files', 'out-ok', 'ok.D1.seed1.json'), 'utf8'))).toMatchObject({
      schema: 'hmmlab.run-record/1',
      meta: { design: { id: 'D1' } },
    })
  })

  it('a write cut short (file size limit, EFBIG) leaves the old file whole and no temporary file', () => {
    expect(get('report-o efbig')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/report .*\/big\/report\.html: not written: larger than the file size limit \(ulimit -f\) \(EFBIG\)/),
    })
    expect(readdirSync(join(dir, 'files', 'big'))).toEqual(['report.html'])
    expect(readFileSync(join(dir, 'files', 'big', 'report.html'), 'utf8')).toBe('the old report\n')
  })

  it('an unwritable folder is refused with its path, nothing created in it (as nobody when started as root)', () => {
    expect(get('report-o unwritable')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/report .*\/ro\/report\.html: the folder .*\/ro is not writable: permission denied \(EACCES\)/),
    })
    expect(get('run-out unwritable')).toMatchObject({ code: 2, err: expect.stringMatching(/--out folder .*\/ro is not writable: permission denied/) })
    expect(get('run-out unwritable-sub')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--out folder .*\/ro\/sub: cannot create it: permission denied \(EACCES\)/),
    })
    expect(get('write unwritable').err).toMatch(
      /result file .*\/ro\/x\.json: cannot create a file in the folder .*\/ro: permission denied \(EACCES\); not written/,
    )
    expect(readdirSync(join(dir, 'files', 'ro'))).toEqual([])
  })
})
