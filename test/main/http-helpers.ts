/** Raw HTTP and WebSocket clients for tests that must forge headers (Host, Origin) a browser would not. */
import { request } from 'node:http'
import WebSocket from 'ws'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Sends one request to 127.0.0.1:port with exactly the given headers. */
export function rawRequest(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: { host: `127.0.0.1:${port}`, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      },
    )
    req.on('error', reject)
    if (opts.body !== undefined) req.write(opts.body)
    req.end()
  })
}

/** Opens a WebSocket and resolves with how it ended: 'open' or the HTTP status of the refusal. */
export function tryWebSocket(
  port: number,
  opts: { protocols?: string[]; headers?: Record<string, string>; path?: string },
): Promise<{ outcome: 'open'; ws: WebSocket } | { outcome: 'refused'; status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${opts.path ?? '/api/events'}`, opts.protocols ?? [], { headers: opts.headers ?? {} })
    ws.on('open', () => resolve({ outcome: 'open', ws }))
    ws.on('unexpected-response', (_req, res) => {
      resolve({ outcome: 'refused', status: res.statusCode ?? 0 })
      res.resume()
    })
    ws.on('error', () => resolve({ outcome: 'refused', status: 0 }))
  })
}
