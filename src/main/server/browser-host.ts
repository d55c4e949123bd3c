/**
 * The browser host: the built renderer and the API over HTTP and WebSocket, for machines without
 * the Electron binary or a display (headless GPU lab hosts reached through an ssh port-forward).
 *
 * - `GET /…`: static files of the renderer (Host checked, no token: they hold no data).
 * - `POST /api/invoke/<route>`: JSON body = route input; token, Host and Origin checked.
 * - `GET /api/events` upgraded to a WebSocket: events as `{ "event": name, "payload": … }`;
 *   token offered as the subprotocol `hmmlab-token.<token>`, Host and Origin checked.
 *
 * No CORS headers are ever sent, so other origins cannot read answers even if they guess a port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import type { EventHub } from '../api/event-hub'
import { toErrorBody, type Router } from '../api/router'
import {
  SECURITY_HEADERS,
  WS_PROTOCOL,
  allowedHosts,
  hostAllowed,
  isLoopback,
  makeToken,
  originAllowed,
  tokenFromHeaders,
  tokenFromProtocols,
  tokenMatches,
} from './security'
import { openStaticFile, resolveStaticFile } from './static-files'
import { JSON_BODY_MAX_DEPTH, jsonDepth } from '../../shared/text-limits'

export interface BrowserHostOptions {
  router: Router
  hub: EventHub
  /** Folder of the built renderer (`out/renderer`). */
  staticDir: string
  /** Bind address; 127.0.0.1 unless widened on purpose. */
  host?: string
  /** 0 picks any free port. */
  port?: number
  /** Fixed token (tests); a random one per launch otherwise. */
  token?: string
  /** Largest accepted request body in bytes. */
  maxBodyBytes?: number
  /** Interval of `app.heartbeat` events in ms (0 disables). */
  heartbeatMs?: number
  /** Time a client has to send its request headers, and its whole request, ms. */
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** A connection with no request in flight and nothing received for this long is closed, ms. */
  idleTimeoutMs?: number
  /** Open connections one client address may hold; more are closed at once. */
  maxConnectionsPerClient?: number
}

export interface BrowserHost {
  readonly url: string
  readonly origin: string
  readonly port: number
  readonly token: string
  readonly server: Server
  close(): Promise<void>
}

const API_PREFIX = '/api/invoke/'

/** Starts the browser host and resolves once it listens. */
export async function startBrowserHost(opts: BrowserHostOptions): Promise<BrowserHost> {
  const bindHost = opts.host ?? '127.0.0.1'
  const token = opts.token ?? makeToken()
  const maxBody = opts.maxBodyBytes ?? 1 << 20
  let allowed = new Set<string>()

  const headersTimeout = opts.headersTimeoutMs ?? 10_000
  // Node checks these timeouts on an interval (30 s by default): check often enough to enforce them.
  // Sockets with a request being answered: a long route (a probe, a report) is not idle.
  const busy = new WeakSet<Socket>()
  const server = createServer({ connectionsCheckingInterval: Math.min(1000, Math.max(50, headersTimeout / 4)) }, (req, res) => {
    busy.add(req.socket)
    res.once('close', () => busy.delete(req.socket))
    handleHttp(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, toErrorBody(err))
      else res.destroy()
    })
  })
  // Slow clients: a request must send its headers and body within these bounds.
  server.headersTimeout = headersTimeout
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000
  const idleTimeout = opts.idleTimeoutMs ?? 10_000
  server.keepAliveTimeout = Math.min(5_000, idleTimeout)
  // Idle sockets (connected, silent, or kept alive between requests) are closed: without this a
  // client that opens sockets and sends nothing holds them, and the file descriptors, forever.
  server.timeout = idleTimeout
  server.on('timeout', (socket: Socket) => {
    if (!busy.has(socket)) socket.destroy()
  })
  const maxPerClient = opts.maxConnectionsPerClient ?? 64
  const perClient = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const who = socket.remoteAddress ?? '?'
    const n = (perClient.get(who) ?? 0) + 1
    if (n > maxPerClient) {
      socket.destroy()
      return
    }
    perClient.set(who, n)
    socket.once('close', () => {
      const left = (perClient.get(who) ?? 1) - 1
      if (left <= 0) perClient.delete(who)
      else perClient.set(who, left)
    })
  })
  // A request Node cannot parse (bad request line, bad headers): 400, before any other check.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy()
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request'
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    // end() only half-closes: a client that never reads the answer never sees the end and never
    // closes its side, and would hold the socket for good. Give it a moment to read, then close.
    setTimeout(() => socket.destroy(), Math.min(1000, idleTimeout)).unref()
  })

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  })

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseRequestUrl(req.url)
    if (!url) return sendJson(res, 400, errorBody('bad_request', 'malformed request URL'))
    if (!hostAllowed(req.headers.host, allowed)) return sendJson(res, 403, errorBody('forbidden', 'Host header not allowed'))
    if (url.pathname.startsWith('/api/')) {
      if (!originAllowed(req.headers.origin, allowed)) return sendJson(res, 403, errorBody('forbidden', 'Origin not allowed'))
      if (!tokenMatches(tokenFromHeaders(req.headers), token)) {
        return sendJson(res, 401, errorBody('unauthorized', 'missing or wrong token'))
      }
      if (!url.pathname.startsWith(API_PREFIX)) return sendJson(res, 404, errorBody('unknown_route', 'no such endpoint'))
      if (req.method !== 'POST') return sendJson(res, 405, errorBody('bad_request', 'use POST'))
      const route = url.pathname.slice(API_PREFIX.length)
      const body = await readBody(req, maxBody)
      if (body === 'too_large') return sendJson(res, 413, errorBody('too_large', `body over ${maxBody} bytes`))
      let input: unknown = {}
      if (body.length > 0) {
        const nesting = jsonDepth(body, JSON_BODY_MAX_DEPTH)
        if (nesting.overAtLine > 0)
          return sendJson(res, 400, errorBody('bad_request', `body line ${nesting.overAtLine}: nested deeper than ${JSON_BODY_MAX_DEPTH} levels`))
        try {
          input = JSON.parse(body)
        } catch {
          return sendJson(res, 400, errorBody('bad_request', 'body is not valid JSON'))
        }
      }
      try {
        const output = await opts.router.invoke(route, input)
        return sendJson(res, 200, { result: output })
      } catch (err) {
        const wire = toErrorBody(err)
        const status = wire.error.code === 'unknown_route' ? 404 : wire.error.code === 'bad_request' ? 400 : 500
        return sendJson(res, status, wire)
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, errorBody('bad_request', 'method not allowed'))
    const file = await resolveStaticFile(opts.staticDir, url.pathname)
    if (!file) return sendJson(res, 404, errorBody('unknown_route', 'not found'))
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': file.contentType,
      'Content-Length': String(file.size),
      'Cache-Control': file.contentType.startsWith('text/html') ? 'no-store' : 'no-cache',
    })
    if (req.method === 'HEAD') return void res.end()
    openStaticFile(file).pipe(res)
  }

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    const path = parseRequestUrl(req.url)?.pathname
    if (path === undefined) return refuse(400, 'Bad Request')
    if (path !== '/api/events') return refuse(404, 'Not Found')
    if (!hostAllowed(req.headers.host, allowed)) return refuse(403, 'Forbidden')
    if (!originAllowed(req.headers.origin, allowed)) return refuse(403, 'Forbidden')
    const offered = req.headers['sec-websocket-protocol']
    if (!tokenMatches(tokenFromProtocols(typeof offered === 'string' ? offered : undefined), token)) {
      return refuse(401, 'Unauthorized')
    }
    wss.handleUpgrade(req, socket, head, (ws) => attachEvents(ws))
  })

  function attachEvents(ws: WebSocket): void {
    const unsubscribe = opts.hub.subscribe((event, payload) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }))
    })
    ws.on('close', unsubscribe)
    ws.on('error', unsubscribe)
    // The event socket is one-way; anything a client sends is ignored.
    ws.on('message', () => undefined)
  }

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', reject)
      resolvePromise()
    })
  })
  const port = (server.address() as AddressInfo).port
  allowed = allowedHosts(bindHost, port)

  let heartbeat: NodeJS.Timeout | undefined
  const heartbeatMs = opts.heartbeatMs ?? 5000
  if (heartbeatMs > 0) {
    let seq = 0
    const started = Date.now()
    heartbeat = setInterval(() => opts.hub.emit('app.heartbeat', { seq: seq++, uptimeMs: Date.now() - started }), heartbeatMs)
    heartbeat.unref()
  }

  const displayHost = isLoopback(bindHost) ? '127.0.0.1' : bindHost.includes(':') ? `[${bindHost}]` : bindHost
  const origin = `http://${displayHost}:${port}`
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    server,
    async close() {
      if (heartbeat) clearInterval(heartbeat)
      for (const client of wss.clients) client.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** The request target as a URL, or undefined when it is not one (answered with 400). */
function parseRequestUrl(target: string | undefined): URL | undefined {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return undefined
  try {
    return new URL(target, 'http://placeholder')
  } catch {
    return undefined
  }
}

function errorBody(code: 'forbidden' | 'unauthorized' | 'unknown_route' | 'bad_request' | 'too_large', message: string) {
  return { error: { code, message } }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
  })
  res.end(text)
}

/** Reads a request body up to `limit` bytes; answers 'too_large' past it without buffering more. */
function readBody(req: IncomingMessage, limit: number): Promise<string | 'too_large'> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0')
    if (Number.isFinite(declared) && declared > limit) {
      req.resume()
      return resolvePromise('too_large')
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        over = true
        chunks.length = 0
        return
      }
      if (!over) chunks.push(chunk)
    })
    req.on('end', () => resolvePromise(over ? 'too_large' : Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
