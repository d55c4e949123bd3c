/**
 * Request checks of the browser host, like a notebook server's: the per-launch token, the `Host`
 * header (against DNS rebinding) and the `Origin` header (against cross-site requests). Pure
 * functions over header values so that each rule is tested on its own.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { networkInterfaces, hostname } from 'node:os'

/** A fresh random token for one launch (192 bits, hex). */
export function makeToken(): string {
  return randomBytes(24).toString('hex')
}

/** Compares a presented token with the launch token in constant time. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false
  const a = Buffer.from(presented)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Extracts the token from `Authorization: Bearer …` or `X-HMMLab-Token`; never from the query string. */
export function tokenFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers['authorization']
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim()
  const custom = headers['x-hmmlab-token']
  return typeof custom === 'string' ? custom.trim() : undefined
}

/** WebSocket subprotocols: the client offers `hmmlab-v1` and `hmmlab-token.<token>`. */
export const WS_PROTOCOL = 'hmmlab-v1'
export const WS_TOKEN_PREFIX = 'hmmlab-token.'

/** Extracts the token offered as a WebSocket subprotocol. */
export function tokenFromProtocols(header: string | undefined): string | undefined {
  if (!header) return undefined
  const offered = header.split(',').map((p) => p.trim())
  const tokenProtocol = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX))
  return tokenProtocol?.slice(WS_TOKEN_PREFIX.length)
}

/** True for the loopback bind addresses, where only loopback names are accepted in `Host`. */
export function isLoopback(bindHost: string): boolean {
  return bindHost === '127.0.0.1' || bindHost === '::1' || bindHost === 'localhost'
}

/**
 * The `host:port` values a request may name in its `Host` header. On loopback: 127.0.0.1,
 * localhost and [::1]. When bound wider (`--host`), also the bind address, this machine's
 * name and the addresses of its interfaces; any other name is a DNS-rebinding attempt.
 */
export function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = new Set<string>(['127.0.0.1', 'localhost', '[::1]'])
  if (!isLoopback(bindHost)) {
    if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.includes(':') ? `[${bindHost}]` : bindHost)
    names.add(hostname())
    for (const list of Object.values(networkInterfaces())) {
      for (const addr of list ?? []) names.add(addr.family === 'IPv6' ? `[${addr.address}]` : addr.address)
    }
  }
  return new Set([...names].map((n) => `${n}:${port}`.toLowerCase()))
}

/** True if the `Host` header names this server. */
export function hostAllowed(hostHeader: string | undefined, allowed: Set<string>): boolean {
  return typeof hostHeader === 'string' && allowed.has(hostHeader.toLowerCase())
}

/**
 * True if the `Origin` header is absent (a non-browser client, which still needs the token) or
 * is this server's own origin. `null` and every foreign origin are refused.
 */
export function originAllowed(origin: string | undefined, allowed: Set<string>): boolean {
  if (origin === undefined) return true
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  return url.protocol === 'http:' && url.pathname === '/' && allowed.has(url.host.toLowerCase()) && origin === url.origin
}

/** Security headers of every response; the CSP only allows this origin's own files. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
}
