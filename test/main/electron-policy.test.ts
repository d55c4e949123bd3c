import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RENDERER_CSP, isAllowedExternalUrl, isTrustedSenderUrl, navigationAllowed, permissionGranted } from '../../src/main/electron/policy'

const rendererUrl = 'hmmlab://app/index.html'

describe('Electron security policy', () => {
  it('IPC is trusted only from our renderer file', () => {
    expect(isTrustedSenderUrl(rendererUrl, rendererUrl)).toBe(true)
    expect(isTrustedSenderUrl(`${rendererUrl}#/results`, rendererUrl)).toBe(true)
    expect(isTrustedSenderUrl('https://evil.example/index.html', rendererUrl)).toBe(false)
    expect(isTrustedSenderUrl('file:///tmp/evil/index.html', rendererUrl)).toBe(false)
    // the old file:// page, another host or path of the scheme, credentials: all refused (checklist 18)
    for (const url of [
      'file:///opt/hmm-lab/out/renderer/index.html',
      'hmmlab://report/index.html',
      'hmmlab://app/other.html',
      'hmmlab://x@app/index.html',
      'https://app/index.html',
    ]) {
      expect(isTrustedSenderUrl(url, rendererUrl), url).toBe(false)
    }
    expect(isTrustedSenderUrl(undefined, rendererUrl)).toBe(false)
    expect(isTrustedSenderUrl('not a url', rendererUrl)).toBe(false)
  })

  it('navigation never leaves the renderer page', () => {
    expect(navigationAllowed(`${rendererUrl}#/hardware`, rendererUrl)).toBe(true)
    expect(navigationAllowed('https://example.com/', rendererUrl)).toBe(false)
    expect(navigationAllowed('file:///etc/passwd', rendererUrl)).toBe(false)
  })

  it('openExternal only for https links on the allow-list', () => {
    expect(isAllowedExternalUrl('https://docs.kernel.org/mm/hmm.html')).toBe(true)
    expect(isAllowedExternalUrl('http://docs.kernel.org/')).toBe(false)
    expect(isAllowedExternalUrl('https://docs.kernel.org.evil.example/')).toBe(false)
    expect(isAllowedExternalUrl('https://user:pw@github.com/')).toBe(false)
    expect(isAllowedExternalUrl('file:///etc/passwd')).toBe(false)
    expect(isAllowedExternalUrl('javascript:alert(1)')).toBe(false)
  })

  it('denies every permission request', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) expect(permissionGranted(p)).toBe(false)
  })

  it('CSP forbids inline script, eval and remote content', () => {
    expect(RENDERER_CSP).toContain("script-src 'self'")
    expect(RENDERER_CSP).not.toContain('unsafe-eval')
    expect(RENDERER_CSP).toContain("object-src 'none'")
    const html = readFileSync(join(__dirname, '../../src/renderer/index.html'), 'utf8')
    expect(html).toContain("script-src 'self'")
  })
})

describe('layering', () => {
  const srcDir = join(__dirname, '../../src')
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
  const runtimeImports = (text: string): string[] => [...text.matchAll(/^\s*import\s+(?!type\b)[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '')

  it('only the Electron entry, its electron/ folder and the preload import electron at run time', () => {
    const offenders = files(srcDir)
      .filter((f) => /\.(ts|vue)$/.test(f))
      .filter((f) => runtimeImports(readFileSync(f, 'utf8')).includes('electron'))
      .map((f) => f.slice(srcDir.length + 1))
      .filter((f) => !/^(main\/index\.ts|main\/electron\/|preload\/)/.test(f))
    expect(offenders).toEqual([])
  })

  it('the renderer imports no Node module and nothing from main', () => {
    const offenders = files(join(srcDir, 'renderer'))
      .filter((f) => /\.(ts|vue)$/.test(f))
      .flatMap((f) => runtimeImports(readFileSync(f, 'utf8')).map((i) => `${f}: ${i}`))
      .filter((line) => /: (node:|fs$|path$|os$|child_process|worker_threads|electron$|.*\/main\/)/.test(line))
    expect(offenders).toEqual([])
  })
})
