/**
 * Checklist 18 (no `file://`): the app and the PDF reports are served over a custom privileged
 * scheme, `hmmlab://`, registered with `protocol.handle`:
 *
 *   hmmlab://app/…            files of the built renderer (out/renderer), nothing outside it
 *   hmmlab://report/<id>.html  a report handed to `registerReport` (Save as PDF), held in memory
 *
 * Every answer carries the CSP as a header (a header CSP does nothing for `file://`; here it
 * applies), `file://` itself is refused, and the `GrantFileProtocolExtraPrivileges` fuse is off in
 * the packaged app (electron-builder.yml). The request logic is a pure function, `answerAppRequest`,
 * tested without Electron; `registerAppScheme` / `serveAppScheme` only wire it in.
 */
import { protocol } from 'electron'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { resolveStaticFile } from '../server/static-files'
import { APP_SCHEME, REPORT_CSP, RENDERER_CSP } from './policy'

/** The answer to one request, before it becomes a `Response`. */
export interface AppAnswer {
  status: number
  headers: Record<string, string>
  body: string | Uint8Array
}

const BASE_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
}

/** Reports waiting to be printed, by id; each is served until `dispose` is called. */
const reports = new Map<string, string>()

/** Makes a report HTML loadable at `hmmlab://report/<id>.html` until the returned dispose runs. */
export function registerReport(html: string): { url: string; dispose: () => void } {
  const id = randomBytes(12).toString('hex')
  reports.set(id, html)
  return { url: `${APP_SCHEME}://report/${id}.html`, dispose: () => void reports.delete(id) }
}

function refuse(status: number, text: string): AppAnswer {
  return { status, headers: { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': "default-src 'none'" }, body: text }
}

/** Answers one request to the app scheme: renderer files, registered reports, nothing else. */
export async function answerAppRequest(method: string, url: string, rendererDir: string, pending: ReadonlyMap<string, string> = reports): Promise<AppAnswer> {
  if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'method not allowed')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return refuse(400, 'malformed URL')
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.username || parsed.password || parsed.port) return refuse(404, 'not found')
  if (parsed.host === 'app') {
    const file = await resolveStaticFile(rendererDir, parsed.pathname)
    if (!file) return refuse(404, 'not found')
    const body = await readFile(file.path)
    return { status: 200, headers: { ...BASE_HEADERS, 'Content-Type': file.contentType, 'Content-Security-Policy': RENDERER_CSP }, body: new Uint8Array(body) }
  }
  if (parsed.host === 'report') {
    const m = /^\/([0-9a-f]{24})\.html$/.exec(parsed.pathname)
    const html = m ? pending.get(m[1]!) : undefined
    if (html === undefined) return refuse(404, 'not found')
    return { status: 200, headers: { ...BASE_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': REPORT_CSP }, body: html }
  }
  return refuse(404, 'not found')
}

/** Registers the scheme as standard and secure; must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, stream: false, codeCache: true } },
  ])
}

/** Serves the scheme, and refuses `file://` altogether (nothing of the app is loaded from it). */
export function serveAppScheme(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const answer = await answerAppRequest(request.method, request.url, rendererDir)
    return new Response(request.method === 'HEAD' ? null : (answer.body as ConstructorParameters<typeof Response>[0]), {
      status: answer.status,
      headers: answer.headers,
    })
  })
  protocol.handle('file', () => new Response('file:// is not served by HMM Lab', { status: 403, headers: { 'Content-Type': 'text/plain' } }))
}
