/**
 * Inputs the kernel side refuses before minutes of work, each with where and why: a kernel image
 * that is not an x86 bzImage (checked before any boot), a kernel tree whose Kconfig lacks what the
 * oracle needs (checked before make runs). The CLI turns these errors into exit code 2.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildGuest } from '../../../src/main/services/oracle/kernel/build'
import { runScenariosOnKernel } from '../../../src/main/services/oracle/kernel/index'
import { checkBzImage } from '../../../src/main/services/oracle/kernel/qemu'
import { oracleCommand } from '../../../src/main/cli/commands/oracle'
import * as realKernel from '../../../src/main/services/oracle/kernel/index'
import { parseScenario } from '../../../src/sim/index'
import { captureDeps } from '../helpers'

const tmp = mkdtempSync(join(tmpdir(), 'hmmlab-oracle-bad-'))

/** The first 0x212 bytes of an x86 boot image: boot_flag, "HdrS", loadflags. */
function header(o: { flag?: number; magic?: string; loadflags?: number } = {}): Buffer {
  const b = Buffer.alloc(0x400)
  b.writeUInt16LE(o.flag ?? 0xaa55, 0x1fe)
  b.write(o.magic ?? 'HdrS', 0x202, 'latin1')
  b.writeUInt16LE(0x020f, 0x206)
  b.writeUInt8(o.loadflags ?? 1, 0x211)
  return b
}

const file = (name: string, data: Buffer | string): string => {
  const p = join(tmp, name)
  writeFileSync(p, data)
  return p
}

describe('a kernel image that is not a bzImage', () => {
  it('is refused with what it is instead', () => {
    expect(() => checkBzImage(file('ok.bzImage', header()))).not.toThrow()
    expect(() => checkBzImage(file('text', 'not a kernel at all\n'.repeat(100)))).toThrow(
      /text: not an x86 bzImage \(no boot_flag 0xAA55 at 0x1FE and "HdrS" header at 0x202/,
    )
    expect(() => checkBzImage(file('short', 'MZ'))).toThrow(/short: not an x86 bzImage .*the file has only 2 bytes/)
    expect(() => checkBzImage(file('vmlinux', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(1024)])))).toThrow(
      /vmlinux: an ELF file \(vmlinux\?\), not a bzImage/,
    )
    expect(() => checkBzImage(file('nomagic', header({ magic: 'XXXX' })))).toThrow(/nomagic: not an x86 bzImage/)
    expect(() => checkBzImage(file('zimage', header({ loadflags: 0 })))).toThrow(/zimage: a zImage loaded low/)
    expect(() => checkBzImage(join(tmp, 'absent'))).toThrow(/absent: cannot read the kernel image/)
    expect(() => checkBzImage(tmp)).toThrow(/not a file/)
  })

  it('stops a run before anything boots, and the CLI exits 2 naming it', async () => {
    const sc = parseScenario('name: x\nsteps:\n  - spawn: { task: a }\n', 'x.yaml')
    const bad = file('bzImage', 'garbage'.repeat(200))
    await expect(runScenariosOnKernel([{ scenario: sc, design: 'D5' }], { kernel: { bzImage: bad } })).rejects.toThrow(/bzImage: not an x86 bzImage/)
    const d = captureDeps(realKernel)
    const code = await oracleCommand(['scenarios/selftests/open_close.yaml'], { kernel: bad }, d)
    expect(code).toBe(2)
    // without QEMU on the machine the tools check speaks first; with it, the image check
    expect(d.stderr()).toMatch(/bzImage: not an x86 bzImage|missing host tools/)
  })
})

describe('a kernel tree without TEST_HMM', () => {
  it('is refused before make runs, naming the missing options', async () => {
    const tree = join(tmp, 'linux-old')
    mkdirSync(join(tree, 'lib'), { recursive: true })
    writeFileSync(join(tree, 'Makefile'), 'VERSION = 5\nPATCHLEVEL = 4\nSUBLEVEL = 0\nEXTRAVERSION =\n')
    writeFileSync(join(tree, 'Kconfig'), 'mainmenu "Linux"\nsource "lib/Kconfig.debug"\n\nconfig MMU_NOTIFIER\n\tbool\n')
    writeFileSync(join(tree, 'lib', 'Kconfig.debug'), 'config DEBUG_FS\n\tbool "Debug Filesystem"\n')
    const cacheRoot = join(tmp, 'cache')
    const said: string[] = []
    await expect(buildGuest({ tree, cacheRoot, onProgress: (m) => said.push(m) })).rejects.toThrow(
      new RegExp(
        `${tree} \\(5\\.4\\.0\\) cannot give the oracle's guest: its Kconfig has no CONFIG_TEST_HMM, CONFIG_DEVICE_PRIVATE, .* \\(test_hmm, lib/test_hmm\\.c, is the driver`,
      ),
    )
    // nothing was configured or built
    expect(said.some((m) => /tinyconfig|building/.test(m))).toBe(false)
    expect(existsSync(join(cacheRoot, 'obj'))).toBe(false)
  })
})
