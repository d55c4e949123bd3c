/**
 * Checklist 18: the app and PDF reports over the privileged `hmmlab://` scheme, not `file://`
 * (issue 18 #10). The request logic runs for real on a built-renderer folder; the wiring runs
 * under a mocked `electron`, as the other Electron tests do.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'

const registered: { schemes?: unknown; handlers: Record<string, (req: Request) => Promise<Response> | Response> } = { handlers: {} }
vi.mock('electron', () => ({
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown) => (registered.schemes = schemes),
    handle: (scheme: string, fn: (req: Request) => Promise<Response>) => (registered.handlers[scheme] = fn),
  },
}))

const { answerAppRequest, registerAppScheme, registerReport, serveAppScheme } = await import('../../src/main/electron/protocol')
const { RENDERER_CSP, REPORT_CSP, RENDERER_URL } = await import('../../src/main/electron/policy')

const root = mkdtempSync(join(tmpdir(), 'hmmlab-protocol-'))
const renderer = join(root, 'renderer')
mkdirSync(join(renderer, 'assets'), { recursive: true })
writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>HMM Lab</title>')
writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)')
writeFileSync(join(root, 'secret.txt'), 'do not serve me')

describe('the hmmlab:// scheme', () => {
  it('is registered standard and secure, and served with file:// refused', async () => {
    registerAppScheme()
    expect(registered.schemes).toEqual([{ scheme: 'hmmlab', privileges: expect.objectContaining({ standard: true, secure: true, corsEnabled: false }) }])
    serveAppScheme(renderer)
    const page = await registered.handlers.hmmlab!(new Request(RENDERER_URL))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toBe(RENDERER_CSP)
    expect(await page.text()).toContain('HMM Lab')
    const file = await registered.handlers.file!(new Request('file:///etc/passwd'))
    expect(file.status).toBe(403)
    expect(await file.text()).not.toContain('root:')
  })

  it('serves renderer files with the CSP header, and nothing outside the folder', async () => {
    const js = await answerAppRequest('GET', 'hmmlab://app/assets/app.js', renderer)
    expect(js).toMatchObject({ status: 200, headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Security-Policy': RENDERER_CSP } })
    for (const url of [
      'hmmlab://app/../secret.txt',
      'hmmlab://app/%2e%2e/secret.txt',
      'hmmlab://app/assets/..%2f..%2fsecret.txt',
      'hmmlab://app/%00index.html',
      'hmmlab://other/index.html',
      'hmmlab://user@app/index.html',
      'hmmlab://app:99/index.html',
    ]) {
      const a = await answerAppRequest('GET', url, renderer)
      expect(a.status, url).toBe(404)
      expect(String(a.body)).not.toContain('do not serve me')
    }
    expect((await answerAppRequest('POST', RENDERER_URL, renderer)).status).toBe(405)
  })

  it('serves a registered report from memory with the report CSP until it is disposed', async () => {
    const report = registerReport('<!doctype html><p>report</p>')
    expect(report.url).toMatch(/^hmmlab:\/\/report\/[0-9a-f]{24}\.html$/)
    const a = await answerAppRequest('GET', report.url, renderer)
    expect(a).toMatchObject({ status: 200, headers: { 'Content-Security-Policy': REPORT_CSP }, body: '<!doctype html><p>report</p>' })
    report.dispose()
    expect((await answerAppRequest('GET', report.url, renderer)).status).toBe(404)
    expect((await answerAppRequest('GET', 'hmmlab://report/index.html', renderer)).status).toBe(404)
  })

  it("the renderer's meta CSP says what the header says (a meta CSP cannot carry frame-ancestors)", () => {
    const html = readFileSync(join(__dirname, '../../src/renderer/index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    expect(meta).toBe(RENDERER_CSP.replace(/; frame-ancestors 'none'$/, ''))
  })
})
