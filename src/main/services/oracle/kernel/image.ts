/**
 * The guest's initramfs: a "newc" cpio archive (the format the kernel's initramfs unpacker reads,
 * init/initramfs.c) written directly, so no root rights are needed for its /dev/console node.
 */
import { readFileSync } from 'node:fs'

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number }

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFCHR = 0o020000

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4
}

/** The archive bytes (entries in the given order, then the TRAILER!!! record). */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = []
  let ino = 1
  const rec = (name: string, mode: number, data: Buffer, rdevmajor = 0, rdevminor = 0, nlink = 1): void => {
    const nameBuf = Buffer.from(name + '\0', 'utf8')
    const hdr =
      '070701' +
      hex8(ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(nlink) +
      hex8(0) + // mtime: fixed, so the same inputs give the same bytes
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(rdevmajor) +
      hex8(rdevminor) +
      hex8(nameBuf.length) +
      hex8(0) // check
    const h = Buffer.from(hdr, 'ascii')
    parts.push(h, nameBuf, Buffer.alloc(pad4(h.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length)))
  }
  for (const e of entries) {
    const p = e.path.replace(/^\/+/, '')
    if (p === '' || p.split('/').includes('..')) throw new Error(`cpio: bad path ${JSON.stringify(e.path)}`)
    if (e.kind === 'dir') rec(p, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), 0, 0, 2)
    else if (e.kind === 'file') rec(p, S_IFREG | (e.mode ?? 0o644), e.data)
    else rec(p, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), e.major, e.minor)
  }
  rec('TRAILER!!!', 0, Buffer.alloc(0))
  const out = Buffer.concat(parts)
  // the kernel reads the archive in 512-byte blocks; pad like cpio(1) does
  return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)])
}

/** Reads a newc archive back (for tests and for checking what an image holds). */
export function readCpio(buf: Buffer): Array<{ path: string; mode: number; size: number; rdev: [number, number]; data: Buffer }> {
  const out: Array<{ path: string; mode: number; size: number; rdev: [number, number]; data: Buffer }> = []
  let off = 0
  for (;;) {
    if (off + 110 > buf.length) throw new Error('cpio: truncated header')
    const magic = buf.toString('ascii', off, off + 6)
    if (magic !== '070701') throw new Error(`cpio: bad magic at ${off}`)
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16)
    const mode = field(1)
    const size = field(6)
    const rdev: [number, number] = [field(9), field(10)]
    const namesize = field(11)
    const nameStart = off + 110
    const path = buf.toString('utf8', nameStart, nameStart + namesize - 1)
    let p = nameStart + namesize
    p += pad4(p)
    const data = buf.subarray(p, p + size)
    p += size
    p += pad4(p)
    off = p
    if (path === 'TRAILER!!!') break
    out.push({ path, mode, size, rdev, data })
  }
  return out
}

/** The oracle's initramfs: busybox, the executor, hmm-tests (when built) and /init. */
export function guestInitramfs(files: { busybox: string; executor: string; init: string; hmmTests: string | null }): Buffer {
  const entries: CpioEntry[] = [
    { kind: 'dir', path: 'bin' },
    { kind: 'dir', path: 'dev' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { kind: 'dir', path: 'proc' },
    { kind: 'dir', path: 'sys' },
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
    { kind: 'dir', path: 'run' },
    { kind: 'dir', path: 'out' },
    { kind: 'file', path: 'bin/busybox', data: readFileSync(files.busybox), mode: 0o755 },
    { kind: 'file', path: 'executor', data: readFileSync(files.executor), mode: 0o755 },
    { kind: 'file', path: 'init', data: readFileSync(files.init), mode: 0o755 },
  ]
  if (files.hmmTests) entries.push({ kind: 'file', path: 'hmm-tests', data: readFileSync(files.hmmTests), mode: 0o755 })
  return writeCpio(entries)
}
