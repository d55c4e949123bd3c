/**
 * safe-read.ts: its asynchronous and synchronous readers take the same steps and give the same
 * error for the same file (one error helper, one read loop), and each error says what the file
 * is: a folder, a FIFO, a device, a link (to what), missing, or over the limit.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkOutputPath, readRegularFile, readRegularFileSync, SafeReadError, writeRegularFileSync } from '../../src/main/services/safe-read'

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-safe-read-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const MAX = 1024
const ok = join(dir, 'ok.txt')
writeFileSync(ok, 'hello\n')
const exact = join(dir, 'exact.txt')
writeFileSync(exact, 'x'.repeat(MAX))
const huge = join(dir, 'huge.txt')
const fd = openSync(huge, 'w')
ftruncateSync(fd, MAX + 1)
closeSync(fd)
const folder = join(dir, 'folder')
mkdirSync(folder)
const fifo = join(dir, 'fifo')
execFileSync('mkfifo', [fifo])
const link = join(dir, 'link')
symlinkSync(ok, link)
const dangling = join(dir, 'dangling')
symlinkSync(join(dir, 'nowhere'), dangling)

/** Each case: the path and the error both readers must give (undefined: the contents). */
const CASES: Array<[string, string, RegExp | undefined, string?]> = [
  ['regular', ok, undefined],
  ['exactly at the limit', exact, undefined],
  ['one byte over the limit', huge, new RegExp(`${MAX + 1} bytes, over the limit of ${MAX}$`), 'TOO_LARGE'],
  ['folder', folder, /: is a folder, not a file$/, 'NOT_REGULAR'],
  ['FIFO', fifo, /: not a regular file \(a FIFO\)$/, 'NOT_REGULAR'],
  ['character device', '/dev/zero', /: not a regular file \(a character device\)$/, 'NOT_REGULAR'],
  ['link', link, /: is a symbolic link \(to .*ok\.txt\); give the path of the file itself$/, 'NOT_REGULAR'],
  ['dangling link', dangling, /: is a symbolic link \(to .*nowhere\); give the path of the file itself$/, 'NOT_REGULAR'],
  ['missing', join(dir, 'missing'), /: no such file$/, 'ENOENT'],
  ['through a file', join(ok, 'x'), /: no such file$/, 'ENOENT'],
]

async function outcome(read: () => Promise<Buffer> | Buffer): Promise<string | { message: string; code: string }> {
  try {
    return (await read()).toString('utf8')
  } catch (err) {
    expect(err).toBeInstanceOf(SafeReadError)
    return { message: (err as SafeReadError).message, code: (err as SafeReadError).code }
  }
}

describe('safe-read (issue 18)', () => {
  it.each(CASES)('%s: the same answer from the asynchronous and the synchronous reader', async (_name, path, error, code) => {
    const opts = { maxBytes: MAX, what: 'input' }
    const a = await outcome(() => readRegularFile(path, opts))
    const b = await outcome(() => readRegularFileSync(path, opts))
    expect(b).toEqual(a)
    if (error) {
      expect(a).toMatchObject({ code, message: expect.stringMatching(error) })
      expect((a as { message: string }).message.startsWith(`input ${path}: `)).toBe(true)
    } else expect(typeof a).toBe('string')
  })

  it('an output path says what is in the way, and that nothing was written', () => {
    const msg = (p: string): string => {
      try {
        checkOutputPath(p, 'out')
        return 'ok'
      } catch (err) {
        return (err as Error).message
      }
    }
    expect(msg(ok)).toBe('ok')
    expect(msg(join(dir, 'new.txt'))).toBe('ok')
    expect(msg(folder)).toBe(`out ${folder}: is a folder, not a file; not written`)
    expect(msg(fifo)).toBe(`out ${fifo}: exists and is not a regular file (a FIFO); not written`)
    expect(msg('/dev/full')).toBe('out /dev/full: exists and is not a regular file (a character device); not written')
    expect(msg(dangling)).toMatch(/is a symbolic link \(to .*nowhere\); give the path of the file itself; not written$/)
    expect(msg(join(ok, 'x'))).toBe(`out ${join(ok, 'x')}: a part of the path is not a folder; not written`)
    expect(() => writeRegularFileSync(join(dangling, 'x'), 'data', 'out')).toThrow(
      `out ${join(dangling, 'x')}: the folder ${dangling} is a symbolic link to nothing; not written`,
    )
  })
})
