/**
 * Boots the guest under QEMU: the initramfs does the work and leaves a tar archive on the second
 * virtio disk; the first disk carries the input text. KVM where it can run a stock kernel, else
 * TCG: "auto" boots a probe guest under KVM once per process (a short time limit: a KVM that
 * cannot emulate an instruction stops the guest rather than QEMU) and remembers the answer.
 */
import { spawn } from 'node:child_process'
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
  ftruncateSync,
  statSync,
} from 'node:fs'
import { dirname, resolve as resolvePath, sep } from 'node:path'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type Accel = 'kvm' | 'tcg'

export interface BootOptions {
  bzImage: string
  initramfs: string
  mode: 'scenarios' | 'hmmtests' | 'probe'
  input: string
  accel: Accel
  timeoutMs: number
  /** Size of the output disk (the guest's tar archive must fit). */
  outputBytes?: number
  signal?: AbortSignal | undefined
  memoryMiB?: number
}

export interface BootResult {
  ok: boolean
  /** Why it failed (time limit, QEMU exit, no output). */
  message: string
  consoleTail: string
  /** Folder with the guest's /out (empty when it failed before writing it). */
  outDir: string
  seconds: number
  cleanup: () => void
}

/** Reserved guest memory for test_hmm's device-coherent devices 2 and 3 (oracle-facts, hmm-tests). */
export const COHERENT_CMDLINE = 'memmap=512M!1G test_hmm.spm_addr_dev0=0x40000000 test_hmm.spm_addr_dev1=0x50000000'

export function qemuArgs(o: BootOptions, inImg: string, outImg: string): string[] {
  const append = ['console=ttyS0', 'loglevel=1', 'quiet', 'norandmaps', 'panic=-1', 'oops=panic', COHERENT_CMDLINE, `hmmlab.mode=${o.mode}`].join(' ')
  return [
    ...(o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    '-smp',
    '2',
    '-m',
    `${o.memoryMiB ?? 2048}M`,
    '-kernel',
    o.bzImage,
    '-initrd',
    o.initramfs,
    '-append',
    append,
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-nodefaults',
    '-drive',
    `file=${inImg},format=raw,if=virtio,readonly=on`,
    '-drive',
    `file=${outImg},format=raw,if=virtio`,
  ]
}

const TAIL = 64 * 1024

export async function bootGuest(o: BootOptions): Promise<BootResult> {
  const work = mkdtempSync(join(tmpdir(), 'hmmlab-guest-'))
  const cleanup = (): void => {
    if (process.env.HMMLAB_ORACLE_KEEP) process.stderr.write(`[oracle] guest files kept in ${work}\n`)
    else rmSync(work, { recursive: true, force: true })
  }
  const inImg = join(work, 'in.img')
  const outImg = join(work, 'out.img')
  const outDir = join(work, 'out')
  mkdirSync(outDir)
  const input = Buffer.from(o.input, 'utf8')
  // a whole number of sectors, at least 1 MiB, zero padded (the guest strips the NULs)
  const inSize = Math.max(1 << 20, Math.ceil((input.length + 1) / 512) * 512)
  writeFileSync(inImg, Buffer.concat([input, Buffer.alloc(inSize - input.length)]))
  const fd = openSync(outImg, 'w')
  ftruncateSync(fd, o.outputBytes ?? 512 << 20)
  closeSync(fd)
  const t0 = Date.now()
  let consoleText = ''
  const res = await new Promise<{ code: number | null; timedOut: boolean; aborted: boolean; spawnError: string | null }>((resolve) => {
    const child = spawn('qemu-system-x86_64', qemuArgs(o, inImg, outImg), { stdio: ['ignore', 'pipe', 'pipe'] })
    const onData = (b: Buffer): void => {
      consoleText += b.toString('utf8')
      if (consoleText.length > 2 * TAIL) consoleText = consoleText.slice(-TAIL)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    let timedOut = false
    let aborted = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, o.timeoutMs)
    const abort = (): void => {
      aborted = true
      child.kill('SIGKILL')
    }
    o.signal?.addEventListener('abort', abort, { once: true })
    child.on('error', (e) => {
      clearTimeout(timer)
      resolve({ code: null, timedOut: false, aborted: false, spawnError: e.message })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', abort)
      resolve({ code, timedOut, aborted, spawnError: null })
    })
  })
  const seconds = (Date.now() - t0) / 1000
  const consoleTail = consoleText.slice(-4000)
  const fail = (message: string): BootResult => ({ ok: false, message, consoleTail, outDir, seconds, cleanup })
  if (res.spawnError) return fail(`qemu-system-x86_64: ${res.spawnError}`)
  if (res.aborted) return fail('aborted')
  if (res.timedOut) return fail(`the guest did not finish within ${Math.round(o.timeoutMs / 1000)} s (${o.accel})`)
  if (res.code !== 0) return fail(`qemu-system-x86_64 exited with ${String(res.code)} (${o.accel})`)
  if (!consoleText.includes('hmmlab: done')) return fail(`the guest stopped before it was done (${o.accel})`)
  try {
    readTarImage(outImg, outDir)
  } catch (e) {
    return fail(`the guest's output archive is unreadable: ${(e as Error).message}`)
  }
  if (!existsSync(join(outDir, 'release'))) return fail("the guest's output archive is empty")
  return { ok: true, message: 'ok', consoleTail, outDir, seconds, cleanup }
}

let kvmVerdict: { accel: Accel; why: string } | null = null

/** "auto": KVM if a probe guest boots under it (checked once per process), else TCG; says why. */
export async function chooseAccel(
  want: 'auto' | Accel,
  bzImage: string,
  initramfs: string,
  onProgress?: (m: string) => void,
): Promise<{ accel: Accel; why: string }> {
  if (want !== 'auto') return { accel: want, why: `asked for ${want}` }
  if (kvmVerdict) return kvmVerdict
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK)
  } catch {
    kvmVerdict = { accel: 'tcg', why: '/dev/kvm is not usable: TCG' }
    return kvmVerdict
  }
  onProgress?.('trying KVM with a probe boot')
  const r = await bootGuest({ bzImage, initramfs, mode: 'probe', input: '', accel: 'kvm', timeoutMs: 30_000, outputBytes: 8 << 20 })
  r.cleanup()
  kvmVerdict = r.ok
    ? { accel: 'kvm', why: 'KVM booted the probe guest' }
    : { accel: 'tcg', why: `KVM cannot run this kernel here (${r.message}; ${lastLine(r.consoleTail)}): TCG` }
  onProgress?.(`accelerator: ${kvmVerdict.accel} (${kvmVerdict.why})`)
  return kvmVerdict
}

function lastLine(s: string): string {
  const l = s
    .trim()
    .split('\n')
    .filter((x) => x.trim() !== '')
  return (l[l.length - 1] ?? '').slice(0, 160)
}

/**
 * Refuses a file QEMU could not boot as `-kernel` before any boot: an x86 bzImage carries the real
 * mode header of arch/x86/boot/header.S, boot_flag 0xAA55 at 0x1FE and "HdrS" at 0x202
 * (Documentation/arch/x86/boot.rst), with LOADED_HIGH in loadflags (0x211) for a bzImage.
 */
export function checkBzImage(file: string): void {
  let fd: number
  let isFile: boolean
  try {
    isFile = statSync(file).isFile()
    fd = isFile ? openSync(file, 'r') : -1
  } catch (e) {
    throw new Error(`${file}: cannot read the kernel image (${e instanceof Error ? e.message : String(e)})`, { cause: e })
  }
  if (!isFile) throw new Error(`${file}: not a file`)
  const head = Buffer.alloc(0x212)
  let n: number
  try {
    n = readSync(fd, head, 0, head.length, 0)
  } finally {
    closeSync(fd)
  }
  const elf = n >= 4 && head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
  if (elf) throw new Error(`${file}: an ELF file (vmlinux?), not a bzImage: pass arch/x86/boot/bzImage of the build`)
  if (n < head.length || head.readUInt16LE(0x1fe) !== 0xaa55 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') {
    throw new Error(
      `${file}: not an x86 bzImage (no boot_flag 0xAA55 at 0x1FE and "HdrS" header at 0x202 of arch/x86/boot/header.S${n < head.length ? `; the file has only ${n} bytes` : ''})`,
    )
  }
  if ((head.readUInt8(0x211) & 1) === 0) throw new Error(`${file}: a zImage loaded low (loadflags without LOADED_HIGH), not a bzImage`)
}

/** Host tools the kernel side needs, by command, with the Debian package that has it. */
export const HOST_TOOLS: ReadonlyArray<{ cmd: string; pkg: string }> = [
  { cmd: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { cmd: 'make', pkg: 'build-essential' },
  { cmd: 'cc', pkg: 'build-essential' },
  { cmd: 'bc', pkg: 'bc' },
  { cmd: 'bison', pkg: 'bison' },
  { cmd: 'flex', pkg: 'flex' },
  { cmd: 'xz', pkg: 'xz-utils' },
  { cmd: 'tar', pkg: 'tar' },
  { cmd: 'cpio', pkg: 'cpio' },
  { cmd: 'busybox', pkg: 'busybox-static' },
]

export function whichAll(cmds: readonly string[], pathEnv = process.env.PATH ?? ''): Set<string> {
  const found = new Set<string>()
  for (const c of cmds)
    for (const d of pathEnv.split(':')) {
      if (d === '') continue
      try {
        accessSync(join(d, c), constants.X_OK)
        found.add(c)
        break
      } catch {
        // not here
      }
    }
  return found
}

export function checkTools(pathEnv = process.env.PATH ?? '', needDebianSource = true): { ok: true } | { ok: false; missing: string[]; install: string } {
  const found = whichAll(
    HOST_TOOLS.map((t) => t.cmd),
    pathEnv,
  )
  const missing = HOST_TOOLS.filter((t) => !found.has(t.cmd))
  const extra: string[] = []
  // libelf-dev and libssl-dev: headers the kernel build needs (objtool, certs)
  for (const [hdr, pkg] of [
    ['/usr/include/libelf.h', 'libelf-dev'],
    ['/usr/include/openssl/ssl.h', 'libssl-dev'],
  ] as const)
    if (!existsSync(hdr)) extra.push(pkg)
  if (needDebianSource && !existsSync('/usr/src/linux-source-6.12.tar.xz')) extra.push('linux-source-6.12')
  if (missing.length === 0 && extra.length === 0) return { ok: true }
  const pkgs = [...new Set([...missing.map((t) => t.pkg), ...extra])]
  return {
    ok: false,
    missing: [...missing.map((t) => `${t.cmd} (${t.pkg})`), ...extra.map((p) => `${p} (package)`)],
    install: `sudo apt-get install -y ${pkgs.join(' ')}`,
  }
}

/** Reads a file of the guest's output, or null. */
export function readOut(outDir: string, rel: string): string | null {
  const p = join(outDir, rel)
  return existsSync(p) ? readFileSync(p, 'utf8') : null
}

/**
 * Extracts the ustar archive busybox wrote at the start of a raw disk image: regular files and
 * folders, up to the end-of-archive (zero) block, so a large mostly-empty disk costs nothing.
 * Names never leave `dest`.
 */
export function readTarImage(file: string, dest: string): number {
  const fd = openSync(file, 'r')
  const hdr = Buffer.alloc(512)
  let off = 0
  let n = 0
  let longName: string | null = null
  try {
    for (;;) {
      if (readSync(fd, hdr, 0, 512, off) !== 512) break
      if (hdr.every((b) => b === 0)) break
      const str = (a: number, l: number): string => {
        const s = hdr.toString('utf8', a, a + l)
        const z = s.indexOf('\0')
        return z >= 0 ? s.slice(0, z) : s
      }
      const size = parseInt(str(124, 12).trim() || '0', 8)
      const type = str(156, 1) || '0'
      const prefix = hdr.toString('utf8', 257, 263).startsWith('ustar') ? str(345, 155) : ''
      let name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100))
      longName = null
      off += 512
      const data = Buffer.alloc(size)
      if (size > 0 && readSync(fd, data, 0, size, off) !== size) throw new Error('truncated archive')
      off += Math.ceil(size / 512) * 512
      if (type === 'L') {
        longName = data.toString('utf8').replace(/\0.*$/s, '')
        continue
      }
      name = name.replace(/^\.\//, '')
      if (name === '' || name === '.') continue
      const target = resolvePath(dest, name)
      if (target !== resolvePath(dest) && !target.startsWith(resolvePath(dest) + sep)) throw new Error(`archive entry outside the output: ${name}`)
      if (type === '5') mkdirSync(target, { recursive: true })
      else if (type === '0' || type === '\0') {
        mkdirSync(dirname(target), { recursive: true })
        writeFileSync(target, data)
        n++
      }
    }
  } finally {
    closeSync(fd)
  }
  return n
}
