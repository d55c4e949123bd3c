/**
 * Checklist 19 (fuses, issue 18 #10): the packaging config turns RunAsNode, NODE_OPTIONS and
 * --inspect off, cookie encryption and asar integrity on, and file:// extra privileges off. Where
 * the Electron binary exists, the same fuses are flipped on a copy of it with @electron/fuses and
 * read back from the binary; here it is skipped with the reason printed.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { findElectron } from '../../e2e/electron-binary'

const root = join(__dirname, '../..')
const config = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as { asar: boolean; electronFuses: Record<string, boolean> }
const electron = findElectron(root, { ...process.env, DISPLAY: process.env.DISPLAY ?? ':none' })
if (!electron.binary) console.log(`[electron-packaging] fuses on the real Electron binary: SKIPPED: ${electron.reason}`)

const EXPECTED = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  grantFileProtocolExtraPrivileges: false,
}

describe('Electron packaging', () => {
  it('sets every fuse of the checklist in electron-builder.yml, with the app in an asar', () => {
    expect(config.asar).toBe(true)
    expect(config.electronFuses).toEqual(EXPECTED)
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.dist).toContain('electron-builder --config electron-builder.yml')
  })

  it.skipIf(!electron.binary)('the fuses read back from a real Electron binary once flipped', async () => {
    const { flipFuses, getCurrentFuseWire, FuseV1Options, FuseVersion, FuseState } = await import('@electron/fuses')
    const copy = join(mkdtempSync(join(tmpdir(), 'hmmlab-fuses-')), 'electron')
    copyFileSync(electron.binary!, copy)
    const c = config.electronFuses
    await flipFuses(copy, {
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: c.runAsNode!,
      [FuseV1Options.EnableCookieEncryption]: c.enableCookieEncryption!,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: c.enableNodeOptionsEnvironmentVariable!,
      [FuseV1Options.EnableNodeCliInspectArguments]: c.enableNodeCliInspectArguments!,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: c.enableEmbeddedAsarIntegrityValidation!,
      [FuseV1Options.OnlyLoadAppFromAsar]: c.onlyLoadAppFromAsar!,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: c.grantFileProtocolExtraPrivileges!,
    })
    const wire = await getCurrentFuseWire(copy)
    expect(wire[FuseV1Options.RunAsNode]).toBe(FuseState.DISABLE)
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(FuseState.ENABLE)
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(FuseState.DISABLE)
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(FuseState.DISABLE)
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(FuseState.ENABLE)
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(FuseState.ENABLE)
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(FuseState.DISABLE)
  })
})
